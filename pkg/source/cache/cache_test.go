package cache

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nextcore-ai/nextcore/pkg/source"
	"github.com/nextcore-ai/nextcore/pkg/source/storetest"
	"github.com/nextcore-ai/nextcore/pkg/source/synth"
)

func openTemp(t *testing.T) *Cache {
	t.Helper()
	c, err := Open(context.Background(), filepath.Join(t.TempDir(), "usage.db"), Options{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func store(t *testing.T, c *Cache, tenant string, recs []source.Record) (added, dups int64) {
	t.Helper()
	w, err := c.BeginWrite(context.Background(), tenant)
	if err != nil {
		t.Fatal(err)
	}
	for i := range recs {
		if err := w.Add(&recs[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	return w.Added, w.Duplicates
}

func TestWriteStoresEachIDOnce(t *testing.T) {
	c := openTemp(t)
	rng := rand.New(rand.NewPCG(3, 4))
	recs := storetest.RandomRecords(rng, 300, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 1, 3, 0, 0, 0, 0, time.UTC))
	recs = append(recs, recs[:50]...) // the same ids again in one batch
	added, dups := store(t, c, "acme", recs)
	if added != 300 || dups != 50 {
		t.Fatalf("first write: added %d, duplicates %d; want 300, 50", added, dups)
	}
	added, dups = store(t, c, "acme", recs[:300])
	if added != 0 || dups != 300 {
		t.Fatalf("second write: added %d, duplicates %d; want 0, 300", added, dups)
	}
	// A batch part stored, part new: only the new ones count.
	more := storetest.RandomRecords(rng, 700, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 1, 3, 0, 0, 0, 0, time.UTC))
	for i := range more {
		more[i].ID = "more-" + more[i].ID
	}
	mixed := append(append([]source.Record{}, recs[:200]...), more...)
	if added, dups = store(t, c, "acme", mixed); added != 700 || dups != 200 {
		t.Fatalf("mixed write: added %d, duplicates %d; want 700, 200", added, dups)
	}
	mem := &source.Memory{Records: map[string][]source.Record{"acme": append(append([]source.Record{}, recs[:300]...), more...)}}
	got, _ := c.Aggregate(context.Background(), "acme", source.DimModel, []int64{0, 1 << 62})
	want, _ := mem.Aggregate(context.Background(), "acme", source.DimModel, []int64{0, 1 << 62})
	if !reflect.DeepEqual(storetest.Normalize(got), storetest.Normalize(want)) {
		t.Fatal("after a mixed write the rollups disagree with the records")
	}
	// Another tenant may use the same ids.
	if added, _ = store(t, c, "globex", recs[:10]); added != 10 {
		t.Fatalf("other tenant: added %d, want 10", added)
	}
	all, err := c.Aggregate(context.Background(), "acme", source.DimAll, []int64{0, 1 << 62})
	if err != nil {
		t.Fatal(err)
	}
	if all[0][""].Calls != 1000 {
		t.Fatalf("calls %d, want 1000", all[0][""].Calls)
	}
}

func TestRollbackLeavesNothing(t *testing.T) {
	c := openTemp(t)
	ctx := context.Background()
	store(t, c, "acme", []source.Record{{ID: "a", Time: 1e18, Model: "m", Cost: 5, Requests: 1}})
	w, err := c.BeginWrite(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 1000 {
		r := source.Record{ID: string(rune('b' + i)), Time: 1e18 + int64(i)*1e9, Model: "new-model", Cost: 7, LatencyMs: -1, Requests: 1}
		if err := w.Add(&r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Rollback(); err != nil {
		t.Fatal(err)
	}
	got, err := c.Aggregate(ctx, "acme", source.DimModel, []int64{0, 2e18})
	if err != nil {
		t.Fatal(err)
	}
	if len(got[0]) != 1 || got[0]["m"].Calls != 1 {
		t.Fatalf("after rollback: %+v", got[0])
	}
}

func TestOpenErrors(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	notDB := filepath.Join(dir, "notes.txt")
	os.WriteFile(notDB, []byte("this is not a database, just some words that fill a page of text...."), 0o644)
	if _, err := Open(ctx, notDB, Options{}); err == nil || !errorsIs(err, ErrNotCache) {
		t.Errorf("text file: %v", err)
	}
	if _, err := Open(ctx, filepath.Join(dir, "missing.db"), Options{}); !errorsIs(err, ErrNoCache) {
		t.Errorf("missing: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "missing.db")); !os.IsNotExist(err) {
		t.Errorf("a report must not create the cache")
	}
	// A file an import or sync has just made, its tables not yet written:
	// a report must not make them in its place.
	empty := filepath.Join(dir, "empty.db")
	os.WriteFile(empty, nil, 0o600)
	if _, err := Open(ctx, empty, Options{}); !errorsIs(err, ErrNoCache) {
		t.Errorf("empty file: %v", err)
	}
	if st, err := os.Stat(empty); err != nil || st.Size() != 0 {
		t.Errorf("a report wrote to a cache being made: %v", err)
	}
	if c, err := Open(ctx, empty, Options{Create: true}); err != nil {
		t.Errorf("the import that made it: %v", err)
	} else {
		c.Close()
	}
	newer := filepath.Join(dir, "newer.db")
	c, err := Open(ctx, newer, Options{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	c.db.Exec("PRAGMA user_version = 99")
	c.Close()
	if _, err := Open(ctx, newer, Options{}); !errorsIs(err, ErrNewer) {
		t.Errorf("newer schema: %v", err)
	}
}

func errorsIs(err, target error) bool {
	for err != nil {
		if err == target {
			return true
		}
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			return false
		}
		err = u.Unwrap()
	}
	return false
}

func TestSynthIntoCache(t *testing.T) {
	c := openTemp(t)
	ctx := context.Background()
	end := time.Date(2026, 11, 26, 15, 0, 0, 0, time.UTC)
	w, err := c.BeginWrite(ctx, "demo")
	if err != nil {
		t.Fatal(err)
	}
	var all []source.Record
	err = synth.Generate(synth.Config{Seed: 7, Start: end.AddDate(0, 0, -20), End: end, PerDay: 400, Growth: 1.5, Failure: 0.03}, func(r *source.Record) error {
		all = append(all, *r)
		return w.Add(r)
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	if w.Duplicates != 0 || len(all) < 5000 {
		t.Fatalf("generated %d records, %d duplicates", len(all), w.Duplicates)
	}
	if !slices.IsSortedFunc(all, func(a, b source.Record) int { return int(a.Time - b.Time) }) {
		t.Fatal("synthetic records are not in time order")
	}
	mem := &source.Memory{Records: map[string][]source.Record{"demo": all}}
	loc, _ := time.LoadLocation("Asia/Kathmandu")
	bounds := storetest.DayBounds(loc, 2026, 11, 5, 21, end)
	got, _ := c.Aggregate(ctx, "demo", source.DimRegion, bounds)
	want, _ := mem.Aggregate(ctx, "demo", source.DimRegion, bounds)
	if !reflect.DeepEqual(storetest.Normalize(got), storetest.Normalize(want)) {
		t.Fatal("synthetic data: cache and records disagree")
	}
}

// TestReadWhileWriting checks that a report reads the last committed state
// at once while another connection is in the middle of a write, as a cron
// job's import and a person's report would.
func TestReadWhileWriting(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "usage.db")
	writer, err := Open(ctx, path, Options{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	defer writer.Close()
	rng := rand.New(rand.NewPCG(5, 6))
	from, to := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	first := storetest.RandomRecords(rng, 1000, from, to)
	store(t, writer, "acme", first)

	w, err := writer.BeginWrite(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	more := storetest.RandomRecords(rng, 5000, from, to)
	for i := range more {
		more[i].ID = "more-" + more[i].ID
		if err := w.Add(&more[i]); err != nil {
			t.Fatal(err)
		}
	}
	reader, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	start := time.Now()
	got, err := reader.Aggregate(ctx, "acme", source.DimAll, []int64{from.UnixNano(), to.UnixNano()})
	if err != nil {
		t.Fatal(err)
	}
	if got[0][""].Calls != 1000 {
		t.Errorf("during the write: %d calls, want the committed 1000", got[0][""].Calls)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("the read waited %v for the writer", d)
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	got, _ = reader.Aggregate(ctx, "acme", source.DimAll, []int64{from.UnixNano(), to.UnixNano()})
	if got[0][""].Calls != 6000 {
		t.Errorf("after the write: %d calls, want 6000", got[0][""].Calls)
	}
}

// TestMigrateFromVersion1 opens a cache of schema version 1, filled as that
// version wrote it (records and rollups without latency histograms), and
// finds every number intact and the histograms rebuilt from the records.
func TestMigrateFromVersion1(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "v1.db")
	db, err := sql.Open("sqlite", dsn(path, modeNormal))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(migrations[0]); err != nil {
		t.Fatal(err)
	}
	db.Exec(fmt.Sprintf("PRAGMA user_version = 1; PRAGMA application_id = %d", applicationID))
	recs := storetest.RandomRecords(rand.New(rand.NewPCG(8, 9)), 500, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 1, 3, 0, 0, 0, 0, time.UTC))
	db.Exec("INSERT INTO tenants (id, slug) VALUES (1, 'acme')")
	names := map[string]int64{}
	id := func(dim source.Dim, name string) int64 {
		if name == "" {
			return 0
		}
		k := dim.String() + "|" + name
		if n, ok := names[k]; ok {
			return n
		}
		n := int64(len(names) + 1)
		names[k] = n
		db.Exec("INSERT INTO names (dim, id, name) VALUES (?, ?, ?)", int(dim), n, name)
		return n
	}
	for _, r := range recs {
		var lat any
		if r.LatencyMs >= 0 {
			lat = r.LatencyMs
		}
		if _, err := db.Exec(`INSERT INTO records (tenant, ts, id, model, api_key, usr, region, ok, status_code, prompt, completion, cost, latency)
			VALUES (1, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?, ?, ?)`, r.Time, r.ID, id(source.DimModel, r.Model), id(source.DimKey, r.APIKey),
			id(source.DimUser, r.User), id(source.DimRegion, r.Region), r.Success, r.PromptTokens, r.CompletionTokens, int64(r.Cost), lat); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()

	var told [2]int
	c, err := Open(ctx, path, Options{Upgrading: func(from, to int) { told = [2]int{from, to} }})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if told != [2]int{1, SchemaVersion} {
		t.Errorf("upgrade announced as %v", told)
	}
	var v int
	c.db.QueryRow("PRAGMA user_version").Scan(&v)
	if v != SchemaVersion {
		t.Fatalf("version %d after opening", v)
	}
	mem := &source.Memory{Records: map[string][]source.Record{"acme": recs}}
	for _, dim := range append([]source.Dim{source.DimAll, source.DimTag}, source.Dims()...) {
		bounds := []int64{time.Date(2026, 1, 1, 5, 30, 0, 0, time.UTC).UnixNano(), time.Date(2026, 1, 2, 17, 45, 0, 0, time.UTC).UnixNano()}
		got, _ := c.Aggregate(ctx, "acme", dim, bounds)
		want, _ := mem.Aggregate(ctx, "acme", dim, bounds)
		if !reflect.DeepEqual(storetest.Normalize(got), storetest.Normalize(want)) {
			t.Fatalf("%v: the migrated cache disagrees with the records", dim)
		}
	}
	if s, err := c.SyncState(ctx, "acme"); err != nil || s != nil {
		t.Fatalf("sync state %v %v", s, err)
	}
}

type busyErr struct{}

func (busyErr) Error() string { return "database is locked (5) (SQLITE_BUSY)" }
func (busyErr) Code() int     { return 5 }

// TestBusySaysWho: a busy cache names a nextcore sync when one holds the
// sync lock, and otherwise says that any SQLite writer may hold it.
func TestBusySaysWho(t *testing.T) {
	path := filepath.Join(t.TempDir(), "usage.db")
	c, err := Open(context.Background(), path, Options{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	err = c.wrap(busyErr{})
	if !errors.Is(err, ErrBusy) || !strings.Contains(err.Error(), "another program (a nextcore import or sync, or any SQLite client") {
		t.Errorf("no sync: %v", err)
	}
	unlock, err := LockSync(path)
	if err != nil {
		t.Fatal(err)
	}
	err = c.wrap(busyErr{})
	if want := fmt.Sprintf("being written by a nextcore sync (process %d)", os.Getpid()); !strings.Contains(err.Error(), want) {
		t.Errorf("sync: %v, want %q", err, want)
	}
	unlock()
	if err := c.wrap(busyErr{}); strings.Contains(err.Error(), "nextcore sync") {
		t.Errorf("after the sync: %v", err)
	}
}

// TestNewCacheIsPrivate: every way of making a cache leaves a file only its
// owner can read, journal files included.
func TestNewCacheIsPrivate(t *testing.T) {
	for _, build := range []bool{false, true} {
		path := filepath.Join(t.TempDir(), "sub", "usage.db")
		c, err := Open(context.Background(), path, Options{Create: true, Build: build})
		if err != nil {
			t.Fatal(err)
		}
		if build {
			if err := c.Publish(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
		c.Close()
		files, _ := filepath.Glob(path + "*")
		for _, f := range append(files, filepath.Dir(path)) {
			st, err := os.Stat(f)
			if err != nil {
				t.Fatal(err)
			}
			if st.Mode().Perm()&0o077 != 0 {
				t.Errorf("build=%v: %s has mode %v", build, f, st.Mode().Perm())
			}
		}
	}
}

// TestConformance runs the stores' conformance suite on the cache.
func TestConformance(t *testing.T) {
	storetest.Run(t, storetest.Target{
		Open: func(t *testing.T) storetest.Store { return openTemp(t) },
		Write: func(t *testing.T, s storetest.Store, tenant string, recs []source.Record) (int64, int64) {
			return store(t, s.(*Cache), tenant, recs)
		},
		HasPairs: HasPairs,
	})
}
