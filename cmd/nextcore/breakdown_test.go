package main

import (
	"encoding/json"
	"math"
	"sort"
	"strings"
	"testing"

	"github.com/nextcore-ai/nextcore/pkg/source"
)

type bdRow map[string]any

func breakdownJSON(t *testing.T, e *env, args ...string) (rows []bdRow, total bdRow) {
	t.Helper()
	r := e.run("", false, append([]string{"usage", "breakdown", "--format", "json"}, args...)...)
	if r.code != 0 {
		t.Fatalf("%v: %d %q", args, r.code, r.stderr)
	}
	var out struct {
		Rows  []bdRow `json:"rows"`
		Total bdRow   `json:"total"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		t.Fatal(err)
	}
	return out.Rows, out.Total
}

func num(v any) float64 { f, _ := v.(float64); return f }

// TestBreakdownSumsToTotals checks, for every dimension and a pivot, that
// the rows add up to the total and the total to the stats of the window.
func TestBreakdownSumsToTotals(t *testing.T) {
	e := imported(t)
	var stats struct {
		APICalls struct{ Total int64 }      `json:"apiCalls"`
		Costs    struct{ Total source.USD } `json:"costs"`
	}
	json.Unmarshal([]byte(e.run("", false, append([]string{"usage", "stats", "--format", "json"}, week...)...).stdout), &stats)
	for _, by := range [][]string{{"model"}, {"key"}, {"user"}, {"region"}, {"status"}, {"day"}, {"hour"}, {"model", "region"}, {"region", "day"}} {
		var args []string
		for _, b := range by {
			args = append(args, "--by", b)
		}
		rows, total := breakdownJSON(t, e, append(args, week...)...)
		var calls float64
		var cost source.USD
		for _, r := range rows {
			calls += num(r["calls"])
			c, _ := source.ParseUSD(strings.TrimSpace(jsonNum(r["cost"])))
			cost += c
			for _, b := range by {
				if r[b] == nil || r[b] == "" {
					t.Errorf("%v: a row without its %s", by, b)
				}
			}
		}
		if int64(calls) != stats.APICalls.Total || int64(num(total["calls"])) != stats.APICalls.Total || cost != stats.Costs.Total {
			t.Errorf("%v: rows sum to %v calls, $%s; total %v; stats %d, $%s", by, calls, cost.Decimal(), total["calls"], stats.APICalls.Total, stats.Costs.Total.Decimal())
		}
	}
	// The fixture has calls without a user: they form (none).
	rows, _ := breakdownJSON(t, e, append([]string{"--by", "user"}, week...)...)
	found := false
	for _, r := range rows {
		found = found || r["user"] == "(none)"
	}
	if !found {
		t.Error("no (none) group of calls without a user")
	}
	// Day rows come in time order, seven of them at most.
	days, _ := breakdownJSON(t, e, append([]string{"--by", "day"}, week...)...)
	var names []string
	for _, r := range days {
		names = append(names, r["day"].(string))
	}
	if !sort.StringsAreSorted(names) || len(names) != 7 || names[0] != "2026-11-17" {
		t.Errorf("days %v", names)
	}
}

func jsonNum(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestBreakdownFilter checks that a filter keeps exactly the matching calls.
func TestBreakdownFilter(t *testing.T) {
	e := imported(t)
	all, _ := breakdownJSON(t, e, append([]string{"--by", "model", "--by", "region"}, week...)...)
	want := 0.0
	for _, r := range all {
		if r["model"] == "gpt-4o" && (r["region"] == "eu-west" || r["region"] == "us-east") {
			want += num(r["calls"])
		}
	}
	rows, total := breakdownJSON(t, e, append([]string{"--by", "region", "--filter", "model=gpt-4o", "--filter", "region=eu-west,region=us-east"}, week...)...)
	if num(total["calls"]) != want || want == 0 || len(rows) != 2 {
		t.Errorf("filtered: %v calls in %d rows, want %v in 2", total["calls"], len(rows), want)
	}
	for _, bad := range [][]string{{"--filter", "colour=red"}, {"--filter", "model"}, {"--by", "weekday"}, {}, {"--by", "day", "--by", "hour"}, {"--by", "model", "--sort", "size"}} {
		args := append([]string{"usage", "breakdown"}, bad...)
		if len(bad) > 0 && bad[0] == "--filter" {
			args = append(args, "--by", "model")
		}
		if r := e.run("", false, args...); r.code != 2 {
			t.Errorf("%v: exit %d %q", bad, r.code, r.stderr)
		}
	}
}

// TestBreakdownLatency checks the percentiles against exact nearest-rank
// values computed from the fixture's records, within 1 %.
func TestBreakdownLatency(t *testing.T) {
	e := imported(t)
	rows, _ := breakdownJSON(t, e, "--by", "model", "--from", "2026-10-01", "--to", "2026-11-30", "--tz", "UTC")
	byModel := map[string][]int64{}
	for _, r := range fixtureRecords(t) {
		if r.LatencyMs >= 0 {
			byModel[r.Model] = append(byModel[r.Model], r.LatencyMs)
		}
	}
	for _, r := range rows {
		lat := r["latency"].(map[string]any)
		xs := byModel[r["model"].(string)]
		sort.Slice(xs, func(i, j int) bool { return xs[i] < xs[j] })
		if int(num(lat["calls"])) != len(xs) {
			t.Errorf("%s: %v calls with a latency, want %d", r["model"], lat["calls"], len(xs))
		}
		for _, q := range []struct {
			key string
			q   float64
		}{{"p50", 0.5}, {"p90", 0.9}, {"p95", 0.95}, {"p99", 0.99}} {
			rank := int(math.Ceil(q.q * float64(len(xs))))
			exact := float64(xs[max(rank, 1)-1])
			if got := num(lat[q.key]); math.Abs(got-exact) > 0.01*exact+0.05 {
				t.Errorf("%s %s = %v, exact %v", r["model"], q.key, got, exact)
			}
		}
	}
}
