package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
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
