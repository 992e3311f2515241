package adminapi

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nextcore-ai/nextcore/pkg/source"
	"github.com/nextcore-ai/nextcore/pkg/source/adminapi/adminapitest"
	"github.com/nextcore-ai/nextcore/pkg/source/cache"
)

var (
	now   = time.Date(2026, 11, 24, 10, 30, 0, 0, time.UTC)
	since = time.Date(2026, 11, 10, 0, 0, 0, 0, time.UTC)
	// The last settled hour ends at 09:00: 14 days and 9 hours.
	until = time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
)

type rig struct {
	t      *testing.T
	sim    *adminapitest.Sim
	cache  *cache.Cache
	p      *Provider
	server *httptest.Server
}

func newRig(t *testing.T, p *Provider) *rig {
	sim := &adminapitest.Sim{Provider: p.Name, Key: "admin-key"}
	server := httptest.NewServer(sim)
	t.Cleanup(server.Close)
	c, err := cache.Open(context.Background(), filepath.Join(t.TempDir(), "usage.db"), cache.Options{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &rig{t, sim, c, p, server}
}

func (r *rig) sync(at time.Time, from time.Time) (added, dups int64, err error) {
	client, err := r.p.Client(r.server.URL, "admin-key", "nextcore-test")
	if err != nil {
		r.t.Fatal(err)
	}
	client.Sleep = func(context.Context, time.Duration) error { return nil }
	return Sync(context.Background(), r.cache, client, r.p, "acme", Options{Now: func() time.Time { return at }, Since: from})
}

// stored is the cache's totals of [start, end).
func (r *rig) stored(start, end time.Time) source.Totals {
	res, err := source.AggregateMany(context.Background(), r.cache, "acme",
		[]source.Query{{Dim: source.DimAll, Bounds: []int64{start.UnixNano(), end.UnixNano()}}})
	if err != nil {
		r.t.Fatal(err)
	}
	return res[0][0][""]
}

func (r *rig) check(start, end time.Time) {
	r.t.Helper()
	want, got := r.sim.Expected(start, end), r.stored(start, end)
	if got.Calls != want.Requests && r.p.Name == "openai" || got.CacheRead != want.Cached || got.CacheWrite != want.Write ||
		got.Completion != want.Output || got.Prompt != want.Input+want.Cached+want.Write {
		r.t.Errorf("stored %+v, the provider has %+v", got, want)
	}
}

// TestSyncEachProvider syncs two weeks of hourly buckets, 24 a page, from
// each simulated provider, then again (nothing new), then five hours
// later (those hours only).
func TestSyncEachProvider(t *testing.T) {
	for _, p := range []*Provider{OpenAI, Anthropic} {
		t.Run(p.Name, func(t *testing.T) {
			r := newRig(t, p)
			added, dups, err := r.sync(now, since)
			if err != nil {
				t.Fatal(err)
			}
			if added == 0 || dups != 0 {
				t.Errorf("%d added, %d repeated", added, dups)
			}
			r.check(since, until)
			st, err := r.cache.SourceSync(context.Background(), "acme", p.Name)
			if err != nil || st == nil || !st.SyncedTo.Equal(until) || !st.Chunk.IsZero() || st.Pages != 15 {
				t.Fatalf("state %+v, %v", st, err)
			}
			requests := r.sim.Requests()
			if added, dups, err = r.sync(now, time.Time{}); err != nil || added != 0 || dups != 0 || r.sim.Requests() != requests {
				t.Errorf("again: %d added, %d repeated, %v, %d requests", added, dups, err, r.sim.Requests()-requests)
			}
			later := now.Add(5 * time.Hour)
			if _, _, err = r.sync(later, time.Time{}); err != nil {
				t.Fatal(err)
			}
			r.check(since, until.Add(5*time.Hour))
		})
	}
}

// TestSyncRidesOutFaults: rate limits with a Retry-After, server errors and
// a page cut short are retried; what is stored is what the provider has.
func TestSyncRidesOutFaults(t *testing.T) {
	r := newRig(t, OpenAI)
	r.sim.Fault = func(n int, _ *http.Request) (int, string, string, bool) {
		switch n {
		case 2, 3:
			return http.StatusTooManyRequests, "1", `{"error":{"message":"rate limited"}}`, true
		case 5:
			return http.StatusInternalServerError, "", `{"error":{"message":"oops"}}`, true
		case 7:
			return http.StatusOK, "", `{"object":"page","data":[{"object":"bucket","start_ti`, true
		}
		return 0, "", "", false
	}
	if _, _, err := r.sync(now, since); err != nil {
		t.Fatal(err)
	}
	r.check(since, until)
}

// TestSyncGoesOnWhereItStopped: a sync cut short by a refusal after three
// pages keeps them and its position; the next one asks for the fourth page
// and stores each bucket once.
func TestSyncGoesOnWhereItStopped(t *testing.T) {
	r := newRig(t, Anthropic)
	r.sim.Fault = func(n int, _ *http.Request) (int, string, string, bool) {
		if n == 4 {
			return http.StatusUnauthorized, "", `{"error":{"type":"authentication_error","message":"key revoked"}}`, true
		}
		return 0, "", "", false
	}
	_, _, err := r.sync(now, since)
	if err == nil || !strings.Contains(err.Error(), "rejected the admin key from $ANTHROPIC_ADMIN_KEY (HTTP 401)") {
		t.Fatalf("error %v", err)
	}
	st, _ := r.cache.SourceSync(context.Background(), "acme", "anthropic")
	if st == nil || st.Pages != 3 || st.NextPage == "" || !st.Chunk.Equal(since) {
		t.Fatalf("state after the cut %+v", st)
	}
	r.sim.Fault = nil
	added, dups, err := r.sync(now, time.Time{})
	if err != nil || dups != 0 || added == 0 {
		t.Fatalf("resumed: %d added, %d repeated, %v", added, dups, err)
	}
	if got := r.sim.Requests(); got != 4+12 {
		t.Errorf("%d requests: the resumed sync did not go on from the fourth page", got)
	}
	r.check(since, until)
}

// TestSyncRefusedKey: a wrong key is one clear error, nothing stored.
func TestSyncRefusedKey(t *testing.T) {
	r := newRig(t, OpenAI)
	client, _ := OpenAI.Client(r.server.URL, "wrong", "nextcore-test")
	_, _, err := Sync(context.Background(), r.cache, client, OpenAI, "acme", Options{Now: func() time.Time { return now }, Since: since})
	if err == nil || !strings.Contains(err.Error(), "$OPENAI_ADMIN_KEY") {
		t.Fatalf("error %v", err)
	}
}

// TestSyncCosts reads the bill of the days that are over, each line once:
// a second sync reads nothing, a sync from an earlier date repeats lines
// without adding them.
func TestSyncCosts(t *testing.T) {
	for _, p := range []*Provider{OpenAI, Anthropic} {
		t.Run(p.Name, func(t *testing.T) {
			r := newRig(t, p)
			client, _ := p.Client(r.server.URL, "admin-key", "nextcore-test")
			opt := Options{Now: func() time.Time { return now }, Since: since}
			added, dups, err := SyncCosts(context.Background(), r.cache, client, p, "acme", opt)
			// 14 days (Nov 10 to 23) of a line per project and model.
			groups := map[bool]int64{true: 3, false: 2}[p.Name == "openai"]
			if err != nil || added != 14*groups || dups != 0 {
				t.Fatalf("%d added, %d repeated, %v", added, dups, err)
			}
			lines, err := r.cache.Bills(context.Background(), "acme", p.Name, since.UnixNano(), now.UnixNano())
			if err != nil || int64(len(lines)) != added {
				t.Fatalf("%d lines stored, %v", len(lines), err)
			}
			requests := r.sim.Requests()
			if added, _, err = SyncCosts(context.Background(), r.cache, client, p, "acme", Options{Now: opt.Now}); err != nil || added != 0 ||
				r.sim.Requests() != requests {
				t.Errorf("again: %d added, %v, %d requests", added, err, r.sim.Requests()-requests)
			}
			if added, dups, err = SyncCosts(context.Background(), r.cache, client, p, "acme", opt); err != nil || added != 0 || dups != 14*groups {
				t.Errorf("from Nov 10 again: %d added, %d repeated, %v", added, dups, err)
			}
		})
	}
}
