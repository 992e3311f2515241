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

func (a *rollupAcc) count(k rollupKey, r *source.Record, latency bool) {
	t := a.deltas[k]
	if t == nil {
		t = &source.Totals{}
		a.deltas[k] = t
		a.keys = append(a.keys, k)
	}
	if latency {
		t.AddRecord(r)
	} else {
		t.AddCounts(r)
	}
}

// add counts r into the rows of every rolled dimension and level, its
// tags', and its pairs with its price key by day.
func (a *rollupAcc) add(r *source.Record) {
	starts := map[int64]int64{day: bucketStart(r.Time, day), hour: bucketStart(r.Time, hour)}
	pair := r.Member(source.DimPairPrice)
	for _, d := range rolledDims {
		m := r.Member(d)
		for _, lv := range levelsFor(d) {
			a.count(rollupKey{int16(d), int32(lv), starts[lv], m}, r, d.HasLatency())
		}
		if slices.Contains(pairDims, d) {
			a.count(rollupKey{int16(pairCode(d)), day, starts[day], m + source.PivotSep + pair}, r, false)
		}
	}
	for _, tag := range r.Members(source.DimTag) {
		a.count(rollupKey{int16(source.DimTag), day, starts[day], tag}, r, true)
		a.count(rollupKey{int16(pairCode(source.DimTag)), day, starts[day], tag + source.PivotSep + pair}, r, false)
	}
}
