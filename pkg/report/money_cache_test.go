package report

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/nextcore-ai/nextcore/pkg/pricing"
	"github.com/nextcore-ai/nextcore/pkg/source"
	"github.com/nextcore-ai/nextcore/pkg/source/cache"
)

// conformBook prices three of conformModels, two of them with a change
// of prices inside the data (at a UTC midnight in the middle of a DST
// week-end for some zones), with tiers, long-context prices and a batch
// factor; "free" has no price and "later" none before Mar 20.
const conformBook = `
models:
  gpt-4o:
    prices:
      - from: 2026-01-01
        input: 2.5
        cacheRead: 1.25
        output: 10
        tiers:
          priority: {input: 4.25, output: 17}
      - from: 2026-03-29
        input: 2
        cacheRead: 0.5
        cacheWrite: 2.5
        output: 8
        batchFactor: 0.4
  claude:
    prices:
      - from: 2025-06-01
        input: 3
        cacheRead: 0.3
        cacheWrite: 3.75
        cacheWrite1h: 6
        output: 15
        above: {tokens: 200000, input: 6, output: 22.5}
  later:
    prices:
      - from: 2026-03-20
        input: 0.000137
        output: 0.000411
`

var conformModels = []string{"gpt-4o", "claude", "later", "free"}

// conformRecords are random v2 records: buckets, cache and reasoning
// tokens, batch, tiers, long context, with and without a reported cost.
func conformRecords(rng *rand.Rand, n int, from, to time.Time) []source.Record {
	recs := make([]source.Record, n)
	span := to.UnixNano() - from.UnixNano()
	for i := range recs {
		prompt := rng.Int64N(300_000)
		r := source.Record{ID: fmt.Sprintf("id-%d-%d", i, rng.Int64()), Time: from.UnixNano() + rng.Int64N(span),
			Model: conformModels[rng.IntN(len(conformModels))], APIKey: fmt.Sprint("key-", rng.IntN(5)),
			User: fmt.Sprint("user-", rng.IntN(7)), Region: []string{"", "eu", "us"}[rng.IntN(3)],
			Success: rng.IntN(10) > 0, PromptTokens: prompt, CompletionTokens: rng.Int64N(5000),
			Cost: source.USD(rng.Int64N(50_000_000)), LatencyMs: rng.Int64N(3000), Requests: []int64{1, 1, 1, 0, 7}[rng.IntN(5)]}
		r.CacheRead = rng.Int64N(prompt + 1)
		r.CacheWrite = rng.Int64N(prompt - r.CacheRead + 1)
		r.CacheWrite1h = rng.Int64N(prompt - r.CacheRead - r.CacheWrite + 1)
		r.Reasoning = rng.Int64N(r.CompletionTokens + 1)
		r.Batch = rng.IntN(4) == 0
		r.ServiceTier = []string{"", "", "priority", "flex"}[rng.IntN(4)]
		r.LongContext = int8(rng.IntN(3) - 1)
		r.NoCost = rng.IntN(3) == 0
		if r.NoCost {
			r.Cost = 0
		}
		r.Project = []string{"", "web", "batch"}[rng.IntN(3)]
		if rng.IntN(3) == 0 {
			r.Tags = []string{"a", "b"}[:1+rng.IntN(2)]
		}
		recs[i] = r
	}
	return recs
}

// referenceCost is ledger.md §3–4 record by record, the way a reader
// checks a bill by hand: exact, rounded once.
func referenceCost(book *pricing.Book, mode CostMode, recs []source.Record, start, end int64) source.USD {
	var sum pricing.Amount
	for i := range recs {
		r := &recs[i]
		if r.Time < start || r.Time >= end {
			continue
		}
		if mode == CostReported && !r.NoCost {
			sum.AddUSD(r.Cost)
			continue
		}
		long := r.LongContext == 1 || (r.LongContext == 0 && r.Requests == 1 && r.PromptTokens > 200_000)
		c, ok := book.Cost(r.Model, time.Unix(0, r.Time), pricing.Tokens{Input: r.Input(), CacheRead: r.CacheRead,
			CacheWrite: r.CacheWrite, CacheWrite1h: r.CacheWrite1h, Output: r.CompletionTokens},
			pricing.Use{Batch: r.Batch, Tier: r.ServiceTier, LongContext: long})
		if ok {
			sum.AddAmount(&c)
		}
	}
	return sum.Nano()
}

// TestMoneyOnTheCache: costs reckoned from the cache's rollups by price
// key equal those reckoned from the records, along every dimension, in
// zones whose days straddle a price change, in both modes; and a day's
// cost equals the record-by-record reference.
func TestMoneyOnTheCache(t *testing.T) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(7, 29))
	from := time.Date(2026, 3, 15, 0, 0, 0, 0, time.UTC)
	to := time.Date(2026, 4, 5, 0, 0, 0, 0, time.UTC)
	recs := conformRecords(rng, 6000, from, to)
	c, err := cache.Open(ctx, filepath.Join(t.TempDir(), "usage.db"), cache.Options{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	w, err := c.BeginWrite(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	for i := range recs {
		if err := w.Add(&recs[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	mem := &source.Memory{Records: map[string][]source.Record{"acme": recs}}
	book := bookOf(t, conformBook)
	for _, zone := range []string{"UTC", "America/New_York", "Europe/Berlin", "Asia/Kathmandu", "Pacific/Chatham"} {
		loc, _ := time.LoadLocation(zone)
		var days []int64
		for d := time.Date(2026, 3, 14, 0, 0, 0, 0, loc); !d.After(to); d = d.AddDate(0, 0, 1) {
			days = append(days, d.UnixNano())
		}
		odd := []int64{time.Date(2026, 3, 20, 7, 30, 0, 0, loc).UnixNano(), time.Date(2026, 3, 29, 2, 30, 0, 0, loc).UnixNano(),
			time.Date(2026, 4, 1, 13, 0, 0, 1, loc).UnixNano()}
		for _, mode := range []CostMode{CostReported, CostPriced} {
			m := &Money{Mode: mode, Book: book}
			var qs []source.Query
			for _, bounds := range [][]int64{days, odd, {math.MinInt64, math.MaxInt64}} {
				for _, dim := range append([]source.Dim{source.DimAll, source.DimTag}, source.Dims()[:7]...) {
					qs = append(qs, source.Query{Dim: dim, Bounds: bounds, Latency: dim != source.DimAll})
				}
				qs = append(qs, source.Query{Dim: source.DimUser, Also: []source.Dim{source.DimModel}, Bounds: bounds},
					source.Query{Dim: source.DimModel, Bounds: bounds, Filter: source.Filter{source.DimRegion: {"eu"}, source.DimTag: {"b"}}})
			}
			got, gotSums, err := m.Aggregate(ctx, c, "acme", qs)
			if err != nil {
				t.Fatal(err)
			}
			want, wantSums, err := m.Aggregate(ctx, mem, "acme", qs)
			if err != nil {
				t.Fatal(err)
			}
			for i, q := range qs {
				if !reflect.DeepEqual(normalized(got[i]), normalized(want[i])) || !reflect.DeepEqual(gotSums[i], wantSums[i]) {
					t.Errorf("%s %s: query %d (%v %v) differs between the cache and the records", zone, mode, i, q.Dim, q.Also)
				}
			}
			// Days (DimAll over days is the first query) against the reference.
			for k := 0; k+1 < len(days); k++ {
				if g, w := got[0][k][""].Cost, referenceCost(book, mode, recs, days[k], days[k+1]); g != w {
					t.Errorf("%s %s day %d: %d, reference %d", zone, mode, k, g, w)
				}
			}
		}
	}
}

// normalized drops empty groups and latency pointers' identity.
func normalized(res []source.Groups) []map[string][17]int64 {
	out := make([]map[string][17]int64, len(res))
	for k, g := range res {
		out[k] = map[string][17]int64{}
		for name, t := range g {
			if t.Empty() {
				continue
			}
			var v [17]int64
			for i, p := range t.Counters() {
				v[i] = *p
			}
			out[k][name] = v
		}
	}
	return out
}
