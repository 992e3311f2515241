package api

import (
	"context"
	"errors"
	"time"

	"github.com/nextcore-ai/nextcore/pkg/source"
)

// Source aggregates straight from the API, as the records stream in: its
// memory holds the groups and a page, never the window's records.
type Source struct {
	Client *Client
}

// Aggregate implements source.Source.
func (s *Source) Aggregate(ctx context.Context, tenant string, dim source.Dim, bounds []int64) ([]source.Groups, error) {
	return source.AggregateOne(ctx, s, tenant, dim, bounds)
}

// Limits implements source.LimitKeeper with the API's quota endpoint.
func (s *Source) Limits(ctx context.Context, tenant string) (source.Limits, bool, error) {
	c := *s.Client
	c.Tenant = tenant
	q, err := c.Quota(ctx)
	s.Client.Retried += c.Retried
	if err != nil {
		return source.Limits{}, false, err
	}
	return source.Limits{APICalls: q.APICalls, Tokens: q.Tokens, Spend: q.Spend}, true, nil
}

// Oldest implements source.Beginning with one record: the first the API
// has for the tenant (records come in time order).
func (s *Source) Oldest(ctx context.Context, tenant string) (time.Time, error) {
	c := *s.Client
	c.Tenant = tenant
	c.PageLimit = 1
	var oldest time.Time
	errFound := errors.New("found")
	err := c.Records(ctx, time.Unix(0, 0), time.Now().Add(24*time.Hour), func(p Page) error {
		if len(p.Records) > 0 {
			oldest = time.Unix(0, p.Records[0].Time)
		}
		return errFound // the first page says it
	})
	s.Client.Retried += c.Retried
	if err != nil && !errors.Is(err, errFound) {
		return time.Time{}, err
	}
	return oldest, nil
}

// recentIDs is how many of the latest ids are remembered to drop a record
// the server sends twice.
const recentIDs = 20_000

// AggregateMany fetches the span of all queries once and feeds every record
// to each query. A record delivered again (a retried page, a careless
// cursor) is dropped when its id is among the latest recentIDs.
func (s *Source) AggregateMany(ctx context.Context, tenant string, qs []source.Query) ([][]source.Groups, error) {
	out := make([][]source.Groups, len(qs))
	lo, hi := int64(0), int64(0)
	first := true
	for i, q := range qs {
		out[i] = source.NewGroups(q)
		if len(q.Bounds) < 2 || q.Bounds[0] >= q.Bounds[len(q.Bounds)-1] {
			continue
		}
		if first || q.Bounds[0] < lo {
			lo = q.Bounds[0]
		}
		if first || q.Bounds[len(q.Bounds)-1] > hi {
			hi = q.Bounds[len(q.Bounds)-1]
		}
		first = false
	}
	if first {
		return out, nil
	}
	c := *s.Client
	c.Tenant = tenant
	seen := newRecent(recentIDs)
	err := c.Records(ctx, time.Unix(0, lo), time.Unix(0, hi), func(p Page) error {
		for i := range p.Records {
			if r := &p.Records[i]; seen.add(r.ID) {
				source.Count(qs, out, r)
			}
		}
		return nil
	})
	s.Client.Retried += c.Retried
	if err != nil {
		return nil, err
	}
	return out, nil
}

// recent is a set of the last n ids added.
type recent struct {
	ids  map[string]struct{}
	ring []string
	pos  int
}

func newRecent(n int) *recent {
	return &recent{ids: make(map[string]struct{}, n), ring: make([]string, n)}
}

// add reports whether id is new, and remembers it.
func (r *recent) add(id string) bool {
	if _, ok := r.ids[id]; ok {
		return false
	}
	if old := r.ring[r.pos]; old != "" {
		delete(r.ids, old)
	}
	r.ring[r.pos] = id
	r.ids[id] = struct{}{}
	r.pos = (r.pos + 1) % len(r.ring)
	return true
}

// EachRecord implements source.RecordLister from the API, page by page,
// dropping repeats as AggregateMany does.
func (s *Source) EachRecord(ctx context.Context, tenant string, start, end int64, fn func(*source.Record) error) error {
	c := *s.Client
	c.Tenant = tenant
	seen := newRecent(recentIDs)
	err := c.Records(ctx, time.Unix(0, start), time.Unix(0, end), func(p Page) error {
		for i := range p.Records {
			if r := &p.Records[i]; r.Time >= start && r.Time < end && seen.add(r.ID) {
				if err := fn(r); err != nil {
					return err
				}
			}
		}
		return nil
	})
	s.Client.Retried += c.Retried
	return err
}
