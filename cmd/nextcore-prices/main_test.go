package main

import (
	"reflect"
	"testing"

	"github.com/nextcore-ai/nextcore/pkg/pricing"
)

// TestConvert: per-token prices become exact per-million decimals; batch
// prices a factor; *_above_200k_tokens the long-context prices; priority
// and flex the tiers; a dated name gets its undated alias.
func TestConvert(t *testing.T) {
	table := `{"sample_spec": {"input_cost_per_token": 0},
	 "m-20250101": {"litellm_provider": "openai", "input_cost_per_token": 2.5e-06, "output_cost_per_token": 1e-05,
	   "cache_read_input_token_cost": 1.25e-06, "input_cost_per_token_batches": 1.25e-06,
	   "input_cost_per_token_above_200k_tokens": 5e-06, "output_cost_per_token_priority": 1.7e-05},
	 "image-only": {"input_cost_per_image": 0.02}}`
	snap, skipped, err := convert([]byte(table), "2026-03-03")
	if err != nil {
		t.Fatal(err)
	}
	if skipped != 1 || len(snap.Models) != 1 {
		t.Fatalf("%d skipped, %d models", skipped, len(snap.Models))
	}
	want := pricing.SnapshotModel{Provider: "openai", Aliases: []string{"m"}, Prices: []pricing.SnapshotPeriod{{From: "2000-01-01",
		SnapshotComponents: pricing.SnapshotComponents{Input: "2.5", CacheRead: "1.25", Output: "10"},
		BatchFactor:        "0.5", Above: &pricing.SnapshotAbove{Tokens: 200000, SnapshotComponents: pricing.SnapshotComponents{Input: "5"}},
		Tiers: map[string]pricing.SnapshotComponents{"priority": {Output: "17"}}}}}
	if got := snap.Models["m-20250101"]; !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
}
