package pgstore

import (
	"slices"

	"github.com/nextcore-ai/nextcore/pkg/source"
)

// rollupCols are the rollups' columns, as a writer appends them.
var rollupCols = append(append([]string{"tenant", "dim", "level", "start", "member"}, counterCols...), "lat")

// rollupKey is a rollup row: a dimension (or pair code), a bucket, a member.
type rollupKey struct {
	dim    int16
	level  int32
	start  int64 // Unix ns
	member string
}

// rollupAcc counts records into the rollup rows they change. The rows lie
// in chunks of a fixed size, found by key: few allocations however many
// rows, and none moved as they grow.
type rollupAcc struct {
	index  map[rollupKey]int32
	keys   []rollupKey // in the order met
	chunks []*[chunkRows]source.Totals
	n      int // rows used
}

const chunkRows = 4096

func newRollupAcc() *rollupAcc { return &rollupAcc{index: map[rollupKey]int32{}} }

// reset empties a, keeping its memory.
func (a *rollupAcc) reset() {
	clear(a.index)
	for _, c := range a.chunks {
		clear(c[:]) // no histogram kept alive
	}
	a.keys, a.n = a.keys[:0], 0
}

// at is row i.
func (a *rollupAcc) at(i int32) *source.Totals { return &a.chunks[i/chunkRows][i%chunkRows] }

// bucketStart is ts rounded down to a bucket of level seconds.
func bucketStart(ts int64, level int64) int64 {
	z := level * 1_000_000_000
	m := ts % z
	if m < 0 {
		m += z
	}
	return ts - m
}

// row is the totals of row k, made if new.
func (a *rollupAcc) row(k rollupKey) *source.Totals {
	i, ok := a.index[k]
	if !ok {
		i = int32(a.n)
		if a.n == len(a.chunks)*chunkRows {
			a.chunks = append(a.chunks, new([chunkRows]source.Totals))
		}
		a.n++
		a.index[k] = i
		a.keys = append(a.keys, k)
	}
	return a.at(i)
}

// of is the totals of row k, which a holds.
func (a *rollupAcc) of(k rollupKey) *source.Totals { return a.at(a.index[k]) }

func (a *rollupAcc) count(k rollupKey, r *source.Record, latency bool) {
	t := a.row(k)
	if latency {
		t.AddRecord(r)
	} else {
		t.AddCounts(r)
	}
}

// add counts r into the rows of the finest level of every rolled
// dimension, its tags', and its pairs with its price key (allPairs); a
// record without a reported cost into the rows of its price keys and pairs
// that hold only those. spread makes the coarser levels' rows of them.
func (a *rollupAcc) add(r *source.Record) {
	pair := r.Member(source.DimPairPrice)
	each := func(code int, levels []int64, member string, latency, all bool) {
		priced := r.NoCost && (code == int(source.DimPrice) || code == int(source.DimPairPrice) || code >= pairBase)
		lv := levels[len(levels)-1]
		start := bucketStart(r.Time, lv) // a remainder: cheaper than keeping it
		if all {
			a.count(rollupKey{int16(code), int32(lv), start, member}, r, latency)
		}
		if priced {
			a.count(rollupKey{int16(noCostCode(code)), int32(lv), start, member}, r, false)
		}
	}
	for _, d := range rolledDims {
		m := r.Member(d)
		each(int(d), levelsFor(d), m, d.HasLatency(), true)
		if slices.Contains(pairDims, d) && (r.NoCost || allPairs(d)) {
			each(pairCode(d), pairLevels, m+source.PivotSep+pair, false, allPairs(d))
		}
	}
	for _, tag := range r.Members(source.DimTag) {
		each(int(source.DimTag), levelsFor(source.DimTag), tag, true, true)
		each(pairCode(source.DimTag), pairLevels, tag+source.PivotSep+pair, false, true)
	}
}

// coarseLevels are the levels above a day: every code has them and days.
var coarseLevels = []int64{days8, days32}

// spread adds the rows of a's finest levels to the coarser ones: an hour's
// to its day's, here; a day's (its own or its hours') to its 8 and 32 days',
// in coarse.
func (a *rollupAcc) spread(coarse *rollupAcc) {
	n := len(a.keys)
	for i := range n {
		if k := a.keys[i]; k.level == hour {
			t := a.at(int32(i))
			k.level, k.start = day, bucketStart(k.start, day)
			a.row(k).Add(*t)
		}
	}
	for i, k := range a.keys {
		if k.level != day {
			continue
		}
		for _, lv := range coarseLevels {
			c := k
			c.level, c.start = int32(lv), bucketStart(k.start, lv)
			coarse.row(c).Add(*a.at(int32(i)))
		}
	}
}
