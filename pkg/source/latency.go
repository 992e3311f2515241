package source

import (
	"cmp"
	"encoding/binary"
	"errors"
	"math"
	"slices"
	"sync"
)

// Latency is a mergeable histogram of response times in milliseconds, with
// logarithmic buckets: any percentile read from it is within 1 % of the true
// nearest-rank value (relative error). Merging two histograms gives exactly
// the histogram of both sets of calls, so rollups can keep one per bucket
// and a year's percentiles cost what its totals cost.
type Latency struct {
	bins []latencyBin // by bucket index, ascending; none empty
}

// latencyBin is a bucket's calls; bucket 0 holds 0 ms.
type latencyBin struct {
	k int32
	n int64
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

func cmpBin(b latencyBin, k int32) int { return cmp.Compare(b.k, k) }

// Record counts a call of ms milliseconds.
func (h *Latency) Record(ms int64) { h.add(latencyBucket(ms), 1) }

// add counts n calls into bucket k.
func (h *Latency) add(k int32, n int64) {
	if n == 0 {
		return
	}
	i, ok := slices.BinarySearchFunc(h.bins, k, cmpBin)
	if ok {
		h.bins[i].n += n
		return
	}
	h.bins = slices.Insert(h.bins, i, latencyBin{k, n})
}

// AddBucket counts n calls into bucket b.
func (h *Latency) AddBucket(b LatencyBucket, n int64) { h.add(int32(b), n) }

// Buckets is how many buckets hold calls: the histogram's size.
func (h *Latency) Buckets() int {
	if h == nil {
		return 0
	}
	return len(h.bins)
}

// Merge adds o's calls to h.
func (h *Latency) Merge(o *Latency) {
	if o != nil {
		h.merge(o.bins)
	}
}

// merge adds bins (ascending, none empty) to h: in place when h has all of
// their buckets, else in one pass from the end of a grown slice.
func (h *Latency) merge(bins []latencyBin) {
	if len(bins) == 0 {
		return
	}
	if len(h.bins) == 0 {
		h.bins = append(h.bins[:0], bins...)
		return
	}
	fresh := 0
	i := 0
	for _, b := range bins {
		for i < len(h.bins) && h.bins[i].k < b.k {
			i++
		}
		if i < len(h.bins) && h.bins[i].k == b.k {
			h.bins[i].n += b.n
			continue
		}
		fresh++
	}
	if fresh == 0 {
		return
	}
	// The buckets h already had are counted; place the fresh ones.
	old := len(h.bins)
	h.bins = slices.Grow(h.bins, fresh)[:old+fresh]
	w, a := old+fresh-1, old-1
	for j := len(bins) - 1; j >= 0; j-- {
		b := bins[j]
		for a >= 0 && h.bins[a].k > b.k {
			h.bins[w] = h.bins[a]
			w, a = w-1, a-1
		}
		if a >= 0 && h.bins[a].k == b.k {
			continue // counted above
		}
		h.bins[w] = b
		w--
	}
}

// Count is the number of calls in the histogram.
func (h *Latency) Count() int64 {
	var n int64
	if h == nil {
		return 0
	}
	for _, b := range h.bins {
		n += b.n
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
	var seen int64
	for _, b := range h.bins {
		seen += b.n
		if seen >= rank {
			return latencyValue(b.k)
		}
	}
	return latencyValue(h.bins[len(h.bins)-1].k)
}

// Clone is a copy of h.
func (h *Latency) Clone() *Latency {
	if h == nil {
		return nil
	}
	return &Latency{bins: slices.Clone(h.bins)}
}

// MarshalBinary encodes the histogram compactly: bucket deltas and counts as
// varints, in bucket order.
func (h *Latency) MarshalBinary() []byte {
	if h == nil || len(h.bins) == 0 {
		return nil
	}
	b := make([]byte, 0, 1+len(h.bins)*3)
	b = append(b, 1) // version
	prev := int32(0)
	for _, bin := range h.bins {
		b = binary.AppendUvarint(b, uint64(bin.k-prev))
		b = binary.AppendUvarint(b, uint64(bin.n))
		prev = bin.k
	}
	return b
}

// ErrLatencyData is a histogram that cannot be read.
var ErrLatencyData = errors.New("damaged latency histogram")

// binScratch holds decode buffers for MergeBinary.
var binScratch = sync.Pool{New: func() any { return new([]latencyBin) }}

// MergeBinary adds an encoded histogram to h.
func (h *Latency) MergeBinary(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	if b[0] != 1 {
		return ErrLatencyData
	}
	b = b[1:]
	// Decoded into a reused buffer: a report merges thousands of rows'
	// histograms, and merge copies what it keeps.
	scratch := binScratch.Get().(*[]latencyBin)
	bins := (*scratch)[:0]
	defer func() { *scratch = bins[:0]; binScratch.Put(scratch) }()
	k := int32(0)
	for len(b) > 0 {
		d, n := binary.Uvarint(b)
		if n <= 0 || d > math.MaxInt32 || (d == 0 && len(bins) > 0) || int64(k)+int64(d) > math.MaxInt32 {
			return ErrLatencyData
		}
		b = b[n:]
		c, n := binary.Uvarint(b)
		if n <= 0 || c > math.MaxInt64 {
			return ErrLatencyData
		}
		b = b[n:]
		k += int32(d)
		if c != 0 {
			bins = append(bins, latencyBin{k, int64(c)})
		}
	}
	h.merge(bins)
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
func (c *LatencyCounter) Record(ms int64) { c.Add(LatencyBucketOf(ms)) }

// LatencyBucket is the histogram bucket of a response time: a record
// counted into several histograms finds its bucket once.
type LatencyBucket int32

// LatencyBucketOf is the bucket of a call of ms milliseconds.
func LatencyBucketOf(ms int64) LatencyBucket { return LatencyBucket(latencyBucket(ms)) }

// Add counts a call of bucket b.
func (c *LatencyCounter) Add(b LatencyBucket) {
	i := int32(b)
	if i >= denseBuckets {
		if c.overflow == nil {
			c.overflow = &Latency{}
		}
		c.overflow.add(i, 1)
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
	slices.Sort(c.touched)
	h := &Latency{bins: make([]latencyBin, len(c.touched))}
	for j, i := range c.touched {
		h.bins[j] = latencyBin{i, int64(c.counts[i])}
		c.counts[i] = 0
	}
	c.touched = c.touched[:0]
	h.Merge(c.overflow)
	c.overflow = nil
	return h
}
