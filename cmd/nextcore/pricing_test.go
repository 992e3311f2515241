package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPricingCommands: list, show (with how the name was found), check of
// the cache's models, a price file that fixes a missing price, and a bad
// price file refused in one line with exit 2.
func TestPricingCommands(t *testing.T) {
	e := imported(t)
	r := e.run("", false, "pricing", "list", "gpt-4o-mini")
	if r.code != 0 || !strings.Contains(r.stdout, "built-in snapshot of 2026-03-03") || !strings.Contains(r.stdout, "gpt-4o-mini") {
		t.Errorf("list: %d %q %q", r.code, r.stdout, r.stderr)
	}
	fits(t, "pricing list", e.run("", false, "pricing", "list").stdout, 80)
	r = e.run("", false, "pricing", "show", "claude-3-5-sonnet")
	if r.code != 0 || !strings.Contains(r.stdout, "claude-3-5-sonnet is priced as claude-3-5-sonnet-20241022 (an alias)") ||
		!strings.Contains(r.stdout, "input 3, cache read 0.3, cache write 3.75, cache write 1 h 6, output 15") {
		t.Errorf("show: %q %q", r.stdout, r.stderr)
	}
	if r = e.run("", false, "pricing", "show", "no-such-model"); r.code != 1 || !strings.Contains(r.stderr, `no price for "no-such-model"`) {
		t.Errorf("show unknown: %d %q", r.code, r.stderr)
	}
	r = e.run("", false, "pricing", "check", "--fail-on", "unpriced")
	if r.code != 3 || !strings.Contains(r.stdout, "no price: llama-3.1-70b") || !strings.Contains(r.stdout, "no price: mistral-large") {
		t.Fatalf("check: %d %q %q", r.code, r.stdout, r.stderr)
	}
	prices := filepath.Join(e.dir, "prices.yaml")
	os.WriteFile(prices, []byte("models:\n  llama-3.1-70b:\n    provider: meta\n    prices:\n      - {from: 2024-07-23, input: 0.88, output: 0.88}\n"+
		"  mistral-large:\n    aliases: [mistral-large-latest]\n    prices:\n      - {from: 2024-02-26, input: 2, output: 6}\n"), 0o600)
	r = e.run("", false, "pricing", "check", "--fail-on", "unpriced", "--prices", prices)
	if r.code != 0 || !strings.Contains(r.stdout, "10 of 10 models in the cache have a price") {
		t.Errorf("check with a price file: %d %q %q", r.code, r.stdout, r.stderr)
	}
	bad := filepath.Join(e.dir, "bad.yaml")
	os.WriteFile(bad, []byte("models:\n  m:\n    prices:\n      - {from: 2024-01-01, input: -2}\n"), 0o600)
	before := dump(t, e.cachePath())
	r = e.run("", false, "pricing", "check", "--prices", bad)
	if r.code != 2 || strings.Count(r.stderr, "\n") != 1 || !strings.Contains(r.stderr, "bad.yaml:4: a price period of \"m\": input is negative: -2") {
		t.Errorf("bad price file: %d %q", r.code, r.stderr)
	}
	if dump(t, e.cachePath()) != before {
		t.Error("a bad price file changed the cache")
	}
	r = e.run("", false, "pricing", "list", "--format", "json", "--prices", prices, "mistral")
	if r.code != 0 || !strings.Contains(r.stdout, `"mistral-large": {`) || !strings.Contains(r.stdout, `"aliases": [`) {
		t.Errorf("list json: %q", r.stdout)
	}
}

// TestReconcileCommand: the fixture's costs against a price book that
// prices one model 20% under what the records report: those rows are
// flagged, --fail-on mismatch exits 3, and the JSON says the same.
func TestReconcileCommand(t *testing.T) {
	e := imported(t)
	window := []string{"usage", "reconcile", "--period", "week", "--tz", "UTC", "--as-of", "2026-11-23"}
	r := e.run("", false, window...)
	if r.code != 0 || !strings.Contains(r.stdout, "day × model rows differ by more than 1% and $0.01") {
		t.Fatalf("reconcile: %d %q %q", r.code, r.stdout, r.stderr)
	}
	prices := filepath.Join(e.dir, "prices.yaml")
	// gpt-4o at $2 in and $8 out: 20% under the snapshot's $2.5 and $10.
	os.WriteFile(prices, []byte("models:\n  gpt-4o:\n    prices:\n      - {from: 2024-01-01, input: 2, output: 8}\n"), 0o600)
	r = e.run("", false, append(window, "--prices", prices, "--fail-on", "mismatch", "--format", "json")...)
	if r.code != 3 || !strings.Contains(r.stderr, "reconciliation failed (--fail-on mismatch)") {
		t.Fatalf("mismatch: %d %q", r.code, r.stderr)
	}
	var js struct {
		Rows []struct {
			Model    string
			Reported float64
			Priced   *float64
			Ratio    *float64
			Flagged  bool
		}
		Flagged  int
		Unpriced []string
	}
	if err := json.Unmarshal([]byte(r.stdout), &js); err != nil {
		t.Fatal(err)
	}
	for _, row := range js.Rows {
		switch {
		case row.Model == "gpt-4o" && row.Priced != nil && row.Reported-*row.Priced > 0.0100001 && !row.Flagged:
			t.Errorf("a gpt-4o row 25%% and over a cent over is not flagged: %+v", row)
		case row.Model == "gpt-4o" && row.Priced != nil && row.Reported-*row.Priced < 0.0099999 && row.Flagged:
			t.Errorf("a gpt-4o row under a cent over is flagged: %+v", row)
		case row.Model != "gpt-4o" && row.Flagged:
			t.Errorf("a row at list price is flagged: %+v", row)
		}
	}
	if js.Flagged == 0 || len(js.Unpriced) != 2 {
		t.Errorf("flagged %d, unpriced %v", js.Flagged, js.Unpriced)
	}
}

// TestPricingCheckLedger: pricing check counts a model's calls once (the
// whole history, not twice), names calls that reported no cost, and service
// tiers a model's prices lack.
func TestPricingCheckLedger(t *testing.T) {
	e := newEnv(t)
	recs := `{"id":"a","timestamp":"2026-11-20T10:00:00Z","model":"ft:mine","apiKey":"k","status":"success","requests":3,"inputTokens":10,"outputTokens":5,"cost":null}
{"id":"b","timestamp":"2026-11-21T10:00:00Z","model":"ft:mine","apiKey":"k","status":"success","promptTokens":10,"completionTokens":5,"cost":0.5}
{"id":"c","timestamp":"2026-11-21T11:00:00Z","model":"gpt-4o-mini","apiKey":"k","status":"success","promptTokens":10,"completionTokens":5,"cost":0.1,"serviceTier":"turbo"}
`
	path := filepath.Join(e.dir, "v2.jsonl")
	os.WriteFile(path, []byte(recs), 0o600)
	if r := e.run("", false, "usage", "import", "--tenant", "acme", path); r.code != 0 {
		t.Fatalf("import: %s", r.stderr)
	}
	r := e.run("", false, "pricing", "check", "--tenant", "acme")
	for _, want := range []string{
		"1 of 2 models in the cache have a price",
		"no price: ft:mine — 4 calls, 30 tokens, $0.50 reported (3 calls reported no cost: unpriced)",
		"no turbo prices: gpt-4o-mini — 1 call, priced at its standard prices",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("check does not say %q:\n%s%s", want, r.stdout, r.stderr)
		}
	}
}
