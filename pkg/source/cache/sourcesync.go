package cache

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// SourceSync is where a sync from a provider's admin API got to.
type SourceSync struct {
	Source   string
	SyncedTo time.Time // everything before it is stored
	Chunk    time.Time // the start of the stretch being fetched (zero: none)
	ChunkEnd time.Time // … and its end, which its cursor was made for
	NextPage string    // the provider's cursor in it; "" for its first page
	Pages    int64
}

// SourceSync returns tenant's sync state from source, or nil before its
// first sync.
func (c *Cache) SourceSync(ctx context.Context, tenant, source string) (*SourceSync, error) {
	s := SourceSync{Source: source}
	var to, chunk, chunkEnd int64
	err := c.db.QueryRowContext(ctx, `SELECT s.synced_to, s.chunk, s.chunk_end, s.next_page, s.pages
		FROM source_syncs s JOIN tenants t ON t.id = s.tenant WHERE t.slug = ? AND s.source = ?`, tenant, source).
		Scan(&to, &chunk, &chunkEnd, &s.NextPage, &s.Pages)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, c.wrap(err)
	}
	if to > 0 {
		s.SyncedTo = time.Unix(0, to).UTC()
	}
	if chunk > 0 {
		s.Chunk, s.ChunkEnd = time.Unix(0, chunk).UTC(), time.Unix(0, chunkEnd).UTC()
	}
	return &s, nil
}

// SaveSourceSync records the state in the writer's transaction, with the
// page it stores.
func (w *Writer) SaveSourceSync(s SourceSync) { w.sourceSync = &s }

func (w *Writer) writeSourceSync(now time.Time) error {
	if w.sourceSync == nil {
		return nil
	}
	return saveSourceSync(w.ctx, w.tx, w.tenant, *w.sourceSync, now)
}

// saveSourceSync writes a sync's position in tx.
func saveSourceSync(ctx context.Context, tx *sql.Tx, tenant int64, s SourceSync, now time.Time) error {
	ns := func(t time.Time) int64 {
		if t.IsZero() {
			return 0
		}
		return t.UnixNano()
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO source_syncs (tenant, source, synced_to, chunk, chunk_end, next_page, pages, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (tenant, source) DO UPDATE SET synced_to = excluded.synced_to,
		chunk = excluded.chunk, chunk_end = excluded.chunk_end, next_page = excluded.next_page, pages = excluded.pages,
		updated_at = excluded.updated_at`,
		tenant, s.Source, ns(s.SyncedTo), ns(s.Chunk), ns(s.ChunkEnd), s.NextPage, s.Pages, now.UnixNano())
	return err
}
