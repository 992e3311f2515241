package cache

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"os"
	"strings"
	"time"

	"github.com/nextcore-ai/nextcore/pkg/source"
)

// piece is a stretch [start, end) of time (Unix ns) answered at one level: a
// rollup bucket length in seconds, or 0 for raw records.
type piece struct {
	level      int64
	start, end int64
}

// levelsFor lists the rollup levels kept for a dimension, coarsest first.
func levelsFor(dim source.Dim) []int64 {
	if dim == source.DimAll {
		return []int64{Day, Hour, Quarter}
	}
	return []int64{Day, Hour}
}

// plan covers the intervals between bounds with pieces, coarsest level first,
// and joins pieces of one level that touch into runs, so that a daily series
// over a year is a handful of range scans rather than hundreds.
func plan(dim source.Dim, bounds []int64) []piece { return planAt(levelsFor(dim), bounds) }

// planAt is plan over the given rollup levels.
func planAt(levels []int64, bounds []int64) []piece {
	var pieces []piece
	for i := 0; i+1 < len(bounds); i++ {
		cover(bounds[i], bounds[i+1], levels, &pieces)
	}
	var runs []piece
	last := map[int64]int{} // level → index in runs of its latest run
	for _, p := range pieces {
		if j, ok := last[p.level]; ok && runs[j].end == p.start {
			runs[j].end = p.end
			continue
		}
		last[p.level] = len(runs)
		runs = append(runs, p)
	}
	return runs
}

func cover(s, e int64, levels []int64, out *[]piece) {
	if s >= e {
		return
	}
	if len(levels) == 0 {
		*out = append(*out, piece{0, s, e})
		return
	}
	z := levels[0] * int64(time.Second)
	if s == math.MinInt64 {
		s++ // -s would overflow; no record is that old (they begin in 1970)
	}
	a := -floorDiv(-s, z) * z // s rounded up to a bucket start
	b := floorDiv(e, z) * z   // e rounded down
	if a >= b {
		cover(s, e, levels[1:], out)
		return
	}
	cover(s, a, levels[1:], out)
	*out = append(*out, piece{levels[0], a, b})
	cover(b, e, levels[1:], out)
}

// Aggregate implements source.Source from rollups and, at the edges that no
// rollup bucket fits, raw records.
func (c *Cache) Aggregate(ctx context.Context, tenant string, dim source.Dim, bounds []int64) ([]source.Groups, error) {
	return source.AggregateOne(ctx, c, tenant, dim, bounds)
}

// AggregateMany implements source.ManySource. A plain query (one dimension,
// no filter) is answered from rollups and raw records at the edges; a pivot
// or a filtered one reads the window's records, so its cost follows the
// window's length. All reads share one snapshot, so a sync writing at the
// same time never makes the numbers disagree.
func (c *Cache) AggregateMany(ctx context.Context, tenant string, qs []source.Query) ([][]source.Groups, error) {
	out := make([][]source.Groups, len(qs))
	for i, q := range qs {
		out[i] = source.NewGroups(q)
	}
	// One connection, so that the column blocks can be read straight from
	// SQLite inside the transaction.
	conn, err := c.db.Conn(ctx)
	if err != nil {
		return nil, c.wrap(err)
	}
	defer conn.Close() //nolint:errcheck // back to the pool; the answer is had or the error says why
	tx, err := conn.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, c.wrap(err)
	}
	defer tx.Rollback()
	tid, err := tenantID(ctx, tx, tenant, false)
	if err != nil {
		return nil, c.wrap(err)
	}
	dbgT("start", 0)
	names, err := loadDictionary(ctx, tx)
	if err != nil {
		return nil, c.wrap(err)
	}
	dbgT("dict", 0)
	// Filters and pivots: from the column blocks, in one pass for all.
	var plans []*blockPlan
	planned := make([]bool, len(qs))
	var cost rollupCost
	type candidate struct {
		qi            int
		rows, records float64
	}
	var rolled []candidate // rollups answer these, the blocks may answer them sooner
	for qi := range qs {
		q := &qs[qi]
		if len(out[qi]) == 0 || c.noBlocks {
			continue
		}
		if (pairQuery(q) || q.Plain() || noCostPrices(q)) && !wideDim(names, q.Dim) {
			rows, records, err := cost.estimate(ctx, tx, tid, names, q)
			if err != nil {
				return nil, c.wrap(err)
			}
			if rows > 0 {
				rolled = append(rolled, candidate{qi, rows, records})
			}
			continue
		}
		p, err := planBlocks(names, q, out[qi])
		if err != nil {
			return nil, c.wrap(err)
		}
		if p != nil {
			plans, planned[qi] = append(plans, p), true
		}
	}
	// A query of many members' rollup rows is read from the blocks when a
	// pass over them costs less, or costs little more when one is made.
	pass := len(plans) > 0
	for _, r := range rolled {
		pass = pass || r.rows*rowPerPass > r.records
	}
	for _, r := range rolled {
		if !pass || r.rows*rowPerCount <= r.records {
			continue
		}
		p, err := planBlocks(names, &qs[r.qi], out[r.qi])
		if err != nil {
			return nil, c.wrap(err)
		}
		if p != nil {
			plans, planned[r.qi] = append(plans, p), true
		}
	}
	dbgT("planned", len(plans))
	for _, p := range plans {
		dbgT(fmt.Sprintf("plan %v %v bounds=%d filters=%d money=%v lat=%v dense=%d", p.q.Dim, p.q.Also, len(p.secs), len(p.filters), p.agg.money, p.agg.latency, len(p.agg.dense)), 0)
	}
	defer dbgT("done", 0)
	if len(plans) > 0 {
		defer dbgT("scanned", 0)
		if err := scanBlocks(ctx, conn, tx, tid, plans); err != nil {
			return nil, c.wrap(err)
		}
	}
	for qi := range qs {
		q := &qs[qi]
		if len(out[qi]) == 0 || planned[qi] {
			continue
		}
		if !c.noBlocks && wideDim(names, q.Dim) {
			// No rollup row counts a wide dimension, and times finer than
			// a second are beyond the blocks: the records answer.
			if err := c.scanFiltered(ctx, tx, tid, names, q, out[qi]); err != nil {
				return nil, c.wrap(err)
			}
			continue
		}
		if pairQuery(q) {
			if err := c.scanPairs(ctx, tx, tid, names, q, out[qi]); err != nil {
				return nil, c.wrap(err)
			}
			continue
		}
		// The price keys of the records without a reported cost: rollup
		// rows of those keys only.
		noCost := noCostPrices(q)
		if !q.Plain() && !noCost {
			if err := c.scanFiltered(ctx, tx, tid, names, q, out[qi]); err != nil {
				return nil, c.wrap(err)
			}
			continue
		}
		only := ""
		from, rawWhere := recordsOf(noCost)
		if noCost {
			ids := noCostPriceIDs(names)
			if len(ids) == 0 {
				continue // no such record
			}
			only = " AND member IN (" + strings.Join(ids, ",") + ")"
		}
		dim := q.Dim
		add := func(k int, member int64, t source.Totals) {
			name := ""
			if dim != source.DimAll {
				name = names.names[dim][member]
			}
			g := out[qi][k][name]
			g.Add(t)
			out[qi][k][name] = g
		}
		rawAdd := add
		var tagErr error
		if dim == source.DimTag {
			rawAdd = func(k int, set int64, t source.Totals) {
				ids, err := names.tagIDs(set)
				if err != nil {
					tagErr = err
					return
				}
				for _, id := range ids {
					add(k, id, t)
				}
			}
		}
		if dim == source.DimPrice && q.MoneyOnly && !q.Latency && offDays(q.Bounds) {
			if err := c.scanPriceSeries(ctx, tx, tid, names, q, only, from, rawWhere, add, out[qi]); err != nil {
				return nil, c.wrap(err)
			}
			continue
		}
		for _, run := range plan(dim, q.Bounds) {
			var err error
			if run.level == 0 && dim == source.DimPrice && q.MoneyOnly {
				err = scanRawPrices(ctx, tx, tid, names, from, rawWhere, run, q.Bounds, out[qi])
			} else if run.level == 0 && dim == source.DimPrice {
				// No column holds the price key: it comes of the whole record.
				err = eachRowOf(ctx, tx, names, from, rawWhere, []any{tid, run.start, run.end}, func(r *source.Record) error {
					source.Count([]source.Query{*q}, [][]source.Groups{out[qi]}, r)
					return nil
				})
			} else if run.level == 0 {
				err = c.scanRaw(ctx, tx, tid, dim, run, q.Bounds, q.Latency, rawAdd)
				if err == nil {
					err = tagErr
				}
			} else {
				err = c.scanRollups(ctx, tx, tid, dim, run, q.Bounds, q.Latency, q.MoneyOnly, only, add)
			}
			if err != nil {
				return nil, c.wrap(err)
			}
		}
	}
	return out, nil
}

// noCostPrices reports whether q asks the price keys of the records without
// a reported cost, which rollup rows of those keys answer.
func noCostPrices(q *source.Query) bool {
	return q.Dim == source.DimPrice && q.NoCostOnly && len(q.Also) == 0 && len(q.Filter) == 0
}

// scanFiltered answers a pivot or a filtered query from the window's records.
func (c *Cache) scanFiltered(ctx context.Context, tx *sql.Tx, tid int64, names *dictionary, q *source.Query, out []source.Groups) error {
	from, where := recordsOf(q.NoCostOnly)
	args := []any{tid, q.Bounds[0], q.Bounds[len(q.Bounds)-1]}
	for d, vals := range q.Filter {
		if d == source.DimTag {
			continue // a record's tags are a set: the filter's Match checks them
		}
		var ids []string
		for _, v := range vals {
			if id, ok := names.ids[d][v]; ok {
				ids = append(ids, fmt.Sprint(id))
			}
		}
		if len(ids) == 0 {
			return nil // no call can match
		}
		where += " AND " + rawMemberCol[d] + " IN (" + strings.Join(ids, ",") + ")"
	}
	qs := []source.Query{*q}
	res := [][]source.Groups{out}
	return eachRowOf(ctx, tx, names, from, where, args, func(r *source.Record) error {
		source.Count(qs, res, r)
		return nil
	})
}

var rollupCols = strings.Join(counterCols, ", ")
var rollupSums = "sum(" + strings.Join(counterCols, "), sum(") + ")"

// moneyCols are the counters that pricing reads (source.MoneyCounters),
// and moneyDest where they go.
var (
	moneyCols = func() []string {
		var cols []string
		for _, i := range source.MoneyCounters {
			cols = append(cols, counterCols[i])
		}
		return cols
	}()
	moneyList = strings.Join(moneyCols, ", ")
	moneySums = "sum(" + strings.Join(moneyCols, "), sum(") + ")"
)

func moneyDest(t *source.Totals) []any {
	all := t.Counters()
	dest := make([]any, len(source.MoneyCounters))
	for i, j := range source.MoneyCounters {
		dest[i] = all[j]
	}
	return dest
}

// scanRollups reads a run of rollup rows of dim into add: every counter, or
// with money only those that pricing reads; latency histograms when asked.
func (c *Cache) scanRollups(ctx context.Context, tx *sql.Tx, tid int64, dim source.Dim, run piece, bounds []int64,
	latency, money bool, only string, add func(int, int64, source.Totals)) error {
	first := source.IntervalOf(bounds, run.start)
	last := source.IntervalOf(bounds, run.end-1)
	cols, sums := rollupCols+", lat_hist", rollupSums+", nextcore_latency_sum(lat_hist)"
	switch {
	case money:
		cols, sums = moneyList+", NULL", moneySums+", NULL"
	case !latency:
		cols, sums = rollupCols+", NULL", rollupSums+", NULL"
	}
	where := " FROM rollups WHERE tenant = ? AND dim = ? AND level = ? AND bucket >= ? AND bucket < ?" + only
	// Where an interval holds several buckets (the hours of a day in a zone
	// off UTC), SQLite adds them up interval by interval: far fewer rows
	// come out than buckets go in.
	buckets := (run.end - run.start) / (run.level * int64(time.Second))
	if first == last || buckets < 4*int64(last-first+1) {
		q := "SELECT bucket, member, " + cols + where
		if first == last {
			q = "SELECT 0, member, " + sums + where + " GROUP BY member"
		}
		return readRollups(ctx, tx, q, money, bounds, first, first == last,
			[]any{tid, int(dim), run.level, run.start / int64(time.Second), run.end / int64(time.Second)}, add)
	}
	var sts []stretch
	for k := first; k <= last; k++ {
		if start, end := max(run.start, bounds[k]), min(run.end, bounds[k+1]); start < end {
			sts = append(sts, stretch{k, start, end})
		}
	}
	return readStretches(ctx, tx, tid, dim, run.level, sts, sums, money, only, add)
}

// stretch is a span [start, end) of rollup buckets, to be summed as one
// (id: an interval, or whatever the caller counts it toward).
type stretch struct {
	id         int
	start, end int64
}

// readStretches sums the rollup rows of dim at level by stretch and member
// (sums: the columns' aggregates, then the histogram's) into add, by the
// stretch's id. The stretches go as a table that SQLite walks the primary
// key from, a thousand a statement: far fewer rows come out than buckets
// go in.
func readStretches(ctx context.Context, tx *sql.Tx, tid int64, dim source.Dim, level int64, sts []stretch,
	sums string, money bool, only string, add func(int, int64, source.Totals)) error {
	for len(sts) > 0 {
		m := min(len(sts), 1000)
		var values strings.Builder
		args := make([]any, 0, 3*m+3)
		for i, st := range sts[:m] {
			if i > 0 {
				values.WriteByte(',')
			}
			values.WriteString("(?,?,?)")
			args = append(args, st.id, st.start/int64(time.Second), st.end/int64(time.Second))
		}
		args = append(args, tid, int(dim), level)
		q := "WITH r(i, s, e) AS (VALUES " + values.String() + ") SELECT r.i, member, " + sums +
			" FROM r JOIN rollups ON tenant = ? AND dim = ? AND level = ? AND bucket >= r.s AND bucket < r.e" + only + " GROUP BY r.i, member"
		if err := readRollups(ctx, tx, q, money, nil, 0, false, args, add); err != nil {
			return err
		}
		sts = sts[m:]
	}
	return nil
}

// readRollups reads rollup rows (bucket, member, counters, histogram) into
// add: all into interval k when whole, else each into its bucket's; with no
// bounds the first column is the interval itself (readStretches).
func readRollups(ctx context.Context, tx *sql.Tx, q string, money bool, bounds []int64, k int, whole bool,
	args []any, add func(int, int64, source.Totals)) error {
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var bucket, member int64
		var t source.Totals
		var hist []byte
		dest := []any{&bucket, &member}
		if money {
			dest = append(dest, moneyDest(&t)...)
		} else {
			for _, c := range t.Counters() {
				dest = append(dest, c)
			}
		}
		if err := rows.Scan(append(dest, &hist)...); err != nil {
			return err
		}
		if len(hist) > 0 {
			t.Latency = &source.Latency{}
			if err := t.Latency.MergeBinary(hist); err != nil {
				return fmt.Errorf("%w: %v", ErrCorrupted, err)
			}
		}
		at := k
		switch {
		case whole:
		case bounds == nil: // the first column is the interval (readStretches)
			at = int(bucket)
		default:
			at = source.IntervalOf(bounds, bucket*int64(time.Second))
		}
		if at < 0 {
			return fmt.Errorf("rollup bucket %d outside the window", bucket)
		}
		add(at, member, t)
	}
	return rows.Err()
}

var rawMemberCol = map[source.Dim]string{
	source.DimAll: "0", source.DimModel: "model", source.DimKey: "api_key",
	source.DimUser: "usr", source.DimRegion: "region", source.DimStatus: "ok",
	source.DimProject: "project", source.DimProvider: "provider",
	source.DimTag: "tags", // a tag set: scanRaw adds a call to each of its tags
}

func (c *Cache) scanRaw(ctx context.Context, tx *sql.Tx, tid int64, dim source.Dim, run piece, bounds []int64,
	latency bool, add func(int, int64, source.Totals)) error {
	rows, err := tx.QueryContext(ctx, "SELECT ts, "+rawMemberCol[dim]+
		", ok, prompt, completion, cost, latency, requests, cache_read, cache_write, cache_write_1h, reasoning"+
		" FROM records WHERE tenant = ? AND ts >= ? AND ts < ?",
		tid, run.start, run.end)
	if err != nil {
		return err
	}
	defer rows.Close()
	var r source.Record
	var lat sql.NullInt64
	var member, ok int64
	dest := []any{&r.Time, &member, &ok, &r.PromptTokens, &r.CompletionTokens, &r.Cost, &lat,
		&r.Requests, &r.CacheRead, &r.CacheWrite, &r.CacheWrite1h, &r.Reasoning}
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return err
		}
		setOK(&r, ok)
		r.LatencyMs = -1
		if lat.Valid {
			r.LatencyMs = lat.Int64
		}
		k := source.IntervalOf(bounds, r.Time)
		if k < 0 {
			return errors.New("record outside the window")
		}
		var t source.Totals
		if latency {
			t.AddRecord(&r)
		} else {
			t.AddCounts(&r)
		}
		add(k, member, t)
	}
	return rows.Err()
}

// Info describes what the cache holds for tenant.
func (c *Cache) Info(ctx context.Context, tenant string) (source.Info, error) {
	info := source.Info{Tenant: tenant, Kind: "cache"}
	var tid, updated int64
	err := c.db.QueryRowContext(ctx, "SELECT id, updated_at FROM tenants WHERE slug = ?", tenant).Scan(&tid, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return info, fmt.Errorf("%w: %q", ErrNoTenant, tenant)
	}
	if err != nil {
		return info, c.wrap(err)
	}
	if updated > 0 {
		info.UpdatedAt = time.Unix(0, updated)
	}
	// Two queries: SQLite answers a lone min() or max() from the index, but
	// scans the table for both at once.
	var oldest, newest sql.NullInt64
	if err := c.db.QueryRowContext(ctx, "SELECT min(ts) FROM records WHERE tenant = ?", tid).Scan(&oldest); err != nil {
		return info, c.wrap(err)
	}
	if err := c.db.QueryRowContext(ctx, "SELECT max(ts) FROM records WHERE tenant = ?", tid).Scan(&newest); err != nil {
		return info, c.wrap(err)
	}
	if oldest.Valid {
		info.Oldest, info.Newest = time.Unix(0, oldest.Int64), time.Unix(0, newest.Int64)
	}
	if err := c.db.QueryRowContext(ctx, "SELECT coalesce(sum(calls), 0) FROM rollups WHERE tenant = ? AND dim = 0 AND level = ?", tid, Day).Scan(&info.Records); err != nil {
		return info, c.wrap(err)
	}
	return info, nil
}

// EachRecord implements source.RecordLister: the records of a window in
// (timestamp, id) order, read from one snapshot.
func (c *Cache) EachRecord(ctx context.Context, tenant string, start, end int64, fn func(*source.Record) error) error {
	tx, err := c.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return c.wrap(err)
	}
	defer tx.Rollback()
	tid, err := tenantID(ctx, tx, tenant, false)
	if err != nil {
		return c.wrap(err)
	}
	names, err := loadDictionary(ctx, tx)
	if err != nil {
		return c.wrap(err)
	}
	return c.wrap(eachRow(ctx, tx, names, "tenant = ? AND ts >= ? AND ts < ? ORDER BY ts, id", []any{tid, start, end}, fn))
}

// eachRow reads the records matching where (a WHERE clause, with an ORDER
// BY if wanted) with their names, and hands each to fn; the record is reused.
func eachRow(ctx context.Context, tx *sql.Tx, names *dictionary, where string, args []any, fn func(*source.Record) error) error {
	return eachRowOf(ctx, tx, names, "records", where, args, fn)
}

// eachRowOf is eachRow from a table expression: records, or records
// INDEXED BY one of its indexes.
func eachRowOf(ctx context.Context, tx *sql.Tx, names *dictionary, from, where string, args []any, fn func(*source.Record) error) error {
	rows, err := tx.QueryContext(ctx, `SELECT ts, id, model, api_key, usr, region, ok, status_code, prompt, completion, cost, latency, `+
		ledgerColumns+` FROM `+from+` WHERE `+where, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	var r source.Record
	var model, key, user, region, ok int64
	var code, lat sql.NullInt64
	var l ledgerRow
	dest := append([]any{&r.Time, &r.ID, &model, &key, &user, &region, &ok, &code, &r.PromptTokens,
		&r.CompletionTokens, &r.Cost, &lat}, l.dest()...)
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return err
		}
		setOK(&r, ok)
		if err := l.apply(&r, names); err != nil {
			return err
		}
		r.Model = names.names[source.DimModel][model]
		r.APIKey = names.names[source.DimKey][key]
		r.User = names.names[source.DimUser][user]
		r.Region = names.names[source.DimRegion][region]
		r.StatusCode = int(code.Int64)
		r.LatencyMs = -1
		if lat.Valid {
			r.LatencyMs = lat.Int64
		}
		if err := fn(&r); err != nil {
			return err
		}
	}
	return rows.Err()
}

// noCostTerm picks the records that reported no cost, as the partial index
// records_nocost says it (SQLite uses the index for this very term).
const noCostTerm = "flags & 8 <> 0"

// recordsOf is where a window's records are read from (a table expression)
// and the condition that picks them, binding tenant, start and end: all
// records, or those without a reported cost through their own index (the
// planner would walk all of the window's records).
func recordsOf(noCostOnly bool) (from, where string) {
	if noCostOnly {
		return "records INDEXED BY records_nocost", "tenant = ? AND ts >= ? AND ts < ? AND " + noCostTerm
	}
	return "records", "tenant = ? AND ts >= ? AND ts < ?"
}

// pairQuery reports whether rollups by member and price key answer q: a
// dimension's members by price key, of all records or of those without a
// reported cost, unfiltered (how reports price them).
func pairQuery(q *source.Query) bool {
	return len(q.Filter) == 0 && len(q.Also) == 1 && q.Also[0] == source.DimPairPrice && HasPairs(q.Dim)
}

// scanPairs answers a pair query from the rollups by member and price key,
// and at the edges from the records.
func (c *Cache) scanPairs(ctx context.Context, tx *sql.Tx, tid int64, names *dictionary, q *source.Query, out []source.Groups) error {
	qs, res := []source.Query{*q}, [][]source.Groups{out}
	from, where := recordsOf(q.NoCostOnly)
	only := ""
	if q.NoCostOnly {
		ids := noCostPriceIDs(names)
		if len(ids) == 0 {
			return nil // no such record
		}
		only = fmt.Sprintf(" AND (member & %d) IN (%s)", 1<<pairShift-1, strings.Join(ids, ","))
	}
	for _, run := range planAt(pairLevels, q.Bounds) {
		var err error
		if run.level == 0 {
			err = eachRowOf(ctx, tx, names, from, where, []any{tid, run.start, run.end}, func(r *source.Record) error {
				source.Count(qs, res, r)
				return nil
			})
		} else {
			err = c.scanRollups(ctx, tx, tid, PairDim(q.Dim), run, q.Bounds, false, q.MoneyOnly, only, func(k int, m int64, t source.Totals) {
				member, price := splitPair(m)
				name := names.names[q.Dim][member] + source.PivotSep + names.names[source.DimPrice][price]
				g := out[k][name]
				g.Add(t)
				out[k][name] = g
			})
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// Rolled implements source.Rolled: plain queries read rollups.
func (c *Cache) Rolled() {}

// noCostPriceIDs are the ids of the price keys of records without a
// reported cost, as SQL literals.
func noCostPriceIDs(names *dictionary) []string {
	var ids []string
	for id, name := range names.names[source.DimPrice] {
		if k, ok := source.ParsePriceKey(name); ok && k.NoCost {
			ids = append(ids, fmt.Sprint(id))
		}
	}
	return ids
}

// rawPriceSQL sums the records of a stretch by what makes their price key
// (source.Record.PriceKeyOf): model, tier, batch, no cost, zero requests,
// small calls and long context, with the counters pricing reads.
const rawPriceSQL = `SELECT model, tier, flags & 1 <> 0, flags & 8 <> 0,
	requests = 0, requests > 0 AND (prompt + completion) / 500 < requests,
	CASE WHEN flags & 2 THEN (flags & 4) <> 0 ELSE requests = 1 AND prompt > 200000 END,
	sum(requests), sum(prompt), sum(completion), sum(cost), sum(cache_read), sum(cache_write), sum(cache_write_1h)`

// scanRawPrices answers the price keys of records at a run's edges for
// pricing (Query.MoneyOnly): SQLite sums them by key, interval by interval,
// instead of every record coming out whole.
func scanRawPrices(ctx context.Context, tx *sql.Tx, tid int64, names *dictionary, from, where string, run piece, bounds []int64,
	out []source.Groups) error {
	stmt, err := prepareRawPrices(ctx, tx, from, where)
	if err != nil {
		return err
	}
	defer stmt.Close() //nolint:errcheck // a read-only statement: closing it cannot lose anything
	for k := source.IntervalOf(bounds, run.start); k >= 0 && k+1 < len(bounds) && bounds[k] < run.end; k++ {
		start, end := max(run.start, bounds[k]), min(run.end, bounds[k+1])
		if start >= end {
			continue
		}
		if err := rawPrices(ctx, stmt, tid, names, start, end, 1, out[k]); err != nil {
			return err
		}
	}
	return nil
}

// prepareRawPrices prepares rawPriceSQL over the records that from and
// where pick (recordsOf).
func prepareRawPrices(ctx context.Context, tx *sql.Tx, from, where string) (*sql.Stmt, error) {
	return tx.PrepareContext(ctx, rawPriceSQL+" FROM "+from+" WHERE "+where+" GROUP BY 1, 2, 3, 4, 5, 6, 7")
}

// rawPrices adds (sign 1) or takes away (sign -1) the records of [start,
// end) by price key, summed by SQLite with stmt (rawPriceSQL), into g.
func rawPrices(ctx context.Context, stmt *sql.Stmt, tid int64, names *dictionary, start, end, sign int64, g source.Groups) error {
	rows, err := stmt.QueryContext(ctx, tid, start, end)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var model, tier int64
		var batch, noCost, zero, small, long bool
		var t source.Totals
		if err := rows.Scan(append([]any{&model, &tier, &batch, &noCost, &zero, &small, &long}, moneyDest(&t)...)...); err != nil {
			return err
		}
		key := source.PriceKey{Model: names.names[source.DimModel][model], Tier: names.names[dimTier][tier],
			Batch: batch, Long: long, NoCost: noCost, Zero: zero, Small: small}.String()
		sum := g[key]
		sum.Add(signed(t, sign))
		g[key] = sum
	}
	return rows.Err()
}

// signed is t, or t taken away (its counters negated; t has no histogram).
func signed(t source.Totals, sign int64) source.Totals {
	if sign < 0 {
		for _, c := range t.Counters() {
			*c = -*c
		}
	}
	return t
}

// dayNanos is a UTC day.
const dayNanos = Day * int64(time.Second)

// scanPriceSeries answers a query by price key read for pricing (money
// counters, no histograms) whose intervals are days or longer off UTC, as a
// report's days in most zones are. The UTC days inside an interval are read
// whole; a UTC day that a boundary cuts is read whole too, and the smaller
// of its two parts by the hour (and, in half-hour zones, from records): that
// part counts toward its own interval and is taken away from the day's
// other part, which counts toward the other. Counters add and subtract
// exactly, and each hour is read once.
func (c *Cache) scanPriceSeries(ctx context.Context, tx *sql.Tx, tid int64, names *dictionary, q *source.Query,
	only, from, rawWhere string, add func(int, int64, source.Totals), out []source.Groups) error {
	type target struct {
		k    int
		sign int64
	}
	type part struct {
		p  piece
		to []target
	}
	var parts []part
	hours := func(s, e int64, to ...target) {
		var ps []piece
		cover(s, e, []int64{Hour}, &ps)
		for _, p := range ps {
			parts = append(parts, part{p, to})
		}
	}
	bounds := q.Bounds
	n := len(bounds) - 1
	for k := 0; k < n; k++ {
		s, e := bounds[k], bounds[k+1]
		first := -floorDiv(-s, dayNanos) * dayNanos // the first UTC midnight at or after s
		last := floorDiv(e, dayNanos) * dayNanos
		if first < last {
			parts = append(parts, part{piece{Day, first, last}, []target{{k, 1}}})
		}
	}
	for i, b := range bounds {
		d := floorDiv(b, dayNanos) * dayNanos
		if d == b {
			continue
		}
		switch {
		case i == 0:
			hours(b, d+dayNanos, target{0, 1})
		case i == n:
			hours(d, b, target{n - 1, 1})
		case b-d <= dayNanos/2:
			hours(d, b, target{i - 1, 1}, target{i, -1})
			parts = append(parts, part{piece{Day, d, d + dayNanos}, []target{{i, 1}}})
		default:
			hours(b, d+dayNanos, target{i, 1}, target{i - 1, -1})
			parts = append(parts, part{piece{Day, d, d + dayNanos}, []target{{i - 1, 1}}})
		}
	}
	var raw *sql.Stmt
	defer func() {
		if raw != nil {
			raw.Close() //nolint:errcheck // a read-only statement: closing it cannot lose anything
		}
	}()
	byLevel := map[int64][]stretch{} // by rollup level, each part's stretch with its index as id
	for i, pt := range parts {
		if pt.p.level != 0 {
			byLevel[pt.p.level] = append(byLevel[pt.p.level], stretch{i, pt.p.start, pt.p.end})
			continue
		}
		if raw == nil {
			var err error
			if raw, err = prepareRawPrices(ctx, tx, from, rawWhere); err != nil {
				return err
			}
		}
		g := source.Groups{}
		if err := rawPrices(ctx, raw, tid, names, pt.p.start, pt.p.end, 1, g); err != nil {
			return err
		}
		for key, t := range g {
			for _, to := range pt.to {
				sum := out[to.k][key]
				sum.Add(signed(t, to.sign))
				out[to.k][key] = sum
			}
		}
	}
	for level, sts := range byLevel {
		err := readStretches(ctx, tx, tid, source.DimPrice, level, sts, moneySums+", NULL", true, only, func(i int, member int64, t source.Totals) {
			for _, to := range parts[i].to {
				add(to.k, member, signed(t, to.sign))
			}
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// offDays reports whether a series' intervals each hold a UTC midnight
// (days, DST days included, or longer) and some of their ends are not UTC
// midnights (days in a zone off UTC): scanPriceSeries reads those faster
// than plan's cover.
func offDays(bounds []int64) bool {
	off := false
	for k, b := range bounds {
		if b <= -1<<62 || b >= 1<<62 || (k > 0 && floorDiv(b, dayNanos)*dayNanos < bounds[k-1]) {
			return false
		}
		off = off || floorDiv(b, dayNanos)*dayNanos != b
	}
	return off && len(bounds) >= 2
}

var dbgStart = time.Now()

func dbgT(what string, n int) {
	if os.Getenv("NCDBG") != "" {
		fmt.Fprintf(os.Stderr, "%6.1f ms %s %d\n", float64(time.Since(dbgStart).Microseconds())/1000, what, n)
	}
}
