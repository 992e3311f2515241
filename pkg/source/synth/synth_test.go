package synth

import (
	"bytes"
	"io"
	"reflect"
	"testing"
	"time"

	"github.com/nextcore-ai/nextcore/pkg/source"
	"github.com/nextcore-ai/nextcore/pkg/source/file"
)

// TestLedgerRecordsAreValid: records v2 made by the generator pass the
// record format's checks and read back as made, and hold what the
// generator promises (cached input, reasoning, batch, projects, tags, the
// unpriced fine-tuned model, buckets of many requests).
func TestLedgerRecordsAreValid(t *testing.T) {
	cfg := Config{Seed: 3, Start: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), End: time.Date(2026, 11, 15, 0, 0, 0, 0, time.UTC),
		PerDay: 3000, Growth: 1, Failure: 0.03, Ledger: true, RandomIDs: true}
	var made []source.Record
	var b bytes.Buffer
	w, _ := file.NewWriter(&b, file.JSONL)
	err := Generate(cfg, func(r *source.Record) error {
		made = append(made, *r)
		return w.Write(&made[len(made)-1])
	})
	if err != nil {
		t.Fatal(err)
	}
	rd, err := file.NewReader("gen.jsonl", &b, file.Auto)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	ids := map[string]bool{}
	for i := 0; ; i++ {
		var r source.Record
		err := rd.Next(&r)
		if err == io.EOF {
			if i != len(made) {
				t.Fatalf("read %d of %d records", i, len(made))
			}
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(r, made[i]) {
			t.Fatalf("record %d read back as\n%+v\nmade\n%+v", i, r, made[i])
		}
		if ids[r.ID] {
			t.Fatalf("id %s twice", r.ID)
		}
		ids[r.ID] = true
		for what, ok := range map[string]bool{"cache read": r.CacheRead > 0, "cache write": r.CacheWrite > 0, "1h cache write": r.CacheWrite1h > 0,
			"reasoning": r.Reasoning > 0, "batch": r.Batch, "project": r.Project != "", "tags": len(r.Tags) > 0,
			"unpriced": r.Model == FineTuned && r.NoCost, "bucket": r.Requests > 1 && r.Unknown} {
			if ok {
				seen[what]++
			}
		}
	}
	for _, what := range []string{"cache read", "cache write", "1h cache write", "reasoning", "batch", "project", "tags", "unpriced", "bucket"} {
		if seen[what] == 0 {
			t.Errorf("no record with %s", what)
		}
	}
}
