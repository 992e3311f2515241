// Package apitest is an in-process control plane that follows docs/api.md, for
// tests and benchmarks: records and quotas per tenant, token auth, cursor
// pages, and faults to order (429 with Retry-After, 5xx, truncated bodies,
// connection resets, slow answers, bad links).
package apitest

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nextcore-ai/nextcore/pkg/source"
	"github.com/nextcore-ai/nextcore/pkg/source/wire"
)

// Fault is what the server does to one request instead of (or besides)
// answering it properly.
type Fault struct {
	Status     int           // answer with this status and Body
	RetryAfter string        // Retry-After header, with Status 429
	Body       string        // body for Status; default a DRF-style detail
	Truncate   bool          // answer 200 with the body cut in half
	Reset      bool          // close the connection without an answer
	Delay      time.Duration // wait this long before answering
	NextHost   string        // give a next link on this host instead of ours
	LoopNext   bool          // give a next link that points to this page
	Endless    bool          // answer 200 with a page whose results never end
	Huge       int64         // answer 200 with a body this long (whitespace inside a page)
}

// Server is the fake control plane.
type Server struct {
	*httptest.Server
	Token string

	mu       sync.Mutex
	records  map[string][]source.Record // by tenant, sorted by (timestamp, id)
	quotas   map[string]string          // tenant → quota JSON
	faults   []Fault                    // for the next requests, in order
	delay    time.Duration              // before every page
	requests []string                   // paths and queries served
	// MaxLimit caps the records a page, as the server caps limit.
	MaxLimit int
	// Dup repeats the last record of each page at the start of the next,
	// as a careless server might.
	Dup bool
}

// New starts a server whose only valid token is token, on a free loopback port.
func New(token string) *Server {
	s := NewUnstarted(token)
	if err := s.Start(""); err != nil {
		panic("apitest: " + err.Error()) // no free loopback port: the test cannot run
	}
	return s
}

// NewUnstarted makes a server to fill before Start.
func NewUnstarted(token string) *Server {
	s := &Server{Token: token, records: map[string][]source.Record{}, quotas: map[string]string{}, MaxLimit: 5000}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	return s
}

// Start serves on addr (host:port), or on a free loopback port when addr is
// empty.
func (s *Server) Start(addr string) error {
	if addr != "" {
		l, err := net.Listen("tcp", addr)
		if err != nil {
			return err
		}
		_ = s.Listener.Close() // the port httptest chose; ours replaces it
		s.Listener = l
	}
	s.Server.Start()
	return nil
}

// Add stores records for a tenant (kept sorted as the API sorts them).
func (s *Server) Add(tenant string, recs ...source.Record) {
	s.mu.Lock()
	defer s.mu.Unlock()
	all := append(s.records[tenant], recs...)
	sort.SliceStable(all, func(i, j int) bool { return less(&all[i], &all[j]) })
	s.records[tenant] = all
}

func less(a, b *source.Record) bool {
	if a.Time != b.Time {
		return a.Time < b.Time
	}
	return a.ID < b.ID
}

// SetQuota sets the JSON the quota endpoint returns for a tenant.
func (s *Server) SetQuota(tenant, body string) {
	s.mu.Lock()
	s.quotas[tenant] = body
	s.mu.Unlock()
}

// Fail queues faults for the next requests.
func (s *Server) Fail(f ...Fault) {
	s.mu.Lock()
	s.faults = append(s.faults, f...)
	s.mu.Unlock()
}

// SlowPages makes every records page wait d.
func (s *Server) SlowPages(d time.Duration) {
	s.mu.Lock()
	s.delay = d
	s.mu.Unlock()
}

// Requests lists the requests served so far (path?query).
func (s *Server) Requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.requests...)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests = append(s.requests, r.URL.RequestURI())
	var f Fault
	if len(s.faults) > 0 {
		f, s.faults = s.faults[0], s.faults[1:]
	}
	delay := s.delay
	s.mu.Unlock()
	if f.Delay > 0 {
		select {
		case <-time.After(f.Delay):
		case <-r.Context().Done():
			return
		}
	}
	if f.Reset {
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				if tc, ok := conn.(*net.TCPConn); ok {
					_ = tc.SetLinger(0) // a reset, as the fault asks; best effort
				}
				_ = conn.Close()
				return
			}
		}
	}
	if f.Endless || f.Huge > 0 {
		stream(w, r, f)
		return
	}
	if f.Status != 0 {
		if f.RetryAfter != "" {
			w.Header().Set("Retry-After", f.RetryAfter)
		}
		body := f.Body
		if body == "" {
			body = fmt.Sprintf(`{"detail": "%s"}`, http.StatusText(f.Status))
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(f.Status)
		_, _ = w.Write([]byte(body))
		return
	}
	if r.Header.Get("Authorization") != "Token "+s.Token {
		writeJSON(w, http.StatusUnauthorized, `{"detail": "Invalid token."}`)
		return
	}
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if len(parts) < 4 || parts[0] != "api" || parts[1] != "tenants" {
		writeJSON(w, http.StatusNotFound, `{"detail": "Not found."}`)
		return
	}
	tenant := parts[2]
	s.mu.Lock()
	_, known := s.records[tenant]
	quota, hasQuota := s.quotas[tenant]
	s.mu.Unlock()
	if !known && !hasQuota {
		writeJSON(w, http.StatusNotFound, `{"detail": "Not found."}`)
		return
	}
	if tenant == "forbidden" {
		writeJSON(w, http.StatusForbidden, `{"detail": "You do not have permission to perform this action."}`)
		return
	}
	switch strings.Join(parts[3:], "/") {
	case "quota":
		if !hasQuota {
			quota = `{"periodStart": null, "limits": {"apiCalls": null, "tokens": null, "spend": null}}`
		}
		writeJSON(w, http.StatusOK, quota)
	case "usage/records":
		if delay > 0 {
			select {
			case <-time.After(delay):
			case <-r.Context().Done():
				return
			}
		}
		s.page(w, r, tenant, f)
	default:
		writeJSON(w, http.StatusNotFound, `{"detail": "Not found."}`)
	}
}

// stream sends an endless page of records, or a page padded to f.Huge
// bytes, until it is done or the client goes away.
func stream(w http.ResponseWriter, r *http.Request, f Fault) {
	w.Header().Set("Content-Type", "application/json")
	if f.Huge > 0 {
		w.Header().Set("Content-Length", strconv.FormatInt(f.Huge, 10))
	}
	w.WriteHeader(http.StatusOK)
	head := []byte(`{"next": null, "results": [`)
	_, _ = w.Write(head)
	sent := int64(len(head))
	rec := []byte(`{"id": "x", "timestamp": "2026-11-20T00:00:00Z", "model": "m", "apiKey": "k", "status": "success", "promptTokens": 1, "completionTokens": 1, "cost": 0.1},`)
	pad := bytes.Repeat([]byte(" "), 64<<10)
	for i := 0; r.Context().Err() == nil; i++ {
		chunk := pad
		if f.Endless {
			chunk = rec
		} else if rest := f.Huge - sent - 2; rest <= 0 {
			_, _ = w.Write([]byte("]}")[:min(2, f.Huge-sent)])
			return
		} else if rest < int64(len(chunk)) {
			chunk = chunk[:rest]
		}
		if _, err := w.Write(chunk); err != nil {
			return
		}
		sent += int64(len(chunk))
	}
}

func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}

// page answers a records request: start <= timestamp < end, after the
// cursor, at most limit records, with a next link that carries the cursor and
// the filters.
func (s *Server) page(w http.ResponseWriter, r *http.Request, tenant string, f Fault) {
	q := r.URL.Query()
	start, err1 := time.Parse(time.RFC3339Nano, q.Get("start"))
	end, err2 := time.Parse(time.RFC3339Nano, q.Get("end"))
	if err1 != nil || err2 != nil {
		writeJSON(w, http.StatusBadRequest, `{"start": ["Enter a valid date/time."]}`)
		return
	}
	limit, err := strconv.Atoi(q.Get("limit"))
	if err != nil || limit < 1 {
		limit = 100
	}
	limit = min(limit, s.MaxLimit)
	var after *source.Record
	if c := q.Get("cursor"); c != "" {
		raw, err := base64.RawURLEncoding.DecodeString(c)
		ts, id, ok := strings.Cut(string(raw), "|")
		n, err2 := strconv.ParseInt(ts, 10, 64)
		if err != nil || !ok || err2 != nil {
			writeJSON(w, http.StatusBadRequest, `{"detail": "Invalid cursor."}`)
			return
		}
		after = &source.Record{Time: n, ID: id}
	}
	s.mu.Lock()
	all := s.records[tenant]
	i := sort.Search(len(all), func(i int) bool { return all[i].Time >= start.UnixNano() })
	if after != nil {
		i = sort.Search(len(all), func(i int) bool { return less(after, &all[i]) })
	}
	var out []source.Record
	if s.Dup && after != nil && i > 0 && all[i-1].Time >= start.UnixNano() {
		out = append(out, all[i-1])
	}
	for ; i < len(all) && len(out) < limit && all[i].Time < end.UnixNano(); i++ {
		out = append(out, all[i])
	}
	more := i < len(all) && all[i].Time < end.UnixNano()
	s.mu.Unlock()
	next := ""
	if (more || f.LoopNext) && len(out) > 0 {
		nq := url.Values{}
		nq.Set("start", q.Get("start"))
		nq.Set("end", q.Get("end"))
		nq.Set("limit", strconv.Itoa(limit))
		last := out[len(out)-1]
		nq.Set("cursor", base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(last.Time, 10)+"|"+last.ID)))
		host := r.Host
		if f.NextHost != "" {
			host = f.NextHost
		}
		u := url.URL{Scheme: "http", Host: host, Path: r.URL.Path, RawQuery: nq.Encode()}
		if f.LoopNext {
			u.RawQuery = r.URL.RawQuery
		}
		next = u.String()
	}
	body := wire.AppendPage(nil, next, out)
	if f.Truncate {
		body = body[:len(body)/2]
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(body)
}

// Quota is a quota body for SetQuota.
func Quota(calls, tokens *int64, spend string) string {
	js := func(p *int64) string {
		if p == nil {
			return "null"
		}
		return strconv.FormatInt(*p, 10)
	}
	if spend == "" {
		spend = "null"
	}
	b, _ := json.Marshal(json.RawMessage(fmt.Sprintf(`{"periodStart": null, "limits": {"apiCalls": %s, "tokens": %s, "spend": %s}}`, js(calls), js(tokens), spend)))
	return string(b)
}
