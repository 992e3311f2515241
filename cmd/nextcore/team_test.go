// The team store through the whole CLI: every report the same from
// PostgreSQL as from the SQLite cache, alerts once per team, syncs that
// lock, resume and refuse a reader, the cache copied both ways.

package main

import (
	"context"
	"fmt"
	neturl "net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/nextcore-ai/nextcore/pkg/source"
	"github.com/nextcore-ai/nextcore/pkg/source/api/apitest"
	"github.com/nextcore-ai/nextcore/pkg/source/cache"
	"github.com/nextcore-ai/nextcore/pkg/source/pgstore"
	"github.com/nextcore-ai/nextcore/pkg/source/pgstore/pgtest"
)

// teamEnv is an env whose store is a fresh PostgreSQL schema (the URL in
// NEXTCORE_CACHE), holding the fixture for tenant acme.
func teamEnv(t *testing.T) (*env, string) {
	t.Helper()
	url, _ := pgtest.Fresh(t)
	return importedInto(t, url), url
}

// reportRuns are the reports compared between the stores.
var reportRuns = [][]string{
	{"usage", "stats", "--format", "json"},
	{"usage", "stats", "--period", "year", "--format", "json"},
	{"usage", "stats", "--period", "today"},
	{"usage", "stats", "--period", "week", "--cost", "priced", "--format", "json"},
	{"usage", "breakdown", "--by", "model", "--format", "json", "--compare"},
	{"usage", "breakdown", "--by", "key", "--period", "year", "--format", "csv"},
	{"usage", "breakdown", "--by", "user", "--by", "region", "--format", "csv"},
	{"usage", "breakdown", "--by", "region", "--filter", "model=gpt-4o", "--format", "json"},
	{"usage", "breakdown", "--by", "tag", "--format", "csv"},
	{"usage", "breakdown", "--by", "project", "--by", "provider", "--format", "csv"},
	{"usage", "breakdown", "--by", "status", "--format", "csv", "--period", "week"},
	{"usage", "breakdown", "--by", "day", "--format", "csv"},
	{"usage", "breakdown", "--by", "hour", "--period", "today", "--format", "csv"},
	{"usage", "breakdown", "--by", "user", "--cost", "priced", "--format", "csv"},
	{"usage", "top-models", "--format", "json"},
	{"usage", "quota", "--format", "json", "--limit-spend", "5"},
	{"usage", "export", "--format", "csv", "-o", "-"},
	{"usage", "export", "--format", "focus", "-o", "-"},
	{"usage", "anomalies", "--format", "json"},
	{"usage", "reconcile", "--format", "json"},
}

// TestTeamStoreSameReports: the same records in the SQLite cache and in
// PostgreSQL give the same reports, byte for byte, in every zone of the
// stores' conformance test.
func TestTeamStoreSameReports(t *testing.T) {
	pg, _ := teamEnv(t)
	lite := imported(t)
	zones := []string{"UTC", "America/New_York", "Europe/Berlin", "Asia/Kolkata", "Asia/Kathmandu", "Australia/Lord_Howe", "Pacific/Chatham"}
	for _, zone := range zones {
		for _, args := range reportRuns {
			args := append(append([]string{}, args...), "--tz", zone)
			a, b := lite.run("", false, args...), pg.run("", false, args...)
			if a.code != b.code || a.stdout != b.stdout || a.stderr != b.stderr {
				t.Errorf("%s: the stores differ\nSQLite %d %q\n%s\nPostgreSQL %d %q\n%s", strings.Join(args, " "),
					a.code, a.stderr, head(a.stdout), b.code, b.stderr, head(b.stdout))
			}
			if a.code != 0 && a.code != 3 {
				t.Errorf("%s: exit %d: %s", strings.Join(args, " "), a.code, a.stderr)
			}
		}
	}
}

func head(s string) string {
	if len(s) > 600 {
		return s[:600] + "…"
	}
	return s
}

// TestTeamAlertsOnce: two hosts of a team run the same alert over one
// team store: the budget mail goes once.
func TestTeamAlertsOnce(t *testing.T) {
	url, _ := pgtest.Fresh(t)
	hostA, mb := mailEnv(t, nil)
	hostA.vars["NEXTCORE_CACHE"] = url
	if r := hostA.run("", false, "usage", "import", "--tenant", "acme", fixture); r.code != 0 {
		t.Fatalf("import: %d %s", r.code, r.stderr)
	}
	hostB := newEnv(t)
	for k, v := range hostA.vars {
		if k != "HOME" && k != "XDG_CACHE_HOME" && k != "XDG_CONFIG_HOME" {
			hostB.vars[k] = v
		}
	}
	for _, h := range []*env{hostA, hostB} {
		path := filepath.Join(h.dir, "config.yaml")
		h.vars["NEXTCORE_CONFIG"] = path
		if err := os.WriteFile(path, []byte("budgets:\n  - name: web-monthly\n    scope: {key: key_prod_web}\n    limit: {spend: 0.55}\n    period: month\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for i, h := range []*env{hostA, hostB, hostA} {
		r := h.runMail(nil, "usage", "alert", "--email", "finance@acme.example", "--smtp-insecure", "--tz", "UTC", "--as-of", "2026-11-15")
		if r.code != 0 {
			t.Fatalf("host run %d: %d %s", i, r.code, r.stderr)
		}
	}
	if n := len(mb.received()); n != 1 {
		t.Fatalf("%d mails from two hosts, want 1", n)
	}
	// The second host keeps no cache file of its own.
	if _, err := os.Stat(filepath.Join(hostB.dir, "cache", "nextcore", "usage.db")); err == nil {
		t.Error("a host made a cache file beside the team store")
	}
}

// TestTeamStoreFlags: a password on the command line is refused (exit 2)
// before anything is opened; the URL is never printed with its password.
func TestTeamStoreFlags(t *testing.T) {
	e := newEnv(t)
	r := e.run("", false, "usage", "stats", "--cache", "postgres://u:s3cret@127.0.0.1:1/db")
	if r.code != 2 || !strings.Contains(r.stderr, "PGPASSWORD") || strings.Contains(r.stderr+r.stdout, "s3cret") {
		t.Errorf("a password in --cache: %d %q", r.code, r.stderr)
	}
	e.vars["NEXTCORE_CACHE"] = "postgres://u:s3cret@127.0.0.1:1/db?connect_timeout=2"
	r = e.run("", false, "usage", "stats")
	if r.code != 1 || strings.Contains(r.stderr+r.stdout, "s3cret") || !strings.Contains(r.stderr, "cannot connect") ||
		strings.Count(strings.TrimSpace(r.stderr), "\n") > 0 {
		t.Errorf("no server: %d %q", r.code, r.stderr)
	}
}

// withoutPassword is url without its password, which goes to PGPASSWORD.
func withoutPassword(t *testing.T, raw string) string {
	t.Helper()
	u, err := neturl.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	if pw, ok := u.User.Password(); ok {
		t.Setenv("PGPASSWORD", pw)
		u.User = neturl.User(u.User.Username())
	}
	return u.String()
}

// TestCacheCopy: a laptop's cache into the team store and back gives the
// same reports; a copy over a store that holds part of the records counts
// none twice; a copy run again copies nothing.
func TestCacheCopy(t *testing.T) {
	lite := imported(t)
	url, _ := pgtest.Fresh(t)
	url = withoutPassword(t, url)
	// The team store holds the first 500 records already, as a copy that
	// stopped would have left it.
	part := filepath.Join(t.TempDir(), "part.jsonl")
	data, err := os.ReadFile(fixture)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(data), "\n")
	if err := os.WriteFile(part, []byte(strings.Join(lines[:500], "")), 0o600); err != nil {
		t.Fatal(err)
	}
	pg := newEnv(t)
	pg.vars["NEXTCORE_CACHE"] = url
	if r := pg.run("", false, "usage", "import", "--tenant", "acme", part); r.code != 0 {
		t.Fatalf("import: %d %s", r.code, r.stderr)
	}
	r := lite.run("", false, "cache", "copy", lite.cachePath(), url)
	if r.code != 0 || !strings.Contains(r.stderr, "acme: 951 records copied, ") {
		t.Fatalf("copy: %d %q", r.code, r.stderr)
	}
	if r := lite.run("", false, "cache", "copy", lite.cachePath(), url); r.code != 0 || !strings.Contains(r.stderr, "acme: 0 records copied, 0 there already, 1,451 calls in days copied before") {
		t.Fatalf("copy again: %d %q", r.code, r.stderr)
	}
	back := filepath.Join(t.TempDir(), "back.db")
	if r := lite.run("", false, "cache", "copy", url, back); r.code != 0 || !strings.Contains(r.stderr, "acme: 1,451 records copied") {
		t.Fatalf("copy back: %d %q", r.code, r.stderr)
	}
	backEnv := newEnv(t)
	backEnv.vars["NEXTCORE_CACHE"] = back
	for _, args := range reportRuns[:8] {
		args := append(append([]string{}, args...), "--tz", "America/New_York")
		a, b, c := lite.run("", false, args...), pg.run("", false, args...), backEnv.run("", false, args...)
		if a.stdout != b.stdout || a.stdout != c.stdout || a.code != 0 || b.code != 0 || c.code != 0 {
			t.Errorf("%s: the copies differ (%d %d %d %q %q)", strings.Join(args, " "), a.code, b.code, c.code, b.stderr, c.stderr)
		}
	}
	if r := lite.run("", false, "cache", "copy", "postgres://u:pw@localhost/x", back); r.code != 2 || strings.Contains(r.stderr, "pw@") {
		t.Errorf("a password in an argument: %d %q", r.code, r.stderr)
	}
	if r := backEnv.run("", false, "cache", "check"); r.code != 0 {
		t.Errorf("cache check of the copy: %d %q", r.code, r.stderr)
	}
	if r := pg.run("", false, "cache", "check"); r.code != 0 || !strings.Contains(r.stdout, fmt.Sprintf("ok (1 tenant(s), schema %d)", pgstore.SchemaVersion)) {
		t.Errorf("cache check of the team store: %d %q %q", r.code, r.stdout, r.stderr)
	}
}

// teamAPIEnv is apiEnv whose store is a fresh team store schema, its
// connections named app so that a test can end them.
func teamAPIEnv(t *testing.T, app string) (*env, *apitest.Server, string) {
	t.Helper()
	e, srv := apiEnv(t)
	url, schema := pgtest.Fresh(t)
	u, _ := neturl.Parse(url)
	q := u.Query()
	q.Set("application_name", app)
	u.RawQuery = q.Encode()
	e.vars["NEXTCORE_CACHE"] = u.String()
	return e, srv, schema
}

// TestTeamSyncSurvivesServerRestart: the server ends every connection of
// a sync halfway (as a restart does to its clients): the sync stops with
// one clear line, the pages it committed stay, and the next sync ends the
// job with every record once.
func TestTeamSyncSurvivesServerRestart(t *testing.T) {
	app := fmt.Sprintf("nextcore-restart-%d", os.Getpid())
	e, srv, _ := teamAPIEnv(t, app)
	var many []source.Record
	for i := range 8 {
		for _, r := range fixtureRecords(t) {
			r.ID = fmt.Sprintf("%s-%02d", r.ID, i)
			many = append(many, r)
		}
	}
	srv.Add("acme", many...)
	srv.MaxLimit = 250
	srv.SlowPages(20 * time.Millisecond)
	admin, err := pgx.Connect(context.Background(), pgtest.ServerURL(t, "NEXTCORE_TEST_PG"))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(context.Background())
	var wg sync.WaitGroup
	var first result
	wg.Add(1)
	go func() {
		defer wg.Done()
		first = e.run("", false, "usage", "sync")
	}()
	killed := false
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline) && !killed; {
		time.Sleep(20 * time.Millisecond)
		var pages int64
		_ = admin.QueryRow(context.Background(), "SELECT coalesce(max(pages), 0) FROM "+
			pgx.Identifier{e.schema(t), "syncs"}.Sanitize()).Scan(&pages)
		if pages >= 5 {
			if _, err := admin.Exec(context.Background(),
				"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1", app); err != nil {
				t.Fatal(err)
			}
			killed = true
		}
	}
	wg.Wait()
	if !killed {
		t.Fatalf("the sync ended before 5 pages: %d %q", first.code, first.stderr)
	}
	if first.code != 1 || !strings.Contains(first.stderr, "connection was lost") || strings.Count(strings.TrimSpace(first.stderr), "\n") > 1 {
		t.Fatalf("the sync whose server went away: %d %q", first.code, first.stderr)
	}
	t.Logf("the sync whose server went away: %s", first.stderr)
	srv.SlowPages(0)
	if r := e.run("", false, "usage", "sync"); r.code != 0 {
		t.Fatalf("the sync again: %d %q", r.code, r.stderr)
	}
	all := append(fixtureRecords(t), many...)
	want, _ := (&source.Memory{Records: map[string][]source.Record{"acme": all}}).Aggregate(context.Background(), "acme", source.DimAll, []int64{0, 1 << 62})
	var n, distinct int64
	if err := admin.QueryRow(context.Background(), "SELECT count(*), count(DISTINCT id) FROM "+
		pgx.Identifier{e.schema(t), "records"}.Sanitize()).Scan(&n, &distinct); err != nil {
		t.Fatal(err)
	}
	r := e.run("", false, "usage", "stats", "--period", "year", "--format", "json", "--tz", "UTC")
	if n != int64(len(all)) || distinct != n || !strings.Contains(r.stdout, fmt.Sprintf(`"total": %d,`, want[0][""].Calls)) {
		t.Fatalf("after the resume: %d records, %d distinct, want %d; %s", n, distinct, len(all), head(r.stdout))
	}
	if r := e.run("", false, "cache", "check"); r.code != 0 {
		t.Errorf("cache check: %q", r.stderr)
	}
}

// schema is the env's team store schema (its URL's search_path).
func (e *env) schema(t *testing.T) string {
	u, err := neturl.Parse(e.vars["NEXTCORE_CACHE"])
	if err != nil {
		t.Fatal(err)
	}
	return u.Query().Get("search_path")
}

// TestTeamReaderCannotSync: the read-only role reads every report and is
// refused a sync with one clear line, nothing changed.
func TestTeamReaderCannotSync(t *testing.T) {
	e, _, schema := teamAPIEnv(t, "nextcore-reader-test")
	if r := e.run("", false, "usage", "import", "--tenant", "acme", fixture); r.code != 0 {
		t.Fatalf("import: %d %q", r.code, r.stderr)
	}
	admin, err := pgx.Connect(context.Background(), e.vars["NEXTCORE_CACHE"])
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(context.Background())
	readerURL := pgtest.ServerURL(t, "NEXTCORE_TEST_PG_READER")
	ru, _ := neturl.Parse(readerURL)
	reader := ru.User.Username()
	if _, err := admin.Exec(context.Background(), fmt.Sprintf("GRANT USAGE ON SCHEMA %s TO %s; GRANT SELECT ON ALL TABLES IN SCHEMA %s TO %s",
		schema, reader, schema, reader)); err != nil {
		t.Fatal(err)
	}
	before := e.run("", false, "usage", "stats", "--format", "json")
	e.vars["NEXTCORE_CACHE"] = pgtest.WithSchema(readerURL, schema)
	if r := e.run("", false, "usage", "stats", "--format", "json"); r.code != 0 || r.stdout != before.stdout {
		t.Errorf("the reader's report: %d %q", r.code, r.stderr)
	}
	r := e.run("", false, "usage", "sync")
	if r.code != 1 || !strings.Contains(r.stderr, "may not write") || strings.Count(strings.TrimSpace(r.stderr), "\n") > 0 {
		t.Fatalf("the reader syncing: %d %q", r.code, r.stderr)
	}
	t.Logf("the reader syncing: %s", r.stderr)
	if after := e.run("", false, "usage", "stats", "--format", "json"); after.stdout != before.stdout {
		t.Error("a refused sync changed the store")
	}
}

// TestTeamSecondSyncRefused: while one host syncs a tenant, a sync of it
// from another host is refused at once, saying why; another tenant's is not.
func TestTeamSecondSyncRefused(t *testing.T) {
	e, _, _ := teamAPIEnv(t, "nextcore-lock-test")
	if r := e.run("", false, "usage", "import", "--tenant", "acme", fixture); r.code != 0 {
		t.Fatalf("import: %d %q", r.code, r.stderr)
	}
	other, err := pgstore.Open(context.Background(), e.vars["NEXTCORE_CACHE"], cache.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	unlock, err := other.LockSync(context.Background(), "acme")
	if err != nil {
		t.Fatal(err)
	}
	r := e.run("", false, "usage", "sync")
	if r.code != 1 || !strings.Contains(r.stderr, "another sync of this cache is running: tenant acme in the team store") {
		t.Errorf("a second sync: %d %q", r.code, r.stderr)
	}
	if r := e.run("", false, "usage", "import", "--tenant", "acme", fixture); r.code != 1 || !strings.Contains(r.stderr, "another sync") {
		t.Errorf("an import during the sync: %d %q", r.code, r.stderr)
	}
	if r := e.run("", false, "usage", "import", "--tenant", "globex", fixture); r.code != 0 {
		t.Errorf("another tenant's import: %d %q", r.code, r.stderr)
	}
	unlock()
	if r := e.run("", false, "usage", "sync"); r.code != 0 {
		t.Errorf("the sync after: %d %q", r.code, r.stderr)
	}
}
