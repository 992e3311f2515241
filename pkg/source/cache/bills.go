package cache

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/nextcore-ai/nextcore/pkg/source"
)

// AddBills stores the lines of a provider's bill for tenant, in one
// transaction: a line whose id is stored already is a duplicate and changes
// nothing. A sync's position, when given, is stored with them.
func (c *Cache) AddBills(ctx context.Context, tenant string, lines []source.BillLine, position *SourceSync) (added, dups int64, err error) {
	tx, err := c.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, 0, c.wrap(err)
	}
	defer tx.Rollback() //nolint:errcheck // after Commit it does nothing
	tid, err := tenantID(ctx, tx, tenant, true)
	if err != nil {
		return 0, 0, c.wrap(err)
	}
	stmt, err := tx.PrepareContext(ctx, "INSERT INTO bills (tenant, provider, id, start, end, project, model, item, amount) "+
		"VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING")
	if err != nil {
		return 0, 0, c.wrap(err)
	}
	defer stmt.Close() //nolint:errcheck // closed with the transaction
	for _, l := range lines {
		res, err := stmt.ExecContext(ctx, tid, l.Provider, l.ID, l.Start, l.End, l.Project, l.Model, l.Item, int64(l.Amount))
		if err != nil {
			return 0, 0, c.wrap(fmt.Errorf("store the bill: %w", err))
		}
		n, err := res.RowsAffected()
		if err != nil {
			return 0, 0, c.wrap(err)
		}
		added += n
		dups += 1 - n
	}
	if position != nil {
		if err := saveSourceSync(ctx, tx, tid, *position, c.now()); err != nil {
			return 0, 0, c.wrap(fmt.Errorf("save the sync position: %w", err))
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, 0, c.wrap(fmt.Errorf("store the bill: %w", err))
	}
	return added, dups, nil
}

// Bills are the stored lines of provider's bill for tenant that begin in
// [start, end), in time order.
func (c *Cache) Bills(ctx context.Context, tenant, provider string, start, end int64) ([]source.BillLine, error) {
	var tid int64
	err := c.db.QueryRowContext(ctx, "SELECT id FROM tenants WHERE slug = ?", tenant).Scan(&tid)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: %q", ErrNoTenant, tenant)
	}
	if err != nil {
		return nil, c.wrap(err)
	}
	var has int
	if err := c.db.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_schema WHERE name = 'bills'").Scan(&has); err != nil {
		return nil, c.wrap(err)
	}
	if has == 0 {
		return nil, nil // a cache opened read-only before its upgrade: no bill imported
	}
	rows, err := c.db.QueryContext(ctx, "SELECT id, start, end, project, model, item, amount FROM bills "+
		"WHERE tenant = ? AND provider = ? AND start >= ? AND start < ? ORDER BY start, id", tid, provider, start, end)
	if err != nil {
		return nil, c.wrap(err)
	}
	defer rows.Close()
	var out []source.BillLine
	for rows.Next() {
		l := source.BillLine{Provider: provider}
		if err := rows.Scan(&l.ID, &l.Start, &l.End, &l.Project, &l.Model, &l.Item, &l.Amount); err != nil {
			return nil, c.wrap(err)
		}
		out = append(out, l)
	}
	return out, c.wrap(rows.Err())
}
