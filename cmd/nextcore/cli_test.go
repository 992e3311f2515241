package main

import (
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	_ "modernc.org/sqlite"

	"github.com/nextcore-ai/nextcore/pkg/source/cache/cachetest"
)

// TestGolden pins the rendered reports, on a terminal and in a pipe.
func TestGolden(t *testing.T) {
	e := imported(t)
	week := []string{"--tz", "Europe/Berlin", "--as-of", "2026-11-23"}
	cases := []struct {
		name string
		tty  bool
		args []string
	}{
		{"stats-week-pipe", false, append([]string{"usage", "stats", "--period", "week"}, week...)},
		{"stats-week-tty", true, append([]string{"usage", "stats", "--period", "week"}, week...)},
		{"stats-week-markdown", false, append([]string{"usage", "stats", "--period", "week", "--format", "markdown"}, week...)},
		{"stats-week-json", false, append([]string{"usage", "stats", "--period", "week", "--format", "json"}, week...)},
		{"stats-week-csv", false, append([]string{"usage", "stats", "--period", "week", "--format", "csv"}, week...)},
		{"stats-year-pipe", false, append([]string{"usage", "stats", "--period", "year"}, week...)},
		{"stats-year-tty", true, append([]string{"usage", "stats", "--period", "year"}, week...)},
		{"stats-month-kathmandu", false, []string{"usage", "stats", "--tz", "Asia/Kathmandu", "--top", "3"}},
		{"stats-range-kolkata-json", false, []string{"usage", "stats", "--tz", "Asia/Kolkata", "--from", "2026-11-01", "--to", "2026-11-03", "--format", "json"}},
		{"stats-empty", false, []string{"usage", "stats", "--from", "2025-01-01", "--to", "2025-01-07"}},
		{"top-models-pipe", false, append([]string{"usage", "top-models", "--period", "week"}, week...)},
		{"top-models-cost-markdown", false, append([]string{"usage", "top-models", "--by", "cost", "--limit", "3", "--format", "markdown"}, week...)},
		{"top-models-csv", false, append([]string{"usage", "top-models", "--by", "tokens", "--format", "csv"}, week...)},
		{"top-models-compare-pipe", false, append([]string{"usage", "top-models", "--compare", "--limit", "4"}, week...)},
		{"stats-filter-pipe", false, append([]string{"usage", "stats", "--period", "week", "--filter", "region=eu-west,region=us-east", "--filter", "model=gpt-4o-mini"}, week...)},
		{"top-models-json", false, append([]string{"usage", "top-models", "--limit", "2", "--format", "json"}, week...)},
		{"breakdown-region-pipe", false, append([]string{"usage", "breakdown", "--by", "region"}, week...)},
		{"breakdown-region-compare", false, append([]string{"usage", "breakdown", "--by", "region", "--compare"}, week...)},
		{"breakdown-region-tty", true, append([]string{"usage", "breakdown", "--by", "region"}, week...)},
		{"breakdown-model-status-markdown", false, append([]string{"usage", "breakdown", "--by", "model", "--by", "status", "--limit", "5", "--format", "markdown"}, week...)},
		{"breakdown-day-csv", false, append([]string{"usage", "breakdown", "--by", "day", "--filter", "region=eu-west", "--format", "csv"}, week...)},
		{"breakdown-user-json", false, append([]string{"usage", "breakdown", "--by", "user", "--sort", "calls", "--limit", "3", "--format", "json"}, week...)},
		{"quota-pipe", false, []string{"usage", "quota", "--tz", "Europe/Berlin", "--limit-calls", "1500", "--limit-spend", "4", "--as-of", "2026-11-20"}},
		{"quota-tty", true, []string{"usage", "quota", "--tz", "Europe/Berlin", "--limit-calls", "1500", "--limit-spend", "4", "--as-of", "2026-11-20"}},
		{"quota-json", false, []string{"usage", "quota", "--tz", "Europe/Berlin", "--limit-calls", "1500", "--limit-tokens", "5000000", "--limit-spend", "4", "--as-of", "2026-11-20", "--format", "json"}},
		{"quota-markdown", false, []string{"usage", "quota", "--limit-spend", "100", "--format", "markdown"}},
		{"quota-csv", false, []string{"usage", "quota", "--limit-calls", "1000", "--format", "csv"}},
		{"quota-unlimited", false, []string{"usage", "quota"}},
		// The data starts Oct 10: the week before Oct 14 is only partly covered.
		{"stats-partial-previous", false, []string{"usage", "stats", "--period", "week", "--as-of", "2026-10-20", "--tz", "UTC"}},
		{"breakdown-partial-previous", false, []string{"usage", "breakdown", "--by", "region", "--period", "week", "--as-of", "2026-10-20", "--tz", "UTC"}},
		{"top-models-partial-previous-markdown", false, []string{"usage", "top-models", "--compare", "--period", "week", "--as-of", "2026-10-20", "--tz", "UTC", "-f", "markdown"}},
		{"stats-partial-previous-markdown", false, []string{"usage", "stats", "--period", "week", "--as-of", "2026-10-20", "--tz", "UTC", "-f", "markdown"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.run("", c.tty, c.args...)
			if r.code != 0 {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			golden(t, c.name, r.stdout)
			if !c.tty && strings.Contains(r.stdout, "\x1b[") {
				t.Error("color codes in a pipe")
			}
			if c.tty && strings.Contains(c.name, "tty") && !strings.Contains(r.stdout, "\x1b[") {
				t.Error("no colors on a terminal")
			}
		})
	}
}

// TestNoColor checks that NO_COLOR and --no-color turn colors off on a
// terminal and change nothing else.
func TestNoColor(t *testing.T) {
	e := imported(t)
	args := []string{"usage", "stats", "--period", "week", "--tz", "Europe/Berlin", "--as-of", "2026-11-23"}
	colored := e.run("", true, args...).stdout
	plain := ansi.ReplaceAllString(colored, "")
	if plain == colored {
		t.Fatal("no colors on a terminal")
	}
	if got := e.run("", true, append(args, "--no-color")...).stdout; got != plain {
		t.Errorf("--no-color differs from the colored report without its colors:\n%s", diff(plain, got))
	}
	e.vars["NO_COLOR"] = "1"
	if got := e.run("", true, args...).stdout; got != plain {
		t.Errorf("NO_COLOR differs from the colored report without its colors")
	}
}

var ansi = regexp.MustCompile("\x1b\\[[0-9;]*m")

// TestExitCodes checks each kind of failure's code and message.
func TestExitCodes(t *testing.T) {
	e := imported(t)
	newer := filepath.Join(e.dir, "newer.db")
	if r := e.run("", false, "usage", "import", "--tenant", "acme", "--cache", newer, fixture); r.code != 0 {
		t.Fatal(r.stderr)
	}
	if db, err := sql.Open("sqlite", newer); err == nil {
		db.Exec("PRAGMA user_version = 99")
		db.Close()
	}
	notDB := filepath.Join(e.dir, "notes.db")
	os.WriteFile(notDB, []byte(strings.Repeat("not a database ", 100)), 0o644)
	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"ok", []string{"usage", "stats"}, 0, ""},
		{"unknown period", []string{"usage", "stats", "--period", "fortnight"}, 2, `unknown period "fortnight" (use today, week, month or year, or --from/--to)`},
		{"period and from", []string{"usage", "stats", "--period", "week", "--from", "2026-11-01"}, 2, "--period cannot be combined with --from/--to"},
		{"from after to", []string{"usage", "stats", "--from", "2026-11-10", "--to", "2026-11-01"}, 2, "--from/--to: the first day 2026-11-10 is after the last 2026-11-01"},
		{"bad date", []string{"usage", "stats", "--from", "2026-02-30"}, 2, `--from: bad date "2026-02-30" (use YYYY-MM-DD)`},
		{"to without from", []string{"usage", "stats", "--to", "2026-11-01"}, 2, "--to needs --from"},
		{"unknown tz", []string{"usage", "stats", "--tz", "Mars/Olympus"}, 2, `unknown time zone "Mars/Olympus"`},
		{"unknown format", []string{"usage", "stats", "--format", "xml"}, 2, `unknown format "xml" (use table, json, csv, markdown, github or html)`},
		{"bad as-of", []string{"usage", "stats", "--as-of", "yesterday"}, 2, `--as-of: bad time "yesterday"`},
		{"unknown flag", []string{"usage", "stats", "--colour"}, 2, "unknown flag: --colour"},
		{"unknown command", []string{"usage", "statz"}, 2, `unknown command "statz"`},
		{"bad --top", []string{"usage", "stats", "--top", "0"}, 2, "--top must be at least 1"},
		{"bad --by", []string{"usage", "top-models", "--by", "latency"}, 2, `--by: unknown order "latency" (use calls, tokens or cost)`},
		{"bad limit", []string{"usage", "quota", "--limit-spend", "-5"}, 2, `--limit-spend: "-5" is not a positive dollar amount`},
		{"bad warn-at", []string{"usage", "quota", "--warn-at", "150"}, 2, "--warn-at"},
		{"bad fail-on", []string{"usage", "quota", "--fail-on", "always"}, 2, `--fail-on: unknown check "always"`},
		{"budget exceeded", []string{"usage", "quota", "--limit-calls", "10", "--fail-on", "exceeded"}, 3, "budget check failed (--fail-on exceeded): API calls at"},
		{"budget ok", []string{"usage", "quota", "--limit-calls", "100000000", "--fail-on", "projected"}, 0, ""},
		{"budget projected", []string{"usage", "quota", "--limit-spend", "2", "--as-of", "2026-11-10", "--fail-on", "projected"}, 3, "projected at"},
		{"unknown tenant", []string{"usage", "stats", "--tenant", "globex"}, 1, `tenant "globex" has no usage in the cache`},
		{"bad tenant", []string{"usage", "stats", "--tenant", "Acme Corp"}, 2, `bad tenant "Acme Corp"`},
		{"not a cache", []string{"usage", "stats", "--cache", notDB}, 1, "is not an SQLite database"},
		{"no cache", []string{"usage", "stats", "--cache", filepath.Join(e.dir, "none.db")}, 1, "no usage yet"},
		{"newer schema", []string{"usage", "stats", "--cache", newer}, 1, "has schema version 99, this nextcore reads up to "},
		{"import into newer schema", []string{"usage", "import", "--tenant", "acme", "--cache", newer, fixture}, 1, "schema version 99"},
		{"cache is a directory", []string{"usage", "stats", "--cache", e.dir}, 1, "is a directory"},
		{"output to missing dir", []string{"usage", "stats", "-o", filepath.Join(e.dir, "no", "such", "dir", "x.txt")}, 1, "cannot write"},
		{"missing config", []string{"usage", "stats", "--config", filepath.Join(e.dir, "none.yaml")}, 1, "read config"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.run("", false, c.args...)
			if r.code != c.code {
				t.Fatalf("exit %d, want %d (stderr %q)", r.code, c.code, r.stderr)
			}
			if c.want != "" && !strings.Contains(r.stderr, c.want) {
				t.Errorf("stderr %q does not say %q", r.stderr, c.want)
			}
			if c.code != 0 {
				if n := strings.Count(strings.TrimSpace(r.stderr), "\n"); n > 1 {
					t.Errorf("error takes %d lines: %q", n+1, r.stderr)
				}
				if strings.Contains(r.stderr, "goroutine") || strings.Contains(r.stderr, "panic") {
					t.Errorf("stack trace: %s", r.stderr)
				}
			}
		})
	}
	if _, err := os.Stat(filepath.Join(e.dir, "none.db")); !os.IsNotExist(err) {
		t.Error("a report created a cache")
	}
}

// dump is the whole logical content of a cache, hashed: two caches with the
// same dump hold the same data.
func dump(t *testing.T, path string) string {
	t.Helper()
	if _, err := os.Stat(path); os.IsNotExist(err) {
		return "no cache"
	}
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	h := sha256.New()
	for _, q := range []string{
		"SELECT slug, updated_at FROM tenants ORDER BY id",
		"SELECT dim, id, name FROM names ORDER BY dim, id",
		"SELECT tenant, ts, id, model, api_key, usr, region, ok, status_code, prompt, completion, cost, latency FROM records ORDER BY tenant, ts, id",
		"SELECT * FROM rollups ORDER BY tenant, dim, level, bucket, member",
		"SELECT * FROM quotas ORDER BY tenant",
	} {
		rows := cachetest.Rows(t, db, q)
		for _, r := range rows {
			fmt.Fprintln(h, r)
		}
		fmt.Fprintln(h, q, len(rows))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// TestImportBadInputChangesNothing feeds every kind of bad input to import,
// into a cache that holds data and into none at all: each fails with a clear
// error and exit code 1, and the cache is exactly as it was.
func TestImportBadInputChangesNothing(t *testing.T) {
	e := imported(t)
	before := dump(t, e.cachePath())
	good, err := os.ReadFile(fixture)
	if err != nil {
		t.Fatal(err)
	}
	first := strings.SplitN(string(good), "\n", 2)[0]
	header := "id,timestamp,model,apiKey,status,promptTokens,completionTokens,cost\n"
	// A valid record that is not in the cache yet, so a failure must undo it.
	fresh := strings.Replace(first, `"id":"`, `"id":"new-`, 1)
	files := map[string]struct{ content, want string }{
		"malformed.jsonl":    {fresh + "\n" + `{"id": "x", "timestamp":` + "\n", "malformed.jsonl:2: field \"timestamp\": malformed JSON"},
		"wrong-header.csv":   {"a,b,c\n1,2,3\n", "lacks column(s)"},
		"missing-column.csv": {"id,timestamp,model,apiKey,status,promptTokens,cost\nx,2026-11-20T10:00:00Z,m,k,success,1,0.1\n", "lacks column(s) completionTokens"},
		"no-id.jsonl":        {fresh + "\n" + strings.Replace(first, `"id":`, `"idx":`, 1) + "\n", `no-id.jsonl:2: field "id": missing`},
		"no-timestamp.csv":   {strings.Replace(header, "timestamp,", "", 1) + "x,m,k,success,1,2,0.1\n", "lacks column(s) timestamp"},
		"negative.jsonl":     {fresh + "\n" + strings.Replace(first, `"promptTokens":`, `"promptTokens":-`, 1) + "\n", `field "promptTokens": negative`},
		"fraction.csv":       {header + "x,2026-11-20T10:00:00Z,m,k,success,1.5,2,0.1\n", `fraction.csv:2: field "promptTokens": not a whole number`},
		"cost.csv":           {header + "x,2026-11-20T10:00:00Z,m,k,success,1,2,cheap\n", `field "cost": not a number`},
		"status.csv":         {header + "x,2026-11-20T10:00:00Z,m,k,ok,1,2,0.1\n", `field "status": unknown status "ok"`},
		"no-zone.csv":        {header + "x,2026-11-20T10:00:00,m,k,success,1,2,0.1\n", "no time zone"},
		"utf8.jsonl":         {fresh + "\n" + strings.Replace(first, `"model":"`, "\"model\":\"\xff", 1) + "\n", "utf8.jsonl:2: not valid UTF-8"},
		"long.jsonl":         {fresh + "\n" + `{"id":"` + strings.Repeat("y", 1<<20) + `"}` + "\n", "long.jsonl:2: line longer than 1 MiB"},
		"empty.jsonl":        {"", "empty.jsonl: file is empty"},
		"empty.csv":          {"", "empty.csv: file is empty"},
	}
	for name, f := range files {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(e.dir, name)
			if err := os.WriteFile(path, []byte(f.content), 0o644); err != nil {
				t.Fatal(err)
			}
			for _, cache := range []string{e.cachePath(), filepath.Join(e.dir, "fresh", "usage.db")} {
				was := dump(t, cache)
				r := e.run("", false, "usage", "import", "--tenant", "acme", "--cache", cache, path)
				if r.code != 1 {
					t.Fatalf("exit %d, want 1: %s", r.code, r.stderr)
				}
				if !strings.Contains(r.stderr, f.want) {
					t.Errorf("stderr %q does not say %q", r.stderr, f.want)
				}
				if dump(t, cache) != was {
					t.Errorf("the cache %s changed", cache)
				}
			}
		})
	}
	for name, args := range map[string][]string{
		"missing file": {"usage", "import", "--tenant", "acme", filepath.Join(e.dir, "nope.jsonl")},
		"directory":    {"usage", "import", "--tenant", "acme", e.dir},
	} {
		r := e.run("", false, args...)
		if r.code != 1 {
			t.Errorf("%s: exit %d: %s", name, r.code, r.stderr)
		}
	}
	for name, args := range map[string][]string{
		"no tenant":   {"usage", "import", fixture},
		"no file":     {"usage", "import", "--tenant", "acme"},
		"bad format":  {"usage", "import", "--tenant", "acme", "--input-format", "xml", fixture},
		"stdin twice": {"usage", "import", "--tenant", "acme", "-", "-"},
		"demo import": {"usage", "import", "--demo", fixture},
	} {
		r := e.run("", false, args...)
		if r.code != 2 {
			t.Errorf("%s: exit %d, want 2: %s", name, r.code, r.stderr)
		}
	}
	if dump(t, e.cachePath()) != before {
		t.Error("the cache changed")
	}
}

func TestImportIsIdempotent(t *testing.T) {
	e := imported(t)
	before := dump(t, e.cachePath())
	r := e.run("", false, "usage", "import", "--tenant", "acme", fixture)
	if r.code != 0 || !strings.Contains(r.stderr, "acme: 0 added, 1,451 duplicates, 0 skipped") {
		t.Fatalf("second import: %d %q", r.code, r.stderr)
	}
	if dump(t, e.cachePath()) != before {
		t.Error("a second import changed the cache")
	}
	// The same records from standard input as CSV-less JSON Lines, twice in one file.
	data, _ := os.ReadFile(fixture)
	r = e.run(string(data)+string(data), false, "usage", "import", "--tenant", "globex", "-")
	if r.code != 0 || !strings.Contains(r.stderr, "globex: 1,451 added, 1,451 duplicates") {
		t.Fatalf("stdin import: %d %q", r.code, r.stderr)
	}
}

func TestImportSkipInvalid(t *testing.T) {
	e := newEnv(t)
	data, _ := os.ReadFile(fixture)
	lines := strings.SplitAfter(string(data), "\n")
	bad := lines[0][:20] + "\n" + strings.Replace(lines[1], `"status":"`, `"status":"x`, 1)
	path := filepath.Join(e.dir, "mixed.jsonl")
	os.WriteFile(path, []byte(bad+strings.Join(lines[2:], "")), 0o644)
	r := e.run("", false, "usage", "import", "--tenant", "acme", "--skip-invalid", path)
	if r.code != 0 || !strings.Contains(r.stderr, "acme: 1,449 added, 0 duplicates, 2 skipped") ||
		!strings.Contains(r.stderr, "skipped "+path+`:1: field "id": malformed JSON`) || !strings.Contains(r.stderr, `skipped `+path+`:2: field "status"`) {
		t.Fatalf("%d %q", r.code, r.stderr)
	}
}

// TestConfigPrecedence checks flags > environment > config file > defaults.
func TestConfigPrecedence(t *testing.T) {
	e := imported(t)
	e.run("", false, "usage", "import", "--tenant", "globex", fixture)
	cfgDir := filepath.Join(e.dir, "config", "nextcore")
	os.MkdirAll(cfgDir, 0o755)
	os.WriteFile(filepath.Join(cfgDir, "config.yaml"), []byte("tenant: globex\ntimezone: Asia/Kolkata\nlimits:\n  spend: 3\n  api_calls: 100000\nwarn_at: 50\n"), 0o644)
	q := func(args ...string) string {
		r := e.run("", false, append([]string{"usage", "quota", "--format", "json"}, args...)...)
		if r.code != 0 {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
		return r.stdout
	}
	out := q()
	for _, want := range []string{`"tenant": "globex"`, `"timeZone": "Asia/Kolkata"`, `"limit": 3,`, `"warnAt": 50`, `"limit": 100000,`} {
		if !strings.Contains(out, want) {
			t.Errorf("config: output lacks %s", want)
		}
	}
	e.vars["NEXTCORE_TENANT"] = "acme"
	e.vars["NEXTCORE_TIMEZONE"] = "Europe/Berlin"
	out = q()
	if !strings.Contains(out, `"tenant": "acme"`) || !strings.Contains(out, `"timeZone": "Europe/Berlin"`) {
		t.Errorf("environment does not override the config")
	}
	out = q("--tenant", "globex", "--tz", "UTC", "--limit-spend", "7", "--warn-at", "90")
	for _, want := range []string{`"tenant": "globex"`, `"timeZone": "UTC"`, `"limit": 7,`, `"warnAt": 90`} {
		if !strings.Contains(out, want) {
			t.Errorf("flags: output lacks %s", want)
		}
	}
	os.WriteFile(filepath.Join(cfgDir, "config.yaml"), []byte("tenant: acme\ntimezon: UTC\n"), 0o644)
	if r := e.run("", false, "usage", "stats"); r.code != 1 || !strings.Contains(r.stderr, "timezon") {
		t.Errorf("a misspelt config key: %d %q", r.code, r.stderr)
	}
}

// TestSeveralTenants checks that a cache with several tenants asks which.
func TestSeveralTenants(t *testing.T) {
	e := imported(t)
	e.run("", false, "usage", "import", "--tenant", "globex", fixture)
	r := e.run("", false, "usage", "stats")
	if r.code != 2 || !strings.Contains(r.stderr, "several tenants (acme, globex): choose one with --tenant") {
		t.Errorf("%d %q", r.code, r.stderr)
	}
}

// TestOutputFile checks -o: the file appears whole, without colors.
func TestOutputFile(t *testing.T) {
	e := imported(t)
	path := filepath.Join(e.dir, "report.md")
	r := e.run("", true, "usage", "stats", "--format", "markdown", "--as-of", "2026-11-23", "-o", path)
	if r.code != 0 || r.stdout != "" {
		t.Fatalf("%d %q %q", r.code, r.stdout, r.stderr)
	}
	data, err := os.ReadFile(path)
	if err != nil || !strings.HasPrefix(string(data), "### NextCore usage · acme") || strings.Contains(string(data), "\x1b[") {
		t.Fatalf("%v %q", err, data)
	}
	left, _ := filepath.Glob(filepath.Join(e.dir, ".report.md.*"))
	if len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

// TestEmptyCacheSaysHowToFill checks the first-run message.
func TestEmptyCacheSaysHowToFill(t *testing.T) {
	e := newEnv(t)
	r := e.run("", false, "usage", "stats")
	if r.code != 1 || !strings.Contains(r.stderr, "nextcore usage import") || !strings.Contains(r.stderr, "--demo") {
		t.Errorf("%d %q", r.code, r.stderr)
	}
}

// names lists the files in dir.
func names(t *testing.T, dir string) []string {
	t.Helper()
	ents, _ := os.ReadDir(dir)
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}
