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

// rollupAcc counts records into the rollup rows they change.
type rollupAcc struct {
	deltas map[rollupKey]*source.Totals
	keys   []rollupKey // in the order met
}

func newRollupAcc() *rollupAcc { return &rollupAcc{deltas: map[rollupKey]*source.Totals{}} }

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
	t := a.deltas[k]
	if t == nil {
		t = &source.Totals{}
		a.deltas[k] = t
		a.keys = append(a.keys, k)
	}
	return t
}

func (a *rollupAcc) count(k rollupKey, r *source.Record, latency bool) {
	t := a.row(k)
	if latency {
		t.AddRecord(r)
	} else {
		t.AddCounts(r)
	}
}

// add counts r into the rows of every rolled dimension and level, its
// tags', and its pairs with its price key; a record without a reported
// cost into the rows of its price keys and pairs that hold only those.
func (a *rollupAcc) add(r *source.Record) {
	pair := r.Member(source.DimPairPrice)
	each := func(code int, levels []int64, member string, latency bool) {
		priced := r.NoCost && (code == int(source.DimPrice) || code == int(source.DimPairPrice) || code >= pairBase)
		for _, lv := range levels {
			start := bucketStart(r.Time, lv) // a remainder: cheaper than keeping it
			a.count(rollupKey{int16(code), int32(lv), start, member}, r, latency)
			if priced {
				a.count(rollupKey{int16(noCostCode(code)), int32(lv), start, member}, r, false)
			}
		}
	}
	for _, d := range rolledDims {
		m := r.Member(d)
		each(int(d), levelsFor(d), m, d.HasLatency())
		if slices.Contains(pairDims, d) {
			each(pairCode(d), pairLevels, m+source.PivotSep+pair, false)
		}
	}
	for _, tag := range r.Members(source.DimTag) {
		each(int(source.DimTag), levelsFor(source.DimTag), tag, true)
		each(pairCode(source.DimTag), pairLevels, tag+source.PivotSep+pair, false)
	}
}
