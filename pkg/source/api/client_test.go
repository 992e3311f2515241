package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/nextcore-ai/nextcore/pkg/source"
	"github.com/nextcore-ai/nextcore/pkg/source/api/apitest"
)

var t0 = time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)

func records(n int, prefix string) []source.Record {
	out := make([]source.Record, n)
	for i := range out {
		out[i] = source.Record{ID: fmt.Sprintf("%s%05d", prefix, i), Time: t0.Add(time.Duration(i) * time.Minute).UnixNano(),
			Model: []string{"gpt-4o", "模型 ü/x", "=cmd"}[i%3], APIKey: "k", Success: i%10 != 0,
			PromptTokens: int64(i), CompletionTokens: 2, Cost: source.USD(i * 1000), LatencyMs: int64(i % 7), Requests: 1}
		if i%4 == 0 {
			out[i].User, out[i].Region = "zoë", "eu-west"
		}
		if i%5 == 0 {
			out[i].LatencyMs = -1
		}
	}
	return out
}

// testClient is a client of srv with instant sleeps that records the waits.
func testClient(t *testing.T, srv *apitest.Server, tenant, token string) (*Client, *[]time.Duration) {
	t.Helper()
	c, err := New(srv.URL, tenant, token, "NEXTCORE_TOKEN", "nextcore/test")
	if err != nil {
		t.Fatal(err)
	}
	var waits []time.Duration
	c.Sleep = func(ctx context.Context, d time.Duration) error { waits = append(waits, d); return nil }
	c.PageLimit = 100
	c.Retries = 3
	c.Timeout = 2 * time.Second
	return c, &waits
}

func fetchAll(c *Client, start, end time.Time) ([]source.Record, int, error) {
	var got []source.Record
	pages := 0
	err := c.Records(context.Background(), start, end, func(p Page) error {
		pages++
		got = append(got, p.Records...)
		return nil
	})
	return got, pages, err
}

func TestRecordsPagesAndFilters(t *testing.T) {
	srv := apitest.New("secret")
	defer srv.Close()
	recs := records(1000, "r")
	srv.Add("acme", recs...)
	c, _ := testClient(t, srv, "acme", "secret")
	got, pages, err := fetchAll(c, t0, t0.Add(1000*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if pages != 10 || !reflect.DeepEqual(got, recs) {
		t.Fatalf("%d pages, %d records; want 10 pages, the 1000 records unchanged", pages, len(got))
	}
	// start <= timestamp < end
	got, _, err = fetchAll(c, t0.Add(10*time.Minute), t0.Add(20*time.Minute))
	if err != nil || len(got) != 10 || got[0].ID != "r00010" || got[9].ID != "r00019" {
		t.Fatalf("window: %v %d", err, len(got))
	}
	for _, req := range srv.Requests() {
		if strings.Contains(req, "secret") {
			t.Fatalf("the token is in a URL: %s", req)
		}
	}
}

func TestRetries(t *testing.T) {
	cases := []struct {
		name   string
		faults []apitest.Fault
		waits  []time.Duration // exact where the server says; -1 for a backoff
	}{
		{"429 with Retry-After", []apitest.Fault{{Status: 429, RetryAfter: "7"}}, []time.Duration{7 * time.Second}},
		{"429 with a date", []apitest.Fault{{Status: 429, RetryAfter: time.Now().Add(-time.Hour).UTC().Format(http.TimeFormat)}}, []time.Duration{0}},
		{"500 then 503", []apitest.Fault{{Status: 500}, {Status: 503}}, []time.Duration{-1, -1}},
		{"truncated JSON", []apitest.Fault{{Truncate: true}}, []time.Duration{-1}},
		{"HTML from a proxy", []apitest.Fault{{Status: 502, Body: "<html>Bad Gateway</html>"}}, []time.Duration{-1}},
		{"connection reset", []apitest.Fault{{Reset: true}}, []time.Duration{-1}},
		{"slow answer", []apitest.Fault{{Delay: 3 * time.Second}}, []time.Duration{-1}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := apitest.New("secret")
			defer srv.Close()
			recs := records(250, "r")
			srv.Add("acme", recs...)
			c, waits := testClient(t, srv, "acme", "secret")
			// A fresh connection for each request, so that Go's transport does
			// not quietly retry a reset on a reused one.
			c.HTTP.Transport.(*http.Transport).DisableKeepAlives = true
			// The faults hit the second page.
			srv.Fail(append([]apitest.Fault{{}}, tc.faults...)...)
			got, _, err := fetchAll(c, t0, t0.Add(24*time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, recs) {
				t.Fatalf("%d records after retries, want 250", len(got))
			}
			if c.Retried != len(tc.waits) || len(*waits) != len(tc.waits) {
				t.Fatalf("retried %d times, waits %v; want %d", c.Retried, *waits, len(tc.waits))
			}
			for i, w := range tc.waits {
				got := (*waits)[i]
				if w >= 0 && got != w {
					t.Errorf("wait %d = %v, want %v", i, got, w)
				}
				if w < 0 && (got < c.Backoff/2 || got > c.MaxBackoff) {
					t.Errorf("backoff %d = %v", i, got)
				}
			}
		})
	}
}

func TestBackoffGrowsWithJitter(t *testing.T) {
	c := &Client{Backoff: 500 * time.Millisecond, MaxBackoff: 30 * time.Second}
	for n, want := range []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second, 4 * time.Second} {
		d := c.backoff(n)
		if d < want/2 || d > want {
			t.Errorf("backoff(%d) = %v, want within [%v, %v]", n, d, want/2, want)
		}
	}
	if d := c.backoff(40); d > 30*time.Second || d < 15*time.Second {
		t.Errorf("backoff(40) = %v, not capped", d)
	}
}

func TestGivesUp(t *testing.T) {
	srv := apitest.New("secret")
	defer srv.Close()
	srv.Add("acme", records(5, "r")...)
	c, _ := testClient(t, srv, "acme", "secret")
	srv.Fail(apitest.Fault{Status: 503}, apitest.Fault{Status: 503}, apitest.Fault{Status: 503}, apitest.Fault{Status: 503})
	_, _, err := fetchAll(c, t0, t0.Add(time.Hour))
	if err == nil || !strings.Contains(err.Error(), "did not answer properly after 4 attempts (HTTP 503 Service Unavailable)") {
		t.Fatalf("%v", err)
	}
	srv.Fail(apitest.Fault{Status: 429, RetryAfter: "3600"})
	_, _, err = fetchAll(c, t0, t0.Add(time.Hour))
	if err == nil || !strings.Contains(err.Error(), "asks to wait 1h0m0s (HTTP 429)") {
		t.Fatalf("%v", err)
	}
}

func TestRefusals(t *testing.T) {
	srv := apitest.New("secret")
	defer srv.Close()
	srv.Add("acme", records(5, "r")...)
	srv.Add("forbidden", records(5, "r")...)
	cases := []struct {
		name, tenant, token string
		fault               *apitest.Fault
		status              int
		want                string
	}{
		{"401", "acme", "wrong", nil, 401, "the API rejected the token (HTTP 401: Invalid token.). The token came from NEXTCORE_TOKEN; check it"},
		{"403", "forbidden", "secret", nil, 403, `the token has no access to tenant "forbidden" (HTTP 403: You do not have permission to perform this action.)`},
		{"404", "globex", "secret", nil, 404, `knows no tenant "globex" (HTTP 404: Not found.)`},
		{"400", "acme", "secret", &apitest.Fault{Status: 400, Body: `{"start": ["Enter a valid date/time."], "end": ["Required."]}`}, 400,
			"the API refused the request (HTTP 400: end: Required.; start: Enter a valid date/time.)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, waits := testClient(t, srv, tc.tenant, tc.token)
			if tc.fault != nil {
				srv.Fail(*tc.fault)
			}
			_, _, err := fetchAll(c, t0, t0.Add(time.Hour))
			var se *StatusError
			if !errors.As(err, &se) || se.Status != tc.status || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("%v", err)
			}
			if len(*waits) != 0 {
				t.Errorf("retried a %d", tc.status)
			}
			if strings.Contains(err.Error(), "secret") || strings.Contains(err.Error(), "wrong") {
				t.Errorf("the token is in the error: %v", err)
			}
		})
	}
}

func TestBadLinksAndRecords(t *testing.T) {
	srv := apitest.New("secret")
	defer srv.Close()
	srv.Add("acme", records(300, "r")...)
	c, _ := testClient(t, srv, "acme", "secret")
	srv.Fail(apitest.Fault{NextHost: "evil.example:80"})
	if _, _, err := fetchAll(c, t0, t0.Add(24*time.Hour)); err == nil || !strings.Contains(err.Error(), "next link to another host (evil.example:80); refusing to send the token there") {
		t.Errorf("other host: %v", err)
	}
	srv.Fail(apitest.Fault{}, apitest.Fault{LoopNext: true})
	if _, _, err := fetchAll(c, t0, t0.Add(24*time.Hour)); err == nil || !strings.Contains(err.Error(), "cursor loop") {
		t.Errorf("loop: %v", err)
	}
	srv.Fail(apitest.Fault{Status: 200, Body: `{"next": null, "results": [{"id": "x", "timestamp": "2026-11-20T00:00:00", "model": "m", "apiKey": "k", "status": "success", "promptTokens": 1, "completionTokens": 1, "cost": 0.1}]}`})
	if _, _, err := fetchAll(c, t0, t0.Add(24*time.Hour)); err == nil || !strings.Contains(err.Error(), `breaks the record format: record 1 (id "x") of the page: timestamp: no time zone`) {
		t.Errorf("bad record: %v", err)
	}
}

// TestEndlessAndHugeAnswers: a page that never ends, or announces 2 GB, is
// refused with a clear error, in bounded memory and time.
func TestEndlessAndHugeAnswers(t *testing.T) {
	srv := apitest.New("secret")
	defer srv.Close()
	srv.Add("acme", records(10, "r")...)
	c, _ := testClient(t, srv, "acme", "secret")
	start := time.Now()
	srv.Fail(apitest.Fault{Endless: true})
	if _, _, err := fetchAll(c, t0, t0.Add(24*time.Hour)); err == nil || !strings.Contains(err.Error(), "the API sent more than 64 MiB in one answer; refusing it") {
		t.Errorf("endless page: %v", err)
	}
	srv.Fail(apitest.Fault{Huge: 2 << 30})
	if _, _, err := fetchAll(c, t0, t0.Add(24*time.Hour)); err == nil || !strings.Contains(err.Error(), "the API announced 2048 MiB in one answer, more than 64 MiB; refusing it") {
		t.Errorf("2 GB answer: %v", err)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("took %s", d)
	}
	// Within the limit, padding is only whitespace: the page reads.
	srv.Fail(apitest.Fault{Huge: 5 << 20})
	if _, _, err := fetchAll(c, t0, t0.Add(24*time.Hour)); err != nil {
		t.Errorf("a 5 MiB page: %v", err)
	}
}

func TestQuota(t *testing.T) {
	srv := apitest.New("secret")
	defer srv.Close()
	srv.Add("acme", records(1, "r")...)
	srv.SetQuota("acme", `{"periodStart": "2026-11-01", "limits": {"apiCalls": 50000, "tokens": null, "spend": 500.25}}`)
	c, _ := testClient(t, srv, "acme", "secret")
	q, err := c.Quota(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if q.PeriodStart != "2026-11-01" || q.APICalls == nil || *q.APICalls != 50000 || q.Tokens != nil || q.Spend == nil || q.Spend.Decimal() != "500.25" {
		t.Fatalf("%+v", q)
	}
	srv.SetQuota("acme", `{"periodStart": null, "limits": {"apiCalls": -5, "tokens": null, "spend": null}}`)
	if _, err := c.Quota(context.Background()); err == nil || !strings.Contains(err.Error(), "bad apiCalls limit") {
		t.Fatalf("%v", err)
	}
}

// TestSourceDropsRepeats checks that streaming aggregation counts a record
// the server sends twice once.
func TestSourceDropsRepeats(t *testing.T) {
	srv := apitest.New("secret")
	defer srv.Close()
	recs := records(1000, "r")
	srv.Add("acme", recs...)
	srv.Dup = true
	c, _ := testClient(t, srv, "acme", "secret")
	src := &Source{Client: c}
	bounds := []int64{t0.UnixNano(), t0.Add(500 * time.Minute).UnixNano(), t0.Add(2000 * time.Minute).UnixNano()}
	got, err := src.Aggregate(context.Background(), "acme", source.DimModel, bounds)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := (&source.Memory{Records: map[string][]source.Record{"acme": recs}}).Aggregate(context.Background(), "acme", source.DimModel, bounds)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("streamed totals differ from the records'")
	}
}

// TestPageShapes checks what a real server may send: unknown fields at every
// level, optional fields null or absent, names in any script.
func TestPageShapes(t *testing.T) {
	srv := apitest.New("secret")
	defer srv.Close()
	srv.Add("acme", records(1, "r")...)
	c, _ := testClient(t, srv, "acme", "secret")
	srv.Fail(apitest.Fault{Status: 200, Body: `{"count": 2, "next": null, "previous": null, "server": {"v": [1, 2]},
		"results": [
		{"id": "a", "timestamp": "2026-11-20T13:45:12.345+05:30", "model": "Модель: «x»/y", "apiKey": "=HYPERLINK(1)",
		 "user": null, "region": null, "status": "error", "statusCode": null, "promptTokens": 10, "completionTokens": 0,
		 "cost": 0.000000001, "latencyMs": null, "traceId": "t-1", "meta": {"k": [true, null]}},
		{"id": "b", "timestamp": "2026-11-20T13:45:12Z", "model": "m", "apiKey": "k", "status": "success",
		 "promptTokens": 1, "completionTokens": 2, "cost": 1.5}
		]}`})
	got, _, err := fetchAll(c, t0, t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	want := []source.Record{
		{ID: "a", Time: time.Date(2026, 11, 20, 8, 15, 12, 345_000_000, time.UTC).UnixNano(), Model: "Модель: «x»/y", APIKey: "=HYPERLINK(1)",
			PromptTokens: 10, Cost: 1, LatencyMs: -1, Requests: 1},
		{ID: "b", Time: time.Date(2026, 11, 20, 13, 45, 12, 0, time.UTC).UnixNano(), Model: "m", APIKey: "k", Success: true,
			PromptTokens: 1, CompletionTokens: 2, Cost: 1_500_000_000, LatencyMs: -1, Requests: 1},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v", got)
	}
}

// TestOldest: the first record the API has for the tenant, with one request
// of one record; zero for a tenant with none; a fault is retried.
func TestOldest(t *testing.T) {
	srv := apitest.New("secret")
	defer srv.Close()
	recs := records(250, "o")
	srv.Add("acme", recs[100:]...)
	srv.Add("acme", recs[:100]...) // the server keeps them in time order
	c, _ := testClient(t, srv, "acme", "secret")
	src := &Source{Client: c}
	srv.Fail(apitest.Fault{Status: 503})
	got, err := src.Oldest(context.Background(), "acme")
	if err != nil || !got.Equal(time.Unix(0, recs[0].Time)) {
		t.Fatalf("oldest %v, %v; want %v", got, err, time.Unix(0, recs[0].Time))
	}
	reqs := srv.Requests()
	if len(reqs) != 2 || !strings.Contains(reqs[1], "limit=1") {
		t.Errorf("requests: %v", reqs)
	}
	srv.Add("empty")
	if got, err := src.Oldest(context.Background(), "empty"); err != nil || !got.IsZero() {
		t.Errorf("a tenant with no records: %v, %v", got, err)
	}
}
