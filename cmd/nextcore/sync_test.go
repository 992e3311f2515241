package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nextcore-ai/nextcore/pkg/source"
	"github.com/nextcore-ai/nextcore/pkg/source/api/apitest"
	"github.com/nextcore-ai/nextcore/pkg/source/cache"
	"github.com/nextcore-ai/nextcore/pkg/source/file"
)

// fixtureRecords reads the fixture's records.
func fixtureRecords(t *testing.T) []source.Record {
	t.Helper()
	f, err := os.Open(fixture)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := file.NewReader(fixture, f, file.Auto)
	if err != nil {
		t.Fatal(err)
	}
	var out []source.Record
	for {
		var rec source.Record
		if err := r.Next(&rec); err == io.EOF {
			return out
		} else if err != nil {
			t.Fatal(err)
		}
		out = append(out, rec)
	}
}

// apiEnv is an env connected to a fake control plane holding the fixture
// for tenant acme.
func apiEnv(t *testing.T) (*env, *apitest.Server) {
	t.Helper()
	srv := apitest.New("s3cret-token")
	t.Cleanup(srv.Close)
	srv.Add("acme", fixtureRecords(t)...)
	srv.SetQuota("acme", `{"periodStart": null, "limits": {"apiCalls": 1500, "tokens": null, "spend": 4.5}}`)
	e := newEnv(t)
	e.vars["NEXTCORE_API_URL"] = srv.URL
	e.vars["NEXTCORE_TOKEN"] = "s3cret-token"
	e.vars["NEXTCORE_TENANT"] = "acme"
	return e, srv
}

// withoutSource drops the fields that name where the numbers came from.
func withoutSource(t *testing.T, js string) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(js), &m); err != nil {
		t.Fatalf("%v: %s", err, js)
	}
	delete(m, "source")
	b, _ := json.Marshal(m)
	return string(b)
}

// TestSyncThenReportsMatchLive syncs the fixture and checks that every
// report reads the same numbers from the cache as live from the API.
func TestSyncThenReportsMatchLive(t *testing.T) {
	e, srv := apiEnv(t)
	srv.MaxLimit = 200 // several pages
	r := e.run("", false, "usage", "sync")
	if r.code != 0 || !strings.Contains(r.stderr, "acme: 1,451 new, 0 duplicates, 8 pages, 0 retries") {
		t.Fatalf("sync: %d %q", r.code, r.stderr)
	}
	if strings.Contains(r.stderr+r.stdout, "s3cret") {
		t.Fatal("the token was printed")
	}
	for _, args := range [][]string{
		{"usage", "stats", "--format", "json", "--period", "week", "--tz", "Europe/Berlin", "--as-of", "2026-11-23"},
		{"usage", "stats", "--format", "json", "--tz", "Asia/Kathmandu"},
		{"usage", "stats", "--format", "json", "--from", "2026-10-25", "--to", "2026-10-26", "--tz", "America/New_York"},
		{"usage", "stats", "--format", "json", "--period", "year", "--tz", "Asia/Kolkata", "--as-of", "2026-11-20T13:07:00Z"},
		{"usage", "top-models", "--format", "json", "--by", "cost"},
		{"usage", "quota", "--format", "json", "--tz", "Europe/Berlin"},
		{"usage", "quota", "--format", "json", "--limit-calls", "10"},
		{"usage", "export", "--format", "json", "-o", "-", "--period", "week"},
	} {
		cached := e.run("", false, args...)
		live := e.run("", false, append(args, "--source", "api")...)
		if cached.code != 0 || live.code != 0 {
			t.Fatalf("%v: %d %q / %d %q", args, cached.code, cached.stderr, live.code, live.stderr)
		}
		if withoutSource(t, cached.stdout) != withoutSource(t, live.stdout) {
			t.Errorf("%v: the cache and the API disagree:\n%s", args, diff(cached.stdout, live.stdout))
		}
	}
	// Every record, streamed from either.
	recArgs := []string{"usage", "export", "--format", "csv", "--report", "records", "--period", "year", "-o", "-"}
	if cached, live := e.run("", false, recArgs...), e.run("", false, append(recArgs, "--source", "api")...); cached.stdout != live.stdout || strings.Count(cached.stdout, "\n") != 1452 {
		t.Errorf("records export: cached and live differ (%d and %d lines)", strings.Count(cached.stdout, "\n"), strings.Count(live.stdout, "\n"))
	}
	// The stored quota serves the cached report: 1,500 calls, $4.50.
	q := e.run("", false, "usage", "quota", "--format", "json")
	if !strings.Contains(q.stdout, `"limit": 1500,`) || !strings.Contains(q.stdout, `"limit": 4.5,`) {
		t.Errorf("stored quota not used:\n%s", q.stdout)
	}
	if st := e.run("", false, "usage", "stats"); !strings.Contains(st.stdout, "cache synced just now") {
		t.Errorf("header: %s", strings.SplitN(st.stdout, "\n", 2)[0])
	}
}

// TestResyncReadsOnlyTheOverlap checks that a second sync asks only for the
// last 48 hours, finds late records there, and stores nothing twice.
func TestResyncReadsOnlyTheOverlap(t *testing.T) {
	e, srv := apiEnv(t)
	if r := e.run("", false, "usage", "sync"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	recs := fixtureRecords(t)
	newest := recs[len(recs)-1].Time
	late := source.Record{ID: "late-1", Time: newest - int64(30*time.Hour), Model: "gpt-4o", APIKey: "k", Success: true,
		PromptTokens: 10, CompletionTokens: 5, Cost: 123, LatencyMs: -1, Requests: 1}
	srv.Add("acme", late)
	before := len(srv.Requests())
	r := e.run("", false, "usage", "sync")
	if r.code != 0 || !strings.Contains(r.stderr, "acme: 1 new, ") {
		t.Fatalf("resync: %d %q", r.code, r.stderr)
	}
	reqs := srv.Requests()[before:]
	wantStart := time.Unix(0, newest).Add(-48 * time.Hour).UTC().Format(time.RFC3339Nano)
	if !strings.Contains(reqs[0], "start="+strings.ReplaceAll(wantStart, ":", "%3A")) {
		t.Errorf("the resync asked for %s, want start=%s", reqs[0], wantStart)
	}
	var inOverlap int
	for _, rec := range append(recs, late) {
		if rec.Time >= newest-int64(48*time.Hour) {
			inOverlap++
		}
	}
	if !strings.Contains(r.stderr, fmt.Sprintf("1 new, %s duplicates", countStr(inOverlap-1))) {
		t.Errorf("resync fetched more than the overlap (%d records): %q", inOverlap, r.stderr)
	}
	out := e.run("", false, "usage", "stats", "--format", "json", "--period", "year")
	if !strings.Contains(out.stdout, `"total": 1452,`) {
		t.Errorf("after the late record: %s", out.stdout[:200])
	}
}

func countStr(n int) string { return strings.TrimSpace(fmt.Sprintf("%d", n)) }

func TestSyncErrors(t *testing.T) {
	e, srv := apiEnv(t)
	cases := []struct {
		name string
		vars map[string]string
		args []string
		code int
		want string
	}{
		{"bad token", map[string]string{"NEXTCORE_TOKEN": "nope"}, nil, 1,
			"the API rejected the token (HTTP 401: Invalid token.). The token came from NEXTCORE_TOKEN; check it"},
		{"unknown tenant", map[string]string{"NEXTCORE_TENANT": "globex"}, nil, 1, `knows no tenant "globex" (HTTP 404: Not found.)`},
		{"no token", map[string]string{"NEXTCORE_TOKEN": ""}, nil, 2, "no API token: set NEXTCORE_TOKEN"},
		{"no url", map[string]string{"NEXTCORE_API_URL": ""}, nil, 2, "no API URL"},
		{"bad url", map[string]string{"NEXTCORE_API_URL": "cp.example.com"}, nil, 2, `bad API URL "cp.example.com"`},
		{"bad since", nil, []string{"--since", "yesterday"}, 2, `--since: bad date "yesterday"`},
		{"down", map[string]string{"NEXTCORE_API_URL": "http://127.0.0.1:1"}, []string{"--retries", "0"}, 1, "did not answer properly after 1 attempt (cannot connect: connection refused)"},
		{"bad source", nil, []string{"--source", "web"}, 2, `unknown --source "web"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			saved := map[string]string{}
			for k, v := range c.vars {
				saved[k] = e.vars[k]
				e.vars[k] = v
			}
			defer func() {
				for k, v := range saved {
					e.vars[k] = v
				}
			}()
			r := e.run("", false, append([]string{"usage", "sync"}, c.args...)...)
			if r.code != c.code || !strings.Contains(r.stderr, c.want) {
				t.Fatalf("exit %d %q; want %d and %q", r.code, r.stderr, c.code, c.want)
			}
			if strings.Contains(r.stderr, "s3cret") {
				t.Error("the token was printed")
			}
		})
	}
	// The token from a file, when the environment has none.
	tokenFile := filepath.Join(e.dir, "token")
	os.WriteFile(tokenFile, []byte("s3cret-token\n"), 0o600)
	e.vars["NEXTCORE_TOKEN"] = ""
	if r := e.run("", false, "usage", "sync", "--token-file", tokenFile); r.code != 0 {
		t.Fatalf("token file: %q", r.stderr)
	}
	os.WriteFile(tokenFile, []byte("wrong\n"), 0o600)
	if r := e.run("", false, "usage", "sync", "--token-file", tokenFile); r.code != 1 || !strings.Contains(r.stderr, "The token came from --token-file "+tokenFile) {
		t.Fatalf("wrong token file: %q", r.stderr)
	}
	// A readable config file with a token gets a warning.
	cfg := filepath.Join(e.dir, "config.yaml")
	os.WriteFile(cfg, []byte("token: s3cret-token\n"), 0o644)
	if r := e.run("", false, "usage", "sync", "--config", cfg); r.code != 0 || !strings.Contains(r.stderr, "holds a secret (token or SMTP password) and others can read it (mode 0644); run: chmod 600") {
		t.Fatalf("config token: %d %q", r.code, r.stderr)
	}
	_ = srv
}

// TestSyncRetriesFaults runs a sync through a server that misbehaves.
func TestSyncRetriesFaults(t *testing.T) {
	e, srv := apiEnv(t)
	srv.MaxLimit = 300
	srv.Fail(apitest.Fault{}, apitest.Fault{Status: 503}, apitest.Fault{Truncate: true}, apitest.Fault{Status: 429, RetryAfter: "0"})
	r := e.run("", false, "usage", "sync")
	if r.code != 0 || !strings.Contains(r.stderr, "acme: 1,451 new, 0 duplicates, 5 pages, 3 retries") {
		t.Fatalf("%d %q", r.code, r.stderr)
	}
}

// TestSyncStoresRepeatsOnce syncs from a server that sends the last record
// of each page again at the start of the next.
func TestSyncStoresRepeatsOnce(t *testing.T) {
	e, srv := apiEnv(t)
	srv.MaxLimit = 100
	srv.Dup = true
	r := e.run("", false, "usage", "sync")
	if r.code != 0 || !strings.Contains(r.stderr, "acme: 1,451 new, 14 duplicates") {
		t.Fatalf("%d %q", r.code, r.stderr)
	}
	if calls, distinct, _ := cacheTotals(t, e.cachePath()); calls != 1451 || distinct != 1451 {
		t.Fatalf("%d records, %d distinct", calls, distinct)
	}
	live := e.run("", false, "usage", "stats", "--format", "json", "--period", "year", "--source", "api")
	cached := e.run("", false, "usage", "stats", "--format", "json", "--period", "year")
	if withoutSource(t, live.stdout) != withoutSource(t, cached.stdout) {
		t.Errorf("live and cached differ with repeats:\n%s", diff(cached.stdout, live.stdout))
	}
}

func TestSecondSyncRefused(t *testing.T) {
	e, _ := apiEnv(t)
	os.MkdirAll(filepath.Dir(e.cachePath()), 0o700)
	unlock, err := cache.LockSync(e.cachePath())
	if err != nil {
		t.Fatal(err)
	}
	r := e.run("", false, "usage", "sync")
	unlock()
	if r.code != 1 || !strings.Contains(r.stderr, "another sync of this cache is running (process ") {
		t.Fatalf("%d %q", r.code, r.stderr)
	}
	if r := e.run("", false, "usage", "sync"); r.code != 0 {
		t.Fatalf("after the first ended: %q", r.stderr)
	}
}

// cacheTotals is what the cache holds for acme: calls and ids.
func cacheTotals(t *testing.T, path string) (calls int64, distinct int64, sum source.Totals) {
	t.Helper()
	c, err := cache.Open(context.Background(), path, cache.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	g, err := c.Aggregate(context.Background(), "acme", source.DimAll, []int64{0, 1 << 62})
	if err != nil {
		t.Fatal(err)
	}
	db, _ := sql.Open("sqlite", "file:"+path+"?mode=ro")
	defer db.Close()
	db.QueryRow("SELECT count(*), count(DISTINCT id) FROM records").Scan(&calls, &distinct)
	return calls, distinct, g[0][""]
}

// TestKilledSyncResumes kills a real `nextcore usage sync` with SIGKILL in
// the middle, runs it again, and finds every record exactly once.
func TestKilledSyncResumes(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	e, srv := apiEnv(t)
	var many []source.Record
	for i := range 20 {
		for _, r := range fixtureRecords(t) {
			r.ID = fmt.Sprintf("%s-%02d", r.ID, i)
			r.Time += int64(i) * int64(time.Millisecond)
			many = append(many, r)
		}
	}
	srv.Add("acme", many...) // 1,451 × 21 records
	srv.MaxLimit = 250
	srv.SlowPages(15 * time.Millisecond)
	bin := buildNextcore(t)
	var environ []string
	for k, v := range e.vars {
		environ = append(environ, k+"="+v)
	}
	cmd := exec.Command(bin, "usage", "sync")
	cmd.Env = environ
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Kill it once some pages are stored.
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
		if c, err := cache.Open(context.Background(), e.cachePath(), cache.Options{}); err == nil {
			st, _ := c.SyncState(context.Background(), "acme")
			c.Close()
			if st != nil && st.Pages >= 10 {
				break
			}
		}
	}
	cmd.Process.Kill()
	cmd.Wait()
	calls, distinct, _ := cacheTotals(t, e.cachePath())
	total := int64(21 * 1451)
	if calls == 0 || calls >= total || calls != distinct {
		t.Fatalf("after the kill: %d records, %d distinct (of %d)", calls, distinct, total)
	}
	srv.SlowPages(0)
	r := e.run("", false, "usage", "sync")
	if r.code != 0 {
		t.Fatalf("resume: %q", r.stderr)
	}
	calls, distinct, got := cacheTotals(t, e.cachePath())
	mem := &source.Memory{Records: map[string][]source.Record{"acme": append(fixtureRecords(t), many...)}}
	want, _ := mem.Aggregate(context.Background(), "acme", source.DimAll, []int64{0, 1 << 62})
	if calls != total || distinct != total || !reflect.DeepEqual(got, want[0][""]) {
		t.Fatalf("after the resume: %d records, %d distinct, want %d; totals equal: %v", calls, distinct, total, reflect.DeepEqual(got, want[0][""]))
	}
}

// TestStatsWhileSyncing reads reports while a sync writes: every read
// succeeds and sees a whole number of pages, never a torn one.
func TestStatsWhileSyncing(t *testing.T) {
	e, srv := apiEnv(t)
	srv.MaxLimit = 100
	srv.SlowPages(10 * time.Millisecond)
	// A first import, so that the cache exists before the sync starts.
	if r := e.run("", false, "usage", "import", "--tenant", "acme", fixture); r.code != 0 {
		t.Fatal(r.stderr)
	}
	var many []source.Record
	for _, r := range fixtureRecords(t) {
		r.ID = "sync-" + r.ID
		many = append(many, r)
	}
	srv.Add("acme", many...)
	var wg sync.WaitGroup
	var syncRes result
	wg.Add(1)
	go func() {
		defer wg.Done()
		syncRes = e.run("", false, "usage", "sync")
	}()
	var last int64
	reads := 0
	for done := false; !done; {
		select {
		case <-waitCh(&wg):
			done = true
		default:
		}
		r := e.run("", false, "usage", "stats", "--format", "json", "--period", "year")
		if r.code != 0 {
			t.Fatalf("read during sync: %q", r.stderr)
		}
		var s struct {
			APICalls struct{ Total int64 } `json:"apiCalls"`
		}
		json.Unmarshal([]byte(r.stdout), &s)
		if s.APICalls.Total < last {
			t.Fatalf("calls went down from %d to %d", last, s.APICalls.Total)
		}
		last = s.APICalls.Total
		reads++
	}
	if syncRes.code != 0 || last != 2*1451 {
		t.Fatalf("sync %d %q; last read %d calls", syncRes.code, syncRes.stderr, last)
	}
	t.Logf("%d reads during the sync", reads)
	if reads < 3 {
		t.Errorf("only %d reads during the sync", reads)
	}
}

func waitCh(wg *sync.WaitGroup) <-chan struct{} {
	ch := make(chan struct{})
	go func() { wg.Wait(); close(ch) }()
	return ch
}

// TestInterruptedSync cancels a sync between pages: exit 130, the pages
// stored so far are kept, and the next sync completes the rest.
func TestInterruptedSync(t *testing.T) {
	e, srv := apiEnv(t)
	srv.MaxLimit = 100
	srv.SlowPages(20 * time.Millisecond)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { // Ctrl-C once three pages are stored
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
			if c, err := cache.Open(context.Background(), e.cachePath(), cache.Options{}); err == nil {
				st, _ := c.SyncState(context.Background(), "acme")
				c.Close()
				if st != nil && st.Pages >= 3 {
					break
				}
			}
		}
		cancel()
	}()
	var out, errb bytes.Buffer
	app := &App{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb,
		Env: func(k string) string { return e.vars[k] }, Now: func() time.Time { return testNow }}
	if code := app.Run(ctx, []string{"usage", "sync"}); code != exitInterrupted {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	calls, distinct, _ := cacheTotals(t, e.cachePath())
	if calls == 0 || calls >= 1451 || calls != distinct || calls%100 != 0 {
		t.Fatalf("after the interruption: %d records (%d distinct); want whole pages", calls, distinct)
	}
	srv.SlowPages(0)
	if r := e.run("", false, "usage", "sync"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	if calls, _, _ := cacheTotals(t, e.cachePath()); calls != 1451 {
		t.Fatalf("after the resume: %d", calls)
	}
}

// TestHintsNameTheFlags: packages know no flags; the command line adds the
// one that helps to their errors.
func TestHintsNameTheFlags(t *testing.T) {
	e, srv := apiEnv(t)
	notDB := filepath.Join(e.dir, "notes.txt")
	os.WriteFile(notDB, []byte(strings.Repeat("not a database at all ", 300)), 0o600)
	for _, c := range []struct {
		name string
		vars map[string]string
		args []string
		want string
	}{
		{"401", map[string]string{"NEXTCORE_TOKEN": "wrong"}, nil, "The token came from NEXTCORE_TOKEN; check it, or give another with NEXTCORE_TOKEN or --token-file"},
		{"404", map[string]string{"NEXTCORE_TENANT": "globex"}, nil, `knows no tenant "globex" (HTTP 404: Not found.); check --tenant and --api-url`},
		{"gave up", map[string]string{"NEXTCORE_API_URL": "http://127.0.0.1:1"}, []string{"--retries", "0"}, "(cannot connect: connection refused); try again later, or raise --retries"},
		{"credentials", map[string]string{"NEXTCORE_API_URL": "http://u:p@" + strings.TrimPrefix(srv.URL, "http://")}, nil, "the API URL must not hold credentials; give the token with NEXTCORE_TOKEN or --token-file"},
		{"not a cache", map[string]string{"NEXTCORE_CACHE": notDB}, nil, "is not an SQLite database; move it away; pass another --cache"},
	} {
		t.Run(c.name, func(t *testing.T) {
			old := map[string]string{}
			for k, v := range c.vars {
				old[k] = e.vars[k]
				e.vars[k] = v
			}
			defer func() {
				for k, v := range old {
					e.vars[k] = v
				}
			}()
			r := e.run("", false, append([]string{"usage", "sync"}, c.args...)...)
			if r.code == 0 || !strings.Contains(r.stderr, c.want) {
				t.Errorf("exit %d %q, want %q", r.code, r.stderr, c.want)
			}
		})
	}
}
