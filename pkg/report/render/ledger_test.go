package render

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/nextcore-ai/nextcore/pkg/pricing"
	"github.com/nextcore-ai/nextcore/pkg/report"
	"github.com/nextcore-ai/nextcore/pkg/report/render/pdftest"
	"github.com/nextcore-ai/nextcore/pkg/source"
)

// TestStatsJSONLedger checks the ledger's fields of the stats JSON (records
// v2) against numbers worked out by hand.
func TestStatsJSONLedger(t *testing.T) {
	at := func(s string) int64 {
		ts, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return ts.UnixNano()
	}
	recs := []source.Record{
		// one call: 1,000 prompt tokens of which 800 cache reads and 100 cache writes
		{ID: "a", Time: at("2026-11-20T10:00:00Z"), Model: "m", APIKey: "k", Success: true, Requests: 1, LatencyMs: -1,
			PromptTokens: 1000, CacheRead: 800, CacheWrite: 100, CompletionTokens: 300, Reasoning: 120, Cost: 2_000_000_000},
		// a bucket of 3 calls of unknown outcome, with a 1-hour cache write
		{ID: "b", Time: at("2026-11-20T11:00:00Z"), Model: "m", APIKey: "k", Unknown: true, Requests: 3, LatencyMs: -1,
			PromptTokens: 600, CacheWrite1h: 200, CompletionTokens: 60, Cost: 3_000_000_000},
		// a failed call
		{ID: "c", Time: at("2026-11-20T12:00:00Z"), Model: "m", APIKey: "k", Requests: 1, LatencyMs: -1,
			PromptTokens: 400, Cost: 1_000_000_000},
		// a bucket that counts no calls: its tokens and cost count, not per call
		{ID: "d", Time: at("2026-11-20T13:00:00Z"), Model: "m", APIKey: "k", Success: true, Requests: 0, LatencyMs: -1,
			PromptTokens: 1000, CompletionTokens: 40, Cost: 4_000_000_000},
	}
	src := &source.Memory{Records: map[string][]source.Record{"acme": recs}}
	clock, _ := report.ParseAsOf("2026-11-21", time.UTC)
	span, err := report.Resolve(report.Range{Period: report.Week}, clock)
	if err != nil {
		t.Fatal(err)
	}
	stats, err := report.BuildStats(context.Background(), src, "acme", span, clock, report.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		APICalls map[string]json.RawMessage
		Tokens   map[string]json.RawMessage
		Costs    map[string]json.RawMessage
	}
	b, _ := json.Marshal(StatsData(stats, Meta{}))
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]map[string]string{
		// 1 + 3 + 1 + 0 calls; 1 successful, 1 failed, 3 unknown; the rate
		// leaves the unknown out: 1 / 2.
		"apiCalls": {"total": "5", "successful": "1", "failed": "1", "unknown": "3", "successRate": "50"},
		// prompt 3,000 = input 1,900 + cache read 800 + writes 100 and 200;
		// hit rate 800 / 3,000 = 0.26666… → 0.2667.
		"tokens": {"total": "3400", "prompt": "3000", "completion": "400", "input": "1900", "cacheRead": "800",
			"cacheWrite": "100", "cacheWrite1h": "200", "output": "400", "reasoning": "120", "cacheHitRate": "0.2667"},
		// $10 in all; per call the $4 of the bucket of no calls is left out: $6 / 5.
		"costs": {"total": "10", "averagePerCall": "1.200000000"},
	}
	// The dashboard's cards show the unknown calls, the cache and the
	// reasoning.
	var tb strings.Builder
	if err := StatsTable(&tb, stats, Options{Meta: Meta{Source: "cache"}, Style: Style{Width: 80}}); err != nil {
		t.Fatal(err)
	}
	golden(t, "stats-ledger-table", tb.String())

	for obj, fields := range want {
		have := map[string]map[string]json.RawMessage{"apiCalls": got.APICalls, "tokens": got.Tokens, "costs": got.Costs}[obj]
		for k, v := range fields {
			if string(have[k]) != v {
				t.Errorf("%s.%s = %s, want %s", obj, k, have[k], v)
			}
		}
	}
}

// TestUnpricedIsNeverSilent: usage that no price covers is named in every
// format of every report that shows cost, never a silent $0; usage without
// a reported cost whose model has a price is priced (reported mode).
func TestUnpricedIsNeverSilent(t *testing.T) {
	at := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC).UnixNano()
	recs := []source.Record{
		{ID: "a", Time: at, Model: "ft:mine", APIKey: "k", Success: true, Requests: 1, LatencyMs: -1, PromptTokens: 1500, NoCost: true},
		{ID: "b", Time: at + 1, Model: "ft:mine", APIKey: "k", Unknown: true, Requests: 3, LatencyMs: -1, PromptTokens: 500, CompletionTokens: 100, NoCost: true},
		{ID: "c", Time: at + 2, Model: "gpt-4o", APIKey: "k", Success: true, Requests: 1, LatencyMs: -1, PromptTokens: 10, Cost: 5},
		// 1M input tokens at $2.50 a million, no reported cost: priced.
		{ID: "d", Time: at + 3, Model: "gpt-4o", APIKey: "k", Success: true, Requests: 1, LatencyMs: -1, PromptTokens: 1_000_000, NoCost: true},
	}
	ms, err := pricing.Parse("p.yaml", []byte("models:\n  gpt-4o:\n    prices:\n      - from: 2024-01-01\n        input: 2.5\n        output: 10\n"))
	if err != nil {
		t.Fatal(err)
	}
	book := pricing.NewBook()
	book.Put(ms[0])
	money := &report.Money{Mode: report.CostReported, Book: book}
	src := &source.Memory{Records: map[string][]source.Record{"acme": recs}}
	ctx := context.Background()
	clock, _ := report.ParseAsOf("2026-11-21", time.UTC)
	span, _ := report.Resolve(report.Range{Period: report.Week}, clock)
	stats, err := report.BuildStats(ctx, src, "acme", span, clock, report.Options{Money: money})
	if err != nil {
		t.Fatal(err)
	}
	stats.ComputeInsights()
	if u := stats.Unpriced; u.Calls != 4 || u.Tokens != 2100 || len(u.Models) != 1 || u.Models[0] != "ft:mine" {
		t.Fatalf("unpriced usage %+v", u)
	}
	if want := source.USD(2_500_000_005); stats.Current.Cost != want {
		t.Errorf("cost %d, want %d", stats.Current.Cost, want)
	}
	breakdown, err := report.BuildBreakdown(ctx, src, "acme", span, clock, report.BreakdownOptions{By: []report.By{report.ByKey}, Money: money})
	if err != nil {
		t.Fatal(err)
	}
	ranking, err := report.RankModels(ctx, src, "acme", span, clock, report.ByCost, 5, nil, money)
	if err != nil {
		t.Fatal(err)
	}
	quota, err := report.BuildQuota(ctx, src, "acme", clock, report.Limits{}, nil, money)
	if err != nil {
		t.Fatal(err)
	}
	const says = "4 calls (2,100 tokens) of ft:mine have no price: counted as $0"
	o := Options{Style: Style{Width: 80}}
	type out struct {
		name string
		fn   func(*strings.Builder) error
	}
	var outs []out
	for _, f := range StatsReport().Formats() {
		outs = append(outs, out{"stats " + string(f), func(b *strings.Builder) error { return StatsReport().Render(f, b, stats, o) }})
	}
	for _, f := range BreakdownReport().Formats() {
		outs = append(outs, out{"breakdown " + string(f), func(b *strings.Builder) error { return BreakdownReport().Render(f, b, breakdown, o) }})
	}
	for _, f := range RankingReport().Formats() {
		outs = append(outs, out{"top-models " + string(f), func(b *strings.Builder) error { return RankingReport().Render(f, b, ranking, o) }})
	}
	for _, f := range OverviewReport().Formats() {
		outs = append(outs, out{"overview " + string(f), func(b *strings.Builder) error { return OverviewReport().Render(f, b, stats, o) }})
	}
	for _, f := range QuotaReport().Formats() {
		outs = append(outs, out{"quota " + string(f), func(b *strings.Builder) error { return QuotaReport().Render(f, b, quota, o) }})
	}
	outs = append(outs, out{"stats pdf", func(b *strings.Builder) error {
		var pdf bytes.Buffer
		if err := StatsPDF(&pdf, stats, o); err != nil {
			return err
		}
		b.WriteString(strings.Join(pdftest.Text(t, pdf.Bytes()), "\n"))
		return nil
	}})
	for _, c := range outs {
		var b strings.Builder
		if err := c.fn(&b); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		text := b.String()
		switch {
		case strings.HasSuffix(c.name, " json"):
			var v struct {
				Unpriced struct {
					Calls, Tokens int64
					Models        []string
				}
				CostMode string
			}
			if err := json.Unmarshal([]byte(text), &v); err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			if v.Unpriced.Calls != 4 || v.Unpriced.Tokens != 2100 || len(v.Unpriced.Models) != 1 || v.CostMode != "reported" {
				t.Errorf("%s: unpriced %+v, cost mode %q", c.name, v.Unpriced, v.CostMode)
			}
		case strings.HasSuffix(c.name, " csv"):
			// Data only: the command says it on standard error.
		case c.name == "overview table":
			if !strings.Contains(text, "⚠ 4 calls without a price, counted as $0") {
				t.Errorf("%s does not say it:\n%s", c.name, text)
			}
		default:
			flat := strings.Join(strings.Fields(text), " ")
			if !strings.Contains(flat, says) {
				t.Errorf("%s does not say it:\n%s", c.name, text)
			}
		}
	}
}
