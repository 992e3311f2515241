package pgstore

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nextcore-ai/nextcore/pkg/source"
	"github.com/nextcore-ai/nextcore/pkg/source/cache"
	"github.com/nextcore-ai/nextcore/pkg/source/pgstore/pgtest"
	"github.com/nextcore-ai/nextcore/pkg/source/storetest"
)

func openFresh(t *testing.T) *Store {
	t.Helper()
	u, _ := pgtest.Fresh(t)
	s, err := Open(context.Background(), u, cache.Options{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func write(t testing.TB, s cache.Store, tenant string, recs []source.Record) (added, dups int64) {
	t.Helper()
	w, err := s.Begin(context.Background(), tenant)
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
	return w.Stored()
}

// TestConformance runs the stores' conformance suite on PostgreSQL: the
// same answers as the plain sums, and so as the SQLite cache's.
func TestConformance(t *testing.T) {
	storetest.Run(t, storetest.Target{
		Open: func(t *testing.T) storetest.Store { return openFresh(t) },
		Write: func(t *testing.T, s storetest.Store, tenant string, recs []source.Record) (int64, int64) {
			return write(t, s.(*Store), tenant, recs)
		},
		HasPairs: func(d source.Dim) bool { return true },
	})
}

// TestCheckFindsDamage: cache check passes on a sound store and names the
// tenant whose rollups no longer add up to its records.
func TestCheckFindsDamage(t *testing.T) {
	ctx := context.Background()
	s := openFresh(t)
	rng := rand.New(rand.NewPCG(3, 4))
	write(t, s, "acme", storetest.RandomRecords(rng, 500, time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 3, 4, 0, 0, 0, 0, time.UTC)))
	if err := s.Check(ctx); err != nil {
		t.Fatalf("a sound store: %v", err)
	}
	if _, err := s.pool.Exec(ctx, "DELETE FROM records WHERE id IN (SELECT id FROM records LIMIT 1)"); err != nil {
		t.Fatal(err)
	}
	err := s.Check(ctx)
	if !errors.Is(err, cache.ErrCorrupted) || !strings.Contains(err.Error(), "tenant acme") {
		t.Fatalf("a record gone: %v", err)
	}
}

// TestOpenErrors: no tables without Create, a newer schema, a bad URL, a
// server that is not there: each one clear line, never the password.
func TestOpenErrors(t *testing.T) {
	ctx := context.Background()
	u, _ := pgtest.Fresh(t)
	if _, err := Open(ctx, u, cache.Options{}); !errors.Is(err, cache.ErrNoCache) {
		t.Errorf("no tables: %v", err)
	}
	s, err := Open(ctx, u, cache.Options{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.pool.Exec(ctx, "UPDATE nextcore_schema SET version = 99"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := Open(ctx, u, cache.Options{}); !errors.Is(err, cache.ErrNewer) {
		t.Errorf("newer schema: %v", err)
	}
	_, err = Open(ctx, "postgres://someone:s3cret@127.0.0.1:1/x?connect_timeout=2", cache.Options{})
	if err == nil || strings.Contains(err.Error(), "s3cret") || !strings.Contains(err.Error(), "cannot connect") {
		t.Errorf("no server: %v", err)
	}
	if _, err := Open(ctx, "postgres://a:b@[::1", cache.Options{}); err == nil || strings.Contains(err.Error(), ":b@") {
		t.Errorf("bad URL: %v", err)
	}
}

// TestLockSync: a second sync of a tenant is refused while the first
// holds the lock, from another store (host) too; another tenant is not
// held up; the lock goes with its connection.
func TestLockSync(t *testing.T) {
	ctx := context.Background()
	u, _ := pgtest.Fresh(t)
	a, err := Open(ctx, u, cache.Options{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := Open(ctx, u, cache.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	unlock, err := a.LockSync(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.LockSync(ctx, "acme"); !errors.Is(err, cache.ErrSyncRunning) {
		t.Fatalf("second sync: %v", err)
	}
	other, err := b.LockSync(ctx, "globex")
	if err != nil {
		t.Fatalf("another tenant: %v", err)
	}
	other()
	unlock()
	again, err := b.LockSync(ctx, "acme")
	if err != nil {
		t.Fatalf("after unlock: %v", err)
	}
	again()
}

// TestReadOnlyRole: the reader role answers reports and is refused a
// write with one clear error.
func TestReadOnlyRole(t *testing.T) {
	ctx := context.Background()
	reader := pgtest.ServerURL(t, "NEXTCORE_TEST_PG_READER")
	u, schema := pgtest.Fresh(t)
	s, err := Open(ctx, u, cache.Options{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rng := rand.New(rand.NewPCG(5, 6))
	recs := storetest.RandomRecords(rng, 200, time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC))
	write(t, s, "acme", recs)
	readerName := mustUser(t, reader)
	if _, err := Open(ctx, pgtest.WithSchema(reader, schema), cache.Options{}); err == nil ||
		!strings.Contains(err.Error(), "may not use the schema") || !strings.Contains(err.Error(), "GRANT USAGE ON SCHEMA "+schema) {
		t.Errorf("a reader without USAGE on the schema: %v", err)
	}
	if _, err := s.pool.Exec(ctx, fmt.Sprintf("GRANT USAGE ON SCHEMA %s TO %s; GRANT SELECT ON ALL TABLES IN SCHEMA %s TO %s",
		schema, readerName, schema, readerName)); err != nil {
		t.Fatal(err)
	}
	r, err := Open(ctx, pgtest.WithSchema(reader, schema), cache.Options{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	g, err := r.Aggregate(ctx, "acme", source.DimModel, []int64{math.MinInt64, math.MaxInt64})
	if err != nil {
		t.Fatalf("a report with the reader: %v", err)
	}
	want, _ := (&source.Memory{Records: map[string][]source.Record{"acme": recs}}).Aggregate(ctx, "acme", source.DimModel, []int64{math.MinInt64, math.MaxInt64})
	if !reflect.DeepEqual(storetest.Normalize(g), storetest.Normalize(want)) {
		t.Error("the reader's report differs")
	}
	_, err = r.Begin(ctx, "acme")
	if err == nil {
		t.Fatal("the reader began a write")
	}
	if !errors.Is(err, ErrNoWrite) || strings.Count(err.Error(), "\n") > 0 {
		t.Fatalf("the reader writing: %v", err)
	}
}

func mustUser(t *testing.T, u string) string {
	p, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	return p.User.Username()
}

// TestStatementTimeout: a statement the server cancels fails the write
// with a clear error, and nothing of it is stored.
func TestStatementTimeout(t *testing.T) {
	ctx := context.Background()
	u, _ := pgtest.Fresh(t)
	s, err := Open(ctx, u, cache.Options{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rng := rand.New(rand.NewPCG(7, 8))
	recs := storetest.RandomRecords(rng, 120_000, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC))
	p, _ := url.Parse(u)
	q := p.Query()
	q.Set("statement_timeout", "50")
	p.RawQuery = q.Encode()
	slow, err := Open(ctx, p.String(), cache.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	w, err := slow.Begin(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	for i := range recs {
		if err = w.Add(&recs[i]); err != nil {
			break
		}
	}
	if err == nil {
		err = w.Commit()
	}
	_ = w.Rollback()
	if err == nil || !strings.Contains(err.Error(), "cancelled") {
		t.Fatalf("a write past the timeout: %v", err)
	}
	if n, _ := s.Count(ctx, "acme", math.MinInt64, math.MaxInt64); n != 0 {
		t.Errorf("%d calls stored by a cancelled write", n)
	}
}

// TestConnectionDroppedDuringCopy: the server ends the writer's
// connection while it copies: the write fails saying so, nothing is
// stored, and the same write again stores everything once.
func TestConnectionDroppedDuringCopy(t *testing.T) {
	ctx := context.Background()
	s := openFresh(t)
	rng := rand.New(rand.NewPCG(9, 10))
	recs := storetest.RandomRecords(rng, 3*flushRows+10, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC))
	w, err := s.Begin(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	var pid int32
	if err := w.(*Writer).tx.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&pid); err != nil {
		t.Fatal(err)
	}
	for i := range recs {
		if i == flushRows+flushRows/2 {
			if _, err := s.pool.Exec(ctx, "SELECT pg_terminate_backend($1)", pid); err != nil {
				t.Fatal(err)
			}
		}
		if err = w.Add(&recs[i]); err != nil {
			break
		}
	}
	if err == nil {
		err = w.Commit()
	}
	_ = w.Rollback()
	if err == nil || !strings.Contains(err.Error(), "connection was lost") {
		t.Fatalf("a write whose connection ended: %v", err)
	}
	if n, _ := s.Count(ctx, "acme", math.MinInt64, math.MaxInt64); n != 0 {
		t.Errorf("%d calls stored by a write that failed", n)
	}
	if added, dups := write(t, s, "acme", recs); added != int64(len(recs)) || dups != 0 {
		t.Errorf("the write again: %d added, %d duplicates", added, dups)
	}
	if err := s.Check(ctx); err != nil {
		t.Error(err)
	}
}

// BenchmarkWrite stores a year's records with random ids, as providers
// issue them, in time order but for 2 % that come late (at a random
// place), as scripts/bench.sh's data.
func BenchmarkWrite(b *testing.B) {
	ctx := context.Background()
	u, _ := pgtest.Fresh(b)
	s, err := Open(ctx, u, cache.Options{Create: true})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	rng := rand.New(rand.NewPCG(1, 1))
	recs := storetest.RandomRecords(rng, 200_000, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC))
	slices.SortFunc(recs, func(a, b source.Record) int { return cmp.Compare(a.Time, b.Time) })
	for range len(recs) / 50 {
		i, j := rng.IntN(len(recs)), rng.IntN(len(recs))
		recs[i], recs[j] = recs[j], recs[i]
	}
	b.ResetTimer()
	start := time.Now()
	n := 0
	for i := 0; i < b.N; i++ {
		for j := range recs {
			recs[j].ID = fmt.Sprintf("req_%016x%016x", rng.Uint64(), rng.Uint64())
		}
		write(b, s, "acme", recs)
		n += len(recs)
	}
	b.ReportMetric(float64(n)/time.Since(start).Seconds(), "records/s")
}

// TestCompaction: many small writes into the same days (as a sync's
// pages) leave each bucket compacted, and every answer as the plain sums.
func TestCompaction(t *testing.T) {
	ctx := context.Background()
	s := openFresh(t)
	rng := rand.New(rand.NewPCG(11, 12))
	from, to := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 3, 3, 0, 0, 0, 0, time.UTC)
	recs := storetest.LedgerRecords(rng, 6000, from, to)
	for i := range recs {
		recs[i].ID = fmt.Sprintf("c%05d", i)
	}
	for i := 0; i < len(recs); i += 100 {
		write(t, s, "acme", recs[i:i+100])
	}
	var loose int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM (SELECT 1 FROM rollups GROUP BY tenant, dim, level, start
		HAVING count(*) > 2 * count(DISTINCT member) + 16) b`).Scan(&loose); err != nil {
		t.Fatal(err)
	}
	if loose > 0 {
		t.Errorf("%d buckets left uncompacted", loose)
	}
	// 60 writes into 2 days: a row a write and day, but for compaction.
	var dayRows int
	if err := s.pool.QueryRow(ctx, "SELECT count(*) FROM rollups WHERE dim = 0 AND level = 86400").Scan(&dayRows); err != nil {
		t.Fatal(err)
	}
	if dayRows >= 60 {
		t.Errorf("%d rows of the 2 days' totals: the test does not reach compaction", dayRows)
	}
	mem := &source.Memory{Records: map[string][]source.Record{"acme": recs}}
	bounds := storetest.DayBounds(time.UTC, 2026, 3, 1, 2, to)
	for _, d := range append([]source.Dim{source.DimAll, source.DimTag}, source.Dims()...) {
		got, err := s.Aggregate(ctx, "acme", d, bounds)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := mem.Aggregate(ctx, "acme", d, bounds)
		if !reflect.DeepEqual(storetest.Normalize(got), storetest.Normalize(want)) {
			t.Errorf("%v: the compacted store and the records disagree", d)
		}
	}
	if err := s.Check(ctx); err != nil {
		t.Error(err)
	}
}

// TestMigrateFromVersion1: a store of version 1 held the pairs of every
// record for keys and users; the upgrade drops them, and reports that price
// every record by key or user sum the records instead, as before.
func TestMigrateFromVersion1(t *testing.T) {
	ctx := context.Background()
	u, _ := pgtest.Fresh(t)
	s, err := Open(ctx, u, cache.Options{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(21, 22))
	from, to := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 3, 20, 0, 0, 0, 0, time.UTC)
	recs := storetest.LedgerRecords(rng, 3000, from, to)
	write(t, s, "acme", recs)
	// What version 1 wrote: rows of the key and user pairs (here wrong on
	// purpose, so that reading them would show).
	if _, err := s.pool.Exec(ctx, `INSERT INTO rollups SELECT tenant, dim + 32, level, start, member || E'\x1fx', `+
		counterList+`, lat FROM rollups WHERE dim IN (2, 3) AND level = 86400;
		DROP AGGREGATE nc_sum(bigint); DROP INDEX rollups_calls; DROP INDEX records_no_cost; UPDATE nextcore_schema SET version = 1`); err != nil {
		t.Fatal(err)
	}
	s.Close()
	var upgraded []int
	s, err = Open(ctx, u, cache.Options{Upgrading: func(from, to int) { upgraded = append(upgraded, from, to) }})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if !slices.Equal(upgraded, []int{1, SchemaVersion}) {
		t.Errorf("upgraded %v", upgraded)
	}
	var left int
	if err := s.pool.QueryRow(ctx, "SELECT count(*) FROM rollups WHERE dim IN (34, 35)").Scan(&left); err != nil {
		t.Fatal(err)
	}
	if left != 0 {
		t.Errorf("%d rows of key and user pairs left", left)
	}
	mem := &source.Memory{Records: map[string][]source.Record{"acme": recs}}
	for _, d := range []source.Dim{source.DimKey, source.DimUser} {
		q := []source.Query{{Dim: d, Also: []source.Dim{source.DimPairPrice}, Bounds: []int64{from.UnixNano(), to.UnixNano()}}}
		got, err := s.AggregateMany(ctx, "acme", q)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := mem.AggregateMany(ctx, "acme", q)
		if !reflect.DeepEqual(storetest.Normalize(got[0]), storetest.Normalize(want[0])) {
			t.Errorf("%v × price keys after the upgrade: not the records' sums", d)
		}
	}
}

// TestNarrowQueries: a query that reads only calls (CallsOnly) or only
// what prices (MoneyOnly) gets those counters as a full query does, from
// the rollups and from the records (a filter).
func TestNarrowQueries(t *testing.T) {
	ctx := context.Background()
	s := openFresh(t)
	rng := rand.New(rand.NewPCG(31, 32))
	from, to := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
	recs := storetest.LedgerRecords(rng, 4000, from, to)
	write(t, s, "acme", recs)
	bounds := []int64{from.Add(-7 * time.Hour).UnixNano(), from.Add(40 * 24 * time.Hour).UnixNano(), to.UnixNano()}
	keep := map[string]func(source.Totals) source.Totals{
		"calls": func(t source.Totals) source.Totals { return source.Totals{Calls: t.Calls} },
		"money": func(t source.Totals) source.Totals {
			return source.Totals{Calls: t.Calls, Prompt: t.Prompt, Completion: t.Completion, Cost: t.Cost,
				CacheRead: t.CacheRead, CacheWrite: t.CacheWrite, CacheWrite1h: t.CacheWrite1h}
		},
	}
	for _, d := range []source.Dim{source.DimKey, source.DimUser, source.DimPrice, source.DimModel} {
		for _, filter := range []source.Filter{nil, {source.DimRegion: {"us-east", "eu-west"}}} {
			full := source.Query{Dim: d, Bounds: bounds, Filter: filter}
			for name, narrow := range map[string]source.Query{"calls": {Dim: d, Bounds: bounds, Filter: filter, CallsOnly: true},
				"money": {Dim: d, Bounds: bounds, Filter: filter, MoneyOnly: true}} {
				got, err := s.AggregateMany(ctx, "acme", []source.Query{full, narrow})
				if err != nil {
					t.Fatal(err)
				}
				n := 0
				for k := range got[0] {
					for m, tot := range got[0][k] {
						if want := keep[name](tot); got[1][k][m] != want {
							t.Errorf("%v %s filter %v: %q = %+v, want %+v", d, name, filter, m, got[1][k][m], want)
						}
						n++
					}
				}
				if n < 2 {
					t.Fatalf("%v: %d groups: the test reads nothing", d, n)
				}
			}
		}
	}
}

// TestBatchesInFlight: a batch is stored while the next fills; ids given
// again in the next batch (the one before may still be on its way) or in
// the same one count once, and the sums are the records'.
func TestBatchesInFlight(t *testing.T) {
	ctx := context.Background()
	s := openFresh(t)
	rng := rand.New(rand.NewPCG(41, 42))
	from, to := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 5, 20, 0, 0, 0, 0, time.UTC)
	recs := storetest.RandomRecords(rng, 2*flushRows+20, from, to)
	var given []source.Record
	given = append(given, recs[:flushRows+10]...)
	given = append(given, recs[flushRows-5_000:]...) // 5,010 again, across the first batch's end
	given = append(given, recs[7], recs[flushRows+15])
	added, dups := write(t, s, "acme", given)
	if added != int64(len(recs)) || dups != int64(len(given)-len(recs)) {
		t.Errorf("%d added, %d duplicates; want %d, %d", added, dups, len(recs), len(given)-len(recs))
	}
	mem := &source.Memory{Records: map[string][]source.Record{"acme": recs}}
	bounds := storetest.DayBounds(time.UTC, 2026, 5, 1, 19, to)
	for _, d := range []source.Dim{source.DimAll, source.DimModel, source.DimUser} {
		got, err := s.Aggregate(ctx, "acme", d, bounds)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := mem.Aggregate(ctx, "acme", d, bounds)
		if !reflect.DeepEqual(storetest.Normalize(got), storetest.Normalize(want)) {
			t.Errorf("%v: the store and the records disagree", d)
		}
	}
	if err := s.Check(ctx); err != nil {
		t.Error(err)
	}
}
