package pgstore

import (
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/nextcore-ai/nextcore/pkg/source"
	"github.com/nextcore-ai/nextcore/pkg/source/cache"
)

// Aggregate implements source.Source.
func (s *Store) Aggregate(ctx context.Context, tenant string, dim source.Dim, bounds []int64) ([]source.Groups, error) {
	return source.AggregateOne(ctx, s, tenant, dim, bounds)
}

// AggregateMany implements source.ManySource. A plain query is answered
// from the rollup rows of whole hours and days and a GROUP BY over the
// records at the edges; a pivot or a filtered query is one GROUP BY over
// the window's records. The server sums; what comes back is a row a group
// and interval. All reads share one snapshot, so a sync writing at the same
// time never makes the numbers disagree.
func (s *Store) AggregateMany(ctx context.Context, tenant string, qs []source.Query) ([][]source.Groups, error) {
	out := make([][]source.Groups, len(qs))
	for i, q := range qs {
		out[i] = source.NewGroups(q)
	}
	tid, err := s.tenantID(ctx, tenant)
	if err != nil {
		return nil, s.wrap(err)
	}
	var r reads
	r.add(beginRead, nil, nil)
	for qi := range qs {
		if len(out[qi]) > 0 {
			query(&r, tid, &qs[qi], out[qi])
		}
	}
	r.add("COMMIT", nil, nil)
	if err := r.run(ctx, s.pool); err != nil {
		return nil, s.wrap(err)
	}
	return out, nil
}

// beginRead begins the transaction whose snapshot every read of a report
// shares.
const beginRead = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"

// reads are statements sent together, in one round trip, each with what
// reads its rows (nil: none). The server runs the next while the client
// reads the rows of one.
type reads struct {
	b    pgx.Batch
	read []func(pgx.Rows) error
}

func (r *reads) add(sql string, args []any, read func(pgx.Rows) error) {
	r.b.Queue(sql, args...)
	r.read = append(r.read, read)
}

// run sends the statements and reads their results, in order.
func (r *reads) run(ctx context.Context, pool *pgxpool.Pool) error {
	br := pool.SendBatch(ctx, &r.b)
	for _, read := range r.read {
		var err error
		if read == nil {
			_, err = br.Exec()
		} else {
			var rows pgx.Rows
			if rows, err = br.Query(); err == nil {
				err = read(rows)
				rows.Close()
				if err == nil {
					err = rows.Err()
				}
			}
		}
		if err != nil {
			br.Close() //nolint:errcheck // the first error is the one to tell
			return err
		}
	}
	return br.Close()
}

// rolledQuery reports whether rollup rows answer q: one dimension, no
// filter (the price keys of the records without a reported cost are rollup
// rows of keys flagged so).
func rolledQuery(q *source.Query) bool {
	if pairQuery(q) {
		return true
	}
	if len(q.Also) > 0 || len(q.Filter) > 0 {
		return false
	}
	return !q.NoCostOnly || q.Dim == source.DimPrice || q.Dim == source.DimPairPrice
}

// query adds the statements that answer q into out.
func query(r *reads, tid int32, q *source.Query, out []source.Groups) {
	last := q.Bounds[len(q.Bounds)-1]
	if !rolledQuery(q) {
		fromRecords(r, tid, q, q.Bounds[0], last, out)
		return
	}
	code, levels := int(q.Dim), levelsFor(q.Dim)
	if pairQuery(q) {
		code, levels = pairCode(q.Dim), pairLevels
	}
	if q.NoCostOnly {
		code = noCostCode(code)
	}
	var rolled []cache.PlanPiece
	for _, p := range cache.Plan(levels, q.Bounds) {
		if p.Level > 0 {
			rolled = append(rolled, p)
			continue
		}
		fromRecords(r, tid, q, p.Start, p.End, out)
	}
	if len(rolled) > 0 {
		fromRollups(r, tid, q, code, rolled, out)
	}
}

// fromRollups adds the rollup rows of one level in [p.Start, p.End): each
// row lies inside one interval.
func fromRollups(r *reads, tid int32, q *source.Query, code int, ps []cache.PlanPiece, out []source.Groups) {
	// Every piece in one statement: the server sums a member's rows of
	// every level and piece into one row an interval.
	levels, starts, ends := make([]int32, len(ps)), make([]int64, len(ps)), make([]int64, len(ps))
	for i, p := range ps {
		levels[i], starts[i], ends[i] = int32(p.Level), p.Start, p.End
	}
	from := "unnest($3::int4[], $4::int8[], $5::int8[]) AS p(level, s, e) JOIN rollups r ON r.tenant = $1 AND r.dim = $2" +
		" AND r.level = p.level AND r.start >= p.s AND r.start < p.e"
	args := []any{tid, int16(code), levels, starts, ends}
	interval := intervalSQL("r.start", q.Bounds, ps[0].Start, ps[len(ps)-1].End, &args)
	// Where each interval is one bucket of its piece's level (a daily
	// series from day rows), a row is a group: grouping them again costs
	// the server more than sending them (the rows of a bucket not yet
	// compacted are added here, as the groups of several pieces are).
	sql := "SELECT " + interval + ", r.member, " + sumsFor(rollupCounters, summed(q)) +
		" FROM " + from + " GROUP BY 1, 2"
	if bucketIntervals(ps, q.Bounds) {
		sql = "SELECT " + interval + ", r.member, " + columnsFor(rollupCounters, summed(q)) + " FROM " + from
	}
	r.add(sql, args, addTotals(q, out))
	if !q.Latency || !q.Dim.HasLatency() || len(q.Also) > 0 {
		return
	}
	// The histograms come as rollup rows, merged here.
	var lat []byte
	r.add("SELECT "+interval+", r.member, r.lat FROM "+from+" WHERE r.lat IS NOT NULL", args,
		eachGroup(out, []any{&lat}, func(g *source.Totals) error {
			return mergeLatency(latencyOf(g), lat)
		}))
}

// fromRecords adds the records of [start, end) that q keeps, grouped by the
// server.
func fromRecords(r *reads, tid int32, q *source.Query, start, end int64, out []source.Groups) {
	from := "records r"
	var members []string
	for i, d := range append([]source.Dim{q.Dim}, q.Also...) {
		if d == source.DimTag {
			from += fmt.Sprintf(" CROSS JOIN LATERAL unnest(%s) AS t%d(tag)", tagsSQL, i)
			members = append(members, fmt.Sprintf("t%d.tag", i))
			continue
		}
		members = append(members, memberSQL(d))
	}
	member := strings.Join(members, ` || E'\x1f' || `)
	where := "r.tenant = $1 AND r.ts >= $2 AND r.ts < $3"
	args := []any{tid, start, end}
	for _, d := range source.AllDims() { // a fixed order: the same statement for the same query
		vals, ok := q.Filter[d]
		if !ok {
			continue
		}
		args = append(args, vals)
		n := len(args)
		if d == source.DimTag {
			where += fmt.Sprintf(" AND (r.tags && $%d::text[] OR (cardinality(r.tags) = 0 AND '' = ANY($%d::text[])))", n, n)
			continue
		}
		where += fmt.Sprintf(" AND %s = ANY($%d::text[])", memberSQL(d), n)
	}
	if q.NoCostOnly {
		where += " AND r.no_cost"
	}
	interval := intervalSQL("r.ts", q.Bounds, start, end, &args)
	sql := "SELECT " + interval + ", " + member + ", " + sumsFor(rawCounters, summed(q)) + " FROM " + from +
		" WHERE " + where + " GROUP BY 1, 2"
	r.add(sql, args, addTotals(q, out))
	if !q.Latency || !q.Dim.HasLatency() {
		return
	}
	sql = "SELECT " + interval + ", " + member + ", r.lat_bucket, count(*) FROM " + from +
		" WHERE " + where + " AND r.latency >= 0 GROUP BY 1, 2, 3"
	r.add(sql, args, addLatency(out))
}

// intervalSQL is the interval between bounds of a row whose time is col,
// for rows in [start, end): a constant when one interval holds them all,
// which also lets the planner count the groups (as many as members, not
// members × an unknown) and sum them in parallel; else width_bucket over
// bounds, appended to args.
func intervalSQL(col string, bounds []int64, start, end int64, args *[]any) string {
	k := sort.Search(len(bounds), func(i int) bool { return bounds[i] > start }) - 1
	if k >= 0 && k+1 < len(bounds) && end <= bounds[k+1] {
		return strconv.Itoa(k)
	}
	*args = append(*args, bounds)
	return fmt.Sprintf("width_bucket(%s, $%d::bigint[]) - 1", col, len(*args))
}

// bucketIntervals says whether every interval between bounds that the
// pieces cover is exactly one bucket of its piece's level.
func bucketIntervals(ps []cache.PlanPiece, bounds []int64) bool {
	for _, p := range ps {
		k, ok := slices.BinarySearch(bounds, p.Start)
		if !ok {
			return false
		}
		step := p.Level * int64(time.Second)
		for t := p.Start; t < p.End; t += step {
			if k+1 >= len(bounds) || bounds[k] != t || bounds[k+1] != t+step {
				return false
			}
			k++
		}
	}
	return true
}

// mergeLatency merges a rollup row's histogram into l.
func mergeLatency(l *source.Latency, b []byte) error {
	if err := l.MergeBinary(b); err != nil {
		return fmt.Errorf("%w: a rollup's latency histogram: %v", cache.ErrCorrupted, err)
	}
	return nil
}

// eachGroup reads rows of (interval, member, rest…) and hands fn each
// row's group to add rest to.
func eachGroup(out []source.Groups, rest []any, fn func(g *source.Totals) error) func(pgx.Rows) error {
	return func(rows pgx.Rows) error {
		var k int64
		var member string
		dest := append([]any{&k, &member}, rest...)
		for rows.Next() {
			if err := rows.Scan(dest...); err != nil {
				return err
			}
			if err := intoGroup(out, k, member, fn); err != nil {
				return err
			}
		}
		return rows.Err()
	}
}

// intoGroup hands fn the group of member in interval k to add to.
func intoGroup(out []source.Groups, k int64, member string, fn func(g *source.Totals) error) error {
	if k < 0 || k >= int64(len(out)) {
		return fmt.Errorf("%w: a row outside the query's intervals", cache.ErrCorrupted)
	}
	g := out[k][member]
	if err := fn(&g); err != nil {
		return err
	}
	out[k][member] = g
	return nil
}

// addTotals adds rows of (interval, member, counters…) to out: the
// counters q reads (summed).
func addTotals(q *source.Query, out []source.Groups) func(pgx.Rows) error {
	idx := summed(q)
	var t source.Totals // every counter read is scanned: nothing is left of the row before
	var counters []any
	all := t.Counters()
	for _, i := range idx {
		counters = append(counters, all[i])
	}
	scan := eachGroup(out, counters, func(g *source.Totals) error {
		g.Add(t)
		return nil
	})
	return func(rows pgx.Rows) error {
		if !binaryInts(rows.FieldDescriptions()) {
			return scan(rows)
		}
		// Tens of thousands of rows (a daily series by price key): read
		// from the wire as they came, the names of the few members made
		// once.
		names := map[string]string{}
		var raw [][]byte
		add := func(g *source.Totals) error {
			c := g.Counters()
			for j, i := range idx {
				v, ok := wireInt(raw[2+j])
				if !ok {
					return fmt.Errorf("%w: a sum that is not a number", cache.ErrCorrupted)
				}
				*c[i] += v
			}
			return nil
		}
		for rows.Next() {
			if raw = rows.RawValues(); len(raw) != 2+len(idx) {
				return fmt.Errorf("%w: %d columns, want %d", cache.ErrCorrupted, len(raw), 2+len(idx))
			}
			k, ok := wireInt(raw[0])
			if !ok {
				k = -1 // outside every interval
			}
			member, ok := names[string(raw[1])]
			if !ok {
				member = string(raw[1])
				names[member] = member
			}
			if err := intoGroup(out, k, member, add); err != nil {
				return err
			}
		}
		return rows.Err()
	}
}

// binaryInts says whether rows are (integer, text, bigint…), the integers
// in binary: what addTotals reads off the wire.
func binaryInts(fds []pgconn.FieldDescription) bool {
	if len(fds) < 2 || fds[1].DataTypeOID != pgtype.TextOID {
		return false
	}
	for i, fd := range fds {
		if i == 1 {
			continue
		}
		if fd.Format != pgtype.BinaryFormatCode || (fd.DataTypeOID != pgtype.Int8OID && (i > 0 || fd.DataTypeOID != pgtype.Int4OID)) {
			return false
		}
	}
	return true
}

// wireInt decodes a binary int4 or int8.
func wireInt(b []byte) (int64, bool) {
	switch len(b) {
	case 4:
		return int64(int32(binary.BigEndian.Uint32(b))), true
	case 8:
		return int64(binary.BigEndian.Uint64(b)), true
	}
	return 0, false
}

// addLatency adds rows of (interval, member, histogram bucket, count).
func addLatency(out []source.Groups) func(pgx.Rows) error {
	var bucket int32
	var n int64
	return eachGroup(out, []any{&bucket, &n}, func(g *source.Totals) error {
		latencyOf(g).AddBucket(source.LatencyBucket(bucket), n)
		return nil
	})
}

// latencyOf is g's histogram, made if it has none.
func latencyOf(g *source.Totals) *source.Latency {
	if g.Latency == nil {
		g.Latency = &source.Latency{}
	}
	return g.Latency
}

// Count implements source.Counter from the rollups.
func (s *Store) Count(ctx context.Context, tenant string, start, end int64) (int64, error) {
	g, err := s.AggregateMany(ctx, tenant, []source.Query{{Dim: source.DimAll, Bounds: []int64{start, end}}})
	if err != nil {
		return 0, err
	}
	return g[0][0][""].Calls, nil
}

// recordCols are the records' columns, in the order of recordValues.
var recordCols = []string{"tenant", "id", "ts", "model", "api_key", "usr", "region", "success", "unknown", "status",
	"prompt", "completion", "cost", "latency", "lat_bucket", "requests", "cache_read", "cache_write", "cache_write_1h",
	"reasoning", "project", "provider", "tags", "tier", "batch", "long_ctx", "no_cost"}

var recordList = strings.Join(recordCols, ", ")

// EachRecord implements source.RecordLister: the records of a window in
// (timestamp, id) order, read from one snapshot.
func (s *Store) EachRecord(ctx context.Context, tenant string, start, end int64, fn func(*source.Record) error) error {
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return s.wrap(err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // read only
	tid, err := tenantID(ctx, tx, tenant, false)
	if err != nil {
		return s.wrap(err)
	}
	rows, err := tx.Query(ctx, "SELECT "+strings.Join(recordCols[1:], ", ")+
		" FROM records WHERE tenant = $1 AND ts >= $2 AND ts < $3 ORDER BY ts, id", tid, start, end)
	if err != nil {
		return s.wrap(err)
	}
	defer rows.Close()
	var r source.Record
	var status, latBucket int32
	var long int16
	dest := []any{&r.ID, &r.Time, &r.Model, &r.APIKey, &r.User, &r.Region, &r.Success, &r.Unknown, &status,
		&r.PromptTokens, &r.CompletionTokens, (*int64)(&r.Cost), &r.LatencyMs, &latBucket, &r.Requests,
		&r.CacheRead, &r.CacheWrite, &r.CacheWrite1h, &r.Reasoning, &r.Project, &r.Provider, &r.Tags,
		&r.ServiceTier, &r.Batch, &long, &r.NoCost}
	for rows.Next() {
		r.Tags = nil
		if err := rows.Scan(dest...); err != nil {
			return s.wrap(err)
		}
		r.StatusCode, r.LongContext = int(status), int8(long)
		if len(r.Tags) == 0 {
			r.Tags = nil
		}
		if err := fn(&r); err != nil {
			return err
		}
	}
	return s.wrap(rows.Err())
}
