package report

import (
	"context"
	"math/big"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/nextcore-ai/nextcore/pkg/source"
)

func TestBudgetPeriods(t *testing.T) {
	ny := mustLoc(t, "America/New_York")
	kol := mustLoc(t, "Asia/Kolkata")
	cases := []struct {
		period     string
		now        string
		loc        *time.Location
		start, end string // RFC 3339 in UTC
	}{
		// Sunday Nov 1 2026: DST ends in New York; the week from Monday Oct 26 is 169 h.
		{"week", "2026-11-01T12:00:00-05:00", ny, "2026-10-26T04:00:00Z", "2026-11-02T05:00:00Z"},
		{"week", "2026-11-02T00:00:00-05:00", ny, "2026-11-02T05:00:00Z", "2026-11-09T05:00:00Z"}, // a Monday's first instant
		{"day", "2026-11-01T23:59:59-05:00", ny, "2026-11-01T04:00:00Z", "2026-11-02T05:00:00Z"},  // 25 h
		{"month", "2026-11-30T23:00:00-05:00", ny, "2026-11-01T04:00:00Z", "2026-12-01T05:00:00Z"},
		{"rolling-7d", "2026-11-03T10:00:00-05:00", ny, "2026-10-28T04:00:00Z", "2026-11-04T05:00:00Z"},
		{"rolling-1d", "2026-11-03T10:00:00+05:30", kol, "2026-11-02T18:30:00Z", "2026-11-03T18:30:00Z"},
		{"month", "2026-02-10T10:00:00+05:30", kol, "2026-01-31T18:30:00Z", "2026-02-28T18:30:00Z"},
	}
	for _, c := range cases {
		p, err := ParseBudgetPeriod(c.period)
		if err != nil {
			t.Fatal(err)
		}
		w := p.Window(ClockAt(utc(c.now), c.loc))
		if !w.Start.Equal(utc(c.start)) || !w.End.Equal(utc(c.end)) {
			t.Errorf("%s at %s: %s – %s, want %s – %s", c.period, c.now, w.Start.UTC(), w.End.UTC(), c.start, c.end)
		}
	}
	// As of a date: the end of that day still counts as that day.
	w := BudgetPeriod{Kind: "week"}.Window(ClockEndOf(Date{2026, 11, 8}, ny)) // a Sunday
	if !w.Start.Equal(utc("2026-11-02T05:00:00Z")) || !w.End.Equal(utc("2026-11-09T05:00:00Z")) {
		t.Errorf("week as of Sunday's end: %s – %s", w.Start.UTC(), w.End.UTC())
	}
	for _, bad := range []string{"", "year", "rolling-0d", "rolling-7", "rolling-07d", "rolling-+7d", "rolling-367d", "rolling--1d", "Month"} {
		if _, err := ParseBudgetPeriod(bad); err == nil {
			t.Errorf("%q read as a period", bad)
		}
	}
}

// TestBudgetsByHand: a month in New York with a DST change, numbers worked
// out by hand.
func TestBudgetsByHand(t *testing.T) {
	ny := mustLoc(t, "America/New_York")
	var recs []source.Record
	add := func(id, ts, model, project string, cost string) {
		r := rec(id, ts, model, true, 100, 50, cost)
		r.Project = project
		recs = append(recs, r)
	}
	add("a", "2026-11-01T04:00:00Z", "gpt-4o", "search", "10")      // Nov 1 00:00 EDT: in
	add("b", "2026-11-01T03:59:59Z", "gpt-4o", "search", "1000")    // Oct 31: out
	add("c", "2026-11-03T15:00:00Z", "gpt-4o", "search", "15.5")    // Nov 3
	add("d", "2026-11-05T15:00:00Z", "o3", "search", "0.000000001") // Nov 5
	add("e", "2026-11-05T16:00:00Z", "gpt-4o", "chat", "40")        // another project
	add("f", "2026-11-11T04:59:59Z", "gpt-4o", "search", "5")       // Nov 10, 23:59:59 EST
	add("g", "2026-11-11T05:00:00Z", "gpt-4o", "search", "7")       // Nov 11 00:00: after now
	src := &source.Memory{Records: map[string][]source.Record{"t": recs}}
	clock := ClockEndOf(Date{2026, 11, 10}, ny) // 10 days and an hour of 30 days and an hour
	month, _ := ParseBudgetPeriod("month")
	search := source.Filter{source.DimProject: {"search"}}
	usd := func(s string) int64 {
		u, err := source.ParseUSD(s)
		if err != nil {
			t.Fatal(err)
		}
		return int64(u)
	}
	budgets := []Budget{
		{Name: "search", Scope: search, Metric: BudgetSpend, Limit: usd("100"), Period: month, Thresholds: DefaultBudgetThresholds()},
		{Name: "search-small", Scope: search, Metric: BudgetSpend, Limit: usd("20"), Period: month, Thresholds: DefaultBudgetThresholds()},
		{Name: "calls", Metric: BudgetCalls, Limit: 8, Period: month, Thresholds: DefaultBudgetThresholds()},
		{Name: "tokens-o3", Scope: source.Filter{source.DimModel: {"o3"}}, Metric: BudgetTokens, Limit: 150, Period: month,
			Thresholds: []*big.Rat{big.NewRat(100, 1)}},
	}
	st, _, err := Budgets(context.Background(), src, "t", clock, budgets, nil)
	if err != nil {
		t.Fatal(err)
	}
	elapsed, length := int64(10*24+1), int64(30*24+1) // hours
	// search: $30.500000001 of $100; projected × 721/241 = $91.24…: ok, warning from 80 %.
	s := st[0]
	if s.Used != usd("30.500000001") || s.Level != LevelOK || s.ProjectedLevel != LevelWarning || s.Overrun != (Date{}) {
		t.Errorf("search: used %d, %s, projected %s, overrun %s", s.Used, s.Level, s.ProjectedLevel, s.Overrun)
	}
	if want := new(big.Rat).Mul(big.NewRat(s.Used, 1), big.NewRat(length, elapsed)); s.Projected.Cmp(want) != 0 {
		t.Errorf("search projected %s, want %s", s.Projected.FloatString(3), want.FloatString(3))
	}
	if len(s.Crossed) != 0 {
		t.Errorf("search crossed %v", s.Crossed)
	}
	// search-small: $20 reached on Nov 3 ($25.50 by then): exceeded; 50 %, 80 %, 100 % crossed.
	s = st[1]
	if s.Level != LevelExceeded || s.Overrun != (Date{2026, 11, 3}) || len(s.Crossed) != 3 {
		t.Errorf("search-small: %s, overrun %s, crossed %v", s.Level, s.Overrun, s.Crossed)
	}
	// calls: 5 of 8 (62.5 %): ok; projected 5 × 721/241 = 14.96: exceeded, on the
	// day at 241 h × 8/5 = 385.6 h after Nov 1 00:00 EDT: Nov 17, 00:36 EST.
	s = st[2]
	if s.Used != 5 || s.Level != LevelOK || s.ProjectedLevel != LevelExceeded || s.Overrun != (Date{2026, 11, 17}) {
		t.Errorf("calls: used %d, %s, projected %s, overrun %s", s.Used, s.Level, s.ProjectedLevel, s.Overrun)
	}
	if len(s.Crossed) != 1 || s.Crossed[0].Cmp(big.NewRat(50, 1)) != 0 {
		t.Errorf("calls crossed %v", s.Crossed)
	}
	// tokens-o3: 150 of 150: exceeded on Nov 5; no threshold below 100: no warning level.
	s = st[3]
	if s.Used != 150 || s.Level != LevelExceeded || s.Overrun != (Date{2026, 11, 5}) || s.WarnAt() != nil {
		t.Errorf("tokens-o3: used %d, %s, overrun %s", s.Used, s.Level, s.Overrun)
	}
	for _, c := range []struct {
		st     []BudgetStatus
		failOn string
		want   bool
	}{
		{st[:1], "warning", false}, {st[:1], "projected", false}, {st[2:3], "warning", false},
		{st[2:3], "projected", true}, {st[2:3], "exceeded", false}, {st[1:2], "exceeded", true},
	} {
		if got := BudgetsFail(c.st, c.failOn); got != c.want {
			t.Errorf("%s --fail-on %s: %v", c.st[0].Name, c.failOn, got)
		}
	}
}

// TestBudgetsMatchPlainSums: random budgets in several zones, through the
// shared aggregation, equal a plain sum over the records of the window.
func TestBudgetsMatchPlainSums(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	models, projects := []string{"gpt-4o", "o3", "claude"}, []string{"", "search", "chat"}
	var recs []source.Record
	start := utc("2026-02-20T00:00:00Z").UnixNano()
	for i := range 3000 {
		r := rec(string(rune(0x4e00+i)), "2026-01-01T00:00:00Z", models[rng.IntN(3)], rng.IntN(5) > 0,
			rng.Int64N(1000), rng.Int64N(1000), "0")
		r.Time = start + rng.Int64N(int64(60*24*time.Hour))
		r.Cost = source.USD(rng.Int64N(3_000_000_000) - 200_000_000) // credits too
		r.Project = projects[rng.IntN(3)]
		recs = append(recs, r)
	}
	src := &source.Memory{Records: map[string][]source.Record{"t": recs}}
	for _, zone := range []string{"UTC", "America/New_York", "Asia/Kathmandu", "Australia/Lord_Howe"} {
		loc := mustLoc(t, zone)
		for range 12 {
			now := time.Unix(0, start+rng.Int64N(int64(60*24*time.Hour))).In(loc)
			clock := ClockAt(now, loc)
			if rng.IntN(3) == 0 {
				clock = ClockEndOf(DateOf(now), loc)
			}
			var budgets []Budget
			for _, p := range []string{"day", "week", "month", "rolling-3d", "rolling-30d"} {
				period, _ := ParseBudgetPeriod(p)
				b := Budget{Name: p, Metric: []string{BudgetSpend, BudgetCalls, BudgetTokens}[rng.IntN(3)], Limit: 1 + rng.Int64N(50_000_000_000),
					Period: period, Thresholds: DefaultBudgetThresholds()}
				if rng.IntN(2) == 0 {
					b.Scope = source.Filter{source.DimProject: {projects[rng.IntN(3)]}, source.DimModel: {models[rng.IntN(3)], models[rng.IntN(3)]}}
				}
				budgets = append(budgets, b)
			}
			st, _, err := Budgets(context.Background(), src, "t", clock, budgets, nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range st {
				var used int64
				for _, r := range recs {
					if r.Time < s.Window.Start.UnixNano() || r.Time >= clock.Now.UnixNano() || !s.Scope.Match(&r) {
						continue
					}
					switch s.Metric {
					case BudgetSpend:
						used += int64(r.Cost)
					case BudgetCalls:
						used++
					default:
						used += r.PromptTokens + r.CompletionTokens
					}
				}
				if s.Used != used {
					t.Errorf("%s at %s (%s): used %d, want %d", s.Name, clock.Now, zone, s.Used, used)
				}
				if want := Percent(used, s.Limit); s.Percent.Cmp(want) != 0 {
					t.Errorf("%s: percent %s", s.Name, s.Percent.FloatString(3))
				}
				if !slices.IsSortedFunc(s.Crossed, func(a, b *big.Rat) int { return a.Cmp(b) }) {
					t.Errorf("%s: crossed %v", s.Name, s.Crossed)
				}
			}
		}
	}
}
