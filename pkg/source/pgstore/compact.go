package pgstore

import (
	"maps"
	"slices"

	"github.com/nextcore-ai/nextcore/pkg/source"
)

// bucket is the rollup rows of one dimension, level and start.
type bucket struct {
	dim   int16
	level int32
	start int64
}

// compactBatch is how many buckets one round of compaction reads.
const compactBatch = 32

// compact merges the delta rows of the buckets this writer added to, where
// they have come to outnumber their members twice over: each member's rows
// become one, so that a report reads few rows, close together. It runs in
// the writer's transaction: a report sees the buckets before or after,
// whole.
func (w *Writer) compact() error {
	if len(w.touched) == 0 {
		return nil
	}
	dims, levels, starts := bucketArrays(slices.Collect(maps.Keys(w.touched)))
	rows, err := w.tx.Query(w.ctx, `SELECT r.dim, r.level, r.start FROM rollups r
		JOIN unnest($2::int2[], $3::int4[], $4::int8[]) AS b(dim, level, start)
		ON r.dim = b.dim AND r.level = b.level AND r.start = b.start
		WHERE r.tenant = $1 GROUP BY 1, 2, 3 HAVING count(*) > 2 * count(DISTINCT r.member) + 16`, w.tid, dims, levels, starts)
	if err != nil {
		return err
	}
	var loose []bucket
	for rows.Next() {
		var b bucket
		if err := rows.Scan(&b.dim, &b.level, &b.start); err != nil {
			rows.Close()
			return err
		}
		loose = append(loose, b)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for len(loose) > 0 {
		n := min(len(loose), compactBatch)
		if err := w.compactBuckets(loose[:n]); err != nil {
			return err
		}
		loose = loose[n:]
	}
	clear(w.touched)
	return nil
}

// bucketArrays are bs as the columns of unnest's arguments.
func bucketArrays(bs []bucket) (dims []int16, levels []int32, starts []int64) {
	dims, levels, starts = make([]int16, len(bs)), make([]int32, len(bs)), make([]int64, len(bs))
	for i, b := range bs {
		dims[i], levels[i], starts[i] = b.dim, b.level, b.start
	}
	return dims, levels, starts
}

// compactBuckets rewrites the rows of bs as one row a member.
func (w *Writer) compactBuckets(bs []bucket) error {
	dims, levels, starts := bucketArrays(bs)
	const in = `(dim, level, start) IN (SELECT * FROM unnest($2::int2[], $3::int4[], $4::int8[]))`
	rows, err := w.tx.Query(w.ctx, "DELETE FROM rollups WHERE tenant = $1 AND "+in+
		" RETURNING dim, level, start, member, "+counterList+", lat", w.tid, dims, levels, starts)
	if err != nil {
		return err
	}
	acc := newRollupAcc()
	var k rollupKey
	var t source.Totals
	var lat []byte
	dest := []any{&k.dim, &k.level, &k.start, &k.member}
	for _, c := range t.Counters() {
		dest = append(dest, c)
	}
	dest = append(dest, &lat)
	for rows.Next() {
		t, lat = source.Totals{}, nil
		if err := rows.Scan(dest...); err != nil {
			rows.Close()
			return err
		}
		if len(lat) > 0 {
			t.Latency = &source.Latency{}
			if err := mergeLatency(t.Latency, lat); err != nil {
				rows.Close()
				return err
			}
		}
		acc.row(k).Add(t)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	return w.writeRollups(acc)
}
