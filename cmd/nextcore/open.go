// Opening the usage a report reads: the cache (or the demo's), or the API
// live, with the tenant settled.

package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nextcore-ai/nextcore/pkg/report"
	"github.com/nextcore-ai/nextcore/pkg/report/render"
	"github.com/nextcore-ai/nextcore/pkg/source"
	"github.com/nextcore-ai/nextcore/pkg/source/cache"
)

// report is an open source of usage for one tenant.
type reportSource struct {
	src    source.Source
	tenant string
	meta   render.Meta
	close  func()
	// dataStart is the oldest record's time (zero when unknown, as live
	// from the API): a previous window before it is only partly covered.
	dataStart time.Time
	// money is how reports reckon cost: --cost and the price book.
	money *report.Money
}

// openSource opens the cache (or the demo cache) for a report and settles
// the tenant: the one named, or the only one the cache holds. The price
// book is read first: a bad price file stops the report before anything
// is opened.
func (a *App) openSource(ctx context.Context, s *settings) (*reportSource, error) {
	book, err := a.book(s)
	if err != nil {
		return nil, err
	}
	if !s.demo && s.teamStore() {
		// The report waits on the server (its connection) a while: the
		// book is filled meanwhile, should the report price.
		book.Warm()
	}
	rs, err := a.openUsage(ctx, s)
	if err != nil {
		return nil, err
	}
	rs.money = &report.Money{Mode: s.cost, Book: book}
	return rs, nil
}

// openUsage opens where the report's usage comes from.
func (a *App) openUsage(ctx context.Context, s *settings) (*reportSource, error) {
	if s.demo {
		return a.openDemo(ctx, s)
	}
	if s.source == "api" {
		return a.openAPI(s)
	}
	c, err := openStore(ctx, s.cachePath, a.cacheOptions(false))
	if errors.Is(err, cache.ErrNoCache) {
		return nil, fmt.Errorf("no usage yet: the cache %s does not exist. Import records with 'nextcore usage import FILE --tenant SLUG', or try 'nextcore usage stats --demo'", s.cacheName())
	}
	if err != nil {
		return nil, err
	}
	tenant := s.tenant
	if tenant != "" {
		info, err := c.Info(ctx, tenant)
		if err == nil {
			return a.cacheSource(ctx, c, tenant, info), nil
		}
		if !errors.Is(err, cache.ErrNoTenant) {
			_ = c.Close() // the error returned says what went wrong
			return nil, err
		}
	}
	// No tenant named, or not one the cache holds: which does it hold?
	tenants, err := c.Tenants(ctx)
	if err != nil {
		_ = c.Close() // the error returned says what went wrong
		return nil, err
	}
	switch {
	case len(tenants) == 0:
		_ = c.Close() // the error returned says what went wrong
		return nil, fmt.Errorf("no usage yet: the cache %s is empty. Import records with 'nextcore usage import FILE --tenant SLUG'", s.cacheName())
	case tenant == "" && len(tenants) == 1:
		tenant = tenants[0]
	case tenant == "":
		_ = c.Close() // the error returned says what went wrong
		return nil, usagef("the cache holds several tenants (%s): choose one with --tenant", strings.Join(tenants, ", "))
	case !contains(tenants, tenant):
		_ = c.Close() // the error returned says what went wrong
		return nil, fmt.Errorf("tenant %q has no usage in the cache %s (it holds: %s)", tenant, s.cacheName(), strings.Join(tenants, ", "))
	}
	info, err := c.Info(ctx, tenant)
	if err != nil {
		_ = c.Close() // the error returned says what went wrong
		return nil, err
	}
	return a.cacheSource(ctx, c, tenant, info), nil
}

// cacheSource is the report's source of a cache's tenant, noting when the
// cache was last synced or written.
func (a *App) cacheSource(ctx context.Context, c cache.Store, tenant string, info source.Info) *reportSource {
	meta := render.Meta{Source: "cache"}
	if st, err := c.SyncState(ctx, tenant); err == nil && st != nil && st.Finished && !st.UpdatedAt.Before(info.UpdatedAt) {
		meta.Note = "cache synced " + ago(a.now().Sub(st.UpdatedAt))
	} else if !info.UpdatedAt.IsZero() {
		meta.Note = "cache updated " + ago(a.now().Sub(info.UpdatedAt))
	}
	return &reportSource{src: c, tenant: tenant, meta: meta, close: func() { _ = c.Close() } /* reports only read */, dataStart: info.Oldest}
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// ago says how long ago something happened, roughly.
func ago(d time.Duration) string {
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return strconv.Itoa(int(d.Minutes())) + " min ago"
	case d < 48*time.Hour:
		return strconv.Itoa(int(d.Hours())) + " h ago"
	}
	return strconv.Itoa(int(d.Hours()/24)) + " days ago"
}
