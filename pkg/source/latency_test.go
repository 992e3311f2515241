package source

import (
	"math"
	"math/rand/v2"
	"reflect"
	"sort"
	"testing"
)

// exactQuantile is the nearest-rank q-quantile of xs.
func exactQuantile(xs []int64, q float64) float64 {
	s := append([]int64(nil), xs...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	rank := int(math.Ceil(q * float64(len(s))))
	rank = min(max(rank, 1), len(s))
	return float64(s[rank-1])
}

// TestLatencyWithinOnePercent checks percentiles against the exact
// nearest-rank values on several distributions.
func TestLatencyWithinOnePercent(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	dists := map[string]func() int64{
		"lognormal": func() int64 { return int64(math.Exp(6 + rng.NormFloat64())) },
		"uniform":   func() int64 { return rng.Int64N(5000) },
		"tiny":      func() int64 { return rng.Int64N(4) },
		"heavy":     func() int64 { return int64(100 / math.Pow(rng.Float64()+1e-9, 1.5)) },
	}
	for name, draw := range dists {
		var xs []int64
		var h Latency
		parts := [4]Latency{}
		for i := range 50000 {
			v := draw()
			xs = append(xs, v)
			h.Record(v)
			parts[i%4].Record(v)
		}
		var merged Latency
		for i := range parts {
			merged.Merge(&parts[i])
		}
		if !reflect.DeepEqual(merged.bins, h.bins) {
			t.Errorf("%s: merging parts differs from one histogram", name)
		}
		var decoded Latency
		if err := decoded.MergeBinary(h.MarshalBinary()); err != nil || !reflect.DeepEqual(decoded.bins, h.bins) {
			t.Errorf("%s: encoding does not round-trip: %v", name, err)
		}
		for _, q := range []float64{0.5, 0.9, 0.95, 0.99, 0.999, 1} {
			got, want := h.Quantile(q), exactQuantile(xs, q)
			if math.Abs(got-want) > LatencyError*want+1e-9 {
				t.Errorf("%s p%v: %.3f, exact %.0f (%.2f %% off)", name, q*100, got, want, 100*math.Abs(got-want)/want)
			}
		}
	}
	var empty Latency
	if empty.Quantile(0.5) != -1 || empty.MarshalBinary() != nil {
		t.Error("an empty histogram")
	}
	if err := empty.MergeBinary([]byte{9, 1}); err == nil {
		t.Error("a damaged histogram was read")
	}
}

func BenchmarkLatencyRecord(b *testing.B) {
	var h Latency
	for i := 0; b.Loop(); i++ {
		h.Record(int64(i%5000) + 1)
	}
}

func BenchmarkLatencyCounterRecord(b *testing.B) {
	var c LatencyCounter
	for i := 0; b.Loop(); i++ {
		c.Record(int64(i%5000) + 1)
	}
}

func BenchmarkLatencyQuantile(b *testing.B) {
	var h Latency
	for i := range 100000 {
		h.Record(int64(i%5000) + 1)
	}
	for b.Loop() {
		h.Quantile(0.99)
	}
}

func BenchmarkLatencyMarshalBinary(b *testing.B) {
	var h Latency
	for i := range 300 {
		h.Record(int64(20 + i*i%5000))
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = h.MarshalBinary()
	}
}

// TestLatencyMergeMatchesPlainCounts merges histograms of every overlap
// (none, some, all buckets shared, either side empty) and checks each
// bucket's count, order and the encoding against plain counting.
func TestLatencyMergeMatchesPlainCounts(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for round := range 2000 {
		want := map[int32]int64{}
		var h Latency
		for range rng.IntN(4) {
			var o Latency
			lo, span := rng.Int64N(3000), 1+rng.Int64N(300)
			for range rng.IntN(60) {
				ms := lo + rng.Int64N(span)
				o.Record(ms)
				want[latencyBucket(ms)]++
			}
			if rng.IntN(2) == 0 {
				h.Merge(&o)
			} else if err := h.MergeBinary(o.MarshalBinary()); err != nil {
				t.Fatal(err)
			}
		}
		got := map[int32]int64{}
		for i, b := range h.bins {
			if b.n == 0 || (i > 0 && h.bins[i-1].k >= b.k) {
				t.Fatalf("round %d: bins out of order or empty: %v", round, h.bins)
			}
			got[b.k] = b.n
		}
		if !reflect.DeepEqual(got, want) && len(want) > 0 {
			t.Fatalf("round %d: merged %v, counted %v", round, got, want)
		}
		if h.Buckets() != len(want) {
			t.Fatalf("round %d: %d buckets, counted %d", round, h.Buckets(), len(want))
		}
	}
}

// BenchmarkLatencyMergeBinary merges a year of a model's rollup rows'
// histograms (hundreds of buckets each), as a report does.
func BenchmarkLatencyMergeBinary(b *testing.B) {
	rows := make([][]byte, 26)
	for i := range rows {
		var h Latency
		for j := range 2000 {
			h.Record(int64(50 + (j*j+i*7919)%40000))
		}
		rows[i] = h.MarshalBinary()
	}
	b.ReportAllocs()
	for b.Loop() {
		var h Latency
		for _, r := range rows {
			if err := h.MergeBinary(r); err != nil {
				b.Fatal(err)
			}
		}
	}
}
