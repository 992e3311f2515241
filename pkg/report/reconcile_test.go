package report

import (
	"context"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/nextcore-ai/nextcore/pkg/pricing"
	"github.com/nextcore-ai/nextcore/pkg/source"
)

const reconBook = `models:
  gpt-4o:
    prices:
      - {from: 2024-05-13, input: 5, output: 15}
      - {from: 2024-10-01, input: 2.5, output: 10}
  cheap:
    prices:
      - {from: 2024-01-01, input: 1, output: 2}
`

// bookOf is the price book of a price file's text.
func bookOf(t *testing.T, text string) *pricing.Book {
	t.Helper()
	ms, err := pricing.Parse("book.yaml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	book := pricing.NewBook()
	for _, m := range ms {
		book.Put(m)
	}
	return book
}

func rec2(id, at, model string, prompt, completion int64, cost string) source.Record {
	t, _ := time.Parse(time.RFC3339Nano, at)
	c, _ := source.ParseUSD(cost)
	return source.Record{ID: id, Time: t.UnixNano(), Model: model, APIKey: "k", Success: true, PromptTokens: prompt, CompletionTokens: completion, Cost: c, LatencyMs: -1, Requests: 1}
}

// TestReconcile: hand-computed rows. The Berlin day of Oct 1, 2024 begins
// on Sep 30 at 22:00 UTC, so its first two hours are priced at September's
// prices and the rest at October's.
func TestReconcile(t *testing.T) {
	book := bookOf(t, reconBook)
	recs := []source.Record{
		// Sep 30 23:30 UTC (Oct 1 01:30 in Berlin): 1,000 in × $5/M + 1,000 out × $15/M = $0.02
		rec2("a", "2024-09-30T23:30:00Z", "gpt-4o", 1000, 1000, "0.02"),
		// Oct 1 00:30 UTC: 1,000 × $2.5/M + 1,000 × $10/M = $0.0125; reported $0.0125
		rec2("b", "2024-10-01T00:30:00Z", "gpt-4o", 1000, 1000, "0.0125"),
		// cheap on Oct 1: priced 1M × $1 + 1M × $2 = $3; reported $3.50 (16.7% over: flagged)
		rec2("c", "2024-10-01T10:00:00Z", "cheap", 1_000_000, 1_000_000, "3.5"),
		// cheap on Oct 2: priced $3; reported $3.02 (0.67%: within 1%)
		rec2("d", "2024-10-02T10:00:00Z", "cheap", 1_000_000, 1_000_000, "3.02"),
		// a model without a price
		rec2("e", "2024-10-02T11:00:00Z", "mystery", 10, 10, "0.7"),
	}
	src := &source.Memory{Records: map[string][]source.Record{"t": recs}}
	loc, _ := time.LoadLocation("Europe/Berlin")
	clock, _ := ParseAsOf("2024-10-02", loc)
	from, to := Date{2024, 10, 1}, Date{2024, 10, 2}
	span, err := Resolve(Range{From: &from, To: &to}, clock)
	if err != nil {
		t.Fatal(err)
	}
	r, err := Reconcile(context.Background(), src, "t", span, clock, book, big.NewRat(1, 1))
	if err != nil {
		t.Fatal(err)
	}
	type want struct {
		date             string
		model            string
		reported, priced source.USD
		flagged          bool
		unpriced         bool
		explanations     int
	}
	wants := []want{
		{"2024-10-01", "cheap", 3_500_000_000, 3_000_000_000, true, false, 0},
		{"2024-10-02", "cheap", 3_020_000_000, 3_000_000_000, true, false, 0}, // $0.02 > $0.01 but 0.67% < 1%: not flagged
		{"2024-10-01", "gpt-4o", 32_500_000, 32_500_000, false, false, 1},
		{"2024-10-02", "mystery", 700_000_000, 0, false, true, 1},
	}
	wants[1].flagged = false
	if len(r.Rows) != len(wants) {
		t.Fatalf("%d rows: %+v", len(r.Rows), r.Rows)
	}
	for i, w := range wants {
		row := r.Rows[i]
		if row.Date.String() != w.date || row.Model != w.model || row.Reported != w.reported || row.Priced != w.priced ||
			row.Flagged != w.flagged || row.Unpriced != w.unpriced || len(row.Explanations) != w.explanations {
			t.Errorf("row %d: %+v, want %+v", i, row, w)
		}
	}
	if r.Flagged != 1 || r.Reported != 6_552_500_000 || r.Priced != 6_032_500_000 || r.UnpricedReported != 700_000_000 ||
		len(r.Unpriced) != 1 || r.Unpriced[0] != "mystery" {
		t.Errorf("totals: flagged %d reported %d priced %d unpriced %d %v", r.Flagged, r.Reported, r.Priced, r.UnpricedReported, r.Unpriced)
	}
	if r.Rows[2].Explanations[0] != "the price changed during the day" {
		t.Errorf("explanation %q", r.Rows[2].Explanations)
	}
}

// TestReconcileLedger: records v2 priced by hand, token kind by kind.
func TestReconcileLedger(t *testing.T) {
	book := bookOf(t, `models:
  claude:
    prices:
      - {from: 2025-01-01, input: 3, cacheRead: 0.3, cacheWrite: 3.75, cacheWrite1h: 6, output: 15, batchFactor: 0.5}
`)
	at := time.Date(2025, 6, 2, 12, 0, 0, 0, time.UTC).UnixNano()
	recs := []source.Record{
		// 1,000 input × $3 + 10,000 cache read × $0.3 + 2,000 writes × $3.75
		// + 1,000 1-hour writes × $6 + 500 output × $15, per million:
		// 0.003 + 0.003 + 0.0075 + 0.006 + 0.0075 = $0.027; reported $0.03.
		{ID: "a", Time: at, Model: "claude", APIKey: "k", Success: true, Requests: 1, LatencyMs: -1,
			PromptTokens: 14_000, CacheRead: 10_000, CacheWrite: 2_000, CacheWrite1h: 1_000, CompletionTokens: 500, Reasoning: 200, Cost: 30_000_000},
		// a batch bucket of 4 requests with no reported cost: 1M input × $3
		// + 1M output × $15 = $18, × 0.5 = $9, on both sides.
		{ID: "b", Time: at + 1, Model: "claude", APIKey: "k", Unknown: true, Requests: 4, LatencyMs: -1, Batch: true, NoCost: true,
			PromptTokens: 1_000_000, CompletionTokens: 1_000_000},
	}
	src := &source.Memory{Records: map[string][]source.Record{"t": recs}}
	clock, _ := ParseAsOf("2025-06-02", time.UTC)
	day := Date{2025, 6, 2}
	span, err := Resolve(Range{From: &day, To: &day}, clock)
	if err != nil {
		t.Fatal(err)
	}
	r, err := Reconcile(context.Background(), src, "t", span, clock, book, big.NewRat(1, 1))
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Rows) != 1 {
		t.Fatalf("rows %+v", r.Rows)
	}
	row := r.Rows[0]
	if row.Calls != 5 || row.Priced != 9_027_000_000 || row.Reported != 9_030_000_000 || row.Unpriced || len(row.Explanations) != 1 {
		t.Errorf("row %+v; want 5 calls, priced $9.027, reported $9.03, one explanation", row)
	}
	if row.Flagged {
		t.Errorf("$0.003 (0.03 %%) flagged")
	}
}

// TestReconcileBill: a provider's bill by project against its usage at
// list prices, by hand. Only the provider's records count; a line of a
// project without usage and usage of a project without a line are rows of
// their own; a bill line outside the window is not read.
func TestReconcileBill(t *testing.T) {
	book := bookOf(t, reconBook)
	withProject := func(r source.Record, provider, project string) source.Record {
		r.Provider, r.Project, r.NoCost, r.Cost = provider, project, true, 0
		return r
	}
	recs := []source.Record{
		// Oct 1, project p1: 1M in × $2.5 + 1M out × $10 = $12.50
		withProject(rec2("a", "2024-10-01T10:00:00Z", "gpt-4o", 1_000_000, 1_000_000, "0"), "openai", "p1"),
		// Oct 1, project p1: 1M × $1 + 1M × $2 = $3.00 (cheap) → p1 $15.50
		withProject(rec2("b", "2024-10-01T23:59:59.999Z", "cheap", 1_000_000, 1_000_000, "0"), "openai", "p1"),
		// Oct 2, project p2: $3.00, not on the bill
		withProject(rec2("c", "2024-10-02T00:00:00Z", "cheap", 1_000_000, 1_000_000, "0"), "openai", "p2"),
		// another provider's usage: not set against openai's bill
		withProject(rec2("d", "2024-10-01T12:00:00Z", "cheap", 1_000_000, 1_000_000, "0"), "anthropic", "p1"),
		// a model without a price
		withProject(rec2("e", "2024-10-02T11:00:00Z", "mystery", 10, 10, "0"), "openai", "p3"),
	}
	src := &source.Memory{Records: map[string][]source.Record{"t": recs}}
	day := func(d string) int64 {
		tm, _ := time.Parse("2006-01-02", d)
		return tm.UnixNano()
	}
	usd := func(s string) source.USD {
		u, _ := source.ParseUSD(s)
		return u
	}
	lines := []source.BillLine{
		{ID: "1", Provider: "openai", Start: day("2024-10-01"), End: day("2024-10-02"), Project: "p1", Amount: usd("10")},
		{ID: "2", Provider: "openai", Start: day("2024-10-01"), End: day("2024-10-02"), Project: "p1", Item: "web search", Amount: usd("5.5")},
		{ID: "3", Provider: "openai", Start: day("2024-10-02"), End: day("2024-10-03"), Project: "p9", Amount: usd("0.75")},
		{ID: "4", Provider: "openai", Start: day("2024-10-05"), End: day("2024-10-06"), Project: "p1", Amount: usd("100")},
	}
	from, to := report2Date("2024-10-01"), report2Date("2024-10-02")
	span, err := Resolve(Range{From: &from, To: &to}, ClockEndOf(to, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	r, err := ReconcileBill(context.Background(), src, "t", span, ClockEndOf(to, time.UTC), book, big.NewRat(1, 1), "openai", lines)
	if err != nil {
		t.Fatal(err)
	}
	if r.GroupBy != "project" || r.Against != "openai" {
		t.Fatalf("grouped by %q against %q", r.GroupBy, r.Against)
	}
	type row struct {
		date, project  string
		calls          int64
		billed, priced string
		flagged        bool
		explained      string
	}
	want := []row{
		{"2024-10-02", "p2", 1, "0", "3", true, "usage that is not on the bill"},
		{"2024-10-02", "p9", 0, "0.75", "0", true, "billed, and no usage imported for it"},
		{"2024-10-01", "p1", 2, "15.5", "15.5", false, ""},
		{"2024-10-02", "p3", 1, "0", "0", false, "no price for mystery"},
	}
	if len(r.Rows) != len(want) {
		t.Fatalf("%d rows: %+v", len(r.Rows), r.Rows)
	}
	for i, w := range want {
		g := r.Rows[i]
		if g.Date.String() != w.date || g.Model != w.project || g.Calls != w.calls || g.Reported != usd(w.billed) ||
			g.Priced != usd(w.priced) || g.Flagged != w.flagged || !strings.Contains(strings.Join(g.Explanations, "; ")+" ", w.explained) {
			t.Errorf("row %d: %+v, want %+v", i, g, w)
		}
	}
	if r.Reported != usd("16.25") || r.Priced != usd("18.5") || r.Flagged != 2 {
		t.Errorf("billed %v, priced %v, %d flagged", r.Reported, r.Priced, r.Flagged)
	}
}

func report2Date(s string) Date {
	d, err := ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}
