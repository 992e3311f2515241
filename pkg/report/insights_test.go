package report

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nextcore-ai/nextcore/pkg/source"
)

// calls makes n calls of a model on a day, each with the given size, cost
// and status.
func calls(day string, n int, model string, tokens int64, cost string, ok bool) []source.Record {
	var out []source.Record
	for i := range n {
		r := rec(fmt.Sprintf("%s-%s-%d-%v-%d", day, model, tokens, ok, i), day+"T12:00:00Z", model, ok, tokens, 0, cost)
		r.Time += int64(i) * int64(time.Millisecond)
		out = append(out, r)
	}
	return out
}

func insightKinds(t *testing.T, recs []source.Record, limits Limits) map[string]string {
	t.Helper()
	src := &source.Memory{Records: map[string][]source.Record{"t": recs}}
	clock, _ := ParseAsOf("2026-11-20", time.UTC)
	span, _ := Resolve(Range{Period: Week}, clock)
	s, err := BuildStats(context.Background(), src, "t", span, clock, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if limits.HasLimits() {
		if s.Quota, err = BuildQuota(context.Background(), src, "t", clock, limits, nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	s.ComputeInsights()
	out := map[string]string{}
	for _, in := range s.Insights {
		out[in.Kind] = in.Text
	}
	return out
}

func join(parts ...[]source.Record) []source.Record {
	var out []source.Record
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// TestInsights checks that each rule fires on data made for it, says what it
// should, and stays quiet on data that does not call for it.
func TestInsights(t *testing.T) {
	spend := source.USD(10 * source.NanosPerUSD)
	cases := []struct {
		name   string
		recs   []source.Record
		limits Limits
		want   map[string]string // kind → part of the text; "" means the kind must be absent
	}{
		{
			name: "dominant model and a cheaper one for its small calls",
			recs: join(
				calls("2026-11-18", 100, "big", 200, "0.05", true),    // $5 in small calls, 0.00025 $/token
				calls("2026-11-18", 100, "small", 200, "0.001", true), // $0.10, 0.000005 $/token
				calls("2026-11-10", 100, "big", 200, "0.05", true),
			),
			want: map[string]string{
				"cost-effective-model": "small is the most cost-effective model at $0.001000 per call.",
				"dominant-model":       "big is 98% of spend but 50% of calls.",
				// 100 × 200 tokens at small's price: $0.10 instead of $5.00 → $4.90 less.
				"cheaper-model": "100% of big's calls use under 500 tokens — small would have cost about $4.90 less for them.",
				"success-rate":  "Success rate 100%: no call failed.",
				"spend-growth":  "", // +2 %: too little to mention
			},
		},
		{
			name: "failures rose past a hundred",
			recs: join(
				calls("2026-11-19", 900, "m", 10, "0.001", true),
				calls("2026-11-19", 150, "m", 10, "0.001", false),
				calls("2026-11-12", 990, "m", 10, "0.001", true),
				calls("2026-11-12", 10, "m", 10, "0.001", false),
			),
			want: map[string]string{
				"success-rate":        "Success rate 85.7%: 150 calls failed — investigate the failed calls.",
				"failure-rate-rising": "Failure rate rose to 14.3% from 1.0% in the previous period (150 failed calls, up from 10).",
				"peak-day":            "Peak day Thu Nov 19 with 1,050 calls, 600% above the daily average.",
				"dominant-model":      "",
				"cheaper-model":       "",
			},
		},
		{
			name: "spend fell, no failures rising",
			recs: join(
				calls("2026-11-19", 10, "m", 10, "1", true),
				calls("2026-11-12", 10, "m", 10, "2", true),
			),
			want: map[string]string{
				"spend-growth":        "Spend is down 50.0% on the previous period ($10.00, was $20.00).",
				"failure-rate-rising": "",
			},
		},
		{
			name: "spend grew",
			recs: join(
				calls("2026-11-19", 10, "m", 10, "1.25", true),
				calls("2026-11-12", 10, "m", 10, "1", true),
			),
			want: map[string]string{"spend-growth": "Spend is up 25.0% on the previous period ($12.50, was $10.00)."},
		},
		{
			name:   "projected overspend",
			recs:   calls("2026-11-18", 10, "m", 10, "1", true), // $10 by Nov 20 of 30 days
			limits: Limits{Spend: &spend},
			want: map[string]string{
				// $10 × 30/20 = $15, 50 % over the $10 limit.
				"projected-overspend": "At November's pace so far, spend ends the month near $15.00, 50% over the $10.00 limit.",
			},
		},
		{
			// One sentence for both forecasts: $7 of $10 by Nov 20 → $10.50,
			// the limit reached after 20 × 10/7 days (Nov 29 13:42); $6 in the
			// last 7 days → the remaining $3 in 3.5 days (Nov 24 12:00).
			name:   "projected overspend at both paces",
			recs:   join(calls("2026-11-02", 1, "m", 10, "1", true), calls("2026-11-18", 6, "m", 10, "1", true)),
			limits: Limits{Spend: &spend},
			want: map[string]string{
				"projected-overspend": "At November's pace so far, spend ends the month near $10.50, 5% over the $10.00 limit (reached around Nov 29); at the last 7 days' pace, around Nov 24.",
				"limit-at-7-day-pace": "",
			},
		},
		{
			name:   "projected overspend at the month's pace only",
			recs:   join(calls("2026-11-02", 69, "m", 10, "0.1", true), calls("2026-11-19", 1, "m", 10, "0.1", true)),
			limits: Limits{Spend: &spend},
			want: map[string]string{
				"projected-overspend": "over the $10.00 limit (reached around Nov 29); at the last 7 days' pace it stays within the limit.",
				"limit-at-7-day-pace": "",
			},
		},
		{
			name: "an anomalous day, a key that takes over, a slower and failing model",
			recs: join(
				withKey(calls("2026-11-10", 20, "m", 10, "0.01", true), "old"),
				withKey(calls("2026-11-14", 20, "m", 10, "0.01", true), "k1"),
				withKey(calls("2026-11-15", 20, "m", 10, "0.01", true), "k1"),
				withKey(calls("2026-11-16", 20, "m", 10, "0.01", true), "k1"),
				withKey(calls("2026-11-17", 20, "m", 10, "0.01", true), "k1"),
				withKey(calls("2026-11-18", 20, "m", 10, "0.01", true), "k1"),
				withKey(calls("2026-11-19", 20, "m", 10, "0.01", true), "k1"),
				withKey(calls("2026-11-20", 20, "m", 10, "0.01", true), "k1"),
				withLatency(calls("2026-11-13", 60, "slow", 10, "0.01", true), 100),
				withLatency(calls("2026-11-19", 60, "slow", 10, "0.01", false), 200),
			),
			want: map[string]string{
				"dominant-key":       "The key k1 now makes",
				"latency-regression": "slow got slower: p95 198 ms, up from 100 ms", // 200 and 100 ms within 1 %
				"model-failure-rate": "slow fails more: 100.0% of its calls failed, up from 0.0%.",
			},
		},
		{
			name:   "the limit at the last 7 days' pace",
			recs:   join(calls("2026-11-02", 1, "m", 10, "1", true), calls("2026-11-18", 10, "m", 10, "0.5", true)),
			limits: Limits{Spend: &spend}, // $6 used of $10; $5 in the last 7 days → $10 in another 7 × 4/5 days
			want: map[string]string{
				"limit-at-7-day-pace": "At the last 7 days' pace, spend reaches its $10.00 limit around Nov 26.",
			},
		},
		{
			name: "no calls",
			recs: calls("2026-10-01", 3, "m", 10, "1", true),
			want: map[string]string{"no-usage": "No calls in this window.", "peak-day": ""},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := insightKinds(t, c.recs, c.limits)
			for kind, text := range c.want {
				switch {
				case text == "" && got[kind] != "":
					t.Errorf("%s fired: %q", kind, got[kind])
				case text != "" && !strings.Contains(got[kind], text):
					t.Errorf("%s = %q, want %q", kind, got[kind], text)
				}
			}
		})
	}
}

func withKey(recs []source.Record, key string) []source.Record {
	for i := range recs {
		recs[i].APIKey = key
	}
	return recs
}

func withLatency(recs []source.Record, ms int64) []source.Record {
	for i := range recs {
		recs[i].LatencyMs = ms
	}
	return recs
}

// TestAnomalousDay finds a day far from the 7 before it.
func TestAnomalousDay(t *testing.T) {
	var recs []source.Record
	for d := 1; d <= 20; d++ {
		n := 20
		if d == 17 {
			n = 80
		}
		recs = append(recs, calls(fmt.Sprintf("2026-11-%02d", d), n, "m", 10, "0.01", true)...)
	}
	src := &source.Memory{Records: map[string][]source.Record{"t": recs}}
	clock, _ := ParseAsOf("2026-11-20", time.UTC)
	span, _ := Resolve(Range{Period: Month}, clock)
	s, _ := BuildStats(context.Background(), src, "t", span, clock, Options{})
	s.ComputeInsights()
	for _, in := range s.Insights {
		if in.Kind == "anomalous-day" {
			if !strings.Contains(in.Text, "Tue Nov 17 had 80 calls, 300% above the mean of the 7 days before it (20).") {
				t.Errorf("%q", in.Text)
			}
			return
		}
	}
	t.Errorf("no anomalous day in %v", s.Insights)
}

// TestPartialPrevious: when the data starts inside the previous window,
// the stats say so and no spend-growth insight is built on the change.
func TestPartialPrevious(t *testing.T) {
	recs := join(calls("2026-11-12", 2, "m", 10, "1", true), calls("2026-11-19", 10, "m", 10, "1", true))
	src := &source.Memory{Records: map[string][]source.Record{"t": recs}}
	clock, _ := ParseAsOf("2026-11-20", time.UTC)
	span, _ := Resolve(Range{Period: Week}, clock) // previous: Nov 7 – Nov 13
	for _, c := range []struct {
		start   string
		partial bool
	}{{"", false}, {"2026-11-01T00:00:00Z", false}, {"2026-11-07T00:00:00Z", false}, {"2026-11-12T12:00:00Z", true}, {"2026-11-15T00:00:00Z", true}} {
		var start time.Time
		if c.start != "" {
			start, _ = time.Parse(time.RFC3339, c.start)
		}
		s, err := BuildStats(context.Background(), src, "t", span, clock, Options{DataStart: start})
		if err != nil {
			t.Fatal(err)
		}
		s.ComputeInsights()
		if s.PreviousPartial() != c.partial {
			t.Errorf("data from %q: partial %v", c.start, s.PreviousPartial())
		}
		growth := false
		for _, in := range s.Insights {
			growth = growth || in.Kind == "spend-growth"
		}
		if growth == c.partial {
			t.Errorf("data from %q: spend-growth insight %v", c.start, growth)
		}
	}
}

// askedDims records the dimensions a source is asked for.
type askedDims struct {
	*source.Memory
	dims map[source.Dim]int
}

func (a *askedDims) AggregateMany(ctx context.Context, tenant string, qs []source.Query) ([][]source.Groups, error) {
	for _, q := range qs {
		a.dims[q.Dim]++
	}
	return a.Memory.AggregateMany(ctx, tenant, qs)
}

// TestDominanceQueries: keys and users (thousands of members a window)
// are asked only when the "suddenly dominates" rule can fire, and the rule
// fires the same with a filter (asked in the same pass) as without.
func TestDominanceQueries(t *testing.T) {
	takeover := join(
		withKey(calls("2026-11-10", 20, "m", 10, "0.01", true), "old"),
		withKey(calls("2026-11-14", 140, "m", 10, "0.01", true), "k1"),
	)
	cases := []struct {
		name   string
		recs   []source.Record
		filter source.Filter
		asked  bool
		fires  bool
	}{
		{"no calls before", withKey(calls("2026-11-14", 140, "m", 10, "0.01", true), "k1"), nil, false, false},
		{"too few calls now", join(calls("2026-11-10", 20, "m", 10, "0.01", true), calls("2026-11-14", 99, "m", 10, "0.01", true)), nil, false, false},
		{"a key takes over", takeover, nil, true, true},
		{"a key takes over, filtered", takeover, source.Filter{source.DimModel: {"m"}}, true, true},
		{"filtered, no calls before", withKey(calls("2026-11-14", 140, "m", 10, "0.01", true), "k1"), source.Filter{source.DimModel: {"m"}}, true, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			src := &askedDims{&source.Memory{Records: map[string][]source.Record{"t": c.recs}}, map[source.Dim]int{}}
			clock, _ := ParseAsOf("2026-11-20", time.UTC)
			span, _ := Resolve(Range{Period: Week}, clock)
			s, err := BuildStats(context.Background(), src, "t", span, clock, Options{Filter: c.filter})
			if err != nil {
				t.Fatal(err)
			}
			s.ComputeInsights()
			if asked := src.dims[source.DimKey] == 2 && src.dims[source.DimUser] == 2; asked != c.asked || (!asked && src.dims[source.DimKey]+src.dims[source.DimUser] > 0) {
				t.Errorf("keys asked %d times, users %d; want asked: %v", src.dims[source.DimKey], src.dims[source.DimUser], c.asked)
			}
			fired := false
			for _, in := range s.Insights {
				fired = fired || in.Kind == "dominant-key"
			}
			if fired != c.fires {
				t.Errorf("dominant-key fired: %v, want %v (%v)", fired, c.fires, s.Insights)
			}
		})
	}
}
