package main

import (
	"encoding/json"
	"mime"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// TestBudgetSetListRemove: budget set writes the documented shape into the
// config file (keeping the rest of it), list reads it back, rm takes one
// out; a bad budget is refused with exit 2 and the file left as it was.
func TestBudgetSetListRemove(t *testing.T) {
	e := newEnv(t)
	path := filepath.Join(e.dir, "config.yaml")
	e.vars["NEXTCORE_CONFIG"] = path
	os.WriteFile(path, []byte("# team settings\ntenant: acme # prod\n"), 0o644)
	ok := func(args ...string) string {
		t.Helper()
		r := e.run("", false, append([]string{"budget"}, args...)...)
		if r.code != 0 {
			t.Fatalf("budget %v: %d %q", args, r.code, r.stderr)
		}
		return r.stdout + r.stderr
	}
	ok("set", "search-monthly", "--scope", "project=search", "--spend", "$1,000.50")
	ok("set", "ci", "--scope", "key=ci,model=gpt-4o", "--scope", "model=gpt-4o-mini", "--calls", "20_000", "--period", "rolling-7d", "--thresholds", "80,100")
	ok("set", "tokens-daily", "--tokens", "5000000", "--period", "day")
	data, _ := os.ReadFile(path)
	for _, want := range []string{"# team settings", "tenant: acme # prod",
		"  - name: search-monthly\n    scope: {project: search}\n    limit: {spend: 1000.5}\n    period: month\n",
		"  - name: ci\n    scope: {key: ci, model: [gpt-4o, gpt-4o-mini]}\n    limit: {calls: 20000}\n    period: rolling-7d\n    thresholds: [80, 100]\n",
		"  - name: tokens-daily\n    limit: {tokens: 5000000}\n    period: day\n"} {
		if !strings.Contains(string(data), want) {
			t.Errorf("the file lacks %q:\n%s", want, data)
		}
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Errorf("mode %04o", st.Mode().Perm())
	}
	// Set again: replaced in place, not added.
	if out := ok("set", "ci", "--calls", "100", "--period", "week"); !strings.Contains(out, "replaced budget ci") {
		t.Errorf("set again said %q", out)
	}
	var list struct {
		Budgets []struct {
			Name, Metric, Period string
			Limit                json.Number
			Scope                map[string][]string
			Thresholds           []json.Number
		}
	}
	if err := json.Unmarshal([]byte(ok("list", "--format", "json")), &list); err != nil {
		t.Fatal(err)
	}
	if len(list.Budgets) != 3 || list.Budgets[0].Name != "ci" || list.Budgets[0].Period != "week" || list.Budgets[0].Limit != "100" ||
		len(list.Budgets[0].Scope) != 0 || list.Budgets[1].Name != "search-monthly" || list.Budgets[1].Limit != "1000.5" ||
		list.Budgets[1].Scope["project"][0] != "search" || len(list.Budgets[2].Thresholds) != 3 {
		t.Errorf("list: %+v", list)
	}
	if out := ok("list"); !strings.Contains(out, "search-monthly") || !strings.Contains(out, "$1,000.50") || !strings.Contains(out, "50% 80% 100%") {
		t.Errorf("list:\n%s", out)
	}
	before, _ := os.ReadFile(path)
	for _, bad := range [][]string{
		{"set", "x", "--spend", "-3"},
		{"set", "x", "--spend", "3", "--calls", "4"},
		{"set", "x"},
		{"set", "x", "--spend", "3", "--period", "fortnight"},
		{"set", "x", "--spend", "3", "--period", "rolling-0d"},
		{"set", "x", "--spend", "3", "--scope", "colour=red"},
		{"set", "x", "--spend", "3", "--scope", "status=error"}, // a budget counts calls, not outcomes
		{"set", "x", "--spend", "3", "--thresholds", "80,zero"},
		{"set", " ", "--spend", "3"},
		{"rm", "nope"},
		{"rm"},
	} {
		if r := e.run("", false, append([]string{"budget"}, bad...)...); r.code != 2 || strings.Count(strings.TrimSpace(r.stderr), "\n") > 0 {
			t.Errorf("budget %v: %d %q, want exit 2 and one line", bad, r.code, r.stderr)
		}
	}
	if after, _ := os.ReadFile(path); string(after) != string(before) {
		t.Errorf("a refused budget changed the file:\n%s", after)
	}
	ok("rm", "ci")
	data, _ = os.ReadFile(path)
	if strings.Contains(string(data), "name: ci") || !strings.Contains(string(data), "name: search-monthly") {
		t.Errorf("after rm:\n%s", data)
	}
}

// TestUsageBudgets: budgets over the imported month, in a zone, as JSON of
// the pinned shape, as a table, and as a CI gate.
func TestUsageBudgets(t *testing.T) {
	e := imported(t)
	path := filepath.Join(e.dir, "config.yaml")
	e.vars["NEXTCORE_CONFIG"] = path
	os.WriteFile(path, []byte(`tenant: acme
budgets:
  - name: web-monthly
    scope: {key: key_prod_web}
    limit: {spend: 0.45}
    period: month
  - name: gpt-week
    scope: {model: [gpt-4o, gpt-4o-mini]}
    limit: {tokens: 1000000}
    period: week
    thresholds: [50, 90, 100]
  - name: all-calls
    limit: {calls: 2000}
    period: rolling-30d
  - name: mini-week
    scope: {model: gpt-4o-mini, region: eu-central}
    limit: {tokens: 1000}
    period: rolling-7d
`), 0o600)
	at := []string{"--as-of", "2026-11-18T12:00:00+01:00", "--tz", "Europe/Berlin"}
	r := e.run("", false, append([]string{"usage", "budgets", "--format", "json"}, at...)...)
	if r.code != 0 {
		t.Fatalf("%d %q", r.code, r.stderr)
	}
	var got struct {
		Budgets []map[string]any `json:"budgets"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Budgets) != 4 {
		t.Fatalf("%d budgets", len(got.Budgets))
	}
	for _, b := range got.Budgets {
		for _, k := range []string{"name", "used", "limit", "percent", "level", "projected", "projectedLevel", "overrunDate"} {
			if _, ok := b[k]; !ok {
				t.Errorf("%v lacks %s", b["name"], k)
			}
		}
	}
	golden(t, "budgets-json", r.stdout)
	r = e.run("", false, append([]string{"usage", "budgets"}, at...)...)
	if r.code != 0 {
		t.Fatalf("%d %q", r.code, r.stderr)
	}
	golden(t, "budgets-table", r.stdout)
	r = e.run("", false, append([]string{"usage", "budgets", "--format", "csv"}, at...)...)
	golden(t, "budgets-csv", r.stdout)
	r = e.run("", false, append([]string{"usage", "budgets", "--format", "github"}, at...)...)
	for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		if !strings.HasPrefix(line, "::notice title=") && !strings.HasPrefix(line, "::warning title=") && !strings.HasPrefix(line, "::error title=") {
			t.Errorf("not an annotation: %q", line)
		}
	}
	golden(t, "budgets-github", r.stdout)
	// web-monthly is at 86 % (warning), projected over; mini-week over.
	for _, c := range []struct {
		budget, failOn string
		code           int
	}{
		{"web-monthly", "exceeded", 0}, {"web-monthly", "warning", 3}, {"web-monthly", "projected", 3},
		{"mini-week", "exceeded", 3}, {"all-calls", "projected", 0},
	} {
		r := e.run("", false, append([]string{"usage", "budgets", "--fail-on", c.failOn, "--budget", c.budget}, at...)...)
		if r.code != c.code || c.code == 3 && !strings.Contains(r.stderr, "budget check failed (--fail-on "+c.failOn+"): "+c.budget) {
			t.Errorf("%s --fail-on %s: %d %q", c.budget, c.failOn, r.code, r.stderr)
		}
	}
	for _, bad := range [][]string{{"--budget", "nope"}, {"--fail-on", "unpriced"}, {"--format", "pdf"}} {
		if r := e.run("", false, append([]string{"usage", "budgets"}, bad...)...); r.code != 2 {
			t.Errorf("%v: %d %q", bad, r.code, r.stderr)
		}
	}
	// A budget the file gets wrong: the report says which, in one line.
	os.WriteFile(path, []byte("budgets:\n  - name: x\n    limit: {euros: 3}\n"), 0o600)
	if r := e.run("", false, "usage", "budgets"); r.code != 1 || !strings.Contains(r.stderr, `budget "x": limit "euros"`) {
		t.Errorf("a bad budget: %d %q", r.code, r.stderr)
	}
}

// TestBudgetAlerts: usage alert covers budgets: each threshold and the
// forecast of each budget once per period and channel, by a real SMTP
// exchange and a webhook of the budget's own; a rolling budget once in its
// stretch of days.
func TestBudgetAlerts(t *testing.T) {
	e, mb := mailEnv(t, nil)
	var hooks []map[string]any
	var hookMu sync.Mutex
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hookMu.Lock()
		defer hookMu.Unlock()
		var v map[string]any
		json.NewDecoder(r.Body).Decode(&v)
		hooks = append(hooks, v)
	}))
	defer hook.Close()
	path := filepath.Join(e.dir, "config.yaml")
	e.vars["NEXTCORE_CONFIG"] = path
	// key_prod_web's November spend (fixture, UTC) by the end of Nov 5:
	// $0.106; Nov 15: $0.324; Nov 20: $0.454. gpt-4o calls Nov 14–20: 42.
	os.WriteFile(path, []byte(`budgets:
  - name: web-monthly
    scope: {key: key_prod_web}
    limit: {spend: 0.55}
    period: month
  - name: gpt-roll
    scope: {model: gpt-4o}
    limit: {calls: 40}
    period: rolling-7d
    webhook: `+hook.URL+`
`), 0o600)
	alert := func(asOf string, extra ...string) result {
		return e.runMail(nil, append([]string{"usage", "alert", "--email", "finance@acme.example", "--smtp-insecure", "--tz", "UTC", "--as-of", asOf}, extra...)...)
	}
	subject := func(i int) (string, string) {
		m, bodies, _ := parts(t, mb.received()[i].data)
		s, _ := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
		return s, bodies["text/plain"]
	}
	// Nov 5: web-monthly 19 %, on course for 116 %: the forecast, by mail.
	// gpt-roll 27 calls of 40 (67.5 %): 50 %, by its webhook.
	if r := alert("2026-11-05"); r.code != 0 || len(mb.received()) != 1 || len(hooks) != 1 {
		t.Fatalf("Nov 5: %d %q, %d sent, %d hooks", r.code, r.stderr, len(mb.received()), len(hooks))
	}
	if s, body := subject(0); !strings.Contains(s, "Budget web-monthly is on course for 116.1% of its month limit") ||
		!strings.Contains(body, "web-monthly · key=key_prod_web · month (Nov 1 – Nov 30)") {
		t.Errorf("forecast mail: %q\n%s", s, body)
	}
	hookKeys := func(i int) []string {
		var keys []string
		alerts, _ := hooks[i]["alerts"].([]any)
		for _, a := range alerts {
			keys = append(keys, a.(map[string]any)["key"].(string))
		}
		return keys
	}
	if k := hookKeys(0); strings.Join(k, " ") != "threshold:50" || hooks[0]["budget"].(map[string]any)["name"] != "gpt-roll" {
		t.Errorf("Nov 5 webhook: %v", hooks[0])
	}
	// Nov 15: web-monthly 59 %: 50 % passed, the forecast not said again;
	// gpt-roll 33 calls (82.5 %): 80 %.
	if r := alert("2026-11-15"); r.code != 0 || len(mb.received()) != 2 || len(hooks) != 2 {
		t.Fatalf("Nov 15: %d %q, %d sent, %d hooks", r.code, r.stderr, len(mb.received()), len(hooks))
	}
	if s, body := subject(1); !strings.Contains(s, "Budget web-monthly passed 50% of its month limit: 59.0%") || strings.Contains(body, "on course") {
		t.Errorf("50 %% mail: %q\n%s", s, body)
	}
	if k := hookKeys(1); strings.Join(k, " ") != "threshold:80" {
		t.Errorf("Nov 15 webhook: %v", k)
	}
	if r := alert("2026-11-15"); r.code != 0 || len(mb.received()) != 2 || len(hooks) != 2 || r.stdout != "" {
		t.Fatalf("again: %d %q, %d sent", r.code, r.stderr, len(mb.received()))
	}
	// Nov 20: web-monthly 82.6 %: 80 %; gpt-roll 42 calls: 100 %.
	r := alert("2026-11-20", "--dry-run")
	if r.code != 0 || !strings.Contains(r.stdout, "would send by email:\n  Budget web-monthly passed 80%") ||
		!strings.Contains(r.stdout, "would send by webhook:\n  Budget gpt-roll passed 100% of its rolling-7d limit: 105.0%\n") || len(hooks) != 2 {
		t.Fatalf("dry run: %d %q %q", r.code, r.stdout, r.stderr)
	}
	if r := alert("2026-11-20"); r.code != 0 || len(mb.received()) != 3 || len(hooks) != 3 {
		t.Fatalf("Nov 20: %d %q, %d sent, %d hooks", r.code, r.stderr, len(mb.received()), len(hooks))
	}
	if s, _ := subject(2); !strings.Contains(s, "Budget web-monthly passed 80% of its month limit: 82.6%") {
		t.Errorf("80 %% mail: %q", s)
	}
	if budget := hooks[2]["budget"].(map[string]any); strings.Join(hookKeys(2), " ") != "threshold:100" || budget["used"] != float64(42) || budget["level"] != "exceeded" {
		t.Errorf("Nov 20 webhook: %v", hooks[2])
	}
	// Nov 22 still over (44 calls): nothing. Nov 24 (39 calls, 97.5 %)
	// re-arms 100 %, and Nov 26 (25 calls, 62.5 %) 80 % too: back over
	// them, they go out again.
	for _, day := range []string{"2026-11-22", "2026-11-24", "2026-11-26"} {
		if r := alert(day); r.code != 0 || len(hooks) != 3 {
			t.Fatalf("%s: %d %q, %d hooks", day, r.code, r.stderr, len(hooks))
		}
	}
	if r := alert("2026-11-22T12:00:00Z"); r.code != 0 || len(hooks) != 4 || strings.Join(hookKeys(3), " ") != "threshold:80 threshold:100" {
		t.Fatalf("over again: %d %q, %d hooks", r.code, r.stderr, len(hooks))
	}
	// Without --email, web-monthly has no one to tell: said, in a line.
	if r := e.runMail(nil, "usage", "alert", "--tz", "UTC", "--as-of", "2026-11-22"); r.code != 0 || !strings.Contains(r.stderr, "budget web-monthly has no one to alert") {
		t.Errorf("no channel for one budget: %d %q", r.code, r.stderr)
	}
}
