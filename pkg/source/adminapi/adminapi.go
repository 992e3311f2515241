// Package adminapi syncs a tenant's usage from the providers' admin APIs
// (OpenAI's organization usage, Anthropic's usage report) into the cache:
// hourly buckets, a week of them a request, page by page, each page stored
// with the sync's position in one transaction, so that a sync cut short
// anywhere (kill -9 included) goes on from the page after the last one
// stored and counts nothing twice. Only hours that are over (and settled:
// an hour more) are asked for: a provider's bucket still filling would be
// stored as it was.
package adminapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/nextcore-ai/nextcore/pkg/source"
	"github.com/nextcore-ai/nextcore/pkg/source/api"
	"github.com/nextcore-ai/nextcore/pkg/source/cache"
	"github.com/nextcore-ai/nextcore/pkg/source/importer"
	"github.com/nextcore-ai/nextcore/pkg/source/wire"
)

// Provider is an admin API.
type Provider struct {
	Name    string          // openai, anthropic
	Format  importer.Format // how its pages read
	BaseURL string          // https://api.openai.com
	KeyEnv  string          // where the admin key is: the environment only
	Path    string          // the usage endpoint
	// Buckets is how many hourly buckets a request asks for (the API's
	// most for 1h buckets).
	Buckets int
	auth    func(req *http.Request, key string)
	query   func(start, end time.Time, limit int, page string) url.Values
}

// OpenAI is GET /v1/organization/usage/completions.
var OpenAI = &Provider{
	Name: "openai", Format: importer.OpenAIUsage, BaseURL: "https://api.openai.com", KeyEnv: "OPENAI_ADMIN_KEY",
	Path: "/v1/organization/usage/completions", Buckets: 168,
	auth: func(req *http.Request, key string) { req.Header.Set("Authorization", "Bearer "+key) },
	query: func(start, end time.Time, limit int, page string) url.Values {
		q := url.Values{}
		q.Set("start_time", strconv.FormatInt(start.Unix(), 10))
		q.Set("end_time", strconv.FormatInt(end.Unix(), 10))
		q.Set("bucket_width", "1h")
		q.Set("limit", strconv.Itoa(limit))
		for _, g := range []string{"project_id", "user_id", "api_key_id", "model", "batch", "service_tier"} {
			q.Add("group_by", g)
		}
		if page != "" {
			q.Set("page", page)
		}
		return q
	},
}

// Anthropic is GET /v1/organizations/usage_report/messages.
var Anthropic = &Provider{
	Name: "anthropic", Format: importer.AnthropicUsage, BaseURL: "https://api.anthropic.com", KeyEnv: "ANTHROPIC_ADMIN_KEY",
	Path: "/v1/organizations/usage_report/messages", Buckets: 168,
	auth: func(req *http.Request, key string) {
		req.Header.Set("x-api-key", key)
		req.Header.Set("anthropic-version", "2023-06-01")
	},
	query: func(start, end time.Time, limit int, page string) url.Values {
		q := url.Values{}
		q.Set("starting_at", start.UTC().Format(time.RFC3339))
		q.Set("ending_at", end.UTC().Format(time.RFC3339))
		q.Set("bucket_width", "1h")
		q.Set("limit", strconv.Itoa(limit))
		for _, g := range []string{"api_key_id", "workspace_id", "model", "service_tier", "context_window"} {
			q.Add("group_by[]", g)
		}
		if page != "" {
			q.Set("page", page)
		}
		return q
	},
}

// Providers are the admin APIs a sync reads, by name.
var Providers = map[string]*Provider{"openai": OpenAI, "anthropic": Anthropic}

// Client is an API client for p at base with the admin key: the NextCore
// client's retries, backoff and Retry-After, with p's credentials.
func (p *Provider) Client(base, key, userAgent string) (*api.Client, error) {
	c, err := api.New(base, "", key, "$"+p.KeyEnv, userAgent)
	if err != nil {
		return nil, err
	}
	c.Auth = func(req *http.Request) { p.auth(req, key) }
	return c, nil
}

// Settle is how long after an hour ends its bucket is taken as final.
const Settle = time.Hour

// DefaultHistory is how far back a first sync reads without --since.
const DefaultHistory = 30 * 24 * time.Hour

// Options are how Sync reports.
type Options struct {
	Now func() time.Time
	// Since is where to begin (zero: after what the last sync stored, or
	// DefaultHistory before now for the first).
	Since time.Time
	// Page hears of each stored page: records added and repeated so far,
	// and pages.
	Page func(added, dups, pages int64)
}

// Window is the stretch a sync reads: from its start (the last sync's end,
// or since) to the last settled hour.
func Window(st *cache.SourceSync, opt Options) (start, end time.Time) {
	now := opt.Now().UTC()
	end = now.Add(-Settle).Truncate(time.Hour)
	switch {
	case !opt.Since.IsZero():
		start = opt.Since
	case st != nil && !st.Chunk.IsZero():
		start = st.Chunk // a sync cut short inside a stretch
	case st != nil && !st.SyncedTo.IsZero():
		start = st.SyncedTo
	default:
		start = now.Add(-DefaultHistory)
	}
	return start.UTC().Truncate(time.Hour), end
}

// page is what a sync reads of a page besides its buckets.
type page struct {
	HasMore  bool    `json:"has_more"`
	NextPage *string `json:"next_page"`
}

// Sync reads the provider's usage of the window into the cache for tenant,
// a page a transaction.
func Sync(ctx context.Context, c *cache.Cache, client *api.Client, p *Provider, tenant string, opt Options) (added, dups int64, err error) {
	st, err := c.SourceSync(ctx, tenant, p.Name)
	if err != nil {
		return 0, 0, err
	}
	start, end := Window(st, opt)
	next, pages := "", int64(0)
	if st != nil {
		pages = st.Pages
		if opt.Since.IsZero() && !st.Chunk.IsZero() {
			next = st.NextPage // on from the page after the last one stored
		}
	}
	width := time.Duration(p.Buckets) * time.Hour
	for chunk := start; chunk.Before(end); {
		chunkEnd := chunk.Add(width)
		if chunkEnd.After(end) {
			chunkEnd = end
		}
		if next != "" && st != nil && !st.ChunkEnd.IsZero() {
			chunkEnd = st.ChunkEnd // the stretch the cursor was made for
		}
		seen := map[string]bool{}
		for {
			if seen[next] {
				return added, dups, fmt.Errorf("%s sent the same page cursor twice (a loop); stopping", p.Name)
			}
			seen[next] = true
			u := *client.Base
			u.Path += p.Path
			u.RawQuery = p.query(chunk, chunkEnd, p.Buckets, next).Encode()
			var recs []source.Record
			var pg page
			err := client.Get(ctx, &u, func(body []byte) error {
				if !json.Valid(body) {
					return &wire.SyntaxError{Reason: "not JSON (cut short?)"}
				}
				if err := json.Unmarshal(body, &pg); err != nil {
					return fmt.Errorf("%s sent a page that is not its usage page: %v", p.Name, err)
				}
				var err error
				recs, err = readPage(p, fmt.Sprintf("%s page %d", p.Name, pages+1), body)
				return err
			})
			if err != nil {
				return added, dups, p.explain(err)
			}
			w, err := c.BeginWrite(ctx, tenant)
			if err != nil {
				return added, dups, err
			}
			for i := range recs {
				if err := w.Add(&recs[i]); err != nil {
					w.Rollback()
					return added, dups, err
				}
			}
			pages++
			state := cache.SourceSync{Source: p.Name, Chunk: chunk, ChunkEnd: chunkEnd, Pages: pages}
			if st != nil {
				state.SyncedTo = st.SyncedTo
			}
			more := pg.HasMore && pg.NextPage != nil && *pg.NextPage != ""
			if more {
				state.NextPage = *pg.NextPage
			} else {
				state.Chunk, state.ChunkEnd, state.SyncedTo = time.Time{}, time.Time{}, chunkEnd
			}
			w.SaveSourceSync(state)
			if err := w.Commit(); err != nil {
				return added, dups, err
			}
			added += w.Added
			dups += w.Duplicates
			st = &state
			if opt.Page != nil {
				opt.Page(added, dups, pages)
			}
			if !more {
				next = ""
				break
			}
			next = state.NextPage
		}
		chunk = chunkEnd
	}
	return added, dups, nil
}

// explain says what a refusal of the provider's means, in its terms (the
// NextCore client speaks of tokens and tenants).
func (p *Provider) explain(err error) error {
	var se *api.StatusError
	if !errors.As(err, &se) {
		return err
	}
	switch se.Status {
	case http.StatusUnauthorized:
		return fmt.Errorf("%s rejected the admin key from $%s (HTTP 401): check it; an organisation's admin key is needed, not a project's API key", p.Name, p.KeyEnv)
	case http.StatusForbidden:
		return fmt.Errorf("%s refused the admin key from $%s access to the organisation's usage (HTTP 403)", p.Name, p.KeyEnv)
	}
	return fmt.Errorf("%s: %s", p.Name, strings.TrimPrefix(se.Message, "the API "))
}

// readPage reads the records of a page as the provider's import format
// does; a bad record is an error of the provider's.
func readPage(p *Provider, name string, body []byte) ([]source.Record, error) {
	rd, err := importer.NewReader(p.Format, name, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("%s sent a page this nextcore cannot read: %w", p.Name, err)
	}
	var recs []source.Record
	for {
		var r source.Record
		err := rd.Next(&r)
		if errors.Is(err, io.EOF) {
			return recs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s sent a result this nextcore cannot read: %w", p.Name, err)
		}
		recs = append(recs, r)
	}
}
