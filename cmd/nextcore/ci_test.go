package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nextcore-ai/nextcore/pkg/report/render"
)

// TestGitHubFormat pins the workflow annotations of quota and stats.
func TestGitHubFormat(t *testing.T) {
	e := imported(t)
	cases := []struct {
		name string
		args []string
	}{
		{"quota-github", []string{"usage", "quota", "--format", "github", "--tz", "Europe/Berlin", "--as-of", "2026-11-20",
			"--limit-calls", "700", "--limit-tokens", "1000000", "--limit-spend", "3"}},
		{"quota-github-ok", []string{"usage", "quota", "--format", "github", "--as-of", "2026-11-05", "--limit-spend", "100"}},
		{"stats-github", append([]string{"usage", "stats", "--format", "github"}, week...)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.run("", false, c.args...)
			if r.code != 0 {
				t.Fatalf("%d %q", r.code, r.stderr)
			}
			for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
				if !strings.HasPrefix(line, "::notice title=") && !strings.HasPrefix(line, "::warning title=") && !strings.HasPrefix(line, "::error title=") {
					t.Errorf("not an annotation: %q", line)
				}
			}
			golden(t, c.name, r.stdout)
		})
	}
	if r := e.run("", false, "usage", "top-models", "--format", "github"); r.code != 2 {
		t.Errorf("top-models --format github: %d %q", r.code, r.stderr)
	}
}

// TestStepSummary checks that quota and stats append Markdown to
// $GITHUB_STEP_SUMMARY when it is set.
func TestStepSummary(t *testing.T) {
	e := imported(t)
	summary := filepath.Join(e.dir, "summary.md")
	e.vars["GITHUB_STEP_SUMMARY"] = summary
	e.run("", false, append([]string{"usage", "stats"}, week...)...)
	r := e.run("", false, "usage", "quota", "--limit-spend", "1", "--fail-on", "exceeded", "--as-of", "2026-11-20")
	if r.code != 3 {
		t.Fatalf("quota: %d %q", r.code, r.stderr)
	}
	data, _ := os.ReadFile(summary)
	if !strings.Contains(string(data), "### NextCore usage · acme") || !strings.Contains(string(data), "### NextCore quota · acme") ||
		!strings.Contains(string(data), "✗ exceeded") {
		t.Errorf("step summary:\n%s", data)
	}
}

// TestCompareTo saves a report, compares a later one with it, and gates on
// spend growth.
func TestCompareTo(t *testing.T) {
	e := imported(t)
	saved := filepath.Join(e.dir, "release-1.json")
	r := e.run("", false, "usage", "stats", "--format", "json", "--from", "2026-11-03", "--to", "2026-11-09", "--tz", "UTC", "-o", saved)
	if r.code != 0 {
		t.Fatal(r.stderr)
	}
	var then render.StatsJSON
	data, _ := os.ReadFile(saved)
	json.Unmarshal(data, &then)
	now := append([]string{"usage", "stats", "--from", "2026-11-17", "--to", "2026-11-23", "--tz", "UTC", "--compare-to", saved}, "--format", "json")
	r = e.run("", false, now...)
	var got render.StatsJSON
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil || got.Comparison == nil {
		t.Fatalf("%v %q", err, r.stderr)
	}
	c := got.Comparison
	if c.With != "release-1.json" || c.Cost.Then != then.Costs.Total || c.Cost.Now != got.Costs.Total || c.APICalls.Then != then.APICalls.Total {
		t.Errorf("comparison %+v", c)
	}
	table := e.run("", false, now[:len(now)-2]...)
	if !strings.Contains(table.stdout, "COMPARED WITH release-1.json") || !strings.Contains(table.stdout, "Total cost") {
		t.Errorf("table:\n%s", table.stdout)
	}
	md := e.run("", false, append(now[:len(now)-2], "--format", "markdown")...)
	if !strings.Contains(md.stdout, "#### Compared with release-1.json") || !strings.Contains(md.stdout, "Cost went ") {
		t.Errorf("markdown:\n%s", md.stdout)
	}
	// The gate: cost rose by c.Cost.Change percent.
	change := c.Cost.Change.Float()
	if change <= 0 {
		t.Fatalf("the fixture's cost did not rise (%v); the test needs a rise", change)
	}
	fail := e.run("", false, append(now[:len(now)-2], "--max-increase", "1%")...)
	if fail.code != 3 || !strings.Contains(fail.stderr, "budget check failed (--max-increase 1%): spend rose "+c.Cost.Change.String()+"% against release-1.json") {
		t.Errorf("gate: %d %q", fail.code, fail.stderr)
	}
	if pass := e.run("", false, append(now[:len(now)-2], "--max-increase", "1000%")...); pass.code != 0 {
		t.Errorf("gate passed: %d %q", pass.code, pass.stderr)
	}
	// Without --compare-to, against the previous period.
	if r := e.run("", false, append([]string{"usage", "stats", "--max-increase", "0"}, week...)...); r.code != 0 {
		t.Errorf("week vs previous (cost fell 9.9%%): %d %q", r.code, r.stderr)
	}
	bad := filepath.Join(e.dir, "bad.json")
	os.WriteFile(bad, []byte(`{"hello": 1}`), 0o644)
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--compare-to", filepath.Join(e.dir, "none.json")}, 1, "none.json: no such file"},
		{[]string{"--compare-to", bad}, 1, "bad.json is not a stats JSON report"},
		{[]string{"--max-increase", "lots"}, 2, `--max-increase: "lots" is not a percentage`},
	} {
		r := e.run("", false, append([]string{"usage", "stats"}, c.args...)...)
		if r.code != c.code || !strings.Contains(r.stderr, c.want) {
			t.Errorf("%v: %d %q", c.args, r.code, r.stderr)
		}
	}
}

// TestCompareToEveryReport saves each report and compares a later window
// with it: every report says what it was compared with.
func TestCompareToEveryReport(t *testing.T) {
	e := imported(t)
	then := []string{"--from", "2026-11-03", "--to", "2026-11-09", "--tz", "UTC"}
	now := []string{"--from", "2026-11-17", "--to", "2026-11-23", "--tz", "UTC"}
	cases := []struct {
		name  string
		cmd   []string
		table string // what the table says
		json  string // a field of the JSON
	}{
		{"top-models", []string{"usage", "top-models"}, "cost in top-models.json", `"baseline": {`},
		{"breakdown", []string{"usage", "breakdown", "--by", "region"}, "cost in breakdown.json", `"baseline": {`},
		{"quota", []string{"usage", "quota", "--limit-spend", "10"}, "Compared with quota.json (as of ", `"baseline": {`},
		{"overview", []string{"usage", "overview"}, "Cost went up", `"comparison": {`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			saved := filepath.Join(e.dir, c.name+".json")
			saveArgs := append(append([]string{}, c.cmd...), "--format", "json", "-o", saved)
			if c.name == "quota" {
				saveArgs = append(saveArgs, "--as-of", "2026-11-09", "--tz", "UTC")
			} else if c.name == "overview" {
				saveArgs = append([]string{"usage", "stats", "--format", "json", "-o", saved}, then...)
			} else {
				saveArgs = append(saveArgs, then...)
			}
			if r := e.run("", false, saveArgs...); r.code != 0 {
				t.Fatalf("save: %q", r.stderr)
			}
			args := append(append([]string{}, c.cmd...), "--compare-to", saved)
			if c.name == "quota" {
				args = append(args, "--as-of", "2026-11-23", "--tz", "UTC")
			} else {
				args = append(args, now...)
			}
			r := e.run("", false, args...)
			if r.code != 0 || !strings.Contains(r.stdout, c.table) {
				t.Errorf("table: %d %q\n%s", r.code, r.stderr, r.stdout)
			}
			if c.name != "overview" {
				r = e.run("", false, append(args, "--format", "json")...)
			} else {
				r = e.run("", false, append(args, "--format", "json")...)
			}
			if r.code != 0 || !strings.Contains(r.stdout, c.json) {
				t.Errorf("json: %d %q", r.code, r.stderr)
			}
		})
	}
	// A saved report of another kind is refused.
	wrong := filepath.Join(e.dir, "overview.json")
	if r := e.run("", false, "usage", "top-models", "--compare-to", wrong); r.code != 1 || !strings.Contains(r.stderr, "not a report of this kind") {
		t.Errorf("wrong kind: %d %q", r.code, r.stderr)
	}
	if r := e.run("", false, "usage", "breakdown", "--by", "model", "--compare-to", filepath.Join(e.dir, "breakdown.json")); r.code != 1 || !strings.Contains(r.stderr, "is a breakdown by region, not by model") {
		t.Errorf("other --by: %d %q", r.code, r.stderr)
	}
}

// TestFailedGateAnnotates: a failed budget check (exit 3) says why on
// standard error, and in a GitHub Actions job (or with --format github)
// also as an ::error annotation; elsewhere no annotation.
func TestFailedGateAnnotates(t *testing.T) {
	e := imported(t)
	cases := []struct {
		name, env string
		args      []string
		want      string
	}{
		{"fail-on exceeded", "true", []string{"usage", "quota", "--limit-spend", "1", "--fail-on", "exceeded", "--as-of", "2026-11-20"},
			"::error title=NextCore budget check::budget check failed (--fail-on exceeded): spend at "},
		{"fail-on projected", "true", []string{"usage", "quota", "--limit-calls", "900", "--fail-on", "projected", "--as-of", "2026-11-20"},
			"::error title=NextCore budget check::budget check failed (--fail-on projected): API calls projected at "},
		{"max-increase", "true", []string{"usage", "stats", "--period", "week", "--max-increase", "1", "--as-of", "2026-11-20"},
			"::error title=NextCore budget check::budget check failed (--max-increase 1%25): spend rose "},
		{"format github", "", []string{"usage", "quota", "--limit-spend", "1", "--fail-on", "warning", "--format", "github", "--as-of", "2026-11-20"},
			"::error title=NextCore budget check::budget check failed (--fail-on warning)"},
		{"not in CI", "", []string{"usage", "quota", "--limit-spend", "1", "--fail-on", "exceeded", "--as-of", "2026-11-20"}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e.vars["GITHUB_ACTIONS"] = c.env
			r := e.run("", false, c.args...)
			if r.code != 3 {
				t.Fatalf("exit %d: %q", r.code, r.stderr)
			}
			if !strings.Contains(r.stderr, "nextcore: budget check failed") {
				t.Errorf("no plain line: %q", r.stderr)
			}
			if c.want == "" && strings.Contains(r.stderr, "::error") {
				t.Errorf("an annotation outside CI: %q", r.stderr)
			}
			if c.want != "" && !strings.Contains(r.stderr, c.want) {
				t.Errorf("stderr %q lacks %q", r.stderr, c.want)
			}
		})
	}
}
