package render

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/nextcore-ai/nextcore/pkg/report"
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

// TestNoCostIsNeverSilent: records that reported no cost are named under
// the dashboard's cards, never a silent $0.
func TestNoCostIsNeverSilent(t *testing.T) {
	at := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC).UnixNano()
	recs := []source.Record{
		{ID: "a", Time: at, Model: "ft:mine", APIKey: "k", Success: true, Requests: 1, LatencyMs: -1, PromptTokens: 1500, NoCost: true},
		{ID: "b", Time: at + 1, Model: "ft:mine", APIKey: "k", Unknown: true, Requests: 3, LatencyMs: -1, PromptTokens: 500, CompletionTokens: 100, NoCost: true},
		{ID: "c", Time: at + 2, Model: "gpt-4o", APIKey: "k", Success: true, Requests: 1, LatencyMs: -1, PromptTokens: 10, Cost: 5},
	}
	src := &source.Memory{Records: map[string][]source.Record{"acme": recs}}
	clock, _ := report.ParseAsOf("2026-11-21", time.UTC)
	span, _ := report.Resolve(report.Range{Period: report.Week}, clock)
	stats, err := report.BuildStats(context.Background(), src, "acme", span, clock, report.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if u := stats.NoCost; u.Calls != 4 || u.Tokens != 2100 || len(u.Models) != 1 || u.Models[0] != "ft:mine" {
		t.Fatalf("no-cost usage %+v", u)
	}
	var tb strings.Builder
	if err := StatsTable(&tb, stats, Options{Style: Style{Width: 80}}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(tb.String(), "⚠ 4 calls (2,100 tokens) of ft:mine reported no cost: counted as $0") {
		t.Errorf("no warning:\n%s", tb.String())
	}
}
