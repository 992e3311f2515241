package pull

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nextcore-ai/nextcore/pkg/source"
	"github.com/nextcore-ai/nextcore/pkg/source/api"
	"github.com/nextcore-ai/nextcore/pkg/source/api/apitest"
	"github.com/nextcore-ai/nextcore/pkg/source/cache"
)

var t0 = time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)

func TestStart(t *testing.T) {
	first, since := t0.AddDate(-2, 0, 0), t0.AddDate(0, -1, 0)
	last := t0.Add(-time.Hour)
	synced := &cache.SyncState{APIURL: "https://a.example", LastTS: last.UnixNano(), WindowStart: first}
	cut := &cache.SyncState{APIURL: "https://a.example", WindowStart: first.Add(time.Hour)}
	for _, c := range []struct {
		name   string
		state  *cache.SyncState
		url    string
		since  time.Time
		want   time.Time
		resume bool
	}{
		{"first sync", nil, "https://a.example", time.Time{}, first, false},
		{"since wins", synced, "https://a.example", since, since, true},
		{"48 h before the newest", synced, "https://a.example", time.Time{}, last.Add(-48 * time.Hour), true},
		{"a first sync cut short", cut, "https://a.example", time.Time{}, first.Add(time.Hour), true},
		{"another API", synced, "https://b.example", time.Time{}, first, false},
	} {
		got, state := Start(c.state, c.url, c.since, first)
		if !got.Equal(c.want) || (state != nil) != c.resume {
			t.Errorf("%s: %v (resume %v), want %v (%v)", c.name, got, state != nil, c.want, c.resume)
		}
	}
}

// TestPages stores a multi-page window from a server that follows the API,
// faults and a repeated record included, page by page with the position.
func TestPages(t *testing.T) {
	srv := apitest.New("secret")
	defer srv.Close()
	var recs []source.Record
	for i := range 250 {
		recs = append(recs, source.Record{ID: fmt.Sprintf("r%04d", i), Time: t0.Add(time.Duration(i) * time.Minute).UnixNano(),
			Model: "m", APIKey: "k", Success: true, PromptTokens: 1, CompletionTokens: 1, Cost: 1000, LatencyMs: -1, Requests: 1})
	}
	srv.Add("acme", recs...)
	srv.Add("acme", recs[100]) // delivered twice
	srv.Fail(apitest.Fault{Status: 503}, apitest.Fault{Reset: true})
	client, err := api.New(srv.URL, "acme", "secret", "test", "nextcore/test")
	if err != nil {
		t.Fatal(err)
	}
	client.PageLimit = 100
	client.Sleep = func(context.Context, time.Duration) error { return nil }
	c, err := cache.Open(context.Background(), filepath.Join(t.TempDir(), "usage.db"), cache.Options{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	st := cache.SyncState{APIURL: srv.URL, WindowStart: t0, WindowEnd: t0.Add(24 * time.Hour), StartedAt: t0}
	var seen []int64
	added, dups, err := Pages(context.Background(), c, client, "acme", &st, Options{Now: func() time.Time { return t0 },
		Page: func(a, d, p int64) { seen = append(seen, p) }})
	if err != nil {
		t.Fatal(err)
	}
	if added != 250 || dups != 1 || !st.Finished || st.Pages != 3 || len(seen) != 3 || st.LastTS != recs[249].Time {
		t.Errorf("added %d dups %d finished %v pages %d (%v) last %d", added, dups, st.Finished, st.Pages, seen, st.LastTS)
	}
	stored, err := c.SyncState(context.Background(), "acme")
	if err != nil || stored == nil || stored.Pages != 3 || stored.Records != 250 || !stored.Finished {
		t.Errorf("stored state %+v, %v", stored, err)
	}
	// A cancelled context stops between pages with its error.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	st = cache.SyncState{APIURL: srv.URL, WindowStart: t0, WindowEnd: t0.Add(24 * time.Hour)}
	if _, _, err := Pages(ctx, c, client, "acme", &st, Options{Now: time.Now}); err == nil || !strings.Contains(err.Error(), "canceled") {
		t.Errorf("cancelled: %v", err)
	}
}
