package cache

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nextcore-ai/nextcore/pkg/source"
	"github.com/nextcore-ai/nextcore/pkg/source/storetest"
)

// TestBlocksMatchMemory: filters and pivots, answered from the column
// blocks, equal a plain sum over the records, for random queries in every
// zone; the records stored by several imports (segments that are merged),
// in blocks of few records (a day of several), late and out of order.
func TestBlocksMatchMemory(t *testing.T) {
	ctx := context.Background()
	defer func(n, m int) { blockMax, chunkRows = n, m }(blockMax, chunkRows)
	blockMax, chunkRows = 97, 64 // blocks of two chunks
	rng := rand.New(rand.NewPCG(31, 32))
	from, to := time.Date(2026, 3, 20, 0, 0, 0, 0, time.UTC), time.Date(2026, 4, 5, 0, 0, 0, 0, time.UTC)
	recs := storetest.LedgerRecords(rng, 12000, from, to)
	for i := range recs {
		if rng.IntN(50) == 0 {
			recs[i].Cost = -recs[i].Cost // a credit
		}
		if rng.IntN(30) == 0 {
			recs[i].PromptTokens += 1 << 40 // wide columns
		}
	}
	c := openTemp(t)
	// Imports of every size, out of time order: a day gets many segments.
	perm := rng.Perm(len(recs))
	for at := 0; at < len(perm); {
		n := min(len(perm)-at, 1+rng.IntN(1500))
		var part []source.Record
		for _, i := range perm[at : at+n] {
			part = append(part, recs[i])
		}
		store(t, c, "acme", part)
		at += n
	}
	store(t, c, "other", storetest.RandomRecords(rng, 300, from, to))
	mem := &source.Memory{Records: map[string][]source.Record{"acme": recs}}

	dims := append(source.AllDims(), source.DimAll)
	filterVals := map[source.Dim][]string{
		source.DimModel: {"gpt-4o", "模型-ü", "=cmd", "none such"}, source.DimKey: {"k1", "k2"},
		source.DimUser: {"", "alice", "zoë"}, source.DimRegion: {"", "eu-west"},
		source.DimStatus:  {source.StatusSuccess, source.StatusError, source.StatusUnknown},
		source.DimProject: {"", "search", "项目"}, source.DimTag: {"", "prod", "ü-<&>", "a;b"},
		source.DimProvider: {"", "openai"},
	}
	for _, zone := range []string{"UTC", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe", "Pacific/Chatham"} {
		loc, err := time.LoadLocation(zone)
		if err != nil {
			t.Fatal(err)
		}
		bounds := [][]int64{
			storetest.DayBounds(loc, 2026, 3, 21, 14, time.Date(2026, 4, 4, 17, 45, 30, 0, loc)),
			{time.Date(2026, 3, 19, 0, 0, 0, 0, loc).UnixNano(), time.Date(2026, 4, 6, 0, 0, 0, 0, loc).UnixNano()},
			{math.MinInt64, math.MaxInt64},
			{time.Date(2026, 3, 25, 10, 0, 0, 0, loc).UnixNano(), time.Date(2026, 3, 25, 10, 0, 0, 0, loc).UnixNano()}, // empty
			storetest.RecordEdges(rng, recs), // to the nanosecond: read from records
		}
		var qs []source.Query
		for range 40 {
			q := source.Query{Dim: dims[rng.IntN(len(dims))], Bounds: bounds[rng.IntN(len(bounds))],
				Latency: rng.IntN(2) == 0, MoneyOnly: rng.IntN(4) == 0, NoCostOnly: rng.IntN(5) == 0}
			if rng.IntN(3) > 0 {
				q.Also = []source.Dim{source.AllDims()[rng.IntN(len(source.AllDims()))]}
			}
			if rng.IntN(6) == 0 {
				q.Also = append(q.Also, source.DimPairPrice)
				q.Latency = false // as reports ask it: priced, no percentiles
			}
			q.Filter = source.Filter{}
			for range rng.IntN(3) {
				d := source.AllDims()[rng.IntN(len(source.AllDims()))]
				vals := filterVals[d]
				q.Filter[d] = append(q.Filter[d], vals[rng.IntN(len(vals))])
			}
			if len(q.Filter) == 0 && len(q.Also) == 0 && !q.NoCostOnly {
				q.Filter[source.DimRegion] = []string{"us-east"}
			}
			qs = append(qs, q)
		}
		got, err := c.AggregateMany(ctx, "acme", qs)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := mem.AggregateMany(ctx, "acme", qs)
		// Each alone too: a query with a filter alone has only the records
		// it picks decoded.
		for i := range qs {
			one, err := c.AggregateMany(ctx, "acme", qs[i:i+1])
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(storetest.Normalize(one[0]), storetest.Normalize(got[i])) {
				t.Errorf("%s: query %+v: alone and with others, the blocks disagree", zone, qs[i])
			}
		}
		for i, q := range qs {
			g, w := storetest.Normalize(got[i]), storetest.Normalize(want[i])
			if q.MoneyOnly {
				g, w = moneyOnly(g), moneyOnly(w)
			}
			if !reflect.DeepEqual(g, w) {
				t.Errorf("%s: query %+v: the blocks and the records disagree", zone, q)
			}
		}
	}
	// The blocks hold each record once, in blocks of at most blockMax.
	var n, over int64
	if err := c.db.QueryRow("SELECT coalesce(sum(n), 0), coalesce(sum(n > ?), 0) FROM blocks b JOIN tenants t ON t.id = b.tenant WHERE t.slug = 'acme' AND col = 0", blockMax).Scan(&n, &over); err != nil {
		t.Fatal(err)
	}
	if n != int64(len(recs)) || over != 0 {
		t.Errorf("blocks hold %d records (%d blocks too large), want %d", n, over, len(recs))
	}
	// Merged: no day has more blocks than its records need and a few.
	var worst int64
	if err := c.db.QueryRow(`SELECT max(extra) FROM (SELECT count(*) - (sum(n) + ? - 1) / ? AS extra FROM blocks WHERE col = 0 GROUP BY tenant, day)`,
		blockMax, blockMax).Scan(&worst); err != nil {
		t.Fatal(err)
	}
	if worst > blockMergeAt {
		t.Errorf("a day has %d blocks more than its records need", worst)
	}
}

// moneyOnly keeps what a query for money reads (source.Query.MoneyOnly).
func moneyOnly(gs []source.Groups) []source.Groups {
	for _, g := range gs {
		for k, t := range g {
			g[k] = source.Totals{Calls: t.Calls, Prompt: t.Prompt, Completion: t.Completion, Cost: t.Cost,
				CacheRead: t.CacheRead, CacheWrite: t.CacheWrite, CacheWrite1h: t.CacheWrite1h}
		}
	}
	return gs
}

func TestColumnEncoding(t *testing.T) {
	cases := [][]int64{
		{}, {7}, {5, 5, 5}, {0, 255}, {-3, 252}, {0, 256}, {1 << 20, 0, 3}, {0, 1 << 24}, {0, 1 << 40},
		{math.MinInt64, math.MaxInt64, 0}, {-1, math.MaxInt64},
	}
	// Sparse columns: mostly their smallest value, of every width, of
	// lengths around the bitmap's words.
	rng := rand.New(rand.NewPCG(5, 6))
	for _, n := range []int{1, 63, 64, 65, 200, 1000} {
		for _, big := range []int64{1, 300, 1 << 40, math.MaxInt64} {
			vals := make([]int64, n)
			for i := range vals {
				vals[i] = -7
				if rng.IntN(12) == 0 || i == n-1 {
					vals[i] += 1 + rng.Int64N(big)
				}
			}
			cases = append(cases, vals)
		}
	}
	sparse := 0
	for _, vals := range cases {
		b := encodeCol(nil, vals)
		if len(b) > 0 && b[0]&sparseFlag != 0 {
			sparse++
		}
		got, err := decodeCol(b, len(vals), nil)
		if err != nil {
			t.Fatalf("%v: %v", vals, err)
		}
		if !slices.Equal(got, vals) && len(vals) > 0 {
			t.Errorf("%v decoded as %v", vals, got)
		}
		// By stretches of 64 records or more (as a pass decodes a block),
		// each whole, or some of its records, or none.
		cur, err := newColCursor(b, len(vals))
		if err != nil {
			t.Fatal(err)
		}
		for lo := 0; lo < len(vals); {
			hi := min(len(vals), lo+64*(1+rng.IntN(3)))
			switch rng.IntN(3) {
			case 0:
				if got := cur.span(lo, hi, nil); !slices.Equal(got, vals[lo:hi]) {
					t.Errorf("%v %d…%d: %v", vals, lo, hi, got)
				}
			case 1:
				var at []int32
				var want []int64
				for i := lo; i < hi; i++ {
					if rng.IntN(4) == 0 {
						at, want = append(at, int32(i-lo)), append(want, vals[i])
					}
				}
				if got := cur.pick(lo, hi, at, nil); !slices.Equal(got, want) {
					t.Errorf("%v %d…%d at %v: %v, want %v", vals, lo, hi, at, got, want)
				}
			default:
				cur.skip(lo, hi)
			}
			lo = hi
		}
	}
	if sparse < 15 {
		t.Errorf("%d columns packed sparse", sparse)
	}
	for _, bad := range [][]byte{
		{2, 0, 0, 0, 0, 0, 0, 0, 0, 1}, // short
		{1 | sparseFlag, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0},    // a bitmap of none, one value
		{1 | sparseFlag, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0x10, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0}, // one value, past the 4th
	} {
		if _, err := decodeCol(bad, 4, nil); err == nil {
			t.Errorf("%v decoded", bad)
		}
	}
}

// BenchmarkBlockCount: counting a decoded block of records into a pivot
// of two dimensions (the work per record once the columns are read).
func BenchmarkBlockCount(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	const n = 1 << 16
	var col [numCols][]int64
	for c := range numCols {
		col[c] = make([]int64, n)
	}
	for i := range n {
		col[colSec][i] = int64(i) * Day / n
		col[colModel][i] = 1 + rng.Int64N(10)
		col[colUser][i] = 1 + rng.Int64N(5000)
		col[colRegion][i] = 1 + rng.Int64N(6)
		col[colStatus][i] = okSuccess
		col[colRequests][i] = 1
		col[colPrompt][i] = rng.Int64N(2000)
		col[colCompletion][i] = rng.Int64N(500)
		col[colCost][i] = rng.Int64N(1e7)
		col[colLatency][i] = 1 + rng.Int64N(3000)
		col[colLatencyBucket][i] = 1 + int64(source.LatencyBucketOf(col[colLatency][i]-1))
	}
	names := &dictionary{}
	for d, n := range map[source.Dim]int64{source.DimModel: 11, source.DimUser: 5001, source.DimRegion: 7} {
		names.names[d] = map[int64]string{}
		names.ids[d] = map[string]int64{}
		for id := range n {
			names.names[d][id], names.ids[d][fmt.Sprint(id)] = fmt.Sprint(id), id
		}
	}
	bounds := []int64{0, Day * int64(time.Second)}
	for _, q := range []source.Query{
		{Dim: source.DimModel, Also: []source.Dim{source.DimRegion}, Bounds: bounds, Latency: true},
		{Dim: source.DimUser, Bounds: bounds, Filter: source.Filter{source.DimModel: {"3"}}},
		{Dim: source.DimUser, Also: []source.Dim{source.DimModel}, Bounds: bounds},
	} {
		b.Run(fmt.Sprintf("%v×%v", q.Dim, q.Also), func(b *testing.B) {
			out := source.NewGroups(q)
			p, err := planBlocks(names, &q, out)
			if err != nil || p == nil {
				b.Fatal(p, err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if err := p.block(0, n, &col); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/record")
		})
	}
}

// TestManyMembersFromBlocks: plain queries and pair queries along a
// dimension of many members (each record its own user and key) come from
// the column blocks, and equal the plain sums over the records.
func TestManyMembersFromBlocks(t *testing.T) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(41, 42))
	from, to := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 3, 15, 0, 0, 0, 0, time.UTC)
	recs := storetest.LedgerRecords(rng, 4000, from, to)
	for i := range recs {
		recs[i].User = fmt.Sprintf("user%05d", i)
		recs[i].APIKey = fmt.Sprintf("key%05d", i/2)
	}
	c := openTemp(t)
	store(t, c, "acme", recs)
	mem := &source.Memory{Records: map[string][]source.Record{"acme": recs}}
	loc, _ := time.LoadLocation("America/New_York")
	days := storetest.DayBounds(loc, 2026, 3, 1, 14, to)
	var qs []source.Query
	for _, d := range []source.Dim{source.DimUser, source.DimKey} {
		qs = append(qs, source.Query{Dim: d, Bounds: days, Latency: true},
			source.Query{Dim: d, Bounds: []int64{from.UnixNano(), to.UnixNano()}},
			source.Query{Dim: d, Also: []source.Dim{source.DimPairPrice}, Bounds: days, NoCostOnly: true, MoneyOnly: true},
			source.Query{Dim: d, Also: []source.Dim{source.DimPairPrice}, Bounds: days, MoneyOnly: true})
	}
	got, err := c.AggregateMany(ctx, "acme", qs)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := mem.AggregateMany(ctx, "acme", qs)
	for i, q := range qs {
		g, w := storetest.Normalize(got[i]), storetest.Normalize(want[i])
		if q.MoneyOnly {
			g, w = moneyOnly(g), moneyOnly(w)
		}
		if !reflect.DeepEqual(g, w) {
			t.Errorf("query %+v: the cache and the records disagree", q)
		}
	}
	// They came from the blocks: rollups of these rows would be more than
	// the records.
	rc := &rollupCost{}
	tx, err := c.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	tid, err := tenantID(ctx, tx, "acme", false)
	if err != nil {
		t.Fatal(err)
	}
	names, err := loadDictionary(ctx, tx)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range qs {
		if rows, records, err := rc.estimate(ctx, tx, tid, names, &q); err != nil || rows*rowPerPass <= records {
			t.Errorf("query %+v: read from rollups (%v rows, %v records, %v)", q, rows, records, err)
		}
	}
	few := source.Query{Dim: source.DimRegion, Bounds: days}
	if rows, _, _ := rc.estimate(ctx, tx, tid, names, &few); rows > 0 {
		t.Error("regions read from blocks")
	}
}

// TestWideDimensions: a dimension that passes wideMembers in an import
// loses its rollup rows (of every tenant, counted before in this import
// and in earlier ones) and is answered from the column blocks or the
// records, equal to the plain sums in every zone; a narrow one keeps its
// rows; cache check passes.
func TestWideDimensions(t *testing.T) {
	ctx := context.Background()
	defer func(n int64) { wideMembers = n }(wideMembers)
	wideMembers = 40
	rng := rand.New(rand.NewPCG(51, 52))
	from, to := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 3, 12, 0, 0, 0, 0, time.UTC)
	recs := storetest.LedgerRecords(rng, 6000, from, to)
	for i := range recs {
		recs[i].User = fmt.Sprintf("u%02d", rng.IntN(30)) // narrow at first
		if i >= 2000 {
			recs[i].User = fmt.Sprintf("u%02d", rng.IntN(70))
		}
		recs[i].APIKey = fmt.Sprintf("k%02d", rng.IntN(25)) // narrow throughout
	}
	other := storetest.RandomRecords(rng, 500, from, to)
	c := openTemp(t)
	store(t, c, "other", other)
	for at := 0; at < len(recs); at += 1000 { // the users widen in the third import, midway
		store(t, c, "acme", recs[at:at+1000])
	}
	count := func(d source.Dim) (n int64) {
		if err := c.db.QueryRow("SELECT count(*) FROM rollups WHERE dim IN (?, ?)", int(d), int(PairDim(d))).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := count(source.DimUser); n != 0 {
		t.Errorf("%d rollup rows of a wide dimension left", n)
	}
	// A cache written before keys were wide (here: before the limit fell
	// below them) loses their rows at its next import.
	if count(source.DimKey) == 0 || count(source.DimRegion) == 0 {
		t.Error("a narrow dimension lost its rollup rows")
	}
	wideMembers = 20
	more := storetest.RandomRecords(rng, 10, from, from.Add(time.Hour))
	for i := range more {
		more[i].ID = fmt.Sprintf("more-%d", i)
	}
	store(t, c, "acme", more)
	recs = append(recs, more...)
	if n := count(source.DimKey); n != 0 {
		t.Errorf("%d rollup rows of keys, wide since the last import", n)
	}
	if count(source.DimRegion) == 0 {
		t.Error("a narrow dimension lost its rollup rows")
	}

	if err := c.Check(ctx); err != nil {
		t.Errorf("cache check: %v", err)
	}
	for tenant, rs := range map[string][]source.Record{"acme": recs, "other": other} {
		mem := &source.Memory{Records: map[string][]source.Record{tenant: rs}}
		for _, zone := range []string{"UTC", "Asia/Kolkata", "America/St_Johns"} {
			loc, _ := time.LoadLocation(zone)
			days := storetest.DayBounds(loc, 2026, 3, 1, 11, time.Date(2026, 3, 11, 15, 30, 0, 0, loc))
			var qs []source.Query
			for _, d := range []source.Dim{source.DimUser, source.DimKey} {
				for _, b := range [][]int64{days, {math.MinInt64, math.MaxInt64}, storetest.RecordEdges(rng, rs)} {
					qs = append(qs, source.Query{Dim: d, Bounds: b, Latency: true},
						source.Query{Dim: d, Also: []source.Dim{source.DimPairPrice}, Bounds: b, MoneyOnly: true},
						source.Query{Dim: d, Also: []source.Dim{source.DimPairPrice}, Bounds: b, NoCostOnly: true, MoneyOnly: true})
				}
			}
			got, err := c.AggregateMany(ctx, tenant, qs)
			if err != nil {
				t.Fatal(err)
			}
			want, _ := mem.AggregateMany(ctx, tenant, qs)
			for i, q := range qs {
				g, w := storetest.Normalize(got[i]), storetest.Normalize(want[i])
				if q.MoneyOnly {
					g, w = moneyOnly(g), moneyOnly(w)
				}
				if !reflect.DeepEqual(g, w) {
					t.Errorf("%s %s: query %+v: the cache and the records disagree", tenant, zone, q)
				}
			}
		}
	}
}

// TestCorruptBlocksFail: a pass over column blocks that meets a broken
// one (bytes that do not decode, a code the dictionary lacks, a column
// short of a block) says the cache is corrupted, and returns: no stage of
// the pass waits for another that stopped.
func TestCorruptBlocksFail(t *testing.T) {
	ctx := context.Background()
	defer func(n, m int) { blockMax, chunkRows = n, m }(blockMax, chunkRows)
	blockMax, chunkRows = 150, 64
	rng := rand.New(rand.NewPCG(7, 8))
	from, to := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 3, 20, 0, 0, 0, 0, time.UTC)
	recs := storetest.RandomRecords(rng, 3000, from, to)
	queries := []source.Query{
		{Dim: source.DimModel, Also: []source.Dim{source.DimRegion}, Bounds: []int64{from.UnixNano(), to.UnixNano()}},
		{Dim: source.DimUser, Filter: map[source.Dim][]string{source.DimModel: {"gpt-4o"}}, Latency: true,
			Bounds: storetest.DayBounds(time.UTC, 2026, 3, 1, 19, to)},
		{Dim: source.DimKey, Filter: map[source.Dim][]string{source.DimRegion: {"eu-west"}}, MoneyOnly: true,
			Bounds: []int64{from.UnixNano(), to.UnixNano()}},
	}
	// The middle block of a column, by rowid.
	middle := fmt.Sprintf("(SELECT rowid FROM blocks WHERE col = %%d ORDER BY day, seg LIMIT 1 OFFSET (SELECT count(*) / 2 FROM blocks WHERE col = %%d))")
	for _, tc := range []struct {
		name, sql string
		fail      []bool // by query: those that read the column
	}{
		{"bytes that do not decode", fmt.Sprintf("UPDATE blocks SET data = x'05' WHERE rowid = "+middle, colCost, colCost), []bool{true, true, true}},
		{"a code the dictionary lacks", fmt.Sprintf("UPDATE blocks SET data = ? WHERE rowid = "+middle, colModel, colModel), []bool{true, true, false}},
		{"a column short of a block", fmt.Sprintf("DELETE FROM blocks WHERE rowid = "+middle, colRegion, colRegion), []bool{true, false, true}},
		{"a sparse column cut short", fmt.Sprintf("UPDATE blocks SET data = x'81ffffffff' WHERE rowid = "+middle, colStatus, colStatus), []bool{true, true, false}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := openTemp(t)
			store(t, c, "acme", recs)
			var args []any
			if strings.Contains(tc.sql, "?") {
				var n int
				if err := c.db.QueryRowContext(ctx, "SELECT n FROM blocks WHERE rowid = "+fmt.Sprintf(middle, colModel, colModel)).Scan(&n); err != nil {
					t.Fatal(err)
				}
				codes := make([]int64, n)
				for i := range codes {
					codes[i] = 1 << 20
				}
				args = append(args, encodeCol(nil, codes))
			}
			res, err := c.db.ExecContext(ctx, tc.sql, args...)
			if err != nil {
				t.Fatal(err)
			}
			if n, _ := res.RowsAffected(); n != 1 {
				t.Fatalf("%d blocks changed, want 1", n)
			}
			for i, q := range queries {
				done := make(chan error, 1)
				go func() {
					_, err := c.AggregateMany(ctx, "acme", []source.Query{q})
					done <- err
				}()
				select {
				case err := <-done:
					if tc.fail[i] && !errors.Is(err, ErrCorrupted) {
						t.Errorf("query %d: %v, want the cache corrupted", i, err)
					}
					if !tc.fail[i] && err != nil {
						t.Errorf("query %d, which does not read the column: %v", i, err)
					}
				case <-time.After(time.Minute):
					t.Fatalf("query %d: no answer in a minute", i)
				}
			}
		})
	}
}
