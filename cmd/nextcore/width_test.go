package main

import (
	"strconv"
	"strings"
	"testing"

	"github.com/mattn/go-runewidth"
)

// widthReports are the terminal reports, each run at every width.
var widthReports = [][]string{
	{"usage", "stats", "--period", "week"},
	{"usage", "stats", "--period", "year"},
	{"usage", "stats", "--period", "week", "--filter", "region=eu-west,region=us-east,region=ap-northeast"},
	{"usage", "overview"},
	{"usage", "top-models"},
	{"usage", "top-models", "--compare"},
	{"usage", "breakdown", "--by", "region"},
	{"usage", "breakdown", "--by", "model", "--by", "region", "--compare"},
	{"usage", "breakdown", "--by", "day"},
	{"usage", "breakdown", "--by", "key", "--by", "user"},
	{"usage", "quota", "--limit-calls", "1500", "--limit-spend", "4"},
	{"usage", "quota"},
	{"usage", "reconcile", "--period", "week"},
}

// fits fails when a line of out is wider than W columns once the color
// codes are taken out: a terminal would wrap it.
func fits(t *testing.T, what string, out string, W int) {
	t.Helper()
	for i, line := range strings.Split(stripSGR(out), "\n") {
		if w := runewidth.StringWidth(line); w > W {
			t.Errorf("%s: line %d is %d columns wide, more than %d:\n%s", what, i+1, w, W, line)
			return
		}
	}
}

// TestReportsFitTheTerminal runs every terminal report at 60, 80 and 120
// columns, on a terminal (colors on) and in a pipe with COLUMNS, on the
// fixture and on hostile names (3,000 characters, controls, bidi).
func TestReportsFitTheTerminal(t *testing.T) {
	asOf := []string{"--tz", "Europe/Berlin", "--as-of", "2026-11-23"}
	for name, e := range map[string]*env{"fixture": imported(t), "hostile": hostileEnv(t)} {
		for _, W := range []int{60, 80, 120} {
			for _, args := range widthReports {
				what := name + " " + strings.Join(args, " ") + " at " + strconv.Itoa(W)
				e.cols = W
				r := e.run("", true, append(args, asOf...)...)
				if r.code != 0 {
					t.Fatalf("%s: exit %d %s", what, r.code, r.stderr)
				}
				if !strings.Contains(r.stdout, "\x1b[") {
					t.Errorf("%s: no colors on a terminal", what)
				}
				fits(t, what, r.stdout, W)
				// The fixture's names hold no escapes (a hostile one is shown
				// as \x1b, on purpose): any there would be ours, printed as text.
				if name == "fixture" && strings.Contains(r.stdout, `\x1b`) {
					t.Errorf("%s: a color code printed as text", what)
				}
				e.vars["COLUMNS"] = strconv.Itoa(W)
				r = e.run("", false, append(args, asOf...)...)
				delete(e.vars, "COLUMNS")
				fits(t, what+" (pipe, COLUMNS)", r.stdout, W)
			}
		}
		e.cols = 0
	}
}

// TestPipeWidth: a pipe without COLUMNS fits 80 columns.
func TestPipeWidth(t *testing.T) {
	e := imported(t)
	for _, args := range widthReports {
		r := e.run("", false, append(args, "--as-of", "2026-11-23")...)
		fits(t, strings.Join(args, " "), r.stdout, 80)
	}
}

// TestWidthGolden pins the main reports at 60, 80 and 120 columns on a
// terminal, colors shown as ␛.
func TestWidthGolden(t *testing.T) {
	e := imported(t)
	asOf := []string{"--tz", "Europe/Berlin", "--as-of", "2026-11-23"}
	for _, c := range []struct {
		name string
		args []string
	}{
		{"stats-week", []string{"usage", "stats", "--period", "week"}},
		{"quota", []string{"usage", "quota", "--limit-calls", "1500", "--limit-spend", "4", "--as-of", "2026-11-20"}},
		{"top-models", []string{"usage", "top-models"}},
		{"breakdown-region", []string{"usage", "breakdown", "--by", "region"}},
	} {
		for _, W := range []int{60, 80, 120} {
			e.cols = W
			r := e.run("", true, append(asOf, c.args...)...)
			if r.code != 0 {
				t.Fatalf("%s: %s", c.name, r.stderr)
			}
			golden(t, c.name+"-tty-"+strconv.Itoa(W), r.stdout)
		}
	}
}
