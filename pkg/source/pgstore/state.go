package pgstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/nextcore-ai/nextcore/pkg/source"
	"github.com/nextcore-ai/nextcore/pkg/source/cache"
)

// SyncState implements cache.Store.
func (s *Store) SyncState(ctx context.Context, tenant string) (*cache.SyncState, error) {
	var st cache.SyncState
	var ws, we, started, updated int64
	var next *string
	var finished *int64
	tid, ok, err := s.knownTenant(ctx, tenant)
	if !ok || err != nil {
		return nil, err
	}
	err = s.pool.QueryRow(ctx, `SELECT api_url, window_start, window_end, last_ts, next_url,
		pages, records, started_at, updated_at, finished_at FROM syncs WHERE tenant = $1`, once, tid).
		Scan(&st.APIURL, &ws, &we, &st.LastTS, &next, &st.Pages, &st.Records, &started, &updated, &finished)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, s.wrap(err)
	}
	st.WindowStart, st.WindowEnd = time.Unix(0, ws), time.Unix(0, we)
	st.StartedAt, st.UpdatedAt = time.Unix(0, started), time.Unix(0, updated)
	if next != nil {
		st.Next = *next
	}
	st.Finished = finished != nil
	return &st, nil
}

// SourceSync implements cache.Store.
func (s *Store) SourceSync(ctx context.Context, tenant, src string) (*cache.SourceSync, error) {
	st := cache.SourceSync{Source: src}
	var to, chunk, chunkEnd int64
	tid, ok, err := s.knownTenant(ctx, tenant)
	if !ok || err != nil {
		return nil, err
	}
	err = s.pool.QueryRow(ctx, `SELECT synced_to, chunk, chunk_end, next_page, pages
		FROM source_syncs WHERE tenant = $1 AND source = $2`, tid, src).
		Scan(&to, &chunk, &chunkEnd, &st.NextPage, &st.Pages)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, s.wrap(err)
	}
	if to > 0 {
		st.SyncedTo = time.Unix(0, to).UTC()
	}
	if chunk > 0 {
		st.Chunk, st.ChunkEnd = time.Unix(0, chunk).UTC(), time.Unix(0, chunkEnd).UTC()
	}
	return &st, nil
}

func saveSourceSync(ctx context.Context, tx pgx.Tx, tid int32, st cache.SourceSync, now time.Time) error {
	ns := func(t time.Time) int64 {
		if t.IsZero() {
			return 0
		}
		return t.UnixNano()
	}
	_, err := tx.Exec(ctx, `INSERT INTO source_syncs (tenant, source, synced_to, chunk, chunk_end, next_page, pages, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (tenant, source) DO UPDATE SET synced_to = excluded.synced_to,
		chunk = excluded.chunk, chunk_end = excluded.chunk_end, next_page = excluded.next_page, pages = excluded.pages,
		updated_at = excluded.updated_at`,
		tid, st.Source, ns(st.SyncedTo), ns(st.Chunk), ns(st.ChunkEnd), st.NextPage, st.Pages, now.UnixNano())
	return err
}

// ImportedFiles implements cache.Store.
func (s *Store) ImportedFiles(ctx context.Context, tenant string) (map[string]cache.FileState, error) {
	out := map[string]cache.FileState{}
	tid, ok, err := s.knownTenant(ctx, tenant)
	if !ok || err != nil {
		return out, err
	}
	rows, err := s.pool.Query(ctx, "SELECT path, size, mtime FROM imported_files WHERE tenant = $1", tid)
	if err != nil {
		return nil, s.wrap(err)
	}
	defer rows.Close()
	for rows.Next() {
		var path string
		var st cache.FileState
		if err := rows.Scan(&path, &st.Size, &st.MTime); err != nil {
			return nil, s.wrap(err)
		}
		out[path] = st
	}
	return out, s.wrap(rows.Err())
}

// Quota implements cache.Store.
func (s *Store) Quota(ctx context.Context, tenant string) (*cache.Quota, error) {
	var q cache.Quota
	var start *string
	var calls, tokens, spend *int64
	var fetched int64
	tid, ok, err := s.knownTenant(ctx, tenant)
	if !ok || err != nil {
		return nil, err
	}
	err = s.pool.QueryRow(ctx, "SELECT period_start, api_calls, tokens, spend, fetched_at FROM quotas WHERE tenant = $1",
		once, tid).Scan(&start, &calls, &tokens, &spend, &fetched)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, s.wrap(err)
	}
	if start != nil {
		q.PeriodStart = *start
	}
	q.APICalls, q.Tokens = calls, tokens
	if spend != nil {
		u := source.USD(*spend)
		q.Spend = &u
	}
	q.FetchedAt = time.Unix(0, fetched)
	return &q, nil
}

// Limits implements source.LimitKeeper: the limits the last sync stored.
func (s *Store) Limits(ctx context.Context, tenant string) (source.Limits, bool, error) {
	q, err := s.Quota(ctx, tenant)
	if err != nil {
		return source.Limits{}, false, err
	}
	l, ok := q.Limits()
	return l, ok, nil
}

// SetQuota implements cache.Store.
func (s *Store) SetQuota(ctx context.Context, tenant string, q cache.Quota) error {
	return s.inTx(ctx, tenant, func(tx pgx.Tx, tid int32) error {
		var start *string
		if q.PeriodStart != "" {
			start = &q.PeriodStart
		}
		var spend *int64
		if q.Spend != nil {
			v := int64(*q.Spend)
			spend = &v
		}
		_, err := tx.Exec(ctx, `INSERT INTO quotas (tenant, period_start, api_calls, tokens, spend, fetched_at)
			VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (tenant) DO UPDATE SET period_start = excluded.period_start,
			api_calls = excluded.api_calls, tokens = excluded.tokens, spend = excluded.spend, fetched_at = excluded.fetched_at`,
			tid, start, q.APICalls, q.Tokens, spend, q.FetchedAt.UnixNano())
		return err
	})
}

// inTx runs fn in a transaction, with tenant's id (created if new).
func (s *Store) inTx(ctx context.Context, tenant string, fn func(tx pgx.Tx, tid int32) error) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return s.wrap(err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // after Commit it does nothing
	tid, err := tenantID(ctx, tx, tenant, true)
	if err != nil {
		return s.wrap(err)
	}
	if err := fn(tx, tid); err != nil {
		return s.wrap(err)
	}
	return s.wrap(tx.Commit(ctx))
}

// AlertsSent implements source.AlertLog: the alerts sent for a period, as
// "alert|channel", by any host of the team.
func (s *Store) AlertsSent(ctx context.Context, tenant, period string) (map[string]bool, error) {
	out := map[string]bool{}
	tid, ok, err := s.knownTenant(ctx, tenant)
	if !ok || err != nil {
		return out, err
	}
	rows, err := s.pool.Query(ctx, "SELECT alert, channel FROM alerts WHERE tenant = $1 AND period = $2", tid, period)
	if err != nil {
		return nil, s.wrap(err)
	}
	defer rows.Close()
	for rows.Next() {
		var alert, channel string
		if err := rows.Scan(&alert, &channel); err != nil {
			return nil, s.wrap(err)
		}
		out[alert+"|"+channel] = true
	}
	return out, s.wrap(rows.Err())
}

// MarkAlertsSent implements source.AlertLog.
func (s *Store) MarkAlertsSent(ctx context.Context, tenant, period, channel string, alerts []string, at time.Time) error {
	return s.inTx(ctx, tenant, func(tx pgx.Tx, tid int32) error {
		_, err := tx.Exec(ctx, `INSERT INTO alerts (tenant, period, alert, channel, sent_at)
			SELECT $1, $2, a, $3, $4 FROM unnest($5::text[]) AS a ON CONFLICT DO NOTHING`, tid, period, channel, at.UnixNano(), alerts)
		return err
	})
}

// ForgetAlerts implements source.AlertLog.
func (s *Store) ForgetAlerts(ctx context.Context, tenant, period string, alerts []string) error {
	if len(alerts) == 0 {
		return nil
	}
	tid, ok, err := s.knownTenant(ctx, tenant)
	if !ok || err != nil {
		return err
	}
	_, err = s.pool.Exec(ctx, "DELETE FROM alerts WHERE tenant = $1 AND period = $2 AND alert = ANY($3::text[])",
		tid, period, alerts)
	return s.wrap(err)
}

// AddBills implements cache.Store.
func (s *Store) AddBills(ctx context.Context, tenant string, lines []source.BillLine, position *cache.SourceSync) (added, dups int64, err error) {
	err = s.inTx(ctx, tenant, func(tx pgx.Tx, tid int32) error {
		for _, l := range lines {
			tag, err := tx.Exec(ctx, `INSERT INTO bills (tenant, provider, id, start, "end", project, model, item, amount)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING`,
				tid, l.Provider, l.ID, l.Start, l.End, l.Project, l.Model, l.Item, int64(l.Amount))
			if err != nil {
				return fmt.Errorf("store the bill: %w", err)
			}
			added += tag.RowsAffected()
			dups += 1 - tag.RowsAffected()
		}
		if position != nil {
			return saveSourceSync(ctx, tx, tid, *position, s.now())
		}
		return nil
	})
	if err != nil {
		return 0, 0, err
	}
	return added, dups, nil
}

// Bills implements cache.Store.
func (s *Store) Bills(ctx context.Context, tenant, provider string, start, end int64) ([]source.BillLine, error) {
	tid, err := s.tenantID(ctx, tenant)
	if err != nil {
		return nil, s.wrap(err)
	}
	rows, err := s.pool.Query(ctx, `SELECT id, start, "end", project, model, item, amount FROM bills
		WHERE tenant = $1 AND provider = $2 AND start >= $3 AND start < $4 ORDER BY start, id`, tid, provider, start, end)
	if err != nil {
		return nil, s.wrap(err)
	}
	defer rows.Close()
	var out []source.BillLine
	for rows.Next() {
		l := source.BillLine{Provider: provider}
		if err := rows.Scan(&l.ID, &l.Start, &l.End, &l.Project, &l.Model, &l.Item, (*int64)(&l.Amount)); err != nil {
			return nil, s.wrap(err)
		}
		out = append(out, l)
	}
	return out, s.wrap(rows.Err())
}

// LockSync implements cache.Store with a session advisory lock on the
// tenant, held on a connection of its own: a second sync or import of the
// tenant, from any host, is refused at once. The server lets the lock go
// when the connection ends, however the process ended.
func (s *Store) LockSync(ctx context.Context, tenant string) (func(), error) {
	conn, err := pgx.ConnectConfig(ctx, s.conn.Copy())
	if err != nil {
		return nil, s.wrap(err)
	}
	key := lockKey("sync", tenant)
	var ok bool
	if err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1)", key).Scan(&ok); err != nil {
		_ = conn.Close(ctx) // the error returned says what went wrong
		return nil, s.wrap(err)
	}
	if !ok {
		_ = conn.Close(ctx) // ours was never taken
		return nil, fmt.Errorf("%w: tenant %s in the team store %s is being synced or imported by another host or process; wait for it to finish",
			cache.ErrSyncRunning, tenant, s.url)
	}
	return func() {
		// Closing the connection lets the lock go, as a lost one does.
		_ = conn.Close(context.WithoutCancel(ctx))
	}, nil
}
