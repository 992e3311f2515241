package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/nextcore-ai/nextcore/pkg/report/render"
	"github.com/nextcore-ai/nextcore/pkg/report/render/pdftest"
	"github.com/nextcore-ai/nextcore/pkg/source"
)

var week = []string{"--period", "week", "--tz", "Europe/Berlin", "--as-of", "2026-11-23"}

// TestExportPDF writes the week as a PDF, reads it back as text against a
// golden file, and writes it again to find the same bytes.
func TestExportPDF(t *testing.T) {
	e := imported(t)
	path := filepath.Join(e.dir, "week.pdf")
	r := e.run("", false, append([]string{"usage", "export", "--format", "pdf", "-o", path}, week...)...)
	if r.code != 0 || !strings.HasPrefix(r.stderr, "wrote "+path+" (") {
		t.Fatalf("%d %q", r.code, r.stderr)
	}
	data, err := os.ReadFile(path)
	if err != nil || !bytes.HasPrefix(data, []byte("%PDF-")) {
		t.Fatalf("%v: not a PDF", err)
	}
	pages := pdftest.Text(t, data)
	text := strings.Join(pages, "\f")
	for _, want := range []string{"acme", "264", "$0.76", "Europe/Berlin", "page 1 of " + strconv.Itoa(len(pages))} {
		if !strings.Contains(text, want) {
			t.Errorf("the PDF text lacks %q", want)
		}
	}
	golden(t, "export-week-pdf.txt", text)
	again := filepath.Join(e.dir, "again.pdf")
	e.run("", false, append([]string{"usage", "export", "--format", "pdf", "-o", again}, week...)...)
	if data2, _ := os.ReadFile(again); !bytes.Equal(data, data2) {
		t.Error("the same report gave different bytes")
	}
}

func readCSV(t *testing.T, data string) [][]string {
	t.Helper()
	rows, err := csv.NewReader(strings.NewReader(data)).ReadAll()
	if err != nil {
		t.Fatalf("not RFC 4180 CSV: %v", err)
	}
	return rows
}

func usd(t *testing.T, s string) source.USD {
	t.Helper()
	u, err := source.ParseUSD(s)
	if err != nil {
		t.Fatalf("cost %q: %v", s, err)
	}
	return u
}

// TestExportCSVMatchesStats reads every CSV report back and checks it
// against the stats JSON of the same window, to the nano-dollar.
func TestExportCSVMatchesStats(t *testing.T) {
	e := imported(t)
	var stats render.StatsJSON
	js := e.run("", false, append([]string{"usage", "stats", "--format", "json"}, week...)...)
	if err := json.Unmarshal([]byte(js.stdout), &stats); err != nil {
		t.Fatal(err)
	}
	export := func(report string) [][]string {
		r := e.run("", false, append([]string{"usage", "export", "--format", "csv", "--report", report, "-o", "-"}, week...)...)
		if r.code != 0 {
			t.Fatalf("%s: %q", report, r.stderr)
		}
		return readCSV(t, r.stdout)
	}
	col := func(rows [][]string, name string) int {
		for i, h := range rows[0] {
			if h == name {
				return i
			}
		}
		t.Fatalf("no column %q in %v", name, rows[0])
		return -1
	}
	sumCol := func(rows [][]string, name string) (int64, source.USD) {
		ci, cc := col(rows, "calls"), col(rows, name)
		var calls int64
		var cost source.USD
		for _, r := range rows[1:] {
			n, _ := strconv.ParseInt(r[ci], 10, 64)
			calls += n
			cost += usd(t, r[cc])
		}
		return calls, cost
	}
	daily := export("daily")
	if len(daily) != 8 || daily[1][0] != "2026-11-17" || daily[7][0] != "2026-11-23" {
		t.Fatalf("daily rows: %v", daily)
	}
	for i, d := range stats.DailyUsage {
		if daily[i+1][col(daily, "calls")] != strconv.FormatInt(d.Calls, 10) || usd(t, daily[i+1][col(daily, "cost")]) != d.Cost {
			t.Errorf("day %s differs from dailyUsage", d.Date)
		}
	}
	for _, report := range []string{"daily", "models", "keys"} {
		calls, cost := sumCol(export(report), "cost")
		if calls != stats.APICalls.Total || cost != stats.Costs.Total {
			t.Errorf("%s: %d calls, $%s; want %d, $%s", report, calls, cost.Decimal(), stats.APICalls.Total, stats.Costs.Total.Decimal())
		}
	}
	models := export("models")
	for i, b := range stats.Costs.Breakdown {
		if models[i+1][0] != b.Model || usd(t, models[i+1][col(models, "cost")]) != b.Cost {
			t.Errorf("model %d: %v, want %s", i, models[i+1], b.Model)
		}
	}
	records := export("records")
	if len(records)-1 != int(stats.APICalls.Total) || strings.Join(records[0], ",") != "id,timestamp,model,apiKey,user,region,status,statusCode,promptTokens,completionTokens,cost,latencyMs,"+
		"requests,inputTokens,cacheReadTokens,cacheWriteTokens,cacheWrite1hTokens,outputTokens,reasoningTokens,project,tags,provider,batch,serviceTier,longContext" {
		t.Fatalf("records: %d rows, header %v", len(records)-1, records[0])
	}
	var cost source.USD
	ids := map[string]bool{}
	for _, r := range records[1:] {
		cost += usd(t, r[10])
		ids[r[0]] = true
	}
	if cost != stats.Costs.Total || len(ids) != len(records)-1 {
		t.Errorf("records: $%s over %d ids", cost.Decimal(), len(ids))
	}
	summary := export("summary")
	if summary[1][0] != "apiCalls" || summary[1][1] != strconv.FormatInt(stats.APICalls.Total, 10) {
		t.Errorf("summary: %v", summary[1])
	}
	// JSON export is the stats object.
	r := e.run("", false, append([]string{"usage", "export", "--format", "json", "-o", "-"}, week...)...)
	if withoutSource(t, r.stdout) != withoutSource(t, js.stdout) {
		t.Error("export --format json differs from usage stats --format json")
	}
}

// TestExportNeutralisesFormulas exports names that a spreadsheet would run.
func TestExportNeutralisesFormulas(t *testing.T) {
	e := newEnv(t)
	var lines []string
	for i, name := range []string{"=HYPERLINK(\"http://x\")", "+1+1", "-2+3", "@SUM(A1)", "\tTAB", "\rCR", "plain"} {
		lines = append(lines, strings.Join([]string{`{"id":"e` + strconv.Itoa(i) + `","timestamp":"2026-11-20T10:00:00Z","model":` + strconv.Quote(name) +
			`,"apiKey":` + strconv.Quote(name) + `,"user":"-5","status":"success","promptTokens":1,"completionTokens":1,"cost":0.5}`}, ""))
	}
	path := filepath.Join(e.dir, "evil.jsonl")
	os.WriteFile(path, []byte(strings.Join(lines, "\n")), 0o644)
	if r := e.run("", false, "usage", "import", "--tenant", "evil", path); r.code != 0 {
		t.Fatal(r.stderr)
	}
	for _, report := range []string{"models", "keys", "records"} {
		r := e.run("", false, "usage", "export", "--format", "csv", "--report", report, "--from", "2026-11-20", "--to", "2026-11-20", "--tz", "UTC", "-o", "-")
		rows := readCSV(t, r.stdout)
		for _, row := range rows[1:] {
			for _, cell := range row {
				if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) && !isNum(cell) {
					t.Errorf("%s: cell %q is not neutralised", report, cell)
				}
			}
		}
		if !strings.Contains(r.stdout, `'=HYPERLINK(""http://x"")`) || !strings.Contains(r.stdout, "plain") {
			t.Errorf("%s: %s", report, r.stdout)
		}
	}
}

func isNum(s string) bool {
	_, err := strconv.ParseFloat(s, 64)
	return err == nil
}

func TestExportBadInput(t *testing.T) {
	e := imported(t)
	existing := filepath.Join(e.dir, "kept.csv")
	os.WriteFile(existing, []byte("keep me"), 0o644)
	readOnly := readOnlyDir(t)
	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"missing directory", []string{"--format", "csv", "-o", filepath.Join(e.dir, "no", "such", "x.csv")}, 1, "the folder " + filepath.Join(e.dir, "no", "such") + " does not exist"},
		{"read-only place", []string{"--format", "csv", "-o", filepath.Join(readOnly, "x.csv")}, 1, "cannot write " + filepath.Join(readOnly, "x.csv")},
		{"pdf without -o", []string{"--format", "pdf"}, 2, "a PDF needs a file: pass -o FILE.pdf"},
		{"unknown report", []string{"--report", "users"}, 2, `unknown --report "users" (use summary, daily, models, keys, records)`},
		{"report with pdf", []string{"--format", "pdf", "--report", "daily", "-o", filepath.Join(e.dir, "x.pdf")}, 2, "--report chooses a CSV report"},
		{"unknown format", []string{"--format", "xlsx"}, 2, `unknown format "xlsx" (use csv, pdf, json, html or focus)`},
		{"unknown paper", []string{"--format", "pdf", "--paper", "a3", "-o", filepath.Join(e.dir, "x.pdf")}, 2, `unknown --paper "a3"`},
		{"existing file", []string{"--format", "csv", "-o", existing}, 1, existing + " exists; pass --force to overwrite it"},
		{"bad window", []string{"--period", "fortnight"}, 2, `unknown period "fortnight"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.run("", false, append([]string{"usage", "export"}, c.args...)...)
			if r.code != c.code || !strings.Contains(r.stderr, c.want) {
				t.Fatalf("exit %d %q; want %d and %q", r.code, r.stderr, c.code, c.want)
			}
		})
	}
	if data, _ := os.ReadFile(existing); string(data) != "keep me" {
		t.Error("an existing file was overwritten")
	}
	left, _ := filepath.Glob(filepath.Join(e.dir, ".*.tmp"))
	if len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
	if r := e.run("", false, "usage", "export", "--format", "csv", "--force", "-o", existing); r.code != 0 {
		t.Fatalf("--force: %q", r.stderr)
	}
	if data, _ := os.ReadFile(existing); !strings.HasPrefix(string(data), "metric,current,previous,change") {
		t.Errorf("--force did not overwrite: %q", data)
	}
}

// readOnlyDir is a folder this process cannot write to, even as root.
func readOnlyDir(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "ro")
	os.Mkdir(dir, 0o555)
	if f, err := os.CreateTemp(dir, "probe"); err != nil {
		return dir
	} else {
		f.Close()
		os.Remove(f.Name())
	}
	// Root writes anywhere on a writable file system; sysfs is not one.
	if f, err := os.CreateTemp("/sys", "probe"); err != nil {
		return "/sys"
	} else {
		f.Close()
		os.Remove(f.Name())
	}
	t.Skip("no read-only place to write to on this machine")
	return ""
}

// TestExportEmptyWindow checks that a window without usage is a valid
// report that says so, not an error.
func TestExportEmptyWindow(t *testing.T) {
	e := imported(t)
	path := filepath.Join(e.dir, "empty.pdf")
	r := e.run("", false, "usage", "export", "--format", "pdf", "--from", "2025-01-01", "--to", "2025-01-07", "-o", path)
	if r.code != 0 {
		t.Fatal(r.stderr)
	}
	data, _ := os.ReadFile(path)
	if text := strings.Join(pdftest.Text(t, data), ""); !strings.Contains(text, "No usage in this window.") {
		t.Errorf("empty PDF says: %s", text)
	}
	r = e.run("", false, "usage", "export", "--format", "csv", "--report", "records", "--from", "2025-01-01", "--to", "2025-01-07", "-o", "-")
	if r.code != 0 || strings.Count(r.stdout, "\n") != 1 {
		t.Errorf("empty records CSV: %d %q", r.code, r.stdout)
	}
}
