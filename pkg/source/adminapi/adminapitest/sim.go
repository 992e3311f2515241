// Package adminapitest is a loopback simulator of the providers' admin
// usage APIs, as their API references describe them: OpenAI's GET
// /v1/organization/usage/completions (Bearer admin key; start_time,
// end_time, bucket_width 1m|1h|1d with its most buckets a page, group_by,
// page; a page object with has_more and next_page) and Anthropic's GET
// /v1/organizations/usage_report/messages (x-api-key and anthropic-version
// headers; starting_at, ending_at, bucket_width, group_by[], page). Usage
// is made up, the same for the same hour every time, and Expected says
// what a sync of a stretch must store. Fault makes any request fail.
package adminapitest

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math/big"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Sim simulates one provider ("openai" or "anthropic").
type Sim struct {
	Provider string
	Key      string
	// PageBuckets is how many buckets a page holds at most (below the
	// limit asked, as the real APIs do when results are many); 24 if 0.
	PageBuckets int
	// Fault, when set, may answer request n (from 1) itself: a status, a
	// Retry-After, a body (a 200 with a cut body, say). ok false: no fault.
	Fault func(n int, r *http.Request) (status int, retryAfter, body string, ok bool)

	mu       sync.Mutex
	requests int
}

// Requests is how many requests the simulator answered.
func (s *Sim) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

// Usage is an hour's usage of one group, as the simulator makes it.
type Usage struct {
	Model, Project, Key                    string
	Requests, Input, Cached, Write, Output int64 // Input: uncached
}

var groups = []struct{ model, project, key string }{
	{"gpt-4o", "proj_alpha", "key_a"}, {"gpt-4o-mini", "proj_alpha", "key_a"}, {"gpt-4o", "proj_beta", "key_b"},
}

var anthropicGroups = []struct{ model, project, key string }{
	{"claude-sonnet-4-20250514", "wrkspc_alpha", "apikey_a"}, {"claude-3-5-haiku-20241022", "wrkspc_beta", "apikey_b"},
}

// HourUsage is the usage of the hour beginning at h: nothing in some hours,
// a few groups in the others.
func (s *Sim) HourUsage(h time.Time) []Usage {
	gs := groups
	if s.Provider == "anthropic" {
		gs = anthropicGroups
	}
	var out []Usage
	for i, g := range gs {
		f := fnv.New64a()
		fmt.Fprintf(f, "%d/%d", h.Unix(), i)
		x := f.Sum64()
		if x%5 == 0 {
			continue // no calls of this group this hour
		}
		u := Usage{Model: g.model, Project: g.project, Key: g.key, Requests: int64(1 + x%40),
			Input: int64(100 + x%50000), Cached: int64(x / 7 % 20000), Output: int64(10 + x/11%9000)}
		if s.Provider == "anthropic" {
			u.Write = int64(x / 13 % 3000)
		}
		out = append(out, u)
	}
	return out
}

// Expected is the sum of the usage of the hours in [start, end).
func (s *Sim) Expected(start, end time.Time) (u Usage) {
	for h := start; h.Before(end); h = h.Add(time.Hour) {
		for _, g := range s.HourUsage(h) {
			u.Requests += g.Requests
			u.Input += g.Input
			u.Cached += g.Cached
			u.Write += g.Write
			u.Output += g.Output
		}
	}
	return u
}

func apiError(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"type": typ, "message": msg}})
}

// widths are the bucket widths and the most buckets a page may ask for.
var widths = map[string]struct {
	d   time.Duration
	max int
}{"1m": {time.Minute, 1440}, "1h": {time.Hour, 168}, "1d": {24 * time.Hour, 31}}

// ServeHTTP answers the provider's usage endpoint.
func (s *Sim) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests++
	n := s.requests
	s.mu.Unlock()
	if s.Fault != nil {
		if status, after, body, ok := s.Fault(n, r); ok {
			if after != "" {
				w.Header().Set("Retry-After", after)
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			_, _ = w.Write([]byte(body))
			return
		}
	}
	openai := s.Provider == "openai"
	path, costs := "/v1/organizations/usage_report/messages", "/v1/organizations/cost_report"
	if openai {
		path, costs = "/v1/organization/usage/completions", "/v1/organization/costs"
	}
	if r.URL.Path != path && r.URL.Path != costs || r.Method != http.MethodGet {
		apiError(w, http.StatusNotFound, "not_found_error", "no such endpoint")
		return
	}
	if openai && r.Header.Get("Authorization") != "Bearer "+s.Key ||
		!openai && (r.Header.Get("x-api-key") != s.Key || r.Header.Get("anthropic-version") == "") {
		apiError(w, http.StatusUnauthorized, "authentication_error", "invalid admin key")
		return
	}
	q := r.URL.Query()
	width, ok := widths[q.Get("bucket_width")]
	if q.Get("bucket_width") == "" {
		width, ok = widths["1d"], true
	}
	bill := r.URL.Path == costs
	if bill && q.Get("bucket_width") != "" && q.Get("bucket_width") != "1d" {
		ok = false // the cost APIs have daily buckets only
	}
	if !ok {
		apiError(w, http.StatusBadRequest, "invalid_request_error", "bucket_width must be 1m, 1h or 1d")
		return
	}
	limit := 7
	if l := q.Get("limit"); l != "" {
		var err error
		if limit, err = strconv.Atoi(l); err != nil || limit < 1 || limit > width.max {
			apiError(w, http.StatusBadRequest, "invalid_request_error", fmt.Sprintf("limit must be 1 to %d for this bucket_width", width.max))
			return
		}
	}
	var start, end time.Time
	if openai {
		st, err1 := strconv.ParseInt(q.Get("start_time"), 10, 64)
		en, err2 := strconv.ParseInt(q.Get("end_time"), 10, 64)
		if err1 != nil || err2 != nil {
			apiError(w, http.StatusBadRequest, "invalid_request_error", "start_time and end_time are Unix seconds")
			return
		}
		start, end = time.Unix(st, 0).UTC(), time.Unix(en, 0).UTC()
	} else {
		var err1, err2 error
		start, err1 = time.Parse(time.RFC3339, q.Get("starting_at"))
		end, err2 = time.Parse(time.RFC3339, q.Get("ending_at"))
		if err1 != nil || err2 != nil {
			apiError(w, http.StatusBadRequest, "invalid_request_error", "starting_at and ending_at are RFC 3339 times")
			return
		}
	}
	if !end.After(start) || start.Truncate(width.d) != start {
		apiError(w, http.StatusBadRequest, "invalid_request_error", "the start must be a bucket's start, before the end")
		return
	}
	from := start
	if p := q.Get("page"); p != "" {
		b, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(p, "page_"))
		sec, err2 := strconv.ParseInt(string(b), 10, 64)
		if !strings.HasPrefix(p, "page_") || err != nil || err2 != nil {
			apiError(w, http.StatusBadRequest, "invalid_request_error", "bad page cursor")
			return
		}
		from = time.Unix(sec, 0).UTC()
	}
	per := min(limit, s.PageBuckets)
	if s.PageBuckets == 0 {
		per = min(limit, 24)
	}
	var data []any
	b := from
	for ; b.Before(end) && len(data) < per; b = b.Add(width.d) {
		var results []any
		if bill {
			results = s.bill(b, openai)
		}
		for h := b; !bill && h.Before(b.Add(width.d)) && h.Before(end); h = h.Add(time.Hour) {
			if width.d < time.Hour && h.Truncate(time.Hour) != h {
				continue
			}
			for _, u := range s.HourUsage(h) {
				if openai {
					results = append(results, map[string]any{"object": "organization.usage.completions.result",
						"input_tokens": u.Input + u.Cached, "input_cached_tokens": u.Cached, "output_tokens": u.Output,
						"input_audio_tokens": 0, "output_audio_tokens": 0, "num_model_requests": u.Requests,
						"project_id": u.Project, "user_id": nil, "api_key_id": u.Key, "model": u.Model, "batch": false, "service_tier": "default"})
				} else {
					results = append(results, map[string]any{"uncached_input_tokens": u.Input,
						"cache_creation":          map[string]any{"ephemeral_1h_input_tokens": 0, "ephemeral_5m_input_tokens": u.Write},
						"cache_read_input_tokens": u.Cached, "output_tokens": u.Output, "server_tool_use": map[string]any{"web_search_requests": 0},
						"api_key_id": u.Key, "workspace_id": u.Project, "model": u.Model, "service_tier": "standard", "context_window": "0-200k"})
				}
			}
		}
		if results == nil {
			results = []any{}
		}
		if openai {
			data = append(data, map[string]any{"object": "bucket", "start_time": b.Unix(), "end_time": b.Add(width.d).Unix(), "results": results})
		} else {
			data = append(data, map[string]any{"starting_at": b.Format(time.RFC3339), "ending_at": b.Add(width.d).Format(time.RFC3339), "results": results})
		}
	}
	more := b.Before(end)
	var next any
	if more {
		next = "page_" + base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(b.Unix(), 10)))
	}
	page := map[string]any{"data": data, "has_more": more, "next_page": next}
	if openai {
		page["object"] = "page"
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(page)
}

// prices are the list prices the simulated providers bill at, in dollars
// per million tokens: input, cache read, cache write, output.
var prices = map[string][4]string{
	"gpt-4o": {"2.5", "1.25", "2.5", "10"}, "gpt-4o-mini": {"0.15", "0.075", "0.15", "0.6"},
	"claude-sonnet-4-20250514": {"3", "0.3", "3.75", "15"}, "claude-3-5-haiku-20241022": {"0.8", "0.08", "1", "4"},
}

// Cost is what the simulator bills for one group's usage: exact.
func Cost(u Usage) *big.Rat {
	p := prices[u.Model]
	total := new(big.Rat)
	for i, n := range []int64{u.Input, u.Cached, u.Write, u.Output} {
		r, _ := new(big.Rat).SetString(p[i])
		total.Add(total, r.Mul(r, big.NewRat(n, 1_000_000)))
	}
	return total
}

// bill is the day's bill from b: a line per project and model, each
// rounded to the nano-dollar as a provider rounds a line (OpenAI: dollars,
// a number; Anthropic: cents, a string).
func (s *Sim) bill(b time.Time, openai bool) []any {
	type key struct{ project, model string }
	day := map[key]*big.Rat{}
	var keys []key
	for h := b; h.Before(b.Add(24 * time.Hour)); h = h.Add(time.Hour) {
		for _, u := range s.HourUsage(h) {
			k := key{u.Project, u.Model}
			if day[k] == nil {
				day[k] = new(big.Rat)
				keys = append(keys, k)
			}
			day[k].Add(day[k], Cost(u))
		}
	}
	var out []any
	for _, k := range keys {
		if openai {
			out = append(out, map[string]any{"object": "organization.costs.result",
				"amount":    map[string]any{"value": json.Number(day[k].FloatString(9)), "currency": "usd"},
				"line_item": k.model, "project_id": k.project})
			continue
		}
		cents := new(big.Rat).Mul(day[k], big.NewRat(100, 1))
		out = append(out, map[string]any{"currency": "USD", "amount": cents.FloatString(7), "workspace_id": k.project,
			"description": k.model + " usage", "model": k.model, "cost_type": "tokens"})
	}
	return out
}
