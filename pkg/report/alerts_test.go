package report

import (
	"context"
	"math/big"
	"testing"
	"time"

	"github.com/nextcore-ai/nextcore/pkg/source"
)

// TestAlerts: thresholds passed and a forecast over the limit, each with
// a key that is the same every run; what was sent on a channel is not sent
// again there; the headline is the highest threshold.
func TestAlerts(t *testing.T) {
	// $6 by Nov 20 of a $10 limit: 60 %, forecast $9 (90 %); calls 12 of a
	// 10 limit: 120 %, forecast 18.
	recs := join(calls("2026-11-05", 6, "m", 10, "1", true), calls("2026-11-19", 6, "m", 10, "0", true))
	src := &source.Memory{Records: map[string][]source.Record{"t": recs}}
	clock, _ := ParseAsOf("2026-11-20", time.UTC)
	spend, n := source.USD(10*source.NanosPerUSD), int64(10)
	q, err := BuildQuota(context.Background(), src, "t", clock, Limits{Spend: &spend, Calls: &n}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	th := []*big.Rat{big.NewRat(50, 1), big.NewRat(80, 1), big.NewRat(100, 1), big.NewRat(125, 2)}
	got := Alerts(q, th)
	var keys []string
	for _, a := range got {
		keys = append(keys, a.Key)
	}
	want := []string{"apiCalls:50", "apiCalls:80", "apiCalls:100", "apiCalls:62.5", "apiCalls:forecast", "spend:50"}
	if len(keys) != len(want) {
		t.Fatalf("keys %v, want %v", keys, want)
	}
	for i := range want {
		if keys[i] != want[i] {
			t.Errorf("keys %v, want %v", keys, want)
			break
		}
	}
	if got[2].Text != "API calls passed 100% of the November limit: 120.0%" {
		t.Errorf("text %q", got[2].Text)
	}
	if h := Headline(got); h.Key != "apiCalls:100" {
		t.Errorf("headline %s", h.Key)
	}
	left := Unsent(got, map[string]bool{"apiCalls:50|email": true, "spend:50|webhook": true}, "email")
	if len(left) != len(got)-1 || left[0].Key != "apiCalls:80" {
		t.Errorf("unsent by email: %v", left)
	}
}
