package main

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nextcore-ai/nextcore/pkg/source"
	"github.com/nextcore-ai/nextcore/pkg/source/cache"
)

// damage overwrites n bytes at each of the pages of the cache file chosen
// by pick (page numbers from 1), as a disk or a stray write would.
func damage(t *testing.T, path string, pick func(page, pages int64) bool) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	pages := st.Size() / 4096
	junk := []byte(strings.Repeat("\xa5", 64))
	for p := int64(2); p <= pages; p++ {
		if pick(p, pages) {
			if _, err := f.WriteAt(junk, (p-1)*4096); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func TestCacheCheck(t *testing.T) {
	e := imported(t)
	r := e.run("", false, "cache", "check")
	if r.code != 0 || !strings.Contains(r.stdout, ": ok (") || !strings.Contains(r.stdout, fmt.Sprintf("1 tenant(s), schema %d", cache.SchemaVersion)) {
		t.Fatalf("check of a good cache: %d %q %q", r.code, r.stdout, r.stderr)
	}

	// One damaged page in the middle of the file: the check finds it.
	damage(t, e.cachePath(), func(p, pages int64) bool { return p == pages/2 })
	r = e.run("", false, "cache", "check")
	if r.code != exitFailure || !strings.Contains(r.stderr, "cache is damaged") ||
		!strings.Contains(r.stderr, "rebuild it with 'nextcore usage sync' or 'nextcore usage import FILE'") ||
		strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
		t.Fatalf("check of a damaged cache: %d %q", r.code, r.stderr)
	}

	// Every page damaged: reports fail with the same one-line advice, no panic.
	damage(t, e.cachePath(), func(p, pages int64) bool { return true })
	for _, args := range [][]string{
		{"usage", "stats", "--period", "year"},
		{"usage", "top-models"},
		{"usage", "export", "--format", "csv", "--report", "records", "-o", "-"},
	} {
		r = e.run("", false, args...)
		if r.code != exitFailure || !strings.Contains(r.stderr, "damaged") || strings.Contains(r.stderr, "goroutine") {
			t.Errorf("%v on a damaged cache: %d %q", args, r.code, r.stderr)
		}
	}
}

// TestCheckFindsRollupsOffRecords: a cache whose file is sound but whose
// rollups no longer add up to its records (a record deleted by hand) is
// reported as damaged too.
func TestCheckFindsRollupsOffRecords(t *testing.T) {
	e := imported(t)
	db, err := sql.Open("sqlite", "file:"+e.cachePath())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("DELETE FROM records WHERE id = (SELECT id FROM records LIMIT 1)"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	r := e.run("", false, "cache", "check")
	if r.code != exitFailure || !strings.Contains(r.stderr, "rollups disagree with its records") {
		t.Fatalf("check: %d %q", r.code, r.stderr)
	}
}

func TestCacheCheckErrors(t *testing.T) {
	e := newEnv(t)
	if r := e.run("", false, "cache", "check"); r.code != exitFailure || !strings.Contains(r.stderr, "no cache file") {
		t.Errorf("no cache: %d %q", r.code, r.stderr)
	}
	other := filepath.Join(e.dir, "notes.txt")
	os.WriteFile(other, []byte(strings.Repeat("not a database\n", 400)), 0o600)
	if r := e.run("", false, "cache", "check", "--cache", other); r.code != exitFailure || !strings.Contains(r.stderr, "not an SQLite database") {
		t.Errorf("a text file: %d %q", r.code, r.stderr)
	}
	if r := e.run("", false, "cache", "check", "extra"); r.code != exitUsage {
		t.Errorf("extra argument: %d %q", r.code, r.stderr)
	}
}

// TestConcurrentWriters runs imports of overlapping files into one cache
// at the same time: each waits for the others, and afterwards every record
// is stored once and the cache checks out.
func TestConcurrentWriters(t *testing.T) {
	e := imported(t)
	data, err := os.ReadFile(fixture)
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	for i := range 4 {
		// Each file: the fixture under ids of its own, plus the previous
		// file's ids again.
		f := filepath.Join(e.dir, fmt.Sprintf("part%d.jsonl", i))
		body := bytes.ReplaceAll(data, []byte(`"id":"`), []byte(fmt.Sprintf(`"id":"p%d-`, i)))
		if i > 0 {
			body = append(body, bytes.ReplaceAll(data, []byte(`"id":"`), []byte(fmt.Sprintf(`"id":"p%d-`, i-1)))...)
		}
		os.WriteFile(f, body, 0o600)
		files = append(files, f)
	}
	var wg sync.WaitGroup
	results := make([]result, len(files))
	for i, f := range files {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = e.run("", false, "usage", "import", "--tenant", "acme", f)
		}()
	}
	wg.Wait()
	for i, r := range results {
		if r.code != 0 {
			t.Errorf("import %d: %d %q", i, r.code, r.stderr)
		}
	}
	calls, distinct, _ := cacheTotals(t, e.cachePath())
	if want := int64(5 * 1451); calls != want || distinct != want {
		t.Errorf("%d records, %d distinct; want %d", calls, distinct, want)
	}
	if r := e.run("", false, "cache", "check"); r.code != 0 {
		t.Errorf("check after concurrent imports: %q", r.stderr)
	}
}

// TestTwoProcessesWriting runs two real nextcore processes importing
// overlapping files into one cache at the same time, while reports read:
// both imports succeed, every record is stored once, and the cache checks
// out.
func TestTwoProcessesWriting(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	e := imported(t)
	bin := buildNextcore(t)
	big := bigInput(t, e.dir) // 290,200 records under new ids
	data, _ := os.ReadFile(big)
	lineAfter := func(at int) int { return bytes.IndexByte(data[at:], '\n') + at + 1 }
	// About 70,000 records each, so that neither waits for the other near
	// the busy timeout even on a slow machine; they overlap by a fifth.
	a, b := lineAfter(len(data)/5), lineAfter(len(data)/4)
	first, second := filepath.Join(e.dir, "first.jsonl"), filepath.Join(e.dir, "second.jsonl")
	os.WriteFile(first, data[:b], 0o600)
	os.WriteFile(second, data[a:lineAfter(len(data)*9/20)], 0o600)
	var wg sync.WaitGroup
	outs := make([][]byte, 2)
	errs := make([]error, 2)
	for i, f := range []string{first, second} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			outs[i], errs[i] = exec.Command(bin, "usage", "import", "--tenant", "acme", "--cache", e.cachePath(), f).CombinedOutput()
		}()
	}
	for range 20 {
		if r := e.run("", false, "usage", "quota"); r.code != 0 {
			t.Errorf("a report during the imports: %q", r.stderr)
		}
	}
	wg.Wait()
	for i := range outs {
		if errs[i] != nil {
			t.Errorf("import %d: %v %s", i, errs[i], outs[i])
		}
	}
	calls, distinct, _ := cacheTotals(t, e.cachePath())
	want := int64(1451 + bytes.Count(data[:lineAfter(len(data)*9/20)], []byte("\n")))
	if calls != want || distinct != want {
		t.Errorf("%d records, %d distinct; want %d", calls, distinct, want)
	}
	if r := e.run("", false, "cache", "check"); r.code != 0 {
		t.Errorf("check: %q", r.stderr)
	}
}

// panicky panics on its first use, standing in for a bug anywhere.
type panicky struct{}

func (panicky) Write([]byte) (int, error) { panic("boom") }
func (panicky) Read([]byte) (int, error)  { panic("boom") }

// TestPanicsAreOneLine: a bug that panics, on the main goroutine (writing a
// report) or on the one reading an import, ends in one line and exit 1 —
// with the stack only under NEXTCORE_DEBUG — and leaves the cache as it was.
func TestPanicsAreOneLine(t *testing.T) {
	e := imported(t)
	before := dump(t, e.cachePath())
	for name, c := range map[string]struct {
		debug bool
		run   func(*App) int
	}{
		"report": {false, func(a *App) int { a.Stdout = panicky{}; return a.Run(context.Background(), []string{"usage", "stats"}) }},
		"import reader": {false, func(a *App) int {
			a.Stdin = panicky{}
			return a.Run(context.Background(), []string{"usage", "import", "--tenant", "acme", "-"})
		}},
		"report, --debug": {true, func(a *App) int { a.Stdout = panicky{}; return a.Run(context.Background(), []string{"usage", "quota"}) }},
	} {
		t.Run(name, func(t *testing.T) {
			var errb bytes.Buffer
			app := &App{Stdin: strings.NewReader(""), Stdout: &bytes.Buffer{}, Stderr: &errb,
				Env: func(k string) string {
					if k == "NEXTCORE_DEBUG" && c.debug {
						return "1"
					}
					return e.vars[k]
				}, Now: func() time.Time { return testNow }}
			code := c.run(app)
			msg := errb.String()
			if code != exitFailure || !strings.Contains(msg, "nextcore: internal error (a bug in nextcore, not in your input): boom") {
				t.Fatalf("%d %q", code, msg)
			}
			if hasStack := strings.Contains(msg, "goroutine "); hasStack != c.debug {
				t.Errorf("stack shown: %v, want %v: %q", hasStack, c.debug, msg)
			}
			if !c.debug && strings.Count(msg, "\n") != 1 {
				t.Errorf("not one line: %q", msg)
			}
		})
	}
	if dump(t, e.cachePath()) != before {
		t.Error("a panic changed the cache")
	}
}

// TestCheckFindsPairRollupsOffRecords: the rollups by member and price key
// (what reports price) are checked against the records too.
func TestCheckFindsPairRollupsOffRecords(t *testing.T) {
	e := newEnv(t)
	if r := e.run("", false, "usage", "import", "--tenant", "acme", "testdata/oldcache/records-v2.jsonl"); r.code != 0 {
		t.Fatalf("import: %s", r.stderr)
	}
	if r := e.run("", false, "cache", "check"); r.code != 0 {
		t.Fatalf("check of a sound cache: %d %q", r.code, r.stderr)
	}
	db, err := sql.Open("sqlite", "file:"+e.cachePath())
	if err != nil {
		t.Fatal(err)
	}
	res, err := db.Exec("UPDATE rollups SET prompt = prompt + 1 WHERE dim = ? AND bucket = (SELECT min(bucket) FROM rollups WHERE dim = ?)",
		int(cache.PairDim(source.DimKey)), int(cache.PairDim(source.DimKey)))
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		t.Fatal("no pair row to change")
	}
	db.Close()
	r := e.run("", false, "cache", "check")
	if r.code != exitFailure || !strings.Contains(r.stderr, "rollups by price key disagree") {
		t.Fatalf("check: %d %q", r.code, r.stderr)
	}
}

// TestCheckFindsBlocksOffRecords: a column block that lost a record, or
// whose cost changed, is found.
func TestCheckFindsBlocksOffRecords(t *testing.T) {
	for name, change := range map[string]string{
		"a block gone":  "DELETE FROM blocks WHERE rowid IN (SELECT rowid FROM blocks WHERE col = 13 LIMIT 1)",
		"a cost wrong":  "UPDATE blocks SET data = substr(data, 1, 1) || X'0100000000000000' || substr(data, 10) WHERE rowid IN (SELECT rowid FROM blocks WHERE col = 13 LIMIT 1)",
		"a block added": "INSERT INTO blocks (tenant, col, day, seg, n, data) SELECT tenant, col, day, seg + 1000, n, data FROM blocks WHERE col = 11 LIMIT 1",
	} {
		t.Run(name, func(t *testing.T) {
			e := imported(t)
			db, err := sql.Open("sqlite", "file:"+e.cachePath())
			if err != nil {
				t.Fatal(err)
			}
			if _, err := db.Exec(change); err != nil {
				t.Fatal(err)
			}
			db.Close()
			r := e.run("", false, "cache", "check")
			if r.code != exitFailure || !strings.Contains(r.stderr, "column blocks disagree with its records") {
				t.Fatalf("check: %d %q", r.code, r.stderr)
			}
		})
	}
}
