package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nextcore-ai/nextcore/pkg/source/adminapi/adminapitest"
)

// providers is where the real payloads of the providers' APIs are.
const providers = "../../pkg/source/importer/testdata"

// TestProvidersInOneCache imports what a team has besides NextCore, from
// real payloads (an OpenAI dashboard export of usage and of costs, an
// Anthropic usage report, LiteLLM spend logs, Claude Code transcripts),
// into one cache, twice (the second time stores nothing), and reads one
// breakdown by provider and the OpenAI bill against its usage.
func TestProvidersInOneCache(t *testing.T) {
	e := newEnv(t)
	imports := []struct {
		from, path, says string
	}{
		{"openai-usage", "openai-usage/dashboard-export-daily-2025-10-05_12.tsv", "6 added"},
		{"openai-costs", "openai-costs/dashboard-export-daily-2025-10-05_12.tsv", "6 line(s) of openai's bill added"},
		{"anthropic-usage", "anthropic-usage/live-2025-09-17-ungrouped.json", "3 added"},
		{"litellm", "litellm-spend/spendlogs-rows-responses-session.json", "2 added"},
		{"claude-code", "claude-code/projects", "330 added"},
	}
	for round, again := range []bool{false, true} {
		for _, im := range imports {
			r := e.run("", false, "usage", "import", "--tenant", "team", "--from", im.from, filepath.Join(providers, im.path))
			if r.code != 0 {
				t.Fatalf("round %d, %s: exit %d: %s", round, im.from, r.code, r.stderr)
			}
			if !again && !strings.Contains(r.stderr, im.says) {
				t.Errorf("%s: %q does not say %q", im.from, r.stderr, im.says)
			}
			if again && !strings.Contains(r.stderr, " 0 added") && !strings.Contains(r.stderr, ": 0 line(s)") &&
				!strings.Contains(r.stderr, "nothing changed") {
				t.Errorf("%s again: %q", im.from, r.stderr)
			}
		}
	}
	r := e.run("", false, "--tenant", "team", "--tz", "UTC", "usage", "breakdown", "--by", "provider",
		"--from", "2025-01-01", "--to", "2026-11-24", "--format", "json")
	if r.code != 0 {
		t.Fatalf("breakdown: %d %s", r.code, r.stderr)
	}
	var b struct {
		Rows []struct {
			Provider string `json:"provider"`
			Calls    int64  `json:"calls"`
			Output   int64  `json:"output"`
		} `json:"rows"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &b); err != nil {
		t.Fatalf("%v: %s", err, r.stdout)
	}
	got := map[string][2]int64{}
	for _, row := range b.Rows {
		got[row.Provider] = [2]int64{row.Calls, row.Output}
	}
	// anthropic: 330 Claude Code messages (81,078 output tokens) and the
	// usage report's buckets, which count no calls (2,724,851 + 4,739,852
	// + … output tokens); openai: 53 requests of the dashboard export;
	// LiteLLM's rows name no provider.
	if got["openai"] != [2]int64{53, 549459} || got["anthropic"][0] != 330 || got["(none)"][0] != 2 {
		t.Errorf("by provider: %v", got)
	}

	// The OpenAI bill of Oct 5–11, 2025 against the same days' usage at
	// list prices: Oct 7, 10 and 11 agree to the nano-dollar; Oct 5, 6
	// and 8 differ (the usage export has no row for Oct 8 at all).
	r = e.run("", false, "--tenant", "team", "usage", "reconcile", "--against", "openai-costs",
		"--from", "2025-10-05", "--to", "2025-10-12", "--format", "csv")
	if r.code != 0 {
		t.Fatalf("reconcile: %d %s", r.code, r.stderr)
	}
	for _, want := range []string{
		"date,bill,calls,billed,priced,difference,ratio,flagged,explanations",
		"2025-10-07,(all),21,0.569788,0.569788,0,1,false,",
		"2025-10-10,(all),11,0.3409,0.3409,0,1,false,",
		"2025-10-08,(all),0,0.5455665,0,0.5455665,,true,\"billed, and no usage imported for it\"",
		"2025-10-05,(all),10,0.895874,0.24726,0.648614,",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("reconcile does not say %q:\n%s", want, r.stdout)
		}
	}
	r = e.run("", false, "--tenant", "team", "usage", "reconcile", "--against", "openai-costs",
		"--from", "2025-10-05", "--to", "2025-10-12", "--fail-on", "mismatch")
	if r.code != 3 || !strings.Contains(r.stderr, "3 day × bill row(s) differ") {
		t.Errorf("--fail-on mismatch: exit %d: %s", r.code, r.stderr)
	}
	for _, bad := range [][]string{
		{"usage", "reconcile", "--against", "openai-usage"},
		{"usage", "import", "--from", "openai-costs", "--skip-invalid", filepath.Join(providers, "openai-costs/spec-page-2024-12-04-typo-object.json")},
		{"usage", "import", "--from", "nope", "x"},
	} {
		if r := e.run("", false, append([]string{"--tenant", "team"}, bad...)...); r.code != 2 {
			t.Errorf("%v: exit %d, want 2: %s", bad, r.code, r.stderr)
		}
	}
}

// TestProviderBadInputChangesNothing: a page of another format, cut short
// or with a negative count is one clear error, exit 1, and the cache as it
// was.
func TestProviderBadInputChangesNothing(t *testing.T) {
	e := imported(t)
	before := dump(t, e.cachePath())
	anthropic := filepath.Join(providers, "anthropic-usage", "docs-2026-08-05-account-id.json")
	data, err := os.ReadFile(anthropic)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name, content string) string {
		p := filepath.Join(e.dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, tc := range []struct {
		from, path, want string
	}{
		{"openai-usage", anthropic, `field "data[0].starting_at": an Anthropic bucket, not OpenAI's`},
		{"anthropic-usage", write("cut.json", string(data[:len(data)/2])), "cut.json:1: the JSON ends too early"},
		{"anthropic-usage", write("neg.json", strings.Replace(string(data), `"output_tokens": 500`, `"output_tokens": -500`, 1)),
			`neg.json:1: field "data[0].results[0].output_tokens": negative: -500`},
		{"anthropic-cost", anthropic, "a usage result, not a cost: use --from anthropic-usage"},
		{"claude-code", filepath.Join(e.dir, "nowhere"), "no such file or directory"},
	} {
		r := e.run("", false, "usage", "import", "--tenant", "acme", "--from", tc.from, tc.path)
		if r.code != 1 || !strings.Contains(r.stderr, tc.want) || strings.Count(strings.TrimSpace(r.stderr), "\n") > 0 {
			t.Errorf("%s %s: exit %d: %q, want one line saying %q", tc.from, filepath.Base(tc.path), r.code, r.stderr, tc.want)
		}
	}
	if dump(t, e.cachePath()) != before {
		t.Error("the cache changed")
	}
}

// TestClaudeCodeReimportReadsWhatChanged: a second import of the same
// projects directory reads nothing; a transcript that grew is read again
// (its old messages are duplicates), the others are not.
func TestClaudeCodeReimportReadsWhatChanged(t *testing.T) {
	e := newEnv(t)
	dir := filepath.Join(e.dir, "claude", "projects")
	if err := os.CopyFS(dir, os.DirFS(filepath.Join(providers, "claude-code", "projects"))); err != nil {
		t.Fatal(err)
	}
	e.vars["CLAUDE_CONFIG_DIR"] = filepath.Join(e.dir, "claude")
	if r := e.run("", false, "usage", "import", "--tenant", "me", "--from", "claude-code"); r.code != 0 || !strings.Contains(r.stderr, "330 added") {
		t.Fatalf("first import: %d %s", r.code, r.stderr)
	}
	if r := e.run("", false, "usage", "import", "--tenant", "me", "--from", "claude-code"); r.code != 0 ||
		!strings.Contains(r.stderr, "nothing changed in 9 transcript(s)") {
		t.Fatalf("second import: %d %s", r.code, r.stderr)
	}
	grown := filepath.Join(dir, "-home-marco-projects-spotter", "55604662-cf2a-4331-851a-ec234028f8ca.jsonl")
	f, err := os.OpenFile(grown, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	line := `{"type":"assistant","timestamp":"2026-11-24T09:00:00Z","message":{"id":"msg_new","model":"claude-opus-4-6","usage":{"input_tokens":3,"output_tokens":7}},"requestId":"req_new"}` + "\n"
	if _, err := f.WriteString("not json\n" + line); err != nil {
		t.Fatal(err)
	}
	f.Close()
	r := e.run("", false, "usage", "import", "--tenant", "me", "--from", "claude-code")
	if r.code != 0 || !strings.Contains(r.stderr, "me: 1 added, 1 duplicates, 0 skipped, from 1 file(s)") ||
		!strings.Contains(r.stderr, "8 transcript(s) unchanged") || !strings.Contains(r.stderr, "1 line(s) that are not JSON objects passed over") {
		t.Fatalf("after a transcript grew: %d %s", r.code, r.stderr)
	}
}

// TestProviderSkipInvalid: with --skip-invalid a bad result is skipped and
// the rest stored, and a file no importer can read (cut short) is skipped
// whole; both are counted and named.
func TestProviderSkipInvalid(t *testing.T) {
	e := newEnv(t)
	good := filepath.Join(e.dir, "spend.jsonl")
	cut := filepath.Join(e.dir, "cut.json")
	rows := `{"request_id":"r1","startTime":"2025-01-24 09:20:46","model":"gpt-4o","prompt_tokens":5,"spend":0.1}
{"request_id":"r2","startTime":"2025-01-24 09:20:47","model":"gpt-4o","prompt_tokens":-5}
{"request_id":"r3","startTime":"2025-01-24 09:20:48","model":"gpt-4o","prompt_tokens":7,"spend":"0.00022500000000000002"}
`
	if err := os.WriteFile(good, []byte(rows), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cut, []byte(`[{"request_id":"r9","startTime":"2025-01-`), 0o644); err != nil {
		t.Fatal(err)
	}
	r := e.run("", false, "usage", "import", "--tenant", "t", "--from", "litellm", "--skip-invalid", good, cut)
	if r.code != 0 || !strings.Contains(r.stderr, "t: 2 added, 0 duplicates, 2 skipped, from 2 file(s)") ||
		!strings.Contains(r.stderr, `spend.jsonl:2: field "prompt_tokens": negative: -5`) || !strings.Contains(r.stderr, "cut.json:1: the JSON ends too early") {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	r = e.run("", false, "--tenant", "t", "--tz", "UTC", "usage", "stats", "--from", "2025-01-24", "--to", "2025-01-24", "--format", "json")
	if r.code != 0 || !strings.Contains(r.stdout, `"total": 0.100225`) {
		t.Errorf("stats: %d %s", r.code, r.stdout)
	}
}

// TestSyncFromProviders syncs a week from each simulated admin API through
// the command, with the key from the environment; a second sync finds
// nothing new; a missing key is a usage error.
func TestSyncFromProviders(t *testing.T) {
	for _, p := range []struct{ name, env string }{{"openai", "OPENAI_ADMIN_KEY"}, {"anthropic", "ANTHROPIC_ADMIN_KEY"}} {
		t.Run(p.name, func(t *testing.T) {
			sim := &adminapitest.Sim{Provider: p.name, Key: "sk-admin-secret"}
			server := httptest.NewServer(sim)
			defer server.Close()
			e := newEnv(t)
			args := []string{"usage", "sync", "--tenant", "acme", "--provider", p.name, "--provider-url", server.URL, "--since", "2026-11-17"}
			if r := e.run("", false, args...); r.code != 2 || !strings.Contains(r.stderr, "$"+p.env) {
				t.Fatalf("without a key: exit %d: %s", r.code, r.stderr)
			}
			e.vars[p.env] = "sk-admin-secret"
			r := e.run("", false, args...)
			if r.code != 0 || !strings.Contains(r.stderr, "new from "+p.name) || strings.Contains(r.stderr+r.stdout, "sk-admin-secret") {
				t.Fatalf("sync: exit %d: %s", r.code, r.stderr)
			}
			// A week and nine hours: Nov 17 00:00 to Nov 24 09:00 UTC, the
			// last settled hour at 10:00.
			from, to := time.Date(2026, 11, 17, 0, 0, 0, 0, time.UTC), time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
			want := sim.Expected(from, to)
			r = e.run("", false, "--tenant", "acme", "--tz", "UTC", "usage", "stats", "--from", "2026-11-17", "--to", "2026-11-24", "--format", "json")
			var st struct {
				Tokens struct{ Output, CacheRead int64 } `json:"tokens"`
			}
			if err := json.Unmarshal([]byte(r.stdout), &st); err != nil || st.Tokens.Output != want.Output || st.Tokens.CacheRead != want.Cached {
				t.Errorf("stats %+v (%v), the provider has %+v", st.Tokens, err, want)
			}
			r = e.run("", false, "usage", "sync", "--tenant", "acme", "--provider", p.name, "--provider-url", server.URL)
			if r.code != 0 || !strings.Contains(r.stderr, "nothing new") {
				t.Errorf("again: exit %d: %s", r.code, r.stderr)
			}
		})
	}
}

// TestKilledProviderSyncResumes kills a real `nextcore usage sync
// --provider anthropic` with SIGKILL a few pages into a month of hourly
// buckets, then syncs again: every bucket is stored once, and the second
// sync goes on from where the first got to.
func TestKilledProviderSyncResumes(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildNextcore(t)
	sim := &adminapitest.Sim{Provider: "anthropic", Key: "sk-ant-admin"}
	slow := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(30 * time.Millisecond)
		sim.ServeHTTP(w, r)
	})
	server := httptest.NewServer(slow)
	defer server.Close()
	dir := t.TempDir()
	path := filepath.Join(dir, "usage.db")
	sync := func() *exec.Cmd {
		cmd := exec.Command(bin, "usage", "sync", "--tenant", "acme", "--cache", path, "--provider", "anthropic",
			"--provider-url", server.URL, "--since", "2026-10-01")
		cmd.Env = append(os.Environ(), "ANTHROPIC_ADMIN_KEY=sk-ant-admin")
		return cmd
	}
	if !signalWhen(t, sync(), os.Kill, func() bool { return sim.Requests() >= 6 }) {
		t.Skip("the sync finished before the kill; nothing to check")
	}
	before := sim.Requests()
	cmd := sync()
	cmd.Args = slices.DeleteFunc(cmd.Args, func(a string) bool { return a == "--since" || a == "2026-10-01" })
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("sync after the kill: %v\n%s", err, out)
	}
	// Oct 1 to the last settled hour before now: the pages a whole sync
	// asks for, 24 buckets a page, a week of buckets a request. The
	// resumed sync asks for those the killed one had not stored (the page
	// in flight at the kill again, at most).
	full := 0
	end := time.Now().UTC().Add(-time.Hour).Truncate(time.Hour)
	for c := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC); c.Before(end); c = c.Add(168 * time.Hour) {
		hours := int(min(end.Sub(c), 168*time.Hour) / time.Hour)
		full += (hours + 23) / 24
	}
	// Then the bill: the days that are over, 31 a request, 24 a page.
	days := int(end.Truncate(24*time.Hour).Sub(time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)) / (24 * time.Hour))
	for ; days > 0; days -= 31 {
		full += (min(days, 31) + 23) / 24
	}
	if again := sim.Requests() - before; again > full-before+2 || again >= full {
		t.Errorf("the sync after the kill asked for %d pages after %d; a whole sync asks for %d", again, before, full)
	}
	e := newEnv(t)
	e.vars["NEXTCORE_CACHE"] = path
	r := e.run("", false, "--tenant", "acme", "--tz", "UTC", "usage", "stats", "--from", "2026-10-01", "--to", "2026-10-31", "--format", "json")
	var st struct {
		Tokens struct{ Output, CacheRead, CacheWrite int64 } `json:"tokens"`
	}
	want := sim.Expected(time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC))
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil || st.Tokens.Output != want.Output || st.Tokens.CacheRead != want.Cached ||
		st.Tokens.CacheWrite != want.Write {
		t.Errorf("October after the kill and the resumed sync: %+v (%v); the provider has %+v", st.Tokens, err, want)
	}
}

// TestProviderBillAgainstUsage syncs two weeks of usage and of the bill
// from each simulated provider, whose bill is its usage at list prices
// (each line rounded to the nano-dollar): usage reconcile --against finds
// nothing to flag, every row within a few nano-dollars.
func TestProviderBillAgainstUsage(t *testing.T) {
	for _, p := range []struct{ name, env, bill string }{
		{"openai", "OPENAI_ADMIN_KEY", "openai-costs"}, {"anthropic", "ANTHROPIC_ADMIN_KEY", "anthropic-cost"},
	} {
		t.Run(p.name, func(t *testing.T) {
			sim := &adminapitest.Sim{Provider: p.name, Key: "k"}
			server := httptest.NewServer(sim)
			defer server.Close()
			e := newEnv(t)
			e.vars[p.env] = "k"
			r := e.run("", false, "usage", "sync", "--tenant", "acme", "--provider", p.name, "--provider-url", server.URL, "--since", "2026-11-10")
			if r.code != 0 || !strings.Contains(r.stderr, "line(s) of "+p.name+"'s bill") {
				t.Fatalf("sync: exit %d: %s", r.code, r.stderr)
			}
			r = e.run("", false, "--tenant", "acme", "usage", "reconcile", "--against", p.bill, "--from", "2026-11-10", "--to", "2026-11-23",
				"--format", "json", "--fail-on", "mismatch")
			var rec struct {
				Rows []struct {
					Date       string  `json:"date"`
					Model      string  `json:"model"`
					Reported   float64 `json:"reported"`
					Difference float64 `json:"difference"`
				} `json:"rows"`
				GroupBy string `json:"groupBy"`
			}
			if err := json.Unmarshal([]byte(r.stdout), &rec); err != nil || r.code != 0 {
				t.Fatalf("reconcile: exit %d, %v: %s %s", r.code, err, r.stderr, r.stdout)
			}
			if rec.GroupBy != "project" || len(rec.Rows) != 14*2 {
				t.Fatalf("grouped by %q, %d rows", rec.GroupBy, len(rec.Rows))
			}
			for _, row := range rec.Rows {
				if row.Reported == 0 || row.Difference > 1e-8 || row.Difference < -1e-8 {
					t.Errorf("%s %s: billed %v, %v from the usage at list prices", row.Date, row.Model, row.Reported, row.Difference)
				}
			}
		})
	}
}
