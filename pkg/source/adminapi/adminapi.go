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

	// The bill: the cost endpoint, its format, how many daily buckets a
	// request asks for, and its query.
	CostPath   string
	CostFormat importer.Format
	CostDays   int
	costQuery  func(start, end time.Time, limit int, page string) url.Values
}

// OpenAI is GET /v1/organization/usage/completions.
var OpenAI = &Provider{
	Name: "openai", Format: importer.OpenAIUsage, BaseURL: "https://api.openai.com", KeyEnv: "OPENAI_ADMIN_KEY",
	Path: "/v1/organization/usage/completions", Buckets: 168,
	auth:     func(req *http.Request, key string) { req.Header.Set("Authorization", "Bearer "+key) },
	query:    openAIQuery("1h", "project_id", "user_id", "api_key_id", "model", "batch", "service_tier"),
	CostPath: "/v1/organization/costs", CostFormat: importer.OpenAICosts, CostDays: 31,
	costQuery: openAIQuery("1d", "project_id", "line_item"),
}

// Anthropic is GET /v1/organizations/usage_report/messages.
var Anthropic = &Provider{
	Name: "anthropic", Format: importer.AnthropicUsage, BaseURL: "https://api.anthropic.com", KeyEnv: "ANTHROPIC_ADMIN_KEY",
	Path: "/v1/organizations/usage_report/messages", Buckets: 168,
	auth: func(req *http.Request, key string) {
		req.Header.Set("x-api-key", key)
		req.Header.Set("anthropic-version", "2023-06-01")
	},
	query:    anthropicQuery("1h", "api_key_id", "workspace_id", "model", "service_tier", "context_window"),
	CostPath: "/v1/organizations/cost_report", CostFormat: importer.AnthropicCost, CostDays: 31,
	costQuery: anthropicQuery("1d", "workspace_id", "description"),
}

// query makes a request's query: the window's bounds as the API writes
// them, the bucket width, the limit, the groups (under the group key the
// API names them with) and the page.
func query(startKey, endKey string, at func(time.Time) string, groupKey, width string, groups ...string) func(start, end time.Time, limit int, page string) url.Values {
	return func(start, end time.Time, limit int, page string) url.Values {
		q := url.Values{}
		q.Set(startKey, at(start))
		q.Set(endKey, at(end))
		q.Set("bucket_width", width)
		q.Set("limit", strconv.Itoa(limit))
		for _, g := range groups {
			q.Add(groupKey, g)
		}
		if page != "" {
			q.Set("page", page)
		}
		return q
	}
}

// openAIQuery is OpenAI's: Unix seconds, group_by repeated.
func openAIQuery(width string, groups ...string) func(start, end time.Time, limit int, page string) url.Values {
	return query("start_time", "end_time", func(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) }, "group_by", width, groups...)
}

// anthropicQuery is Anthropic's: RFC 3339 times, group_by[] repeated.
func anthropicQuery(width string, groups ...string) func(start, end time.Time, limit int, page string) url.Values {
	return query("starting_at", "ending_at", func(t time.Time) string { return t.UTC().Format(time.RFC3339) }, "group_by[]", width, groups...)
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
func Sync(ctx context.Context, c cache.Store, client *api.Client, p *Provider, tenant string, opt Options) (added, dups int64, err error) {
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
			var recs []source.Record
			pg, err := p.fetch(ctx, client, seen, p.Path, p.query(chunk, chunkEnd, p.Buckets, next), "usage", func(body []byte) error {
				var err error
				recs, err = readPage(p, fmt.Sprintf("%s page %d", p.Name, pages+1), body)
				return err
			})
			if err != nil {
				return added, dups, err
			}
			w, err := c.Begin(ctx, tenant)
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
			a, d := w.Stored()
			added += a
			dups += d
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

// fetch gets a page of path with q (its page cursor once only: a cursor
// seen before is a loop) and hands its body to read; what names the page
// in errors.
func (p *Provider) fetch(ctx context.Context, client *api.Client, seen map[string]bool, path string, q url.Values, what string,
	read func(body []byte) error) (page, error) {
	var pg page
	if seen[q.Get("page")] {
		return pg, fmt.Errorf("%s sent the same page cursor twice (a loop); stopping", p.Name)
	}
	seen[q.Get("page")] = true
	u := *client.Base
	u.Path += path
	u.RawQuery = q.Encode()
	err := client.Get(ctx, &u, func(body []byte) error {
		var syntax *json.SyntaxError
		err := json.Unmarshal(body, &pg)
		switch {
		case errors.As(err, &syntax) || errors.Is(err, io.ErrUnexpectedEOF):
			return &wire.SyntaxError{Reason: "not JSON (cut short?)"}
		case err != nil:
			return fmt.Errorf("%s sent a page that is not its %s page: %v", p.Name, what, err)
		}
		return read(body)
	})
	return pg, p.explain(err)
}

// costSource names the position of a provider's bill sync.
func (p *Provider) costSource() string { return p.Name + "-costs" }

// SyncCosts reads the provider's bill (its cost API, daily buckets) of the
// days that are over and settled since the last sync of it (or since, or
// DefaultHistory back) into the cache's bills, a page a transaction with
// the position. It returns the lines added and repeated.
func SyncCosts(ctx context.Context, c cache.Store, client *api.Client, p *Provider, tenant string, opt Options) (added, dups int64, err error) {
	st, err := c.SourceSync(ctx, tenant, p.costSource())
	if err != nil {
		return 0, 0, err
	}
	day := 24 * time.Hour
	now := opt.Now().UTC()
	end := now.Add(-Settle).Truncate(day)
	var start time.Time
	switch {
	case !opt.Since.IsZero():
		start = opt.Since
	case st != nil && !st.SyncedTo.IsZero():
		start = st.SyncedTo
	default:
		start = now.Add(-DefaultHistory)
	}
	start = start.UTC().Truncate(day)
	width := time.Duration(p.CostDays) * day
	for chunk := start; chunk.Before(end); {
		chunkEnd := chunk.Add(width)
		if chunkEnd.After(end) {
			chunkEnd = end
		}
		var lines []source.BillLine
		next := ""
		seen := map[string]bool{}
		for {
			pg, err := p.fetch(ctx, client, seen, p.CostPath, p.costQuery(chunk, chunkEnd, p.CostDays, next), "cost", func(body []byte) error {
				more, err := importer.ReadBill(p.CostFormat, p.Name+" costs", bytes.NewReader(body))
				if err != nil {
					return fmt.Errorf("%s sent a bill this nextcore cannot read: %w", p.Name, err)
				}
				lines = append(lines, more...)
				return nil
			})
			if err != nil {
				return added, dups, err
			}
			if !pg.HasMore || pg.NextPage == nil || *pg.NextPage == "" {
				break
			}
			next = *pg.NextPage
		}
		// A stretch's lines go in with its position: ids made of a bucket and
		// its groups count a line once, however often a stretch is read.
		a, d, err := c.AddBills(ctx, tenant, lines, &cache.SourceSync{Source: p.costSource(), SyncedTo: chunkEnd})
		if err != nil {
			return added, dups, err
		}
		added, dups = added+a, dups+d
		chunk = chunkEnd
	}
	return added, dups, nil
}

// explain says what a refusal of the provider's means, in its terms (the
// NextCore client speaks of tokens and tenants).
func (p *Provider) explain(err error) error {
	if err == nil {
		return nil
	}
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
