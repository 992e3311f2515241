package report

import (
	"context"
	"math/big"
	"testing"
	"time"

	"github.com/nextcore-ai/nextcore/pkg/source"
)

func rec(id, ts, model string, ok bool, prompt, completion int64, cost string) source.Record {
	u, err := source.ParseUSD(cost)
	if err != nil {
		panic(err)
	}
	return source.Record{ID: id, Time: utc(ts).UnixNano(), Model: model, APIKey: "k", Success: ok,
		PromptTokens: prompt, CompletionTokens: completion, Cost: u, LatencyMs: -1, Requests: 1}
}

func TestChange(t *testing.T) {
	cases := []struct {
		cur, prev int64
		want      string
	}{
		{3, 2, "50.0"},
		{1, 3, "-66.7"},
		{2, 0, "null"},
		{0, 0, "null"},
		{0, 5, "-100.0"},
		{5, 5, "0.0"},
		{449, 400, "12.3"},  // 12.25: halves away from zero
		{351, 400, "-12.3"}, // -12.25
		{1001, 800, "25.1"}, // 25.125
		{1, 3000, "-100.0"},
		{2999, 3000, "0.0"}, // -0.0333…: no negative zero
		{9_000_000_000_000_000, 1, "899999999999999900.0"},
	}
	for _, c := range cases {
		if got := Change(c.cur, c.prev).String(); got != c.want {
			t.Errorf("Change(%d, %d) = %s, want %s", c.cur, c.prev, got, c.want)
		}
	}
}

// TestStatsByHand checks the dashboard's numbers against sums done by hand
// for a week in Europe/Berlin that holds the October DST change.
func TestStatsByHand(t *testing.T) {
	loc := mustLoc(t, "Europe/Berlin")
	// Week of Wed Oct 21 – Tue Oct 27 2026 as of the end of Oct 27:
	// current [Oct 20 22:00Z, Oct 27 23:00Z), previous [Oct 13 22:00Z, Oct 20 22:00Z).
	recs := []source.Record{
		rec("a", "2026-10-20T22:00:00Z", "gpt-4o", true, 100, 50, "0.000000001"),             // first instant: Oct 21
		rec("b", "2026-10-20T21:59:59.999999999Z", "gpt-4o", true, 10, 10, "1"),              // previous window
		rec("c", "2026-10-25T00:30:00Z", "claude-3-haiku", false, 300, 0, "0.333333333"),     // 02:30 CEST: Oct 25
		rec("d", "2026-10-25T01:30:00Z", "claude-3-haiku", true, 200, 100, "0.666666667"),    // 02:30 CET: Oct 25
		rec("e", "2026-10-27T22:59:59.999999999Z", "gpt-4o", true, 1000, 500, "0.000000999"), // last instant: Oct 27
		rec("f", "2026-10-27T23:00:00Z", "gpt-4o", true, 1, 1, "5"),                          // after the window
		rec("g", "2026-10-13T22:00:00Z", "gpt-4o-mini", false, 5, 0, "0.25"),                 // previous window's first instant
		rec("h", "2026-10-13T21:59:59Z", "gpt-4o-mini", true, 5, 0, "0.25"),                  // before both
		rec("i", "2026-10-22T12:00:00+02:00", "=cmd", true, 0, 0, "0"),                       // a free call
	}
	src := &source.Memory{Records: map[string][]source.Record{"acme": recs}}
	clock, _ := ParseAsOf("2026-10-27", loc)
	span, err := Resolve(Range{Period: Week}, clock)
	if err != nil {
		t.Fatal(err)
	}
	s, err := BuildStats(context.Background(), src, "acme", span, clock, Options{Top: 2})
	if err != nil {
		t.Fatal(err)
	}
	// Current: a, c, d, e, i.
	if s.Current.Calls != 5 || s.Current.Successful != 4 || s.Current.Failed() != 1 {
		t.Errorf("calls %d/%d/%d, want 5/4/1", s.Current.Calls, s.Current.Successful, s.Current.Failed())
	}
	if s.Current.Prompt != 1600 || s.Current.Completion != 650 || s.Current.Tokens() != 2250 {
		t.Errorf("tokens %d+%d, want 1600+650", s.Current.Prompt, s.Current.Completion)
	}
	// 0.000000001 + 0.333333333 + 0.666666667 + 0.000000999 = 1.000001000
	if s.Current.Cost.Decimal() != "1.000001" {
		t.Errorf("cost %s, want 1.000001", s.Current.Cost.Decimal())
	}
	// Previous: b, g → 2 calls, 20 + 5 tokens, $1.25.
	if s.Previous.Calls != 2 || s.Previous.Tokens() != 25 || s.Previous.Cost.Decimal() != "1.25" {
		t.Errorf("previous %+v", s.Previous)
	}
	if got := Change(s.Current.Calls, s.Previous.Calls).String(); got != "150.0" {
		t.Errorf("calls change %s, want 150.0", got)
	}
	if got := Change(s.Current.Tokens(), s.Previous.Tokens()).String(); got != "8900.0" {
		t.Errorf("tokens change %s, want 8900.0", got)
	}
	// (1.000001 − 1.25) / 1.25 × 100 = −19.99992
	if got := Change(int64(s.Current.Cost), int64(s.Previous.Cost)).String(); got != "-20.0" {
		t.Errorf("cost change %s, want -20.0", got)
	}
	// Breakdown: cost descending, ties by name; "=cmd" costs 0.
	wantOrder := []string{"claude-3-haiku", "gpt-4o", "=cmd"}
	for i, g := range s.Models {
		if i >= len(wantOrder) || g.Name != wantOrder[i] {
			t.Fatalf("breakdown order %v, want %v", names(s.Models), wantOrder)
		}
	}
	// Top models by calls: gpt-4o 2, claude-3-haiku 2 (tie: by name), =cmd 1; --top 2.
	top := s.TopModels()
	if len(top) != 2 || top[0].Name != "claude-3-haiku" || top[1].Name != "gpt-4o" {
		t.Errorf("top models %v", names(top))
	}
	// Days: 7, zeros included; Oct 25 has 25 hours and both 02:30s.
	want := map[string]int64{"2026-10-21": 1, "2026-10-22": 1, "2026-10-23": 0, "2026-10-24": 0, "2026-10-25": 2, "2026-10-26": 0, "2026-10-27": 1}
	if len(s.Daily) != 7 {
		t.Fatalf("%d days", len(s.Daily))
	}
	for _, d := range s.Daily {
		if d.Calls != want[d.Date.String()] {
			t.Errorf("%s: %d calls, want %d", d.Date, d.Calls, want[d.Date.String()])
		}
	}
	peak, _ := s.PeakDay()
	if peak.Date.String() != "2026-10-25" {
		t.Errorf("peak %s", peak.Date)
	}
}

func names(gs []Group) []string {
	var out []string
	for _, g := range gs {
		out = append(out, g.Name)
	}
	return out
}

func TestEmptyPreviousWindow(t *testing.T) {
	recs := []source.Record{rec("a", "2026-11-26T08:00:00Z", "m", true, 1, 1, "0.1")}
	src := &source.Memory{Records: map[string][]source.Record{"t": recs}}
	clock := ClockAt(utc("2026-11-26T12:00:00Z"), time.UTC)
	span, _ := Resolve(Range{Period: Today}, clock)
	s, err := BuildStats(context.Background(), src, "t", span, clock, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if c := Change(s.Current.Calls, s.Previous.Calls); !c.Null() {
		t.Errorf("change %s, want null", c)
	}
	s.ComputeInsights()
	if len(s.Insights) == 0 {
		t.Error("no insights")
	}
}

// TestQuotaByHand checks the billing month, levels and projection.
func TestQuotaByHand(t *testing.T) {
	berlin := mustLoc(t, "Europe/Berlin")
	ten := int64(10)
	hundred := int64(100)
	spendLimit := source.USD(2 * source.NanosPerUSD)
	var recs []source.Record
	// March 2026 in Berlin: 31 days, 743 hours (DST on Mar 29).
	for i := range 8 {
		recs = append(recs, rec(string(rune('a'+i)), "2026-03-02T10:00:00Z", "m", true, 5, 5, "0.2"))
	}
	recs = append(recs, rec("z", "2026-02-28T23:00:00Z", "m", true, 1000, 0, "9")) // Mar 1 00:00 CET: in
	recs = append(recs, rec("y", "2026-02-28T22:59:59Z", "m", true, 1000, 0, "9")) // Feb: out
	src := &source.Memory{Records: map[string][]source.Record{"t": recs}}
	clock, _ := ParseAsOf("2026-03-15", berlin) // end of Mar 15: 15 × 24 h elapsed
	q, err := BuildQuota(context.Background(), src, "t", clock, Limits{Calls: &ten, Tokens: &hundred, Spend: &spendLimit}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !q.Period.Start.Equal(utc("2026-02-28T23:00:00Z")) || !q.Period.End.Equal(utc("2026-03-31T22:00:00Z")) {
		t.Fatalf("period %s – %s", q.Period.Start.UTC(), q.Period.End.UTC())
	}
	calls, tokens, spend := q.Metrics[0], q.Metrics[1], q.Metrics[2]
	// 9 calls of 10: 90 % → warning; projected 9 × 743/360 = 18.575 → exceeded.
	if calls.Used != 9 || calls.Level != LevelWarning || calls.ProjectedLevel != LevelExceeded {
		t.Errorf("calls: %+v", calls)
	}
	if calls.Projected.Cmp(big.NewRat(9*743, 360)) != 0 {
		t.Errorf("projected calls %s, want 9×743/360", calls.Projected.FloatString(6))
	}
	// 1080 tokens of 100 → exceeded.
	if tokens.Used != 1080 || tokens.Level != LevelExceeded {
		t.Errorf("tokens: %+v", tokens)
	}
	// $10.60 of $2 → exceeded; the worst level wins.
	if spend.Used != 10_600_000_000 || q.Level != LevelExceeded {
		t.Errorf("spend %d, level %s", spend.Used, q.Level)
	}
	if !q.Fails("exceeded") || !q.Fails("warning") || !q.Fails("projected") {
		t.Error("checks do not fail")
	}
	if q.DaysInMonth != 31 || q.DaysElapsed() != 15 {
		t.Errorf("days %d of %d", q.DaysElapsed(), q.DaysInMonth)
	}
}

func TestQuotaLevels(t *testing.T) {
	src := &source.Memory{Records: map[string][]source.Record{"t": {
		rec("a", "2026-11-10T00:00:00Z", "m", true, 0, 0, "79.999999999"),
	}}}
	clock := ClockAt(utc("2026-11-16T00:00:00Z"), time.UTC) // 15 of 30 days
	cases := []struct {
		limit   string
		warnAt  *big.Rat
		level   Level
		projLvl Level
	}{
		{"100", nil, LevelOK, LevelExceeded},                    // 79.999999999 %; projected 160 %
		{"99.999999998", nil, LevelWarning, LevelExceeded},      // just over 80 %
		{"79.999999999", nil, LevelExceeded, LevelExceeded},     // exactly 100 %
		{"199.999999997", nil, LevelOK, LevelWarning},           // 40 %; projected just over 80 %
		{"100", big.NewRat(75, 1), LevelWarning, LevelExceeded}, // --warn-at 75
	}
	for _, c := range cases {
		l, _ := source.ParseUSD(c.limit)
		q, err := BuildQuota(context.Background(), src, "t", clock, Limits{Spend: &l}, c.warnAt, nil)
		if err != nil {
			t.Fatal(err)
		}
		m := q.Metrics[2]
		if m.Level != c.level || m.ProjectedLevel != c.projLvl {
			t.Errorf("limit %s: level %s/%s, want %s/%s", c.limit, m.Level, m.ProjectedLevel, c.level, c.projLvl)
		}
		if q.Metrics[0].Level != "" || q.Metrics[0].Percent != nil {
			t.Errorf("an unlimited metric has a level")
		}
	}
}
