package cache

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nextcore-ai/nextcore/pkg/source"
	"github.com/nextcore-ai/nextcore/pkg/source/cache/cachetest"
	"github.com/nextcore-ai/nextcore/pkg/source/storetest"
)

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

// tableDump is every row of the records, rollups and names tables, in key
// order.
func tableDump(t *testing.T, c *Cache) []string {
	t.Helper()
	var out []string
	for _, q := range []string{
		"SELECT tenant, ts, id, model, api_key, usr, region, ok, status_code, prompt, completion, cost, latency FROM records ORDER BY tenant, ts, id",
		"SELECT * FROM rollups ORDER BY tenant, dim, level, bucket, member",
		"SELECT dim, id, name FROM names ORDER BY dim, id",
	} {
		out = append(out, cachetest.Rows(t, c.db, q)...)
	}
	return out
}

// TestRawInsertsMatchDatabaseSQL stores the same writes, duplicates and
// partly stored batches included, through the raw statement and through
// database/sql: the files hold the same rows. It also makes sure the raw
// statement is the one imports use, so that a driver upgrade that hides
// the connection handle fails here rather than slowing imports unnoticed.
func TestRawInsertsMatchDatabaseSQL(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	from, to := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 3, 9, 0, 0, 0, 0, time.UTC)
	first := storetest.RandomRecords(rng, 3000, from, to)
	for i := range first {
		if i%5 == 0 {
			first[i].LatencyMs, first[i].StatusCode = -1, 0 // NULLs
		}
		if i%17 == 0 {
			first[i].ID = "id-" + strconv.Itoa(i) + "-ü\x00x" // any text, a NUL included
		}
	}
	storetest.WithLedger(rng, first)
	second := append(append([]source.Record{}, first[1000:1600]...), storetest.RandomRecords(rng, 2000, from, to)...)
	for i := 600; i < len(second); i++ {
		second[i].ID = "second-" + second[i].ID
	}
	// New ids, each twice within a full batch: SQLite skips the second.
	twice := storetest.RandomRecords(rng, 300, from, to)
	for i := range twice {
		twice[i].ID = "twice-" + twice[i].ID
	}
	twice = append(twice, twice...)
	write := func(raw bool) []string {
		c, err := Open(context.Background(), filepath.Join(t.TempDir(), "usage.db"), Options{Create: true, SQLOnly: !raw})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		w, err := c.BeginWrite(context.Background(), "acme")
		if err != nil {
			t.Fatal(err)
		}
		if _, isRaw := w.path.(*rawPath); isRaw != raw {
			t.Fatalf("the raw binding in use: %v, want %v (go test ./pkg/source/cache/rawsqlite says why)", isRaw, raw)
		}
		w.Rollback()
		for _, recs := range [][]source.Record{first, second, first} {
			store(t, c, "acme", recs)
		}
		if added, dups := store(t, c, "acme", twice); added != 300 || dups != 300 {
			t.Errorf("ids twice in a batch: added %d, duplicates %d; want 300, 300", added, dups)
		}
		// The rollups count each stored record once: repeats count nowhere.
		if err := c.Check(context.Background()); err != nil {
			t.Errorf("raw=%v: %v", raw, err)
		}
		return tableDump(t, c)
	}
	viaRaw, viaSQL := write(true), write(false)
	if len(viaRaw) < 6000 {
		t.Fatalf("only %d rows", len(viaRaw))
	}
	if !slices.Equal(viaRaw, viaSQL) {
		for i := range min(len(viaRaw), len(viaSQL)) {
			if viaRaw[i] != viaSQL[i] {
				t.Fatalf("row %d differs:\nraw %s\nsql %s", i, viaRaw[i], viaSQL[i])
			}
		}
		t.Fatalf("%d rows through the raw statement, %d through database/sql", len(viaRaw), len(viaSQL))
	}
}

func TestBuildAppearsWhenPublished(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sub", "usage.db")
	ctx := context.Background()
	c, err := Open(ctx, path, Options{Create: true, Build: true})
	if err != nil {
		t.Fatal(err)
	}
	recs := storetest.RandomRecords(rand.New(rand.NewPCG(1, 2)), 2000, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC))
	store(t, c, "acme", recs)
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("the cache is at its path before it is published: %v", err)
	}
	if err := c.Publish(ctx); err != nil {
		t.Fatal(err)
	}
	c.Close()
	if names := dirNames(t, filepath.Dir(path)); !slices.Equal(names, []string{"usage.db"}) {
		t.Fatalf("files after publishing: %v", names)
	}
	c, err = Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var mode string
	c.db.QueryRow("PRAGMA journal_mode").Scan(&mode)
	if mode != "wal" {
		t.Errorf("journal mode %q after publishing, want wal", mode)
	}
	mem := &source.Memory{Records: map[string][]source.Record{"acme": recs}}
	got, _ := c.Aggregate(ctx, "acme", source.DimModel, []int64{0, 1 << 62})
	want, _ := mem.Aggregate(ctx, "acme", source.DimModel, []int64{0, 1 << 62})
	if !reflect.DeepEqual(storetest.Normalize(got), storetest.Normalize(want)) {
		t.Fatal("the published cache disagrees with its records")
	}
	// An existing cache is opened in place, Build or not.
	c2, err := Open(ctx, path, Options{Create: true, Build: true})
	if err != nil {
		t.Fatal(err)
	}
	if c2.building != "" {
		t.Error("an existing cache was opened as a new build")
	}
	c2.Close()
}

func TestBuildNotPublishedLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "usage.db")
	c, err := Open(context.Background(), path, Options{Create: true, Build: true})
	if err != nil {
		t.Fatal(err)
	}
	store(t, c, "acme", []source.Record{{ID: "a", Time: 1e18, Model: "m", LatencyMs: -1, Requests: 1}})
	c.Close()
	if names := dirNames(t, dir); len(names) != 0 {
		t.Fatalf("files left: %v", names)
	}
}

func TestBuildLosesToAnotherCreator(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "usage.db")
	ctx := context.Background()
	b, err := Open(ctx, path, Options{Create: true, Build: true})
	if err != nil {
		t.Fatal(err)
	}
	store(t, b, "acme", []source.Record{{ID: "mine", Time: 1e18, Model: "m", LatencyMs: -1, Requests: 1}})
	other, err := Open(ctx, path, Options{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	store(t, other, "globex", []source.Record{{ID: "theirs", Time: 1e18, Model: "m", LatencyMs: -1, Requests: 1}})
	other.Close()
	err = b.Publish(ctx)
	b.Close()
	if err == nil || !strings.Contains(err.Error(), "another process created the cache") {
		t.Fatalf("publish over another cache: %v", err)
	}
	if names := dirNames(t, dir); !slices.Equal(names, []string{"usage.db"}) {
		t.Fatalf("files left: %v", names)
	}
	c, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	tenants, _ := c.Tenants(ctx)
	if !slices.Equal(tenants, []string{"globex"}) {
		t.Fatalf("tenants %v, want the other process's only", tenants)
	}
}

// TestAbandonedBuildsRemoved: the files of a build whose process ended
// (killed) go with the next build; those of a running process stay.
func TestAbandonedBuildsRemoved(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "usage.db")
	ended := exec.Command(os.Args[0], "-test.run=^$")
	if err := ended.Run(); err != nil {
		t.Fatal(err)
	}
	dead := path + buildSuffix + strconv.Itoa(ended.ProcessState.Pid())
	alive := path + buildSuffix + strconv.Itoa(os.Getppid())
	for _, f := range []string{dead, dead + "-journal", alive} {
		if err := os.WriteFile(f, []byte("partial"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	c, err := Open(context.Background(), path, Options{Create: true, Build: true})
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	names := dirNames(t, dir)
	if !slices.Equal(names, []string{filepath.Base(alive)}) {
		t.Fatalf("files after a new build: %v, want only the running build's", names)
	}
}

// TestCancelStopsALongImport: a cancelled context stops a writer within a
// batch, on the raw path as on database/sql, and nothing is stored.
func TestCancelStopsALongImport(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	from, to := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 3, 9, 0, 0, 0, 0, time.UTC)
	recs := storetest.RandomRecords(rng, 20*insertBatch, from, to)
	for _, sqlOnly := range []bool{false, true} {
		c, err := Open(context.Background(), filepath.Join(t.TempDir(), "usage.db"), Options{Create: true, SQLOnly: sqlOnly})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		w, err := c.BeginWrite(ctx, "acme")
		if err != nil {
			t.Fatal(err)
		}
		stopped := -1
		for i := range recs {
			if i == 5*insertBatch+7 {
				cancel()
			}
			if err := w.Add(&recs[i]); err != nil {
				if !errors.Is(err, context.Canceled) {
					t.Errorf("sqlOnly=%v: %v, want context.Canceled", sqlOnly, err)
				}
				stopped = i
				break
			}
		}
		if stopped < 0 || stopped > 6*insertBatch {
			t.Errorf("sqlOnly=%v: stopped at record %d, want within a batch of the cancel", sqlOnly, stopped)
		}
		cancel()
		w.Rollback()
		if g, err := c.Aggregate(context.Background(), "acme", source.DimAll, []int64{0, to.UnixNano()}); err == nil && g[0][""].Calls != 0 {
			t.Errorf("sqlOnly=%v: %d records stored", sqlOnly, g[0][""].Calls)
		}
		c.Close()
	}
}

// TestBuildDefersTheIDIndex: a first import, which makes the index of ids
// at the end, stores what an import into an existing cache stores, repeats
// in every position included (an id again with another timestamp and
// cost: the first met is kept; a record twice; repeats past the most held
// back, which makes the index early).
func TestBuildDefersTheIDIndex(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	from, to := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 3, 20, 0, 0, 0, 0, time.UTC)
	recs := storetest.LedgerRecords(rng, 4000, from, to)
	for i := 0; i < 400; i++ {
		again := recs[rng.IntN(len(recs))]
		if i%2 == 0 {
			again.Time += int64(time.Hour) * int64(1+i%50) // the same id later: not stored
			again.Cost += 1000
		}
		at := rng.IntN(len(recs))
		if i < 100 {
			at = len(recs) // some at the end, after everything
		}
		recs = slices.Insert(recs, at, again)
	}
	for _, held := range []int{100_000, 50} {
		t.Run(strconv.Itoa(held), func(t *testing.T) {
			defer func(was int) { maxHeld = was }(maxHeld)
			maxHeld = held
			write := func(build bool) ([]string, int64, int64) {
				path := filepath.Join(t.TempDir(), "usage.db")
				c, err := Open(context.Background(), path, Options{Create: true, Build: build, Expect: 100})
				if err != nil {
					t.Fatal(err)
				}
				w, err := c.BeginWrite(context.Background(), "acme")
				if err != nil {
					t.Fatal(err)
				}
				if (w.ids != nil) != build {
					t.Fatalf("deferred: %v, building %v", w.ids != nil, build)
				}
				for i := range recs {
					if err := w.Add(&recs[i]); err != nil {
						t.Fatal(err)
					}
				}
				if err := w.Commit(); err != nil {
					t.Fatal(err)
				}
				if build {
					if err := c.Publish(context.Background()); err != nil {
						t.Fatal(err)
					}
					if c, err = Open(context.Background(), path, Options{}); err != nil {
						t.Fatal(err)
					}
				}
				defer c.Close()
				if err := c.Check(context.Background()); err != nil {
					t.Errorf("build=%v: %v", build, err)
				}
				var n int
				if err := c.db.QueryRow("SELECT count(*) FROM sqlite_schema WHERE name = 'records_by_id'").Scan(&n); err != nil || n != 1 {
					t.Errorf("build=%v: the index of ids: %d, %v", build, n, err)
				}
				return tableDump(t, c), w.Added, w.Duplicates
			}
			built, added, dups := write(true)
			plain, wantAdded, wantDups := write(false)
			if added != wantAdded || dups != wantDups || added != 4000 || dups != 400 {
				t.Errorf("built: %d added, %d repeats; into a cache: %d, %d", added, dups, wantAdded, wantDups)
			}
			sameRows(t, "built", built, "plain", plain)
		})
	}
}

// TestLargeImportDefersTheIDIndex: a large import of random ids into a
// cache that holds records makes the index anew at the end, and stores
// what growing the index stores: ids stored before, repeats in the import,
// repeats past the most held back.
func TestLargeImportDefersTheIDIndex(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	from, to := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 3, 20, 0, 0, 0, 0, time.UTC)
	base := storetest.RandomRecords(rng, 3000, from, to)
	recs := storetest.RandomRecords(rng, 3000, from, to)
	storetest.WithLedger(rng, base)
	storetest.WithLedger(rng, recs)
	for i := range recs {
		recs[i].ID = fmt.Sprintf("%016x", rng.Uint64()) // random, as providers' ids
	}
	for i := 0; i < 300; i++ {
		again := base[rng.IntN(len(base))] // stored before: a duplicate
		if i%3 == 0 {
			again = recs[rng.IntN(len(recs))] // met earlier in this import
			again.Time += int64(time.Minute) * int64(1+i)
		}
		recs = slices.Insert(recs, rng.IntN(len(recs)), again)
	}
	for _, held := range []int{100_000, 40} {
		t.Run(strconv.Itoa(held), func(t *testing.T) {
			defer func(h int, m int64, p int) { maxHeld, deferMin, orderProbe = h, m, p }(maxHeld, deferMin, orderProbe)
			maxHeld, deferMin, orderProbe = held, 100, 256
			write := func(expect int64) ([]string, int64, int64, bool) {
				c, err := Open(context.Background(), filepath.Join(t.TempDir(), "usage.db"), Options{Create: true, Expect: expect})
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				store(t, c, "acme", base)
				store(t, c, "globex", base[:500]) // another tenant's same ids: not duplicates
				w, err := c.BeginWrite(context.Background(), "acme")
				if err != nil {
					t.Fatal(err)
				}
				deferred := false
				for i := range recs {
					if err := w.Add(&recs[i]); err != nil {
						t.Fatal(err)
					}
					deferred = deferred || w.ids != nil
				}
				if err := w.Commit(); err != nil {
					t.Fatal(err)
				}
				if err := c.Check(context.Background()); err != nil {
					t.Errorf("expect %d: %v", expect, err)
				}
				return tableDump(t, c), w.Added, w.Duplicates, deferred
			}
			grown, added, dups, deferred := write(0)
			made, added2, dups2, deferred2 := write(int64(len(recs)))
			if deferred || !deferred2 {
				t.Fatalf("deferred: %v without expecting, %v expecting", deferred, deferred2)
			}
			if added != added2 || dups != dups2 || added != 3000 || dups != 300 {
				t.Errorf("grown: %d added, %d repeats; made anew: %d, %d", added, dups, added2, dups2)
			}
			sameRows(t, "grown", grown, "made anew", made)
		})
	}
}

// sameRows fails the test where two dumps of tables differ.
func sameRows(t *testing.T, an string, a []string, bn string, b []string) {
	t.Helper()
	if slices.Equal(a, b) {
		return
	}
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			t.Fatalf("row %d differs:\n%s %s\n%s %s", i, an, a[i], bn, b[i])
		}
	}
	t.Fatalf("%d rows %s, %d %s", len(a), an, len(b), bn)
}

// TestReimportDoesNotDefer: an import whose first records are stored
// already (the same file again) keeps the index: each id is looked up.
func TestReimportDoesNotDefer(t *testing.T) {
	defer func(m int64, p int) { deferMin, orderProbe = m, p }(deferMin, orderProbe)
	deferMin, orderProbe = 100, 256
	rng := rand.New(rand.NewPCG(41, 42))
	recs := storetest.RandomRecords(rng, 2000, time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 3, 9, 0, 0, 0, 0, time.UTC))
	for i := range recs {
		recs[i].ID = fmt.Sprintf("%016x", rng.Uint64())
	}
	c, err := Open(context.Background(), filepath.Join(t.TempDir(), "usage.db"), Options{Create: true, Expect: int64(len(recs))})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	store(t, c, "acme", recs)
	w, err := c.BeginWrite(context.Background(), "acme")
	if err != nil {
		t.Fatal(err)
	}
	for i := range recs {
		if err := w.Add(&recs[i]); err != nil {
			t.Fatal(err)
		}
		if w.ids != nil {
			t.Fatalf("an import of stored records deferred the index at record %d", i)
		}
	}
	if err := w.Commit(); err != nil || w.Added != 0 || w.Duplicates != int64(len(recs)) {
		t.Fatalf("%d added, %d repeats, %v", w.Added, w.Duplicates, err)
	}
}
