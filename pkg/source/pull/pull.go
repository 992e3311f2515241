// Package pull copies a tenant's records from the API into the cache: a
// window fetched page by page on one goroutine while another stores each
// page with the sync's position in one transaction, so that a sync cut
// short anywhere leaves whole pages and goes on from there next time.
package pull

import (
	"context"
	"errors"
	"time"

	"github.com/nextcore-ai/nextcore/pkg/source/api"
	"github.com/nextcore-ai/nextcore/pkg/source/cache"
)

// LateArrivals is how late a record may appear after its timestamp
// (docs/api.md): a sync reads again from the newest stored record − 48 h.
const LateArrivals = 48 * time.Hour

// Start is where a sync of the API at apiURL begins: since, when given;
// else LateArrivals before the newest record the last sync of that API
// stored; else where a first sync that stored nothing began; else first.
// It returns the last sync's state when it goes on from it (nil when the
// state is another API's or there is none).
func Start(state *cache.SyncState, apiURL string, since, first time.Time) (time.Time, *cache.SyncState) {
	if state != nil && state.APIURL != apiURL {
		state = nil // another server: its position means nothing here
	}
	switch {
	case !since.IsZero():
		return since, state
	case state != nil && state.LastTS > 0:
		return time.Unix(0, state.LastTS).Add(-LateArrivals), state
	case state != nil:
		return state.WindowStart, state // a first sync cut short before it stored anything
	}
	return first, state
}

// Options are how Pages reports and recovers.
type Options struct {
	Now func() time.Time // stamps the sync's position
	// Page hears of each stored page: the records added and repeated so
	// far, and the pages.
	Page func(added, dups, pages int64)
	// Panicked turns a panic of the fetching goroutine into an error; it is
	// raised again without it.
	Panicked func(any) error
}

// Pages fetches st's window page by page and stores each page with st
// updated, in one transaction. It returns the records added and repeated
// so far, also on an error.
func Pages(ctx context.Context, c cache.Store, client *api.Client, tenant string, st *cache.SyncState, opt Options) (added, dups int64, err error) {
	fetchCtx, stop := context.WithCancel(ctx)
	defer stop()
	pages := make(chan api.Page, 2)
	var fetchErr error
	go func() {
		defer close(pages)
		defer func() {
			if v := recover(); v != nil {
				if opt.Panicked == nil {
					panic(v)
				}
				fetchErr = opt.Panicked(v)
			}
		}()
		fetchErr = client.Records(fetchCtx, st.WindowStart, st.WindowEnd, func(p api.Page) error {
			select {
			case pages <- p:
				return nil
			case <-fetchCtx.Done():
				return fetchCtx.Err()
			}
		})
	}()
	drain := func() {
		stop()
		for range pages {
		}
	}
	for p := range pages {
		w, err := c.Begin(ctx, tenant)
		if err != nil {
			drain()
			return added, dups, err
		}
		next := *st
		for i := range p.Records {
			if err := w.Add(&p.Records[i]); err != nil {
				w.Rollback()
				drain()
				return added, dups, err
			}
			if t := p.Records[i].Time; t > next.LastTS {
				next.LastTS = t
			}
		}
		next.Pages++
		next.Next = p.Next
		next.Finished = p.Next == ""
		next.UpdatedAt = opt.Now()
		next.Records = added // the writer adds this page's new records at commit
		w.SaveSync(next)
		if err := w.Commit(); err != nil {
			drain()
			return added, dups, err
		}
		a, d := w.Stored()
		added += a
		dups += d
		next.Records = added
		*st = next
		if opt.Page != nil {
			opt.Page(added, dups, st.Pages)
		}
	}
	if fetchErr != nil {
		return added, dups, fetchErr
	}
	if ctx.Err() != nil {
		return added, dups, ctx.Err()
	}
	if !st.Finished {
		return added, dups, errors.New("the API ended without a last page")
	}
	return added, dups, nil
}
