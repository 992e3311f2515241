package cache

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// SyncState is where a tenant's API sync got to.
type SyncState struct {
	APIURL      string
	WindowStart time.Time // the window the sync asked for
	WindowEnd   time.Time
	LastTS      int64  // Unix ns of the newest record a sync stored; 0 if none
	Next        string // the next page's URL while the window is unfinished
	Pages       int64
	Records     int64 // new records stored by the latest sync (SaveSync adds the writer's)
	StartedAt   time.Time
	UpdatedAt   time.Time
	Finished    bool
}

// SyncState returns the tenant's sync state, or nil before its first sync.
func (c *Cache) SyncState(ctx context.Context, tenant string) (*SyncState, error) {
	var s SyncState
	var ws, we, started, updated int64
	var next sql.NullString
	var finished sql.NullInt64
	err := c.db.QueryRowContext(ctx, `SELECT s.api_url, s.window_start, s.window_end, s.last_ts, s.next_url,
		s.pages, s.records, s.started_at, s.updated_at, s.finished_at
		FROM syncs s JOIN tenants t ON t.id = s.tenant WHERE t.slug = ?`, tenant).
		Scan(&s.APIURL, &ws, &we, &s.LastTS, &next, &s.Pages, &s.Records, &started, &updated, &finished)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, c.wrap(err)
	}
	s.WindowStart, s.WindowEnd = time.Unix(0, ws), time.Unix(0, we)
	s.StartedAt, s.UpdatedAt = time.Unix(0, started), time.Unix(0, updated)
	s.Next, s.Finished = next.String, finished.Valid
	return &s, nil
}

// SaveSync records the sync state in the writer's transaction, so that the
// page it stores and the position after it are kept together or not at all.
func (w *Writer) SaveSync(s SyncState) {
	w.sync = &s
}

// writeSync writes the state saved with SaveSync, stamped with the commit's
// time.
func (w *Writer) writeSync(now time.Time) error {
	s := w.sync
	if s == nil {
		return nil
	}
	s.UpdatedAt = now
	var next, finished any
	if s.Next != "" {
		next = s.Next
	}
	if s.Finished {
		finished = s.UpdatedAt.UnixNano()
	}
	_, err := w.tx.ExecContext(w.ctx, `INSERT INTO syncs (tenant, api_url, window_start, window_end, last_ts, next_url,
		pages, records, started_at, updated_at, finished_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (tenant) DO UPDATE SET api_url = excluded.api_url, window_start = excluded.window_start,
		window_end = excluded.window_end, last_ts = max(last_ts, excluded.last_ts), next_url = excluded.next_url,
		pages = excluded.pages, records = excluded.records, started_at = excluded.started_at,
		updated_at = excluded.updated_at, finished_at = excluded.finished_at`,
		w.tenant, s.APIURL, s.WindowStart.UnixNano(), s.WindowEnd.UnixNano(), s.LastTS, next,
		s.Pages, s.Records+w.Added, s.StartedAt.UnixNano(), s.UpdatedAt.UnixNano(), finished)
	return err
}
