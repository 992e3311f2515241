// Package storetest is the conformance suite every store of usage passes
// (the SQLite cache, the PostgreSQL team store): for any records, bounds,
// zone, dimension, pivot and filter, the store's answer equals the plain
// sum over the records, to the nano-dollar; records come back as they went
// in; an id is stored once.
package storetest

import (
	"cmp"
	"context"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nextcore-ai/nextcore/pkg/source"
)

// Store is what the suite reads.
type Store interface {
	source.Source
	source.ManySource
	source.RecordLister
}

// Target is a store under test.
type Target struct {
	// Open makes an empty store, closed when the test ends.
	Open func(t *testing.T) Store
	// Write stores recs for tenant in one transaction and says how many
	// were new and how many duplicates.
	Write func(t *testing.T, s Store, tenant string, recs []source.Record) (added, dups int64)
	// HasPairs reports whether the store rolls d up by price key, so that
	// those pivots are asked too.
	HasPairs func(d source.Dim) bool
}

// Run runs the whole suite against tg.
func Run(t *testing.T, tg Target) {
	t.Run("aggregate", func(t *testing.T) { aggregateMatchesMemory(t, tg) })
	t.Run("pivots and filters", func(t *testing.T) { pivotsAndFiltersMatchMemory(t, tg) })
	t.Run("records back", func(t *testing.T) { recordsBack(t, tg) })
}

// recordsBack: every field of every record is read back as written, in
// (timestamp, id) order; the same records again are duplicates, and a
// batch that repeats an id stores its first.
func recordsBack(t *testing.T, tg Target) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(14, 6))
	from, to := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 3, 3, 0, 0, 0, 0, time.UTC)
	recs := RandomRecords(rng, 3000, from, to)
	WithLedger(rng, recs)
	c := tg.Open(t)
	if added, dups := tg.Write(t, c, "acme", recs[:2000]); added != 2000 || dups != 0 {
		t.Fatalf("first write: %d added, %d duplicates", added, dups)
	}
	again := slices.Clone(recs[1000:])
	changed := again[0]
	changed.Cost++ // the stored one stays
	again = append(again, changed)
	if added, dups := tg.Write(t, c, "acme", again); added != 1000 || dups != 1001 {
		t.Fatalf("second write: %d added, %d duplicates, want 1000 and 1001", added, dups)
	}
	want := slices.Clone(recs)
	slices.SortFunc(want, func(a, b source.Record) int {
		return cmp.Or(cmp.Compare(a.Time, b.Time), strings.Compare(a.ID, b.ID))
	})
	var got []source.Record
	if err := c.EachRecord(ctx, "acme", math.MinInt64, math.MaxInt64, func(r *source.Record) error {
		r2 := *r
		r2.Tags = slices.Clone(r.Tags)
		got = append(got, r2)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("%d records back, want %d", len(got), len(want))
	}
	for i := range want {
		w := want[i]
		if len(w.Tags) == 0 {
			w.Tags = nil
		}
		if !reflect.DeepEqual(got[i], w) {
			t.Fatalf("record %d back as\n%+v\nwant\n%+v", i, got[i], w)
		}
	}
}

// aggregateMatchesMemory is the stores' conformance test: for any
// bounds, in any zone, along any dimension, the cache's answer equals a plain
// sum over the records.
func aggregateMatchesMemory(t *testing.T, tg Target) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	from := time.Date(2026, 2, 20, 0, 0, 0, 0, time.UTC)
	to := time.Date(2026, 4, 10, 0, 0, 0, 0, time.UTC)
	recs := RandomRecords(rng, 20000, from, to)
	WithLedger(rng, recs)
	c := tg.Open(t)
	tg.Write(t, c, "acme", recs)
	tg.Write(t, c, "other", RandomRecords(rng, 500, from, to))
	mem := &source.Memory{Records: map[string][]source.Record{"acme": recs}}

	zones := []string{"UTC", "America/New_York", "Europe/Berlin", "Asia/Kolkata", "Asia/Kathmandu", "Australia/Lord_Howe", "Pacific/Chatham"}
	for _, zone := range zones {
		loc, err := time.LoadLocation(zone)
		if err != nil {
			t.Fatal(err)
		}
		odd := time.Date(2026, 3, 29, 13, 7, 11, 123456789, loc)
		cases := map[string][]int64{
			"days across DST": DayBounds(loc, 2026, 3, 1, 40, time.Date(2026, 4, 9, 17, 45, 30, 1, loc)),
			"one window":      {time.Date(2026, 2, 21, 0, 0, 0, 0, loc).UnixNano(), odd.UnixNano()},
			"ns window":       {odd.UnixNano(), odd.UnixNano() + 1},
			"before data":     {time.Date(2025, 1, 1, 0, 0, 0, 0, loc).UnixNano(), from.UnixNano()},
			"all time":        {math.MinInt64, math.MaxInt64},
			"at records":      RecordEdges(rng, recs),
		}
		for name, bounds := range cases {
			for _, dim := range append([]source.Dim{source.DimAll, source.DimTag}, source.Dims()...) {
				got, err := c.Aggregate(ctx, "acme", dim, bounds)
				if err != nil {
					t.Fatal(err)
				}
				want, _ := mem.Aggregate(ctx, "acme", dim, bounds)
				if !reflect.DeepEqual(Normalize(got), Normalize(want)) {
					t.Errorf("%s %s %v: store and records disagree", zone, name, dim)
				}
			}
		}
	}
}

// pivotsAndFiltersMatchMemory checks a store's raw path: pivots
// of two dimensions and filters, against the plain sum over the records.
func pivotsAndFiltersMatchMemory(t *testing.T, tg Target) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(21, 22))
	from, to := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 3, 20, 0, 0, 0, 0, time.UTC)
	recs := RandomRecords(rng, 5000, from, to)
	WithLedger(rng, recs)
	c := tg.Open(t)
	tg.Write(t, c, "acme", recs)
	mem := &source.Memory{Records: map[string][]source.Record{"acme": recs}}
	loc, _ := time.LoadLocation("Asia/Kolkata")
	days := DayBounds(loc, 2026, 3, 2, 10, time.Date(2026, 3, 12, 6, 7, 0, 0, loc))
	qs := []source.Query{
		{Dim: source.DimModel, Also: []source.Dim{source.DimRegion}, Bounds: days, Latency: true},
		{Dim: source.DimUser, Bounds: days, Filter: source.Filter{source.DimModel: {"gpt-4o", "模型-ü"}, source.DimRegion: {"eu-west"}}, Latency: true},
		{Dim: source.DimAll, Bounds: days, Filter: source.Filter{source.DimUser: {""}}},
		{Dim: source.DimKey, Bounds: days, Filter: source.Filter{source.DimModel: {"no such model"}}},
		{Dim: source.DimRegion, Bounds: days}, // plain, without latency
		// tags: overlapping groups, in a pivot and in a filter
		{Dim: source.DimTag, Also: []source.Dim{source.DimModel}, Bounds: days, Latency: true},
		{Dim: source.DimProject, Bounds: days, Filter: source.Filter{source.DimTag: {"prod", ""}, source.DimProvider: {"openai", ""}}},
		{Dim: source.DimStatus, Bounds: days, Filter: source.Filter{source.DimTag: {"team:ml"}}},
		// members by price key (of all records, of those without a cost):
		// the pair rollups, and records at the edges
		{Dim: source.DimPrice, Bounds: days, Filter: source.Filter{source.DimKey: {"k1"}}, NoCostOnly: true},
		{Dim: source.DimPrice, Bounds: days, NoCostOnly: true},
		{Dim: source.DimPrice, Bounds: []int64{math.MinInt64, math.MaxInt64}, NoCostOnly: true},
	}
	for _, d := range append([]source.Dim{source.DimTag}, source.Dims()...) {
		if tg.HasPairs(d) {
			for _, noCost := range []bool{true, false} {
				qs = append(qs, source.Query{Dim: d, Also: []source.Dim{source.DimPairPrice}, Bounds: days, NoCostOnly: noCost},
					source.Query{Dim: d, Also: []source.Dim{source.DimPairPrice}, Bounds: []int64{math.MinInt64, math.MaxInt64}, NoCostOnly: noCost},
					source.Query{Dim: d, Also: []source.Dim{source.DimPrice}, Bounds: days, NoCostOnly: noCost})
			}
		}
	}
	got, err := c.AggregateMany(ctx, "acme", qs)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := mem.AggregateMany(ctx, "acme", qs)
	for i := range qs {
		if !reflect.DeepEqual(Normalize(got[i]), Normalize(want[i])) {
			t.Errorf("query %d: the store and the records disagree", i)
		}
	}
	if len(Normalize(got[3])[0]) != 0 {
		t.Error("a filter on an unknown model matched")
	}
}

// RandomRecords makes records crowded around hour, quarter and day edges so
// that every bound falls next to some.
func RandomRecords(rng *rand.Rand, n int, from, to time.Time) []source.Record {
	span := to.Sub(from)
	out := make([]source.Record, 0, n)
	models := []string{"gpt-4o", "gpt-4o-mini", "claude/3:haiku", "模型-ü", "=cmd"}
	for i := range n {
		t := from.Add(time.Duration(rng.Int64N(int64(span))))
		switch rng.IntN(4) {
		case 0: // right on a quarter hour
			t = t.Truncate(15 * time.Minute)
		case 1: // a nanosecond either side of one
			t = t.Truncate(15 * time.Minute).Add(time.Duration(rng.IntN(3)-1) * time.Nanosecond)
		}
		r := source.Record{
			ID:               "r" + time.Duration(i).String(),
			Time:             t.UnixNano(),
			Model:            models[rng.IntN(len(models))],
			APIKey:           []string{"k1", "k2"}[rng.IntN(2)],
			Success:          rng.IntN(10) > 0,
			PromptTokens:     rng.Int64N(2000),
			CompletionTokens: rng.Int64N(800),
			Cost:             source.USD(rng.Int64N(50_000_000)),
			LatencyMs:        rng.Int64N(3000) - 100,
			Requests:         1,
		}
		if r.LatencyMs < 0 {
			r.LatencyMs = -1
		}
		if rng.IntN(5) > 0 {
			r.User = []string{"alice", "bob", "zoë"}[rng.IntN(3)]
		}
		if rng.IntN(5) > 0 {
			r.Region = []string{"eu-west", "us-east"}[rng.IntN(2)]
		}
		out = append(out, r)
	}
	return out
}

// DayBounds are the starts of the local days from..to and the end.
func DayBounds(loc *time.Location, y int, m time.Month, d, days int, end time.Time) []int64 {
	var b []int64
	for i := range days {
		b = append(b, time.Date(y, m, d+i, 0, 0, 0, 0, loc).UnixNano())
	}
	return append(b, end.UnixNano())
}

// RecordEdges are bounds placed on and a nanosecond after record times,
// where an off-by-one in the edge handling would show.
func RecordEdges(rng *rand.Rand, recs []source.Record) []int64 {
	var b []int64
	for range 40 {
		b = append(b, recs[rng.IntN(len(recs))].Time+int64(rng.IntN(2)))
	}
	slices.Sort(b)
	return slices.Compact(b)
}

// normalize drops empty groups, which one side may list and the other not.
func Normalize(gs []source.Groups) []source.Groups {
	out := make([]source.Groups, len(gs))
	for i, g := range gs {
		out[i] = source.Groups{}
		for k, v := range g {
			if !v.Empty() {
				out[i][k] = v
			}
		}
	}
	return out
}

// LedgerRecords are RandomRecords given the ledger's fields (WithLedger).
func LedgerRecords(rng *rand.Rand, n int, from, to time.Time) []source.Record {
	recs := RandomRecords(rng, n, from, to)
	WithLedger(rng, recs)
	return recs
}

// WithLedger gives about half the records v2 fields (docs/ledger.md):
// buckets of many requests and of none, cache and reasoning tokens, unknown
// status, no reported cost, projects, providers, tags, tiers, batch and
// long context.
func WithLedger(rng *rand.Rand, recs []source.Record) {
	tagPool := []string{"prod", "team:ml", "a;b", `"quoted"`, "ü-<&>", "x"}
	for i := range recs {
		r := &recs[i]
		if rng.IntN(2) == 0 {
			continue
		}
		r.Requests = []int64{0, 1, 2, 312}[rng.IntN(4)]
		r.CacheRead = rng.Int64N(r.PromptTokens + 1)
		r.CacheWrite = rng.Int64N(r.PromptTokens - r.CacheRead + 1)
		r.CacheWrite1h = rng.Int64N(r.PromptTokens - r.CacheRead - r.CacheWrite + 1)
		r.Reasoning = rng.Int64N(r.CompletionTokens + 1)
		r.Project = []string{"", "search", "=chat", "项目"}[rng.IntN(4)]
		r.Provider = []string{"", "openai", "anthropic"}[rng.IntN(3)]
		r.ServiceTier = []string{"", "priority", "flex"}[rng.IntN(3)]
		r.Batch = rng.IntN(3) == 0
		r.LongContext = int8(rng.IntN(3) - 1)
		if rng.IntN(4) == 0 {
			r.Unknown, r.Success = true, false
		}
		if rng.IntN(4) == 0 {
			r.NoCost, r.Cost = true, 0
		}
		r.Tags = nil
		for _, k := range rng.Perm(len(tagPool))[:rng.IntN(4)] {
			r.Tags = append(r.Tags, tagPool[k])
		}
	}
}
