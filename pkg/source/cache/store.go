package cache

import (
	"context"

	"github.com/nextcore-ai/nextcore/pkg/source"
)

// Store is where a tenant's usage is kept: the SQLite cache of one machine
// or the PostgreSQL team store (package pgstore). Both keep the same
// records, rollups, sync positions, quota and alert state, and answer every
// query alike, to the nano-dollar.
type Store interface {
	source.Source
	source.ManySource
	source.LimitKeeper
	source.AlertLog
	source.Counter
	source.RecordLister
	source.Rolled

	// Path says where the store is, for messages: a file's path, or a
	// database URL without its password.
	Path() string
	Close() error
	// Check reads the whole store and says whether it is sound.
	Check(ctx context.Context) error
	Tenants(ctx context.Context) ([]string, error)
	Info(ctx context.Context, tenant string) (source.Info, error)

	SyncState(ctx context.Context, tenant string) (*SyncState, error)
	SourceSync(ctx context.Context, tenant, source string) (*SourceSync, error)
	ImportedFiles(ctx context.Context, tenant string) (map[string]FileState, error)
	Quota(ctx context.Context, tenant string) (*Quota, error)
	SetQuota(ctx context.Context, tenant string, q Quota) error
	AddBills(ctx context.Context, tenant string, lines []source.BillLine, position *SourceSync) (added, dups int64, err error)
	Bills(ctx context.Context, tenant, provider string, start, end int64) ([]source.BillLine, error)

	// Begin starts adding records for tenant (created if new), in one
	// transaction.
	Begin(ctx context.Context, tenant string) (RecordWriter, error)
	// LockSync keeps every other sync or import of tenant out until unlock
	// is called: it fails with ErrSyncRunning when one holds the lock.
	LockSync(ctx context.Context, tenant string) (unlock func(), err error)
	// Publish makes a store built by an import visible (a no-op where
	// nothing is built aside).
	Publish(ctx context.Context) error
}

// RecordWriter adds records to a store in one transaction: either
// everything it was given is stored, or (on Rollback, an error, or a
// crash) nothing is.
type RecordWriter interface {
	Add(r *source.Record) error
	// SaveSync and SaveSourceSync store a sync's position with the commit.
	SaveSync(s SyncState)
	SaveSourceSync(s SourceSync)
	// RememberFile records, with the commit, a file an import read.
	RememberFile(path string, st FileState) error
	Commit() error
	// Rollback forgets everything added; it is safe after Commit.
	Rollback() error
	// Stored counts the records given to Add: new, and already stored.
	Stored() (added, dups int64)
}

var _ Store = (*Cache)(nil)

// Begin implements Store.
func (c *Cache) Begin(ctx context.Context, tenant string) (RecordWriter, error) {
	w, err := c.BeginWrite(ctx, tenant)
	if err != nil {
		return nil, err
	}
	return w, nil
}

// Stored implements RecordWriter.
func (w *Writer) Stored() (added, dups int64) { return w.Added, w.Duplicates }

// LockSync implements Store with the lock file beside the cache.
func (c *Cache) LockSync(_ context.Context, _ string) (func(), error) {
	return LockSync(c.path)
}

// PlanPiece is a stretch [Start, End) of time (Unix ns) that one rollup
// level answers: Level is a bucket length in seconds, or 0 for the raw
// records.
type PlanPiece struct {
	Level, Start, End int64
}

// Plan covers the intervals between bounds with pieces of the given rollup
// levels (seconds, coarsest first) and raw records at the edges, joining
// pieces of one level that touch: how either store splits a query.
func Plan(levels, bounds []int64) []PlanPiece {
	ps := planAt(levels, bounds)
	out := make([]PlanPiece, len(ps))
	for i, p := range ps {
		out[i] = PlanPiece{p.level, p.start, p.end}
	}
	return out
}
