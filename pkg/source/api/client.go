// Package api is the client of the NextCore control-plane usage API
// (docs/api.md): raw usage records page by page, and the tenant's quota. It
// retries what is worth retrying (429, 5xx, timeouts, broken connections,
// garbled bodies) with exponential backoff and jitter, a bounded number of
// times, and says plainly what to check when the server refuses.
package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nextcore-ai/nextcore/pkg/source"
	"github.com/nextcore-ai/nextcore/pkg/source/wire"
)

// Client talks to one tenant of one control plane.
type Client struct {
	Base      *url.URL // the API's base URL, e.g. https://cp.example.com
	Tenant    string
	Token     string
	TokenFrom string // where the token came from, for messages (never the token)
	UserAgent string

	HTTP       *http.Client
	Timeout    time.Duration // one request, body included
	Retries    int           // attempts after the first
	Backoff    time.Duration // the first retry's delay; doubled each time, with jitter
	MaxBackoff time.Duration
	MaxWait    time.Duration // the longest Retry-After honoured
	PageLimit  int           // records a page (the server caps it at 5000)
	MaxBody    int64         // the largest response accepted, in bytes

	// Sleep waits between attempts; tests make it instant.
	Sleep func(ctx context.Context, d time.Duration) error
	// Auth puts the credentials on a request; nil: the NextCore API's
	// "Authorization: Token …". Other APIs (a provider's admin API) set
	// their own.
	Auth func(req *http.Request)
	// Debug, when set, hears of each request (never the token).
	Debug func(format string, args ...any)
	// OnRetry hears of each retry, for progress and logs.
	OnRetry func(attempt int, wait time.Duration, err error)

	// Retried counts the retries made.
	Retried int

	observe func(status, size int) // for Debug, set by attempt
}

// Defaults for a new client.
const (
	DefaultTimeout    = 60 * time.Second
	DefaultRetries    = 5
	DefaultBackoff    = 500 * time.Millisecond
	DefaultMaxBackoff = 30 * time.Second
	DefaultMaxWait    = 120 * time.Second
	DefaultPageLimit  = 5000
	DefaultMaxBody    = 64 << 20 // a full page of 5000 records is about 2 MiB
)

// New makes a client with sane timeouts. base must be an absolute http(s) URL.
func New(base, tenant, token, tokenFrom, userAgent string) (*Client, error) {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("bad API URL %q (want an absolute http or https URL, such as https://cp.example.com)", base)
	}
	if u.User != nil {
		return nil, ErrCredentialsInURL
	}
	u.RawQuery, u.Fragment = "", ""
	transport := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: 30 * time.Second,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       90 * time.Second,
	}
	return &Client{
		Base: u, Tenant: tenant, Token: token, TokenFrom: tokenFrom, UserAgent: userAgent,
		HTTP:    &http.Client{Transport: transport, CheckRedirect: sameHostRedirect(u)},
		Timeout: DefaultTimeout, Retries: DefaultRetries, Backoff: DefaultBackoff, MaxBackoff: DefaultMaxBackoff,
		MaxWait: DefaultMaxWait, PageLimit: DefaultPageLimit, MaxBody: DefaultMaxBody,
		Sleep: sleep,
	}, nil
}

// sameHostRedirect follows redirects only on the API's own host, so that the
// token never travels elsewhere.
func sameHostRedirect(base *url.URL) func(*http.Request, []*http.Request) error {
	return func(req *http.Request, via []*http.Request) error {
		if !sameOrigin(base, req.URL) {
			return fmt.Errorf("the API redirected to another host (%s); refusing to send the token there", req.URL.Host)
		}
		if len(via) >= 5 {
			return errors.New("too many redirects")
		}
		return nil
	}
}

func sameOrigin(a, b *url.URL) bool {
	return strings.EqualFold(a.Scheme, b.Scheme) && strings.EqualFold(a.Host, b.Host)
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// endpoint is the URL of a path under the tenant.
func (c *Client) endpoint(path string, q url.Values) *url.URL {
	u := *c.Base
	u.Path = strings.TrimSuffix(u.Path, "/") + "/api/tenants/" + url.PathEscape(c.Tenant) + path
	u.RawPath = ""
	u.RawQuery = q.Encode()
	return &u
}

// StatusError is a refusal by the server that retrying will not change.
type StatusError struct {
	Status  int
	Message string // for the user: what failed and what to check
}

func (e *StatusError) Error() string { return e.Message }

// retryable is a failure worth another attempt.
type retryable struct {
	err   error
	wait  time.Duration // as the server asked (429)
	asked bool          // whether it asked; otherwise back off
}

func (e *retryable) Error() string { return e.err.Error() }
func (e *retryable) Unwrap() error { return e.err }

// Get fetches u, an URL of the client's API, and hands the body to decode,
// retrying as docs/api.md says (429 with its Retry-After, 5xx, timeouts,
// broken connections, a body decode finds cut short: a wire.SyntaxError).
func (c *Client) Get(ctx context.Context, u *url.URL, decode func([]byte) error) error {
	if !sameOrigin(c.Base, u) {
		return fmt.Errorf("refusing to send the credentials to another host (%s)", u.Host)
	}
	return c.get(ctx, u, decode)
}

// get fetches u and hands the body to decode, retrying as docs/api.md says.
// decode may itself ask for a retry by returning a wire.SyntaxError.
func (c *Client) get(ctx context.Context, u *url.URL, decode func([]byte) error) error {
	var last error
	for attempt := 0; ; attempt++ {
		err := c.attempt(ctx, u, decode)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var r *retryable
		if !errors.As(err, &r) {
			return err
		}
		last = r.err
		if attempt >= c.Retries {
			return fmt.Errorf("the API at %s did not answer properly after %s (%v); %w", c.Base.Host, plural(attempt+1, "attempt"), last, ErrGaveUp)
		}
		wait := r.wait
		if !r.asked {
			wait = c.backoff(attempt)
		}
		c.Retried++
		if c.OnRetry != nil {
			c.OnRetry(attempt+1, wait, last)
		}
		if err := c.Sleep(ctx, wait); err != nil {
			return err
		}
	}
}

// backoff is the delay before retry n (from 0): exponential, capped, with
// half of it random so that many clients do not retry in step.
func (c *Client) backoff(n int) time.Duration {
	d := c.Backoff << min(n, 20)
	if d > c.MaxBackoff || d <= 0 {
		d = c.MaxBackoff
	}
	half := d / 2
	return half + time.Duration(rand.Int64N(int64(half)+1))
}

func (c *Client) attempt(ctx context.Context, u *url.URL, decode func([]byte) error) (err error) {
	if c.Debug != nil {
		start, status, size := time.Now(), 0, -1
		defer func() {
			took := time.Since(start).Round(time.Millisecond)
			switch {
			case status == 0:
				c.Debug("GET %s: no answer after %s: %v", u.Redacted(), took, err)
			case err != nil:
				c.Debug("GET %s: HTTP %d, %d bytes in %s: %v", u.Redacted(), status, size, took, err)
			default:
				c.Debug("GET %s: HTTP %d, %d bytes in %s", u.Redacted(), status, size, took)
			}
		}()
		c.observe = func(st, n int) { status, size = st, n }
	}
	ctx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return err
	}
	if c.Auth != nil {
		c.Auth(req)
	} else {
		req.Header.Set("Authorization", "Token "+c.Token)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.UserAgent)
	resp, err := c.HTTP.Do(req)
	if err != nil {
		if errors.Is(err, context.Canceled) && ctx.Err() == context.Canceled {
			return err
		}
		var ue *url.Error
		if errors.As(err, &ue) && strings.Contains(ue.Err.Error(), "refusing to send the token") {
			return ue.Err
		}
		return &retryable{err: errors.New(describe(err, c.Timeout))}
	}
	defer resp.Body.Close() //nolint:errcheck // read whole below; a close error changes nothing
	if resp.ContentLength > c.MaxBody {
		if c.observe != nil {
			c.observe(resp.StatusCode, -1)
		}
		return fmt.Errorf("the API announced %d MiB in one answer, more than %d MiB; refusing it", resp.ContentLength>>20, c.MaxBody>>20)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, c.MaxBody+1))
	if err != nil {
		return &retryable{err: fmt.Errorf("reading the answer failed: %v", describe(err, c.Timeout))}
	}
	if c.observe != nil {
		c.observe(resp.StatusCode, len(body))
	}
	if int64(len(body)) > c.MaxBody {
		return fmt.Errorf("the API sent more than %d MiB in one answer; refusing it", c.MaxBody>>20)
	}
	switch {
	case resp.StatusCode == http.StatusOK:
		if err := decode(body); err != nil {
			if wire.IsSyntax(err) {
				return &retryable{err: fmt.Errorf("HTTP 200 with a body that is not the expected JSON (%v)", err)}
			}
			return err
		}
		return nil
	case resp.StatusCode == http.StatusTooManyRequests:
		// Without a usable Retry-After, back off as for a 5xx.
		wait, ok := retryAfter(resp.Header.Get("Retry-After"), time.Now())
		if wait > c.MaxWait {
			return fmt.Errorf("the API is rate-limiting and asks to wait %s (HTTP 429); try again later", wait.Round(time.Second))
		}
		return &retryable{err: errors.New("HTTP 429 Too Many Requests"), wait: wait, asked: ok}
	case resp.StatusCode >= 500:
		return &retryable{err: fmt.Errorf("HTTP %d %s", resp.StatusCode, http.StatusText(resp.StatusCode))}
	}
	return c.refusal(resp.StatusCode, body, u)
}

// describe says what went wrong with a connection in a few words.
func describe(err error, timeout time.Duration) string {
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return fmt.Sprintf("no answer within %s", timeout)
	}
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return "no such host " + dns.Name
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		var sc *os.SyscallError
		if errors.As(op.Err, &sc) {
			return "cannot connect: " + sc.Err.Error()
		}
		return "cannot connect: " + op.Err.Error()
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return err.Error()
}

// retryAfter reads Retry-After: seconds, or an HTTP date.
func retryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil && n >= 0 {
		if n > 1<<30 {
			n = 1 << 30
		}
		return time.Duration(n) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

// Errors the command line completes with the flag that helps.
var (
	// ErrGaveUp: the retries are spent (try again later, or allow more).
	ErrGaveUp = errors.New("try again later")
	// ErrCredentialsInURL: a token belongs elsewhere than the URL.
	ErrCredentialsInURL = errors.New("the API URL must not hold credentials")
)

// refusal turns a 4xx into a message that says what went wrong.
func (c *Client) refusal(status int, body []byte, u *url.URL) error {
	detail := serverMessage(body)
	where := c.Base.String()
	var msg string
	switch status {
	case http.StatusUnauthorized:
		msg = fmt.Sprintf("the API rejected the token (HTTP 401%s). The token came from %s; check it", paren(detail), c.TokenFrom)
	case http.StatusForbidden:
		msg = fmt.Sprintf("the token has no access to tenant %q (HTTP 403%s)", c.Tenant, paren(detail))
	case http.StatusNotFound:
		msg = fmt.Sprintf("the API at %s knows no tenant %q (HTTP 404%s)", where, c.Tenant, paren(detail))
	case http.StatusBadRequest:
		msg = fmt.Sprintf("the API refused the request (HTTP 400%s)", paren(detail))
	default:
		msg = fmt.Sprintf("the API answered HTTP %d %s%s for %s", status, http.StatusText(status), paren(detail), u.Path)
	}
	return &StatusError{Status: status, Message: msg}
}

func paren(s string) string {
	if s == "" {
		return ""
	}
	return ": " + s
}

// serverMessage reads DRF's error bodies: {"detail": "…"} or {"field": ["…"]}.
func serverMessage(body []byte) string {
	var m map[string]any
	if json.Unmarshal(body, &m) != nil {
		return ""
	}
	if d, ok := m["detail"].(string); ok {
		return clip(d)
	}
	var parts []string
	for k, v := range m {
		switch x := v.(type) {
		case []any:
			for _, e := range x {
				if s, ok := e.(string); ok {
					parts = append(parts, k+": "+s)
				}
			}
		case string:
			parts = append(parts, k+": "+x)
		}
	}
	slices.Sort(parts)
	return clip(strings.Join(parts, "; "))
}

func clip(s string) string {
	if len(s) > 200 {
		return s[:200] + "…"
	}
	return s
}

// Page is one page of records as received. Its records are its own: fn may
// keep them.
type Page struct {
	Records []source.Record
	Next    string // the next page's URL, "" on the last
}

// Records fetches the records with start <= timestamp < end page by page, in
// the server's order, and hands each page to fn before fetching the next.
func (c *Client) Records(ctx context.Context, start, end time.Time, fn func(Page) error) error {
	q := url.Values{}
	q.Set("start", start.UTC().Format(time.RFC3339Nano))
	q.Set("end", end.UTC().Format(time.RFC3339Nano))
	q.Set("limit", strconv.Itoa(c.PageLimit))
	return c.RecordsFrom(ctx, c.endpoint("/usage/records/", q).String(), fn)
}

// RecordsFrom fetches pages from a records URL (the first page, or a next
// link kept from an earlier run) onwards.
func (c *Client) RecordsFrom(ctx context.Context, first string, fn func(Page) error) error {
	seen := map[string]bool{}
	next := first
	for next != "" {
		u, err := url.Parse(next)
		if err != nil || !u.IsAbs() {
			return fmt.Errorf("the API sent a next link that is not an absolute URL (%q)", clip(next))
		}
		if !sameOrigin(c.Base, u) {
			return fmt.Errorf("the API sent a next link to another host (%s); refusing to send the token there", u.Host)
		}
		if seen[next] {
			return fmt.Errorf("the API sent the same next link twice (a cursor loop); stopping")
		}
		seen[next] = true
		var page Page
		err = c.get(ctx, u, func(body []byte) error {
			recs := make([]source.Record, 0, c.PageLimit)
			n, err := wire.DecodePage(body, func(r *source.Record) error {
				recs = append(recs, *r)
				return nil
			})
			page = Page{Records: recs, Next: n}
			return err
		})
		if err != nil {
			var bad *wire.BadRecordError
			if errors.As(err, &bad) {
				return fmt.Errorf("the API sent a record that breaks the record format: %w", bad)
			}
			return err
		}
		if err := fn(page); err != nil {
			return err
		}
		next = page.Next
	}
	return nil
}

// Quota is the tenant's limits as the API states them; nil is unlimited.
type Quota struct {
	PeriodStart string
	APICalls    *int64
	Tokens      *int64
	Spend       *source.USD
}

// Quota fetches the tenant's quota.
func (c *Client) Quota(ctx context.Context) (*Quota, error) {
	var q Quota
	err := c.get(ctx, c.endpoint("/quota/", nil), func(body []byte) error {
		var raw struct {
			PeriodStart *string `json:"periodStart"`
			Limits      *struct {
				APICalls json.RawMessage `json:"apiCalls"`
				Tokens   json.RawMessage `json:"tokens"`
				Spend    json.RawMessage `json:"spend"`
			} `json:"limits"`
		}
		if err := json.Unmarshal(body, &raw); err != nil {
			return &wire.SyntaxError{Reason: "quota: " + err.Error()}
		}
		if raw.Limits == nil {
			return &wire.SyntaxError{Reason: "quota: no limits"}
		}
		if raw.PeriodStart != nil {
			q.PeriodStart = *raw.PeriodStart
		}
		var err error
		if q.APICalls, err = countLimit("apiCalls", raw.Limits.APICalls); err != nil {
			return err
		}
		if q.Tokens, err = countLimit("tokens", raw.Limits.Tokens); err != nil {
			return err
		}
		if s := strings.TrimSpace(string(raw.Limits.Spend)); s != "" && s != "null" {
			u, err := source.ParseUSD(strings.Trim(s, `"`))
			if err != nil || u < 0 {
				return fmt.Errorf("the API sent a quota with a bad spend limit %q", clip(s))
			}
			q.Spend = &u
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &q, nil
}

func countLimit(name string, raw json.RawMessage) (*int64, error) {
	s := strings.TrimSpace(string(raw))
	if s == "" || s == "null" {
		return nil, nil
	}
	u, err := source.ParseUSD(s)
	if err != nil || u < 0 || u%source.NanosPerUSD != 0 {
		return nil, fmt.Errorf("the API sent a quota with a bad %s limit %q", name, clip(s))
	}
	n := int64(u / source.NanosPerUSD)
	return &n, nil
}

// plural is "1 attempt", "6 attempts".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}
