package report

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nextcore-ai/nextcore/pkg/source"
)

// moneyBook: gpt-4o's prices fall on Nov 13, 2026 (UTC); cheap costs 0.15
// nano-dollars a token, so that rounding shows.
const moneyBook = `
models:
  gpt-4o:
    prices:
      - from: 2026-01-01
        input: 2.5
        cacheRead: 1.25
        output: 10
      - from: 2026-11-13
        input: 2
        cacheRead: 1
        output: 8
  cheap:
    prices:
      - from: 2026-01-01
        input: 0.00015
        output: 0.6
`

// moneyRecords are hand-priced (nano-dollars):
//
//	n1  gpt-4o Nov 12 23:59:59.999  1000 in, 500 out, no cost: 2500+5000     = 7,500,000
//	n2  gpt-4o Nov 13 00:00         600 in + 400 cached, 500 out, no cost: 1200+400+4000 = 5,600,000
//	r3  gpt-4o Nov 13 10:00 batch   reported $0.01; priced (2000+4000)×0.5   = 3,000,000
//	c*  cheap  Nov 13 12:00 ×10     1 token each, no cost: 0.15 each, 1.5 in all → 2 rounded once
//	u1  mystery Nov 13 05:00        no cost, no price: unpriced (1 call, 150 tokens)
//	u2  mystery2 Nov 13 06:00       reported $0.50; no price (unpriced when priced)
//	b0  gpt-4o Nov 13 08:00         a bucket of 0 requests, 1M in, no cost   = 2,000,000,000
func moneyRecords() []source.Record {
	at := func(s string) int64 {
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			panic(err)
		}
		return t.UnixNano()
	}
	r := func(id, ts, model, key string, prompt, completion int64) source.Record {
		return source.Record{ID: id, Time: at(ts), Model: model, APIKey: key, Success: true, Requests: 1, LatencyMs: 40 + prompt%97,
			PromptTokens: prompt, CompletionTokens: completion, NoCost: true}
	}
	recs := []source.Record{
		r("n1", "2026-11-12T23:59:59.999Z", "gpt-4o", "k", 1000, 500),
		r("n2", "2026-11-13T00:00:00Z", "gpt-4o", "k", 1000, 500),
		r("r3", "2026-11-13T10:00:00Z", "gpt-4o", "k", 1000, 500),
		r("u1", "2026-11-13T05:00:00Z", "mystery", "k", 100, 50),
		r("u2", "2026-11-13T06:00:00Z", "mystery2", "k", 10, 0),
		r("b0", "2026-11-13T08:00:00Z", "gpt-4o", "k", 1_000_000, 0),
	}
	recs[1].CacheRead = 400
	recs[2].NoCost, recs[2].Cost, recs[2].Batch = false, 10_000_000, true
	recs[4].NoCost, recs[4].Cost = false, 500_000_000
	recs[5].Requests, recs[5].Unknown, recs[5].Success = 0, true, false
	for i := range 10 {
		c := r("c"+string(rune('0'+i)), "2026-11-13T12:00:00Z", "cheap", "k2", 1, 0)
		c.Time += int64(i) * int64(time.Second)
		recs = append(recs, c)
	}
	return recs
}

// TestMoney: costs by mode, hand-computed, rounded once per amount shown,
// each record at its UTC day's prices whatever the report's zone.
func TestMoney(t *testing.T) {
	book := bookOf(t, moneyBook)
	src := &source.Memory{Records: map[string][]source.Record{"t": moneyRecords()}}
	ny, _ := time.LoadLocation("America/New_York")
	day := func(y, m, d int, loc *time.Location) int64 {
		return time.Date(y, time.Month(m), d, 0, 0, 0, 0, loc).UnixNano()
	}
	whole := []int64{day(2026, 11, 12, time.UTC), day(2026, 11, 14, time.UTC)}
	nyDays := []int64{day(2026, 11, 12, ny), day(2026, 11, 13, ny), day(2026, 11, 14, ny)}
	allTime := []int64{-1 << 63, 1<<63 - 1}
	type want struct {
		total, small, noCalls source.USD
		groups                map[string]source.USD // of interval 0, or of each day
		days                  []source.USD
		unpriced              Unpriced
	}
	cases := []struct {
		name string
		mode CostMode
		q    source.Query
		want want
	}{
		{"reported, all", CostReported, source.Query{Dim: source.DimAll, Bounds: whole},
			want{2_523_100_002, 500_000_002, 2_000_000_000, map[string]source.USD{"": 2_523_100_002}, nil,
				Unpriced{1, 150, []string{"mystery"}}}},
		{"priced, all", CostPriced, source.Query{Dim: source.DimAll, Bounds: whole},
			want{2_016_100_002, 2, 2_000_000_000, map[string]source.USD{"": 2_016_100_002}, nil,
				Unpriced{2, 160, []string{"mystery", "mystery2"}}}},
		{"reported, by model", CostReported, source.Query{Dim: source.DimModel, Bounds: whole},
			want{2_523_100_002, 500_000_002, 2_000_000_000,
				map[string]source.USD{"gpt-4o": 2_023_100_000, "cheap": 2, "mystery": 0, "mystery2": 500_000_000}, nil,
				Unpriced{1, 150, []string{"mystery"}}}},
		// Small calls are priced by model and over all calls only (the
		// insight on small calls reads models): by key, priced, none.
		{"priced, by key (a pivot with the price key)", CostPriced, source.Query{Dim: source.DimKey, Bounds: whole, Latency: true},
			want{2_016_100_002, 0, 2_000_000_000, map[string]source.USD{"k": 2_016_100_000, "k2": 2}, nil,
				Unpriced{2, 160, []string{"mystery", "mystery2"}}}},
		{"reported, filtered", CostReported, source.Query{Dim: source.DimKey, Bounds: whole, Filter: source.Filter{source.DimModel: {"gpt-4o", "cheap"}}},
			want{2_023_100_002, 2, 2_000_000_000, map[string]source.USD{"k": 2_023_100_000, "k2": 2}, nil, Unpriced{}}},
		// New York's Nov 12 runs 05:00 UTC Nov 12 to 05:00 UTC Nov 13: n1
		// at the old prices, n2 at the new, in one day.
		{"reported, New York days", CostReported, source.Query{Dim: source.DimAll, Bounds: nyDays},
			want{2_523_100_002, 500_000_002, 2_000_000_000, nil, []source.USD{13_100_000, 2_510_000_002},
				Unpriced{1, 150, []string{"mystery"}}}},
		{"priced, all time", CostPriced, source.Query{Dim: source.DimAll, Bounds: allTime},
			want{2_016_100_002, 2, 2_000_000_000, map[string]source.USD{"": 2_016_100_002}, nil,
				Unpriced{2, 160, []string{"mystery", "mystery2"}}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := &Money{Mode: c.mode, Book: book}
			res, sums, err := m.Aggregate(context.Background(), src, "t", []source.Query{c.q})
			if err != nil {
				t.Fatal(err)
			}
			s := sums[0]
			if s.Cost != c.want.total || s.SmallCost != c.want.small || s.NoCallsCost != c.want.noCalls {
				t.Errorf("total %d, small %d, no calls %d; want %d, %d, %d", s.Cost, s.SmallCost, s.NoCallsCost, c.want.total, c.want.small, c.want.noCalls)
			}
			for name, w := range c.want.groups {
				if g := res[0][0][name]; g.Cost != w {
					t.Errorf("group %q: %d, want %d", name, g.Cost, w)
				}
			}
			for k, w := range c.want.days {
				if g := res[0][k][""]; g.Cost != w {
					t.Errorf("day %d: %d, want %d", k, g.Cost, w)
				}
			}
			if u := s.Unpriced; u.Calls != c.want.unpriced.Calls || u.Tokens != c.want.unpriced.Tokens || !slices.Equal(u.Models, c.want.unpriced.Models) {
				t.Errorf("unpriced %+v, want %+v", u, c.want.unpriced)
			}
			// Everything but cost is the records' whatever the mode.
			base, err := source.AggregateMany(context.Background(), src, "t", []source.Query{c.q})
			if err != nil {
				t.Fatal(err)
			}
			for k := range base[0] {
				if len(base[0][k]) != len(res[0][k]) {
					t.Errorf("interval %d: %d groups, want %d", k, len(res[0][k]), len(base[0][k]))
				}
				for name, b := range base[0][k] {
					g := res[0][k][name]
					g.Cost, g.SmallCost, g.NoCallsCost = b.Cost, b.SmallCost, b.NoCallsCost
					if !equalCounters(g, b) {
						t.Errorf("interval %d group %q: %+v, want %+v", k, name, g, b)
					}
					if (g.Latency == nil) != (b.Latency == nil) || (g.Latency != nil && g.Latency.Count() != b.Latency.Count()) {
						t.Errorf("interval %d group %q: latency differs", k, name)
					}
				}
			}
		})
	}
}

// TestMoneyReportedWithoutNoCost: when every record reports its cost, the
// reported mode is the records' sums as they are, read once.
func TestMoneyReportedWithoutNoCost(t *testing.T) {
	recs := moneyRecords()
	var costed []source.Record
	for _, r := range recs {
		if !r.NoCost {
			costed = append(costed, r)
		}
	}
	src := &source.Memory{Records: map[string][]source.Record{"t": costed}}
	m := &Money{Mode: CostReported, Book: bookOf(t, moneyBook)}
	_, sums, err := m.Aggregate(context.Background(), src, "t", []source.Query{{Dim: source.DimModel, Bounds: []int64{0, 1 << 62}}})
	if err != nil {
		t.Fatal(err)
	}
	if sums[0].Cost != 510_000_000 || !sums[0].Unpriced.Empty() {
		t.Errorf("%+v", sums[0])
	}
}

// TestPieces: intervals cut where prices change, each piece dated inside
// itself.
func TestPieces(t *testing.T) {
	changes := []int64{10, 20, 30}
	cut, of, at := pieces([]int64{5, 15, 25, 40}, changes)
	if !slices.Equal(cut, []int64{5, 10, 15, 20, 25, 30, 40}) || !slices.Equal(of, []int{0, 0, 1, 1, 2, 2}) {
		t.Fatalf("cut %v of %v", cut, of)
	}
	for j := range of {
		if at[j].UnixNano() < cut[j] || at[j].UnixNano() >= cut[j+1] {
			t.Errorf("piece %d [%d, %d) dated %d", j, cut[j], cut[j+1], at[j].UnixNano())
		}
	}
	cut, _, at = pieces([]int64{-1 << 63, 15}, changes)
	if !slices.Equal(cut, []int64{-1 << 63, 10, 15}) || at[0].UnixNano() != 9 {
		t.Errorf("from the beginning of time: %v dated %v", cut, at[0].UnixNano())
	}
}

func equalCounters(a, b source.Totals) bool {
	ca, cb := a.Counters(), b.Counters()
	for i := range ca {
		if *ca[i] != *cb[i] {
			return false
		}
	}
	return true
}

// TestCacheSavings: cache reads priced at input less cache-read prices, at
// each record's day's prices, batch at the batch factor; no price, no
// saving. Shown as an insight from a cent on.
func TestCacheSavings(t *testing.T) {
	at := func(s string) int64 {
		ts, _ := time.Parse(time.RFC3339, s)
		return ts.UnixNano()
	}
	rec := func(id, ts, model string, batch bool) source.Record {
		return source.Record{ID: id, Time: at(ts), Model: model, APIKey: "k", Success: true, Requests: 1, LatencyMs: -1,
			PromptTokens: 1000, CacheRead: 1000, Cost: 1, Batch: batch}
	}
	recs := []source.Record{
		rec("a", "2026-11-12T10:00:00Z", "gpt-4o", false), // 1000 × (2.5 − 1.25) = 1,250,000 nano
		rec("b", "2026-11-13T10:00:00Z", "gpt-4o", true),  // 1000 × (2 − 1) × 0.5 = 500,000
		rec("c", "2026-11-13T11:00:00Z", "mystery", false),
	}
	src := &source.Memory{Records: map[string][]source.Record{"t": recs}}
	m := &Money{Mode: CostReported, Book: bookOf(t, moneyBook)}
	got, err := m.CacheSavings(context.Background(), src, "t", at("2026-11-12T00:00:00Z"), at("2026-11-14T00:00:00Z"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got != 1_750_000 {
		t.Errorf("saved %d, want 1,750,000", got)
	}
	for i := range recs {
		recs[i].PromptTokens, recs[i].CacheRead = 10_000, 10_000
	}
	clock, _ := ParseAsOf("2026-11-13", time.UTC)
	span, _ := Resolve(Range{Period: Week}, clock)
	s, err := BuildStats(context.Background(), src, "t", span, clock, Options{Money: m})
	if err != nil {
		t.Fatal(err)
	}
	s.ComputeInsights()
	found := false
	for _, in := range s.Insights {
		found = found || (in.Kind == "cache-savings" && strings.HasPrefix(in.Text, "Prompt caching saved $0.02:"))
	}
	if s.CacheSaved != 17_500_000 || !found {
		t.Errorf("saved %d, insights %v", s.CacheSaved, s.Insights)
	}
	// Filtered, the saving is asked with the report's other queries.
	for filter, want := range map[string]source.USD{"gpt-4o": 17_500_000, "mystery": 0} {
		s, err := BuildStats(context.Background(), src, "t", span, clock, Options{Money: m, Filter: source.Filter{source.DimModel: {filter}}})
		if err != nil {
			t.Fatal(err)
		}
		if s.CacheSaved != want {
			t.Errorf("model=%s: saved %d, want %d", filter, s.CacheSaved, want)
		}
	}
	// Batch calls alone: half the saving.
	recs[0].Batch = true
	s, err = BuildStats(context.Background(), src, "t", span, clock, Options{Money: m, Filter: source.Filter{source.DimKey: {"k"}}})
	if err != nil {
		t.Fatal(err)
	}
	if s.CacheSaved != 11_250_000 { // 6,250,000 + 5,000,000
		t.Errorf("key=k, all batch: saved %d, want 11,250,000", s.CacheSaved)
	}
}

func TestUnpricedSentence(t *testing.T) {
	for _, tc := range []struct {
		u    Unpriced
		want string
	}{
		{Unpriced{Calls: 12, Tokens: 16_600, Models: []string{"ft:x"}}, "12 calls (16.6K tokens) of ft:x have no price"},
		// Anthropic's usage report counts no calls: its tokens are unpriced.
		{Unpriced{Tokens: 556_610_000, Models: []string{"(not grouped by model)"}}, "556.61M tokens of (not grouped by model) have no price"},
		{Unpriced{Calls: 1, Tokens: 5, Models: []string{"a", "b", "c", "d"}}, "of a, b, c and 1 more have no price"},
	} {
		if got := tc.u.Sentence(); !strings.Contains(got, tc.want) {
			t.Errorf("%+v: %q, want %q in it", tc.u, got, tc.want)
		}
	}
}
