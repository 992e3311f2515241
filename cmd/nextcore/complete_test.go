package main

import (
	"archive/zip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// complete asks nextcore for completions as the shell scripts do, and
// returns the candidates (without cobra's directive line).
func (e *env) complete(args ...string) []string {
	e.t.Helper()
	r := e.run("", false, append([]string{"__complete"}, args...)...)
	if r.code != 0 {
		e.t.Fatalf("__complete %v: %d %s", args, r.code, r.stderr)
	}
	var out []string
	for _, l := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		if !strings.HasPrefix(l, ":") && l != "" {
			out = append(out, strings.SplitN(l, "\t", 2)[0])
		}
	}
	return out
}

// TestFlagCompletion: every flag that takes a value completes its values,
// never file names where no file is meant.
func TestFlagCompletion(t *testing.T) {
	e := imported(t)
	cases := []struct {
		args []string
		want []string
	}{
		{[]string{"usage", "stats", "--period", ""}, []string{"today", "week", "month", "year"}},
		{[]string{"usage", "stats", "--format", ""}, []string{"table", "json", "csv", "markdown", "github", "html"}},
		{[]string{"usage", "overview", "--format", ""}, []string{"table", "json"}},
		{[]string{"usage", "export", "--format", ""}, []string{"csv", "pdf", "json", "html", "focus"}},
		{[]string{"usage", "top-models", "-f", "m"}, []string{"markdown"}},
		{[]string{"usage", "stats", "--tz", "Europe/Be"}, []string{"Europe/Belfast", "Europe/Belgrade", "Europe/Berlin"}},
		{[]string{"usage", "quota", "--tz", "asia/kat"}, []string{"Asia/Kathmandu", "Asia/Katmandu"}},
		{[]string{"usage", "breakdown", "--by", ""}, []string{"model", "key", "user", "region", "status", "project", "tag", "provider", "day", "hour"}},
		{[]string{"usage", "top-models", "--by", ""}, []string{"calls", "tokens", "cost"}},
		{[]string{"usage", "breakdown", "--sort", ""}, []string{"cost", "calls", "tokens", "name"}},
		{[]string{"usage", "export", "--report", ""}, []string{"summary", "daily", "models", "keys", "records"}},
		{[]string{"usage", "export", "--paper", ""}, []string{"a4", "letter"}},
		{[]string{"usage", "quota", "--fail-on", ""}, []string{"warning", "exceeded", "projected", "unpriced"}},
		{[]string{"usage", "stats", "--filter", ""}, []string{"model=", "key=", "user=", "region=", "status=", "project=", "tag=", "provider="}},
		{[]string{"usage", "stats", "--filter", "region=eu"}, []string{"region=eu-central", "region=eu-west"}},
		{[]string{"usage", "breakdown", "--filter", "model=gpt-4o,region=us"}, []string{"model=gpt-4o,region=us-east", "model=gpt-4o,region=us-west"}},
		{[]string{"usage", "stats", "--filter", "status="}, []string{"status=error", "status=success"}},
		{[]string{"usage", "stats", "--tenant", ""}, []string{"acme"}},
		{[]string{"config", "set", "smtp."}, []string{"smtp.from", "smtp.insecure", "smtp.retry_for", "smtp.to", "smtp.url"}},
		{[]string{"usage", "stats", "--as-of", ""}, nil},
		{[]string{"usage", "quota", "--limit-spend", ""}, nil},
		{[]string{"usage", "anomalies", "--by", "h"}, []string{"hour"}},
		{[]string{"usage", "anomalies", "--metric", ""}, []string{"cost", "calls"}},
		{[]string{"usage", "budgets", "--fail-on", ""}, []string{"warning", "exceeded", "projected"}},
		{[]string{"budget", "set", "x", "--period", "r"}, []string{"rolling-7d", "rolling-30d"}},
		{[]string{"budget", "set", "x", "--scope", "region=eu"}, []string{"region=eu-central", "region=eu-west"}},
		{[]string{"budget", "rm", ""}, []string{"gpt-week", "web"}},
		{[]string{"usage", "budgets", "--budget", "w"}, []string{"web"}},
	}
	cfg := filepath.Join(e.dir, "budgets.yaml")
	os.WriteFile(cfg, []byte("budgets:\n  - {name: gpt-week, limit: {calls: 5}}\n  - {name: web, limit: {spend: 5}}\n"), 0o600)
	e.vars["NEXTCORE_CONFIG"] = cfg
	for _, c := range cases {
		got := e.complete(c.args...)
		if strings.Join(got, " ") != strings.Join(c.want, " ") {
			t.Errorf("%v: got %q, want %q", c.args, got, c.want)
		}
	}
	// No flag that takes a value falls back to file names unless a file is
	// meant: cobra's directive says so.
	r := e.run("", false, "__complete", "usage", "stats", "--as-of", "")
	if !strings.Contains(r.stdout, ":4") {
		t.Errorf("--as-of completes files: %q", r.stdout)
	}
	r = e.run("", false, "__complete", "usage", "stats", "--compare-to", "")
	if !strings.Contains(r.stdout, "json\n:8") {
		t.Errorf("--compare-to does not complete JSON files: %q", r.stdout)
	}
	// Completion leaves no cache behind where there is none.
	fresh := newEnv(t)
	fresh.complete("usage", "stats", "--filter", "model=")
	if _, err := os.Stat(fresh.cachePath()); err == nil {
		t.Error("completion created a cache")
	}
}

// TestZoneNames: the zone list is the one of the time-zone database Go
// embeds, and every name loads.
func TestZoneNames(t *testing.T) {
	names := strings.Fields(zoneNames)
	if len(names) < 500 {
		t.Fatalf("%d zones", len(names))
	}
	for _, n := range names {
		if _, ok := zone(n); !ok {
			t.Errorf("zone %q does not load", n)
		}
	}
	path := filepath.Join(goroot(t), "lib", "time", "zoneinfo.zip")
	z, err := zip.OpenReader(path)
	if err != nil {
		t.Skipf("cannot read Go's zone database: %v", err)
	}
	defer z.Close()
	var want []string
	for _, f := range z.File {
		if !strings.HasSuffix(f.Name, "/") {
			want = append(want, f.Name)
		}
	}
	slices.Sort(want)
	if strings.Join(want, "\n") != strings.Join(names, "\n") {
		t.Errorf("zones.txt is not Go's zone list; rewrite it: unzip -Z1 %s | LC_ALL=C grep -v '/$' | LC_ALL=C sort > cmd/nextcore/zones.txt", path)
	}
}

func goroot(t *testing.T) string {
	out, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		t.Skip("no go command")
	}
	return strings.TrimSpace(string(out))
}

// TestBashCompletion completes in a real bash with bash-completion loaded,
// through the script that 'nextcore completion bash' writes.
func TestBashCompletion(t *testing.T) {
	const bc = "/usr/share/bash-completion/bash_completion"
	if _, err := os.Stat(bc); err != nil {
		t.Skip("bash-completion is not installed (apt-get install bash-completion)")
	}
	e := imported(t)
	bin := buildNextcore(t)
	script := filepath.Join(e.dir, "nextcore.bash")
	if r := e.run("", false, "completion", "bash"); r.code != 0 {
		t.Fatal(r.stderr)
	} else {
		os.WriteFile(script, []byte(r.stdout), 0o644)
	}
	dir := filepath.Dir(bin)
	for _, c := range []struct{ line, want string }{
		{"nextcore usage stats --period ", "month today week year"},
		{"nextcore usage stats --tz Europe/Berl", "Europe/Berlin"},
		{"nextcore usage breakdown --by re", "region"},
		// bash breaks words at "=": the value after it is completed.
		{"nextcore usage stats --filter region=us-", "us-east us-west"},
		{"nextcore usage export --format ", "csv focus html json pdf"},
	} {
		words := strings.Fields(c.line)
		if strings.HasSuffix(c.line, " ") {
			words = append(words, "")
		}
		quoted := make([]string, len(words))
		for i, w := range words {
			quoted[i] = "'" + w + "'"
		}
		prog := `source ` + bc + `; source ` + script + `
COMP_WORDS=(` + strings.Join(quoted, " ") + `); COMP_CWORD=` + strconv.Itoa(len(words)-1) + `
COMP_LINE='` + c.line + `'; COMP_POINT=${#COMP_LINE}
__start_nextcore nextcore
printf '%s\n' "${COMPREPLY[@]}" | sort | tr '\n' ' '`
		cmd := exec.Command("bash", "--norc", "--noprofile", "-c", prog)
		cmd.Env = append(os.Environ(), "PATH="+dir+":"+os.Getenv("PATH"), "NEXTCORE_CACHE="+e.cachePath(), "HOME="+e.dir)
		done := make(chan struct{})
		var out []byte
		var err error
		var stderr strings.Builder
		cmd.Stderr = &stderr // compopt complains outside a real key press
		go func() { out, err = cmd.Output(); close(done) }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			t.Fatalf("%q: bash did not answer", c.line)
		}
		if err != nil {
			t.Fatalf("%q: %v\n%s%s", c.line, err, out, stderr.String())
		}
		if got := strings.TrimSpace(string(out)); got != c.want {
			t.Errorf("%q: bash offers %q, want %q", c.line, got, c.want)
		}
	}
}
