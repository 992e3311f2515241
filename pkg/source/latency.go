package source

import (
	"encoding/binary"
	"errors"
	"math"
	"sort"
)

// Latency is a mergeable histogram of response times in milliseconds, with
// logarithmic buckets: any percentile read from it is within 1 % of the true
// nearest-rank value (relative error). Merging two histograms gives exactly
// the histogram of both sets of calls, so rollups can keep one per bucket
// and a year's percentiles cost what its totals cost.
type Latency struct {
	counts map[int32]int64 // bucket index → calls; index 0 holds 0 ms
}

// The bucket of v > 0 is ceil(log(v)/log(gamma)); its representative value
// 2·gamma^i/(gamma+1) is within alpha of every value in it.
const latencyAlpha = 0.01

var (
	latencyGamma  = (1 + latencyAlpha) / (1 - latencyAlpha)
	latencyLnGrow = math.Log(latencyGamma)
)

// LatencyError is the largest relative error of a percentile.
const LatencyError = latencyAlpha

func latencyBucket(ms int64) int32 {
	if ms <= 0 {
		return 0
	}
	return int32(math.Ceil(math.Log(float64(ms))/latencyLnGrow)) + 1
}

// latencyValue is the representative value of bucket i.
func latencyValue(i int32) float64 {
	if i == 0 {
		return 0
	}
	return 2 * math.Pow(latencyGamma, float64(i-1)) / (latencyGamma + 1)
}

// Record counts a call of ms milliseconds.
func (h *Latency) Record(ms int64) {
	if h.counts == nil {
		h.counts = map[int32]int64{}
	}
	h.counts[latencyBucket(ms)]++
}

// Buckets is how many buckets hold calls: the histogram's size.
func (h *Latency) Buckets() int {
	if h == nil {
		return 0
	}
	return len(h.counts)
}

// Merge adds o's calls to h.
func (h *Latency) Merge(o *Latency) {
	if o == nil || len(o.counts) == 0 {
		return
	}
	if h.counts == nil {
		h.counts = make(map[int32]int64, len(o.counts))
	}
	for k, n := range o.counts {
		h.counts[k] += n
	}
}

// Count is the number of calls in the histogram.
func (h *Latency) Count() int64 {
	var n int64
	if h == nil {
		return 0
	}
	for _, c := range h.counts {
		n += c
	}
	return n
}

// Quantile is the nearest-rank q-quantile (0 < q <= 1): the value of the
// ceil(q·n)-th fastest call, within 1 %. It is -1 without calls.
func (h *Latency) Quantile(q float64) float64 {
	n := h.Count()
	if n == 0 {
		return -1
	}
	rank := int64(math.Ceil(q * float64(n)))
	rank = min(max(rank, 1), n)
	keys := make([]int32, 0, len(h.counts))
	for k := range h.counts {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	var seen int64
	for _, k := range keys {
		seen += h.counts[k]
		if seen >= rank {
			return latencyValue(k)
		}
	}
	return latencyValue(keys[len(keys)-1])
}

// Clone is a copy of h.
func (h *Latency) Clone() *Latency {
	if h == nil {
		return nil
	}
	c := &Latency{}
	c.Merge(h)
	return c
}

// MarshalBinary encodes the histogram compactly: bucket deltas and counts as
// varints, in bucket order.
func (h *Latency) MarshalBinary() []byte {
	if h == nil || len(h.counts) == 0 {
		return nil
	}
	keys := make([]int32, 0, len(h.counts))
	for k, n := range h.counts {
		if n != 0 {
			keys = append(keys, k)
		}
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	b := make([]byte, 0, 1+len(keys)*3)
	b = append(b, 1) // version
	prev := int32(0)
	for _, k := range keys {
		b = binary.AppendUvarint(b, uint64(k-prev))
		b = binary.AppendUvarint(b, uint64(h.counts[k]))
		prev = k
	}
	return b
}

// ErrLatencyData is a histogram that cannot be read.
var ErrLatencyData = errors.New("damaged latency histogram")

// MergeBinary adds an encoded histogram to h.
func (h *Latency) MergeBinary(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	if b[0] != 1 {
		return ErrLatencyData
	}
	b = b[1:]
	if h.counts == nil {
		h.counts = map[int32]int64{}
	}
	k := int32(0)
	for len(b) > 0 {
		d, n := binary.Uvarint(b)
		if n <= 0 || d > math.MaxInt32 {
			return ErrLatencyData
		}
		b = b[n:]
		c, n := binary.Uvarint(b)
		if n <= 0 {
			return ErrLatencyData
		}
		b = b[n:]
		k += int32(d)
		h.counts[k] += int64(c)
	}
	return nil
}

// denseBuckets covers latencies up to γ^1199 ms (about 300 days); slower
// calls go to the sparse overflow.
const denseBuckets = 1200

// LatencyCounter counts latencies into a fixed array: much cheaper per call
// than a Latency, for the hot path of an import, and drained into one.
type LatencyCounter struct {
	counts   [denseBuckets]uint32
	touched  []int32
	overflow *Latency
}

// Record counts a call of ms milliseconds.
func (c *LatencyCounter) Record(ms int64) {
	i := latencyBucket(ms)
	if i >= denseBuckets {
		if c.overflow == nil {
			c.overflow = &Latency{}
		}
		c.overflow.Record(ms)
		return
	}
	if c.counts[i] == 0 {
		c.touched = append(c.touched, i)
	}
	c.counts[i]++
}

// Drain moves the counts into a new Latency (nil when there are none) and
// leaves the counter empty.
func (c *LatencyCounter) Drain() *Latency {
	if len(c.touched) == 0 && c.overflow == nil {
		return nil
	}
	h := &Latency{counts: make(map[int32]int64, len(c.touched))}
	for _, i := range c.touched {
		h.counts[i] += int64(c.counts[i])
		c.counts[i] = 0
	}
	c.touched = c.touched[:0]
	h.Merge(c.overflow)
	c.overflow = nil
	return h
}
