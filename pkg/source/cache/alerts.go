package cache

import (
	"context"
	"time"
)

// AlertsSent lists the alerts already sent for tenant in a billing month, as
// "alert|channel".
func (c *Cache) AlertsSent(ctx context.Context, tenant, period string) (map[string]bool, error) {
	rows, err := c.db.QueryContext(ctx, `SELECT a.alert, a.channel FROM alerts a JOIN tenants t ON t.id = a.tenant
		WHERE t.slug = ? AND a.period = ?`, tenant, period)
	if err != nil {
		return nil, c.wrap(err)
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var alert, channel string
		if err := rows.Scan(&alert, &channel); err != nil {
			return nil, c.wrap(err)
		}
		out[alert+"|"+channel] = true
	}
	return out, c.wrap(rows.Err())
}

// MarkAlertsSent remembers that alerts went out on a channel.
func (c *Cache) MarkAlertsSent(ctx context.Context, tenant, period, channel string, alerts []string, at time.Time) error {
	tx, err := c.db.BeginTx(ctx, nil)
	if err != nil {
		return c.wrap(err)
	}
	defer tx.Rollback()
	tid, err := tenantID(ctx, tx, tenant, true)
	if err != nil {
		return c.wrap(err)
	}
	for _, a := range alerts {
		if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO alerts (tenant, period, alert, channel, sent_at) VALUES (?, ?, ?, ?, ?)`,
			tid, period, a, channel, at.UnixNano()); err != nil {
			return c.wrap(err)
		}
	}
	return c.wrap(tx.Commit())
}

// ForgetAlerts forgets that alerts of a period went out, on every channel,
// so that they go out again when next reached (a rolling budget's, whose
// use fell back below them).
func (c *Cache) ForgetAlerts(ctx context.Context, tenant, period string, alerts []string) error {
	if len(alerts) == 0 {
		return nil
	}
	tx, err := c.db.BeginTx(ctx, nil)
	if err != nil {
		return c.wrap(err)
	}
	defer tx.Rollback()
	for _, a := range alerts {
		if _, err := tx.ExecContext(ctx, `DELETE FROM alerts WHERE tenant = (SELECT id FROM tenants WHERE slug = ?) AND period = ? AND alert = ?`,
			tenant, period, a); err != nil {
			return c.wrap(err)
		}
	}
	return c.wrap(tx.Commit())
}
