package report

import (
	"context"
	"testing"
	"time"

	"github.com/nextcore-ai/nextcore/pkg/source"
)

// TestBreakdownByTag: tag groups overlap, calls with no tag form (none),
// the total is the window's calls each once, and a tag filter keeps a call
// with any of the tags given.
func TestBreakdownByTag(t *testing.T) {
	tagged := func(id string, requests int64, cost string, tags ...string) source.Record {
		r := rec(id, "2026-11-20T12:00:00Z", "m", true, 10, 5, cost)
		r.Requests, r.Tags, r.Project = requests, tags, "p"
		return r
	}
	recs := []source.Record{
		tagged("a", 1, "1", "prod", "team:ml"),
		tagged("b", 3, "2", "prod"),
		tagged("c", 1, "4"),
		tagged("d", 2, "8", "team:ml"),
	}
	src := &source.Memory{Records: map[string][]source.Record{"t": recs}}
	clock, _ := ParseAsOf("2026-11-21", time.UTC)
	span, err := Resolve(Range{Period: Week}, clock)
	if err != nil {
		t.Fatal(err)
	}
	b, err := BuildBreakdown(context.Background(), src, "t", span, clock, BreakdownOptions{By: []By{ByTag}, Sort: "name"})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][2]int64{}
	for _, r := range b.Rows {
		got[r.Keys[0]] = [2]int64{r.Current.Calls, int64(r.Current.Cost / source.NanosPerUSD)}
	}
	want := map[string][2]int64{"prod": {4, 3}, "team:ml": {3, 9}, None: {1, 4}}
	if len(got) != len(want) || got["prod"] != want["prod"] || got["team:ml"] != want["team:ml"] || got[None] != want[None] {
		t.Errorf("rows %v, want %v", got, want)
	}
	if !b.Overlapping || b.Total.Calls != 7 || b.Total.Cost != 15*source.NanosPerUSD {
		t.Errorf("overlapping %v, total %d calls $%s; want true, 7, $15", b.Overlapping, b.Total.Calls, b.Total.Cost.Decimal())
	}

	f := source.Filter{source.DimTag: {"team:ml", ""}}
	b, err = BuildBreakdown(context.Background(), src, "t", span, clock, BreakdownOptions{By: []By{ByProject}, Filter: f})
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Rows) != 1 || b.Rows[0].Current.Calls != 4 || b.Overlapping || b.Total.Calls != 4 {
		t.Errorf("filtered by tag: %+v, total %d", b.Rows, b.Total.Calls)
	}
}
