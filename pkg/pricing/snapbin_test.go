package pricing

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite snapshot.bin from snapshot.json")

// jsonModels are snapshot.json's models, by name, and its date.
func jsonModels(t testing.TB) ([]*Model, string) {
	t.Helper()
	data, err := os.ReadFile("snapshot.json")
	if err != nil {
		t.Fatal(err)
	}
	var f SnapshotFile
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatal(err)
	}
	ms, err := f.ToModels()
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(ms, func(a, b *Model) int { return strings.Compare(a.Name, b.Name) })
	return ms, f.Date
}

// TestSnapshotBin: the compact snapshot built in holds what snapshot.json
// says, model for model (go test ./pkg/pricing -run TestSnapshotBin
// -update rewrites it after cmd/nextcore-prices).
func TestSnapshotBin(t *testing.T) {
	want, date := jsonModels(t)
	if *update {
		if err := os.WriteFile("snapshot.bin", MarshalSnapshot(want, date), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile("snapshot.bin")
	if err != nil {
		t.Fatal(err)
	}
	got, gotDate, err := UnmarshalSnapshot(data)
	if err != nil {
		t.Fatal(err)
	}
	if gotDate != date || len(got) != len(want) || len(want) < 100 {
		t.Fatalf("snapshot.bin: %d models of %q; snapshot.json: %d of %q (run with -update)", len(got), gotDate, len(want), date)
	}
	for i := range want {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Fatalf("snapshot.bin and snapshot.json differ at %s (run with -update)", want[i].Name)
		}
	}
	if !bytes.Equal(MarshalSnapshot(got, gotDate), data) {
		t.Error("snapshot.bin is not what MarshalSnapshot writes of it")
	}
}

// TestSnapshotBinDamaged: a cut or padded snapshot is an error, never a
// panic or a half book.
func TestSnapshotBinDamaged(t *testing.T) {
	data, err := os.ReadFile("snapshot.bin")
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range [][]byte{nil, []byte("NCPRICES1\n"), data[:len(data)/2], data[:len(data)-1], append(slices.Clone(data), 0),
		append([]byte("NCPRICES1\n\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01"), data[len(snapMagic):]...)} {
		if ms, _, err := UnmarshalSnapshot(bad); err == nil || ms != nil {
			t.Errorf("%d bytes: %d models, %v", len(bad), len(ms), err)
		}
	}
}

func BenchmarkSnapshot(b *testing.B) {
	b.Run("bin", func(b *testing.B) {
		for b.Loop() {
			if _, _, err := UnmarshalSnapshot(snapshotBin); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("json", func(b *testing.B) {
		data, err := os.ReadFile("snapshot.json")
		if err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			var f SnapshotFile
			if err := json.Unmarshal(data, &f); err != nil {
				b.Fatal(err)
			}
			if _, err := f.ToModels(); err != nil {
				b.Fatal(err)
			}
		}
	})
}
