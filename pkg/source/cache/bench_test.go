package cache

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/nextcore-ai/nextcore/pkg/source"
	"github.com/nextcore-ai/nextcore/pkg/source/synth"
)

var benchEnd = time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)

// benchRecords is a year of synthetic traffic, n records about.
func benchRecords(b *testing.B, n int) []source.Record {
	b.Helper()
	var out []source.Record
	synth.Generate(synth.Config{Seed: 3, Start: benchEnd.AddDate(-1, 0, 0), End: benchEnd, PerDay: float64(n) / 365 / 0.6, Growth: 2, Failure: 0.03},
		func(r *source.Record) error { out = append(out, *r); return nil })
	return out
}

func benchCache(b *testing.B, recs []source.Record) *Cache {
	b.Helper()
	c, err := Open(context.Background(), filepath.Join(b.TempDir(), "usage.db"), Options{Create: true})
	if err != nil {
		b.Fatal(err)
	}
	w, err := c.BeginWrite(context.Background(), "acme")
	if err != nil {
		b.Fatal(err)
	}
	for i := range recs {
		if err := w.Add(&recs[i]); err != nil {
			b.Fatal(err)
		}
	}
	if err := w.Commit(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	return c
}

// BenchmarkImport writes 100,000 records into an empty cache per iteration.
func BenchmarkImport(b *testing.B) {
	recs := benchRecords(b, 100_000)
	b.ResetTimer()
	for b.Loop() {
		benchCache(b, recs)
	}
	b.ReportMetric(float64(len(recs)*b.N)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkAggregate answers a report's queries over a year of 300,000
// records: the answer's cost follows the window, not the history.
func BenchmarkAggregate(b *testing.B) {
	c := benchCache(b, benchRecords(b, 300_000))
	ctx := context.Background()
	year := []int64{benchEnd.AddDate(-1, 0, 0).UnixNano(), benchEnd.Add(-7 * time.Hour).UnixNano()}
	kolkata, _ := time.LoadLocation("Asia/Kolkata")
	var days []int64
	for d := 0; d <= 365; d++ {
		days = append(days, time.Date(2025, 11, 26+d, 0, 0, 0, 0, kolkata).UnixNano())
	}
	cases := []struct {
		name string
		q    source.Query
	}{
		{"year by model", source.Query{Dim: source.DimModel, Bounds: year}},
		{"year by region with latency", source.Query{Dim: source.DimRegion, Bounds: year, Latency: true}},
		{"daily series in Kolkata", source.Query{Dim: source.DimAll, Bounds: days}},
		{"today", source.Query{Dim: source.DimModel, Bounds: []int64{benchEnd.Add(-24 * time.Hour).UnixNano(), benchEnd.Add(-7 * time.Hour).UnixNano()}}},
		{"year filtered (column blocks)", source.Query{Dim: source.DimRegion, Bounds: year, Filter: source.Filter{source.DimModel: {"gpt-4o"}}}},
		{"year pivot (column blocks)", source.Query{Dim: source.DimModel, Also: []source.Dim{source.DimRegion}, Bounds: year, Latency: true}},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := c.AggregateMany(ctx, "acme", []source.Query{tc.q}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
