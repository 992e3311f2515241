package main

import (
	"context"
	"fmt"
	"time"

	"github.com/nextcore-ai/nextcore/pkg/report/render"
	"github.com/nextcore-ai/nextcore/pkg/source"
	"github.com/nextcore-ai/nextcore/pkg/source/cache"
	"github.com/nextcore-ai/nextcore/pkg/source/synth"
)

// The demo tenant: synthetic traffic whose last 400 days end now, kept in a
// cache of its own so that it never mixes with real usage.
const (
	demoTenant = "demo"
	demoDays   = 400
	demoPerDay = 1500 // calls a day at the end; traffic triples over the 400 days
	demoGrowth = 3
)

func (a *App) openDemo(ctx context.Context, s *settings) (*reportSource, error) {
	path := defaultCachePath(a.env, "demo.db")
	c, err := cache.Open(ctx, path, a.cacheOptions(true))
	if err != nil {
		return nil, err
	}
	if err := a.refreshDemo(ctx, c); err != nil {
		_ = c.Close() // the error returned says what went wrong
		return nil, err
	}
	meta := render.Meta{Source: "demo", Note: "demo data (synthetic tenant)"}
	info, err := c.Info(ctx, demoTenant)
	if err != nil {
		_ = c.Close() // the error returned says what went wrong
		return nil, err
	}
	return &reportSource{src: c, tenant: demoTenant, meta: meta, close: func() { _ = c.Close() }, dataStart: info.Oldest}, nil
}

// refreshDemo generates the demo's records up to now: all 400 days on first
// use, the hours since the last run after that.
func (a *App) refreshDemo(ctx context.Context, c *cache.Cache) error {
	now := a.now()
	start := now.AddDate(0, 0, -demoDays)
	cfg := synth.Config{Seed: 2026, Start: start, End: now, PerDay: demoPerDay, Growth: demoGrowth, Failure: 0.03, Loc: time.UTC,
		Ledger: true}
	info, err := c.Info(ctx, demoTenant)
	fresh := err != nil || info.Records == 0
	if !fresh {
		if now.Sub(info.Newest) < time.Minute {
			return nil
		}
		cfg.Start = info.Newest.Add(time.Millisecond)
		if cfg.Start.Before(start) {
			cfg.Start = start
		}
		cfg.Seed = uint64(cfg.Start.UnixNano())
		cfg.Growth = 1
	} else {
		fmt.Fprintf(a.Stderr, "Generating %d days of synthetic demo usage (first run only)…\n", demoDays)
	}
	w, err := c.BeginWrite(ctx, demoTenant)
	if err != nil {
		return err
	}
	defer w.Rollback()
	if err := synth.Generate(cfg, func(r *source.Record) error {
		return w.Add(r)
	}); err != nil {
		return err
	}
	if err := w.Commit(); err != nil {
		return err
	}
	if !fresh {
		return nil
	}
	// Limits as if synced from the API: spend a little under a month's pace,
	// so that the quota and the forecast have something to say.
	g, err := c.Aggregate(ctx, demoTenant, source.DimAll, []int64{now.AddDate(0, 0, -30).UnixNano(), now.UnixNano()})
	if err != nil {
		return err
	}
	month := g[0][""]
	calls := (month.Calls*3/2 + 999) / 1000 * 1000
	spend := source.USD(max(int64(month.Cost)*95/100/(10*source.NanosPerUSD), 1) * 10 * source.NanosPerUSD)
	return c.SetQuota(ctx, demoTenant, cache.Quota{APICalls: &calls, Spend: &spend, FetchedAt: now})
}
