package cache

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/nextcore-ai/nextcore/pkg/source"
)

// Quota is a tenant's limits as the API last reported them; nil is unlimited.
type Quota struct {
	PeriodStart string // "" for the calendar month
	APICalls    *int64
	Tokens      *int64
	Spend       *source.USD
	FetchedAt   time.Time
}

// Quota returns the stored limits of tenant, or nil when none are stored.
func (c *Cache) Quota(ctx context.Context, tenant string) (*Quota, error) {
	var q Quota
	var start sql.NullString
	var calls, tokens, spend sql.NullInt64
	var fetched int64
	err := c.db.QueryRowContext(ctx, `SELECT q.period_start, q.api_calls, q.tokens, q.spend, q.fetched_at
		FROM quotas q JOIN tenants t ON t.id = q.tenant WHERE t.slug = ?`, tenant).Scan(&start, &calls, &tokens, &spend, &fetched)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, c.wrap(err)
	}
	q.PeriodStart = start.String
	if calls.Valid {
		q.APICalls = &calls.Int64
	}
	if tokens.Valid {
		q.Tokens = &tokens.Int64
	}
	if spend.Valid {
		u := source.USD(spend.Int64)
		q.Spend = &u
	}
	q.FetchedAt = time.Unix(0, fetched)
	return &q, nil
}

// Limits implements source.LimitKeeper: the limits the last sync stored.
func (c *Cache) Limits(ctx context.Context, tenant string) (source.Limits, bool, error) {
	q, err := c.Quota(ctx, tenant)
	if err != nil {
		return source.Limits{}, false, err
	}
	l, ok := q.Limits()
	return l, ok, nil
}

// Limits are the stored limits as a source.LimitKeeper gives them; ok is
// false when none are stored (q is nil).
func (q *Quota) Limits() (l source.Limits, ok bool) {
	if q == nil {
		return source.Limits{}, false
	}
	return source.Limits{APICalls: q.APICalls, Tokens: q.Tokens, Spend: q.Spend}, true
}

// Count implements source.Counter from the rollups.
func (c *Cache) Count(ctx context.Context, tenant string, start, end int64) (int64, error) {
	g, err := c.Aggregate(ctx, tenant, source.DimAll, []int64{start, end})
	if err != nil {
		return 0, err
	}
	return g[0][""].Calls, nil
}

// SetQuota stores the limits of tenant (created if new).
func (c *Cache) SetQuota(ctx context.Context, tenant string, q Quota) error {
	tx, err := c.db.BeginTx(ctx, nil)
	if err != nil {
		return c.wrap(err)
	}
	defer tx.Rollback()
	tid, err := tenantID(ctx, tx, tenant, true)
	if err != nil {
		return c.wrap(err)
	}
	var start any
	if q.PeriodStart != "" {
		start = q.PeriodStart
	}
	var spend any
	if q.Spend != nil {
		spend = int64(*q.Spend)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO quotas (tenant, period_start, api_calls, tokens, spend, fetched_at)
		VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (tenant) DO UPDATE SET period_start = excluded.period_start,
		api_calls = excluded.api_calls, tokens = excluded.tokens, spend = excluded.spend, fetched_at = excluded.fetched_at`,
		tid, start, nullable(q.APICalls), nullable(q.Tokens), spend, q.FetchedAt.UnixNano()); err != nil {
		return c.wrap(err)
	}
	return c.wrap(tx.Commit())
}

func nullable(p *int64) any {
	if p == nil {
		return nil
	}
	return *p
}
