package pgstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/nextcore-ai/nextcore/pkg/source"
	"github.com/nextcore-ai/nextcore/pkg/source/cache"
)

// flushRows is how many records go to the server in one COPY: the writer
// holds no more than these in memory, however long the import.
const flushRows = 50_000

// Writer adds records in one transaction: COPY into a staging table, one
// INSERT … ON CONFLICT DO NOTHING into the records, and the rollups of the
// records that were new, in the same transaction.
type Writer struct {
	s    *Store
	ctx  context.Context
	conn *pgxpool.Conn
	tx   pgx.Tx
	tid  int32

	rows [][]any
	ids  map[string]bool // the ids in rows
	ord  int64

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
	w := &Writer{s: s, ctx: ctx, conn: conn, ids: map[string]bool{}}
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
	if err := w.tx.QueryRow(w.ctx, "SELECT has_table_privilege('records', 'INSERT') AND has_table_privilege('rollups', 'UPDATE')").Scan(&may); err != nil {
		return err
	}
	if !may {
		var role string
		_ = w.tx.QueryRow(w.ctx, "SELECT current_user").Scan(&role) // for the message only
		return fmt.Errorf("%w (%s): the role %s has no INSERT on its tables; reports need SELECT only, syncs, imports and alerts a writer role (see the README's GRANTs)",
			ErrNoWrite, w.s.url, role)
	}
	var err error
	if w.tid, err = tenantID(w.ctx, w.tx, tenant, true); err != nil {
		return err
	}
	_, err = w.tx.Exec(w.ctx, `CREATE TEMP TABLE nc_staging (LIKE records) ON COMMIT DROP;
		CREATE TEMP TABLE nc_fresh (LIKE records) ON COMMIT DROP`)
	return err
}

// Add implements cache.RecordWriter. A record whose id is stored, or was
// given before, is a duplicate: the first one given stays.
func (w *Writer) Add(r *source.Record) error {
	if w.ids[r.ID] {
		w.dups++
		return nil
	}
	w.ids[r.ID] = true
	w.rows = append(w.rows, recordValues(w.tid, r))
	if len(w.rows) >= flushRows {
		return w.flush()
	}
	return nil
}

// flush stores the records held: those whose id is stored are duplicates.
func (w *Writer) flush() error {
	if len(w.rows) == 0 {
		return nil
	}
	given := int64(len(w.rows))
	if _, err := w.tx.CopyFrom(w.ctx, pgx.Identifier{"nc_staging"}, recordCols, pgx.CopyFromRows(w.rows)); err != nil {
		return w.s.wrapf("copy the records to the team store", err)
	}
	tag, err := w.tx.Exec(w.ctx, "WITH ins AS (INSERT INTO records ("+recordList+") SELECT "+recordList+
		" FROM nc_staging ON CONFLICT DO NOTHING RETURNING "+recordList+") INSERT INTO nc_fresh SELECT * FROM ins")
	if err != nil {
		return w.s.wrapf("store the records", err)
	}
	added := tag.RowsAffected()
	w.added += added
	w.dups += given - added
	if added > 0 {
		for _, sql := range rollupSQL {
			if _, err := w.tx.Exec(w.ctx, sql, w.tid); err != nil {
				return w.s.wrapf("update the rollups", err)
			}
		}
	}
	if _, err := w.tx.Exec(w.ctx, "TRUNCATE nc_staging, nc_fresh"); err != nil {
		return w.s.wrap(err)
	}
	w.rows = w.rows[:0]
	clear(w.ids)
	return nil
}

// Stored implements cache.RecordWriter.
func (w *Writer) Stored() (added, dups int64) { return w.added, w.dups }

// SaveSync implements cache.RecordWriter.
func (w *Writer) SaveSync(s cache.SyncState) { w.sync = &s }

// SaveSourceSync implements cache.RecordWriter.
func (w *Writer) SaveSourceSync(s cache.SourceSync) { w.sourceSync = &s }

// RememberFile implements cache.RecordWriter.
func (w *Writer) RememberFile(path string, st cache.FileState) error {
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
	if err := w.flush(); err != nil {
		return err
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
	w.release()
	return nil
}

// Rollback implements cache.RecordWriter.
func (w *Writer) Rollback() error {
	if w.conn == nil {
		return nil
	}
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

// rollupSQL counts the new records (nc_fresh) into the rollups: the
// counters of every rolled dimension and level, the tags' by day, and the
// latency histograms of those but the price keys. Rows of one statement are
// grouped first, so each rollup row is written once a flush.
var rollupSQL = func() []string {
	var values, latValues, narrow []string
	pair := priceSQL(true)
	for _, d := range rolledDims {
		v := fmt.Sprintf("(%d, %s)", d, memberSQL(d))
		values = append(values, v)
		if d.HasLatency() {
			latValues = append(latValues, v)
		}
		if len(levelsFor(d)) > 1 {
			narrow = append(narrow, fmt.Sprint(int(d)))
		}
		if slices.Contains(pairDims, d) {
			values = append(values, fmt.Sprintf(`(%d, %s || E'\x1f' || %s)`, pairCode(d), memberSQL(d), pair))
		}
	}
	levels := fmt.Sprintf("CROSS JOIN LATERAL unnest(CASE WHEN d.dim IN (%s) THEN ARRAY[%d, %d] ELSE ARRAY[%d] END) AS l(level)",
		strings.Join(narrow, ", "), day, hour, day)
	start := func(level string) string {
		z := level + "::bigint * 1000000000"
		return fmt.Sprintf("r.ts - ((r.ts %% (%s)) + (%s)) %% (%s)", z, z, z)
	}
	var upd []string
	for _, c := range counterCols {
		upd = append(upd, fmt.Sprintf("%s = u.%s + excluded.%s", c, c, c))
	}
	counters := "INSERT INTO rollups AS u (tenant, dim, level, start, member, " + strings.Join(counterCols, ", ") + ") "
	onCounters := " ON CONFLICT (tenant, dim, level, start, member) DO UPDATE SET " + strings.Join(upd, ", ")
	lat := "INSERT INTO rollup_latency AS u (tenant, dim, level, start, member, bucket, n) "
	onLat := " ON CONFLICT (tenant, dim, level, start, member, bucket) DO UPDATE SET n = u.n + excluded.n"
	tags := fmt.Sprintf("CROSS JOIN LATERAL unnest(%s) AS t(tag)", tagsSQL)
	return []string{
		counters + "SELECT $1, d.dim, l.level, " + start("l.level") + ", d.member, " + rawSums +
			" FROM nc_fresh r CROSS JOIN LATERAL (VALUES " + strings.Join(values, ", ") + ") AS d(dim, member) " + levels +
			" GROUP BY 2, 3, 4, 5" + onCounters,
		counters + fmt.Sprintf(`SELECT $1, d.dim, %d, %s, d.member, %s FROM nc_fresh r %s
			CROSS JOIN LATERAL (VALUES (%d, t.tag), (%d, t.tag || E'\x1f' || %s)) AS d(dim, member) GROUP BY 2, 4, 5`,
			day, start(fmt.Sprint(day)), rawSums, tags, source.DimTag, pairCode(source.DimTag), pair) + onCounters,
		lat + "SELECT $1, d.dim, l.level, " + start("l.level") + ", d.member, r.lat_bucket, count(*)" +
			" FROM nc_fresh r CROSS JOIN LATERAL (VALUES " + strings.Join(latValues, ", ") + ") AS d(dim, member) " + levels +
			" WHERE r.latency >= 0 GROUP BY 2, 3, 4, 5, 6" + onLat,
		lat + fmt.Sprintf("SELECT $1, %d, %d, %s, t.tag, r.lat_bucket, count(*) FROM nc_fresh r %s WHERE r.latency >= 0 GROUP BY 4, 5, 6",
			source.DimTag, day, start(fmt.Sprint(day)), tags) + onLat,
	}
}()
