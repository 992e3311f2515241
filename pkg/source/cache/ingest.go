package cache

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/nextcore-ai/nextcore/pkg/source"
)

// Bucket lengths, in seconds. A rollup row's level is its bucket length.
const (
	Quarter = 900
	Hour    = 3600
	Day     = 86400
)

// rollupKey names one rollup row of a tenant.
type rollupKey struct {
	dim    source.Dim
	level  int32
	bucket int64 // Unix seconds
	member int64
}

// maxPendingRollups bounds the rollup deltas held in memory before they are
// written (still inside the import's transaction).
const maxPendingRollups = 200_000

// Writer adds records to the cache in one transaction: either everything it
// was given is stored, or (on Rollback, an error, or a crash) nothing is.
type Writer struct {
	c      *Cache
	ctx    context.Context
	tx     *sql.Tx
	tenant int64
	insert *sql.Stmt
	names  *dictionary
	deltas map[rollupKey]*source.Totals

	// Added and Duplicates count the records given to Add.
	Added, Duplicates int64
}

// BeginWrite starts adding records for tenant (created if new).
func (c *Cache) BeginWrite(ctx context.Context, tenant string) (*Writer, error) {
	tx, err := c.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, c.wrap(fmt.Errorf("start writing to the cache: %w", err))
	}
	w := &Writer{c: c, ctx: ctx, tx: tx, deltas: map[rollupKey]*source.Totals{}}
	if w.tenant, err = tenantID(ctx, tx, tenant, true); err != nil {
		tx.Rollback()
		return nil, c.wrap(err)
	}
	if w.names, err = loadDictionary(ctx, tx); err != nil {
		tx.Rollback()
		return nil, c.wrap(err)
	}
	w.insert, err = tx.PrepareContext(ctx, `INSERT INTO records
		(tenant, ts, id, model, api_key, usr, region, ok, status_code, prompt, completion, cost, latency)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`)
	if err != nil {
		tx.Rollback()
		return nil, c.wrap(err)
	}
	return w, nil
}

// Add stores r unless a record with its id is already stored for the tenant.
// It reports whether r was new.
func (w *Writer) Add(r *source.Record) (bool, error) {
	ids := [5]int64{}
	for i, d := range source.Dims {
		id, err := w.names.id(w.ctx, w.tx, d, r.Member(d))
		if err != nil {
			return false, w.c.wrap(err)
		}
		ids[i] = id
	}
	var code, latency any
	if r.StatusCode != 0 {
		code = r.StatusCode
	}
	if r.LatencyMs >= 0 {
		latency = r.LatencyMs
	}
	ok := 0
	if r.Success {
		ok = 1
	}
	res, err := w.insert.ExecContext(w.ctx, w.tenant, r.Time, r.ID, ids[0], ids[1], ids[2], ids[3], ok,
		code, r.PromptTokens, r.CompletionTokens, int64(r.Cost), latency)
	if err != nil {
		return false, w.c.wrap(fmt.Errorf("store record %q: %w", r.ID, err))
	}
	if n, _ := res.RowsAffected(); n == 0 {
		w.Duplicates++
		return false, nil
	}
	w.Added++
	sec := floorDiv(r.Time, int64(time.Second))
	w.count(rollupKey{source.DimAll, Quarter, floorDiv(sec, Quarter) * Quarter, 0}, r)
	hour := floorDiv(sec, Hour) * Hour
	for i, d := range source.Dims {
		w.count(rollupKey{d, Hour, hour, ids[i]}, r)
	}
	if len(w.deltas) >= maxPendingRollups {
		if err := w.flush(); err != nil {
			return true, err
		}
	}
	return true, nil
}

func (w *Writer) count(k rollupKey, r *source.Record) {
	t := w.deltas[k]
	if t == nil {
		t = &source.Totals{}
		w.deltas[k] = t
	}
	t.AddRecord(r)
}

// flush writes the rollup deltas gathered so far: the finest buckets as
// counted, and the coarser ones derived from them.
func (w *Writer) flush() error {
	coarse := map[rollupKey]*source.Totals{}
	up := func(k rollupKey, level int32, t *source.Totals) {
		k.level = level
		k.bucket = floorDiv(k.bucket, int64(level)) * int64(level)
		c := coarse[k]
		if c == nil {
			c = &source.Totals{}
			coarse[k] = c
		}
		c.Add(*t)
	}
	for k, t := range w.deltas {
		if k.level == Quarter {
			up(k, Hour, t)
		}
		up(k, Day, t)
	}
	stmt, err := w.tx.PrepareContext(w.ctx, `INSERT INTO rollups
		(tenant, dim, level, bucket, member, calls, ok, prompt, completion, cost,
		 small_calls, small_tokens, small_cost, lat_n, lat_sum)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (tenant, dim, level, bucket, member) DO UPDATE SET
		calls = calls + excluded.calls, ok = ok + excluded.ok,
		prompt = prompt + excluded.prompt, completion = completion + excluded.completion,
		cost = cost + excluded.cost, small_calls = small_calls + excluded.small_calls,
		small_tokens = small_tokens + excluded.small_tokens, small_cost = small_cost + excluded.small_cost,
		lat_n = lat_n + excluded.lat_n, lat_sum = lat_sum + excluded.lat_sum`)
	if err != nil {
		return w.c.wrap(err)
	}
	defer stmt.Close()
	for _, m := range []map[rollupKey]*source.Totals{w.deltas, coarse} {
		for k, t := range m {
			if _, err := stmt.ExecContext(w.ctx, w.tenant, int(k.dim), k.level, k.bucket, k.member,
				t.Calls, t.Successful, t.Prompt, t.Completion, int64(t.Cost),
				t.SmallCalls, t.SmallTokens, int64(t.SmallCost), t.LatencyN, t.LatencySum); err != nil {
				return w.c.wrap(fmt.Errorf("update rollups: %w", err))
			}
		}
	}
	clear(w.deltas)
	return nil
}

// Commit makes everything added visible at once.
func (w *Writer) Commit() error {
	if err := w.flush(); err != nil {
		w.Rollback()
		return err
	}
	if _, err := w.tx.ExecContext(w.ctx, "UPDATE tenants SET updated_at = ? WHERE id = ?", w.c.now().UnixNano(), w.tenant); err != nil {
		w.Rollback()
		return w.c.wrap(err)
	}
	w.insert.Close()
	if err := w.tx.Commit(); err != nil {
		return w.c.wrap(fmt.Errorf("commit to the cache: %w", err))
	}
	return nil
}

// Rollback forgets everything added. It is safe to call after Commit.
func (w *Writer) Rollback() error {
	w.insert.Close()
	err := w.tx.Rollback()
	if err == sql.ErrTxDone {
		return nil
	}
	return err
}

// floorDiv divides rounding toward minus infinity.
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// dictionary maps the names of models, keys, users and regions to small
// integers, per dimension. Id 0 is "none" (an absent user or region).
type dictionary struct {
	ids   map[source.Dim]map[string]int64
	names map[source.Dim]map[int64]string
	next  map[source.Dim]int64
}

func loadDictionary(ctx context.Context, q queryer) (*dictionary, error) {
	d := &dictionary{ids: map[source.Dim]map[string]int64{}, names: map[source.Dim]map[int64]string{}, next: map[source.Dim]int64{}}
	for _, dim := range source.Dims {
		d.ids[dim] = map[string]int64{"": 0}
		d.names[dim] = map[int64]string{0: ""}
		d.next[dim] = 1
	}
	// Status members are fixed.
	d.ids[source.DimStatus] = map[string]int64{source.StatusError: 0, source.StatusSuccess: 1}
	d.names[source.DimStatus] = map[int64]string{0: source.StatusError, 1: source.StatusSuccess}
	rows, err := q.QueryContext(ctx, "SELECT dim, id, name FROM names")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var dim source.Dim
		var id int64
		var name string
		if err := rows.Scan(&dim, &id, &name); err != nil {
			return nil, err
		}
		if d.ids[dim] == nil {
			continue
		}
		d.ids[dim][name] = id
		d.names[dim][id] = name
		if id >= d.next[dim] {
			d.next[dim] = id + 1
		}
	}
	return d, rows.Err()
}

// id returns the number of name along dim, adding it (inside the caller's
// transaction) when it is new.
func (d *dictionary) id(ctx context.Context, q queryer, dim source.Dim, name string) (int64, error) {
	if id, ok := d.ids[dim][name]; ok {
		return id, nil
	}
	id := d.next[dim]
	if _, err := q.ExecContext(ctx, "INSERT INTO names (dim, id, name) VALUES (?, ?, ?)", int(dim), id, name); err != nil {
		return 0, fmt.Errorf("add name: %w", err)
	}
	d.next[dim] = id + 1
	d.ids[dim][name] = id
	d.names[dim][id] = name
	return id, nil
}
