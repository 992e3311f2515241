package ingest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nextcore-ai/nextcore/pkg/source"
	"github.com/nextcore-ai/nextcore/pkg/source/file"
)

// memory is a sink that keeps the ids it was given, and fails on one.
type memory struct {
	ids    []string
	failOn string
}

func (m *memory) Add(r *source.Record) error {
	if r.ID == m.failOn {
		return errors.New("the store is full")
	}
	m.ids = append(m.ids, r.ID)
	return nil
}

func line(id string, cost string) string {
	return fmt.Sprintf(`{"id":%q,"timestamp":"2026-11-20T10:00:00Z","model":"m","apiKey":"k","status":"success","promptTokens":1,"completionTokens":2,"cost":%s}`, id, cost)
}

func TestRead(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, lines ...string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	var many []string
	for i := range 1300 { // several batches
		many = append(many, line(fmt.Sprintf("m%04d", i), "0.01"))
	}
	a := write("a.jsonl", line("a1", "0.5"), line("a2", "0.25"))
	big := write("big.jsonl", many...)
	bad := write("bad.jsonl", line("b1", "1"), line("b2", `"abc"`), line("b3", "1"))
	csv := write("c.csv", "id,timestamp,model,apiKey,status,promptTokens,completionTokens,cost", "c1,2026-11-20T10:00:00Z,m,k,success,1,2,0.1")
	for _, c := range []struct {
		name    string
		inputs  []string
		stdin   string
		skip    bool
		failOn  string
		want    int    // records added
		skipped int64  // records skipped
		err     string // part of the error
	}{
		{"two files", []string{a, csv}, "", false, "", 3, 0, ""},
		{"batches", []string{big, a}, "", false, "", 1302, 0, ""},
		{"standard input", []string{"-"}, line("s1", "1") + "\n", false, "", 1, 0, ""},
		{"an invalid record fails", []string{a, bad}, "", false, "", 0, 0, `bad.jsonl:2: field "cost"`},
		{"or is skipped", []string{a, bad}, "", true, "", 4, 1, ""},
		{"a missing file", []string{a, filepath.Join(dir, "none.jsonl")}, "", false, "", 0, 0, "none.jsonl: no such file or directory"},
		{"the sink fails", []string{big}, "", false, "m0700", 0, 0, "the store is full"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var inputs []Input
			for _, n := range c.inputs {
				inputs = append(inputs, Input{Name: n})
			}
			sink := &memory{failOn: c.failOn}
			var progress []int64
			res, err := Read(context.Background(), inputs, sink, Options{SkipInvalid: c.skip, Stdin: strings.NewReader(c.stdin),
				Progress: func(n int64) { progress = append(progress, n) }})
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("err %v, want %q", err, c.err)
				}
				var re *file.RecordError
				if strings.Contains(c.err, "field") && !errors.As(err, &re) {
					t.Errorf("%v is not a *file.RecordError", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(sink.ids) != c.want || res.Read != int64(c.want) || res.Skipped != c.skipped {
				t.Errorf("added %d, read %d, skipped %d; want %d and %d", len(sink.ids), res.Read, res.Skipped, c.want, c.skipped)
			}
			for i := 1; i < len(progress); i++ {
				if progress[i] < progress[i-1] {
					t.Errorf("progress went back: %v", progress)
				}
			}
		})
	}
}

// TestReadCancelled: a cancelled context stops the read with its error.
func TestReadCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var lines []string
	for i := range 5000 {
		lines = append(lines, line(fmt.Sprintf("x%05d", i), "0.01"))
	}
	_, err := Read(ctx, []Input{{Name: "-"}}, &memory{}, Options{Stdin: strings.NewReader(strings.Join(lines, "\n"))})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err %v, want context.Canceled", err)
	}
}

// TestReadPanics: a panic of the reading goroutine comes back as an error.
func TestReadPanics(t *testing.T) {
	_, err := Read(context.Background(), []Input{{Name: "-"}}, &memory{}, Options{Stdin: panicky{},
		Panicked: func(v any) error { return fmt.Errorf("panic: %v", v) }})
	if err == nil || !strings.Contains(err.Error(), "panic: reader broke") {
		t.Errorf("err %v", err)
	}
}

type panicky struct{}

func (panicky) Read([]byte) (int, error) { panic("reader broke") }
