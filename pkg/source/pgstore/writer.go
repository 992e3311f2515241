package pgstore

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/nextcore-ai/nextcore/pkg/source"
	"github.com/nextcore-ai/nextcore/pkg/source/cache"
)

// flushRows is how many records go to the server in one COPY: the writer
// holds no more than these in memory, however long the import.
const flushRows = 50_000

// analyzeAfter is how many new records make a writer ANALYZE the tables.
const analyzeAfter = 200_000

// Writer adds records in one transaction, flushRows at a time (store):
// the records by COPY, and the rollup rows of those that were new, counted
// here and appended; at the commit, the buckets it added to are compacted.
// A batch is stored on a goroutine of its own while the next one fills:
// reading and parsing the records goes on while the server writes.
type Writer struct {
	s    *Store
	ctx  context.Context
	conn *pgxpool.Conn
	tx   pgx.Tx
	tid  int32

	cur      *batch     // filled by Add
	flushing *batch     // being stored, nil when none
	free     *batch     // stored, to fill again
	done     chan error // flushing's outcome
	err      error      // the first error of a flush: every call after returns it
	// batchDups are the records Add found twice in a batch (its own);
	// dups those the server had (the flush's).
	batchDups int64

	// The rest is the flush's, and read by the others only after wait.
	// touched are the rollup buckets this writer added rows to.
	touched map[bucket]bool
	// acc counts the records of a flush into their hours and days; coarse
	// their 8 and 32 days, over the whole transaction: an import writes a
	// coarse bucket's row a member once, not once a flush.
	acc, coarse *rollupAcc

	sync       *cache.SyncState
	sourceSync *cache.SourceSync
	added      int64
	dups       int64
}

// Begin implements cache.Store.
func (s *Store) Begin(ctx context.Context, tenant string) (cache.RecordWriter, error) {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, s.wrap(err)
	}
	w := &Writer{s: s, ctx: ctx, conn: conn, cur: newBatch(), done: make(chan error, 1), touched: map[bucket]bool{},
		acc: newRollupAcc(), coarse: newRollupAcc()}
	if w.tx, err = conn.Begin(ctx); err != nil {
		conn.Release()
		return nil, s.wrap(err)
	}
	if err := w.begin(tenant); err != nil {
		_ = w.Rollback() // the error returned says what went wrong
		if errors.Is(err, ErrNoWrite) {
			return nil, err
		}
		return nil, s.wrapf("start writing to the team store", err)
	}
	return w, nil
}

func (w *Writer) begin(tenant string) error {
	// A role that may only read is told so before anything is sent.
	var may bool
	if err := w.tx.QueryRow(w.ctx, "SELECT has_table_privilege('records', 'INSERT') AND has_table_privilege('rollups', 'INSERT, DELETE')").Scan(&may); err != nil {
		return err
	}
	if !may {
		var role string
		_ = w.tx.QueryRow(w.ctx, "SELECT current_user").Scan(&role) // for the message only
		return fmt.Errorf("%w (%s): the role %s has no INSERT on its tables; reports need SELECT only, syncs, imports and alerts a writer role (see the README's GRANTs)",
			ErrNoWrite, w.s.url, role)
	}
	var err error
	w.tid, err = tenantID(w.ctx, w.tx, tenant, true)
	return err
}

// Add implements cache.RecordWriter. A record whose id is stored, or was
// given before, is a duplicate: the first one given stays.
func (w *Writer) Add(r *source.Record) error {
	if w.err != nil {
		return w.err
	}
	b := w.cur
	if b.ids[r.ID] {
		w.batchDups++
		return nil
	}
	b.ids[r.ID] = true
	b.text = appendRecord(b.text, w.tid, r)
	b.recs = append(b.recs, *r)
	if len(b.recs) < flushRows {
		return nil
	}
	// The batch before must be stored first: one COPY at a time, in order.
	if err := w.wait(); err != nil {
		return err
	}
	w.flushing, w.cur, w.free = b, w.free, nil
	if w.cur == nil {
		w.cur = newBatch()
	}
	go func() { w.done <- w.flush(b) }()
	return nil
}

// batch is the records a flush stores.
type batch struct {
	text []byte          // as COPY text
	recs []source.Record // the same records, for the rollups
	ids  map[string]bool // their ids
}

func newBatch() *batch { return &batch{ids: map[string]bool{}} }

// wait waits for the batch being stored, if any, and returns the first
// error of any flush.
func (w *Writer) wait() error {
	if w.flushing != nil {
		err := <-w.done
		b := w.flushing
		b.text, b.recs = b.text[:0], b.recs[:0]
		clear(b.ids)
		w.flushing, w.free = nil, b
		if err != nil && w.err == nil {
			w.err = err
		}
	}
	return w.err
}

// flush stores the records of b: those whose id is stored are duplicates.
// The rollup rows of the new ones are counted here and appended as rows of
// deltas (COPY, no update in place): a reader sums the rows of a bucket.
func (w *Writer) flush(b *batch) error {
	if len(b.recs) == 0 {
		return nil
	}
	given := int64(len(b.recs))
	fresh, err := w.store(b.text)
	if err != nil {
		return err
	}
	added := given
	if fresh != nil {
		added = int64(len(fresh))
	}
	w.added += added
	w.dups += given - added
	acc := w.acc
	acc.reset()
	for i := range b.recs {
		if fresh == nil || fresh[b.recs[i].ID] {
			acc.add(&b.recs[i])
		}
	}
	acc.spread(w.coarse)
	if err := w.writeRollups(acc); err != nil {
		return err
	}
	if len(w.coarse.keys) >= coarseRows {
		return w.writeRollups(w.coarse)
	}
	return nil
}

// coarseRows is how many rows of 8 and 32 days a writer holds before it
// writes them (a long import of many members).
const coarseRows = 400_000

// store writes the records held and returns the ids of those that were
// new, or nil when all were. The records go straight to their table with
// COPY, inside a savepoint; when some id is stored already, that COPY is
// undone and they go through a staging table and INSERT … ON CONFLICT DO
// NOTHING instead.
func (w *Writer) store(text []byte) (fresh map[string]bool, err error) {
	sp, err := w.tx.Begin(w.ctx)
	if err != nil {
		return nil, w.s.wrap(err)
	}
	err = w.copyFrom("records", recordCols, bytes.NewReader(text))
	var pe *pgconn.PgError
	if err == nil {
		return nil, w.s.wrap(sp.Commit(w.ctx))
	}
	if !errors.As(err, &pe) || pe.Code != "23505" { // unique_violation
		return nil, w.s.wrapf("copy the records to the team store", err)
	}
	if err := sp.Rollback(w.ctx); err != nil {
		return nil, w.s.wrap(err)
	}
	if _, err := w.tx.Exec(w.ctx, `CREATE TEMP TABLE IF NOT EXISTS nc_staging (LIKE records) ON COMMIT DROP;
		TRUNCATE nc_staging`); err != nil {
		return nil, w.s.wrap(err)
	}
	if err := w.copyFrom("nc_staging", recordCols, bytes.NewReader(text)); err != nil {
		return nil, w.s.wrapf("copy the records to the team store", err)
	}
	rows, err := w.tx.Query(w.ctx, "INSERT INTO records ("+recordList+") SELECT "+recordList+
		" FROM nc_staging ON CONFLICT DO NOTHING RETURNING id")
	if err != nil {
		return nil, w.s.wrapf("store the records", err)
	}
	defer rows.Close()
	fresh = map[string]bool{}
	var id string
	for rows.Next() {
		if err := rows.Scan(&id); err != nil {
			return nil, w.s.wrapf("store the records", err)
		}
		fresh[id] = true
	}
	if err := rows.Err(); err != nil {
		return nil, w.s.wrapf("store the records", err)
	}
	return fresh, nil
}

// writeRollups appends acc's rows to the rollups, and empties acc.
func (w *Writer) writeRollups(acc *rollupAcc) error {
	if len(acc.keys) == 0 {
		return nil // a flush of duplicates only
	}
	for _, k := range acc.keys {
		w.touched[bucket{k.dim, k.level, k.start}] = true
	}
	// In the order a report reads them: a dimension's rows of a stretch of
	// time lie on few pages.
	slices.SortFunc(acc.keys, func(a, b rollupKey) int {
		return cmp.Or(cmp.Compare(a.dim, b.dim), cmp.Compare(a.level, b.level), cmp.Compare(a.start, b.start),
			strings.Compare(a.member, b.member))
	})
	// The rows are made as COPY reads them: a million rows never lie in
	// memory as text.
	keys := acc.keys
	rows := &lineReader{next: func(b []byte) ([]byte, bool) {
		if len(keys) == 0 {
			return b, false
		}
		b = appendRollup(b, w.tid, keys[0], acc.of(keys[0]))
		keys = keys[1:]
		return b, true
	}}
	if err := w.copyFrom("rollups", rollupCols, rows); err != nil {
		return w.s.wrapf("update the rollups", err)
	}
	acc.reset()
	return nil
}

// lineReader reads the lines next appends, made as they are read.
type lineReader struct {
	next func([]byte) ([]byte, bool)
	buf  []byte
	done bool
}

func (r *lineReader) Read(p []byte) (int, error) {
	for len(r.buf) < len(p) && !r.done {
		var more bool
		r.buf, more = r.next(r.buf)
		r.done = !more
	}
	if len(r.buf) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.buf)
	r.buf = r.buf[:copy(r.buf, r.buf[n:])]
	return n, nil
}

// copyFrom sends the COPY text r reads to table's columns.
func (w *Writer) copyFrom(table string, cols []string, r io.Reader) error {
	_, err := w.conn.Conn().PgConn().CopyFrom(w.ctx, r, "COPY "+table+" ("+strings.Join(cols, ", ")+") FROM STDIN")
	return err
}

// Stored implements cache.RecordWriter: what the batches stored so far
// hold (it waits for the one being stored).
func (w *Writer) Stored() (added, dups int64) {
	_ = w.wait() // an error is the next call's
	return w.added, w.dups + w.batchDups
}

// SaveSync implements cache.RecordWriter.
func (w *Writer) SaveSync(s cache.SyncState) { w.sync = &s }

// SaveSourceSync implements cache.RecordWriter.
func (w *Writer) SaveSourceSync(s cache.SourceSync) { w.sourceSync = &s }

// RememberFile implements cache.RecordWriter.
func (w *Writer) RememberFile(path string, st cache.FileState) error {
	if err := w.wait(); err != nil {
		return err
	}
	_, err := w.tx.Exec(w.ctx, `INSERT INTO imported_files (tenant, path, size, mtime) VALUES ($1, $2, $3, $4)
		ON CONFLICT (tenant, path) DO UPDATE SET size = excluded.size, mtime = excluded.mtime`, w.tid, path, st.Size, st.MTime)
	return w.s.wrap(err)
}

// Commit implements cache.RecordWriter.
func (w *Writer) Commit() error {
	if err := w.commit(); err != nil {
		_ = w.Rollback() // the error returned says what went wrong
		return err
	}
	return nil
}

func (w *Writer) commit() error {
	if err := w.wait(); err != nil {
		return err
	}
	if err := w.flush(w.cur); err != nil {
		return err
	}
	if err := w.writeRollups(w.coarse); err != nil {
		return err
	}
	if err := w.compact(); err != nil {
		return w.s.wrapf("compact the rollups", err)
	}
	now := w.s.now()
	if _, err := w.tx.Exec(w.ctx, "UPDATE tenants SET updated_at = $1 WHERE id = $2", now.UnixNano(), w.tid); err != nil {
		return w.s.wrap(err)
	}
	if s := w.sync; s != nil {
		s.UpdatedAt = now
		var next, finished any
		if s.Next != "" {
			next = s.Next
		}
		if s.Finished {
			finished = now.UnixNano()
		}
		if _, err := w.tx.Exec(w.ctx, `INSERT INTO syncs (tenant, api_url, window_start, window_end, last_ts, next_url,
			pages, records, started_at, updated_at, finished_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
			ON CONFLICT (tenant) DO UPDATE SET api_url = excluded.api_url, window_start = excluded.window_start,
			window_end = excluded.window_end, last_ts = greatest(syncs.last_ts, excluded.last_ts), next_url = excluded.next_url,
			pages = excluded.pages, records = excluded.records, started_at = excluded.started_at,
			updated_at = excluded.updated_at, finished_at = excluded.finished_at`,
			w.tid, s.APIURL, s.WindowStart.UnixNano(), s.WindowEnd.UnixNano(), s.LastTS, next,
			s.Pages, s.Records+w.added, s.StartedAt.UnixNano(), now.UnixNano(), finished); err != nil {
			return w.s.wrapf("save the sync position", err)
		}
	}
	if w.sourceSync != nil {
		if err := saveSourceSync(w.ctx, w.tx, w.tid, *w.sourceSync, now); err != nil {
			return w.s.wrapf("save the sync position", err)
		}
	}
	if err := w.tx.Commit(w.ctx); err != nil {
		return w.s.wrapf("commit to the team store", err)
	}
	if w.added >= analyzeAfter {
		// The planner's figures of the tables, after an import that
		// changed them much (autovacuum would, later).
		// VACUUM marks the rollups' pages all-visible, so that reports read
		// them from the index alone.
		_, _ = w.conn.Exec(w.ctx, "ANALYZE records")          // a missed ANALYZE slows, never breaks
		_, _ = w.conn.Exec(w.ctx, "VACUUM (ANALYZE) rollups") // the same
	}
	w.release()
	return nil
}

// Rollback implements cache.RecordWriter.
func (w *Writer) Rollback() error {
	if w.conn == nil {
		return nil
	}
	_ = w.wait() // the transaction is undone whatever the flush did
	err := w.tx.Rollback(context.WithoutCancel(w.ctx))
	w.release()
	if errors.Is(err, pgx.ErrTxClosed) {
		return nil
	}
	return err
}

func (w *Writer) release() {
	if w.conn != nil {
		w.conn.Release()
		w.conn = nil
	}
}
