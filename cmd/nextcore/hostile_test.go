package main

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode"

	"github.com/mattn/go-runewidth"

	"github.com/nextcore-ai/nextcore/pkg/report/render/pdftest"
)

// hostileNames are names a tenant's keys, users, models or regions could
// carry, by mistake or on purpose.
var hostileNames = []string{
	"\x1b[31mRED\x1b[0m\x1b]0;pwned\x07",     // colours and a window title
	"evil\u202etxt.exe",                      // a right-to-left override
	"=HYPERLINK(\"http://x.example\",\"x\")", // spreadsheet formulas
	"+cmd|' /C calc'!A0",
	"@SUM(1+1)",
	"tab\there\nnew\rline",
	"a|b*c_d`e[x](http://y.example)",
	"L" + strings.Repeat("o", 3000) + "ng",
	"<script>alert(1)</script>&amp;",
	"\x07bell\x00nul\x7fdel",
	"\u2066isolate\u2069 \u200fmark",
	"+1", "-1", // read as numbers by a spreadsheet
	"line\u2028sep", "para\u2029sep", "next\u0085line", // separators that end a Markdown row
	"see https://evil.example/x or www.evil.example, mail a@evil.example",
}

func hostileEnv(t *testing.T) *env {
	t.Helper()
	e := newEnv(t)
	path := filepath.Join(e.dir, "hostile.jsonl")
	var b strings.Builder
	for i, n := range hostileNames {
		for j := range 3 {
			rec := map[string]any{"id": fmt.Sprintf("h%d-%d", i, j), "timestamp": fmt.Sprintf("2026-11-2%dT10:00:00Z", j),
				"model": n, "apiKey": "key " + n, "user": "user " + n, "region": n, "status": "success", "statusCode": 200,
				"promptTokens": 10 * (i + 1), "completionTokens": 5, "cost": 0.01 * float64(i+1), "latencyMs": 100 + i}
			line, _ := json.Marshal(rec)
			b.Write(line)
			b.WriteByte('\n')
		}
	}
	os.WriteFile(path, []byte(b.String()), 0o600)
	if r := e.run("", false, "usage", "import", "--tenant", "acme", path); r.code != 0 {
		t.Fatalf("import: %q", r.stderr)
	}
	return e
}

// terminalSafe fails when text would do anything in a terminal but show
// characters: control characters other than newline, escape sequences,
// bidi controls; or when a line is wider than a wide terminal.
func terminalSafe(t *testing.T, what, text string) {
	t.Helper()
	for _, r := range text {
		if (unicode.IsControl(r) && r != '\n') || (r >= 0x202A && r <= 0x202E) || (r >= 0x2066 && r <= 0x2069) || r == 0x200F || r == 0x200E {
			t.Errorf("%s: raw %U in the output", what, r)
			return
		}
	}
	for _, line := range strings.Split(text, "\n") {
		if w := runewidth.StringWidth(line); w > 240 {
			t.Errorf("%s: a line %d columns wide", what, w)
			return
		}
	}
}

func TestHostileNames(t *testing.T) {
	e := hostileEnv(t)
	asOf := []string{"--as-of", "2026-11-23", "--tz", "UTC"}
	run := func(args ...string) result {
		t.Helper()
		r := e.run("", false, append(args, asOf...)...)
		if r.code != 0 {
			t.Fatalf("%v: %d %q", args, r.code, r.stderr)
		}
		return r
	}

	// Terminal: every report, on a pipe and on a terminal (colours on).
	for _, args := range [][]string{
		{"usage", "stats"}, {"usage", "overview"}, {"usage", "top-models"},
		{"usage", "breakdown", "--by", "key", "--by", "user"}, {"usage", "breakdown", "--by", "region"},
	} {
		terminalSafe(t, strings.Join(args, " "), run(args...).stdout)
		r := e.run("", true, append(args, asOf...)...)
		// Colours are ours: take them out, then nothing else may remain.
		terminalSafe(t, strings.Join(args, " ")+" (tty)", stripSGR(r.stdout))
	}

	// JSON: every name back exactly as it came.
	var models struct {
		Models []struct {
			Model string `json:"model"`
		} `json:"models"`
	}
	out := run("usage", "top-models", "-f", "json", "--limit", "50").stdout
	if err := json.Unmarshal([]byte(out), &models); err != nil {
		t.Fatalf("top-models json: %v\n%s", err, out)
	}
	got := map[string]bool{}
	for _, m := range models.Models {
		got[m.Model] = true
	}
	for _, n := range hostileNames {
		if !got[n] {
			t.Errorf("JSON lost or changed the name %q", n)
		}
	}

	// Markdown: one row per model, each with the table's column count.
	md := run("usage", "top-models", "-f", "markdown").stdout
	terminalSafe(t, "markdown", md)
	for _, bad := range []string{"<script>", "[x](http", "e[x]"} {
		if strings.Contains(md, bad) {
			t.Errorf("markdown holds %q unescaped", bad)
		}
	}
	cols := -1
	for _, line := range strings.Split(md, "\n") {
		if !strings.HasPrefix(line, "|") {
			continue
		}
		n := strings.Count(line, "|") - strings.Count(line, `\|`)
		if cols == -1 {
			cols = n
		} else if n != cols {
			t.Errorf("markdown row with %d column bars, header has %d: %s", n, cols, line)
		}
	}

	// GitHub annotations: one line each, no raw controls or separators,
	// names clipped.
	for _, args := range [][]string{{"usage", "stats", "-f", "github"}, {"usage", "quota", "-f", "github", "--limit-spend", "0.01"}} {
		gh := run(args...).stdout
		terminalSafe(t, "github", gh)
		for _, line := range strings.Split(strings.TrimSpace(gh), "\n") {
			if !strings.HasPrefix(line, "::") {
				t.Errorf("annotation line %q", line)
			}
			if len(line) > 1000 {
				t.Errorf("an annotation of %d bytes: a name was not clipped", len(line))
			}
		}
	}

	// Markdown and the step summary: no separators, no links made of names,
	// every table row as wide as its header.
	summary := filepath.Join(e.dir, "summary.md")
	e.vars["GITHUB_STEP_SUMMARY"] = summary
	for _, args := range [][]string{{"usage", "stats", "-f", "markdown"}, {"usage", "top-models", "-f", "markdown"},
		{"usage", "breakdown", "--by", "model", "-f", "markdown"}, {"usage", "quota", "-f", "markdown"}} {
		markdownSafe(t, strings.Join(args, " "), run(args...).stdout)
	}
	delete(e.vars, "GITHUB_STEP_SUMMARY")
	data, _ := os.ReadFile(summary)
	markdownSafe(t, "step summary", string(data))

	// CSV: formulas neutralised, everything else as it came.
	rows, err := csv.NewReader(strings.NewReader(run("usage", "export", "--format", "csv", "--report", "models", "-o", "-").stdout)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, row := range rows[1:] {
		name := row[0]
		if strings.HasPrefix(name, "'") && strings.ContainsAny(name[1:2], "=+-@\t\r") {
			name = name[1:]
		} else if name != "" && strings.ContainsRune("=+-@\t\r", rune(name[0])) {
			t.Errorf("CSV cell %q starts a formula", name)
		}
		for _, n := range hostileNames {
			if name == n {
				seen++
			}
		}
	}
	if seen != len(hostileNames) {
		t.Errorf("CSV kept %d of %d names intact", seen, len(hostileNames))
	}

	// Every CSV: names neutralised, numbers bare and readable as numbers.
	for _, args := range [][]string{
		{"usage", "top-models", "-f", "csv"}, {"usage", "breakdown", "--by", "region", "--by", "user", "-f", "csv"},
		{"usage", "export", "--format", "csv", "--report", "keys", "-o", "-"},
		{"usage", "export", "--format", "csv", "--report", "records", "-o", "-"},
	} {
		strictCSV(t, strings.Join(args, " "), run(args...).stdout)
	}

	// PDF: the names are there, escaped, and nothing raw.
	pdf := filepath.Join(e.dir, "h.pdf")
	run("usage", "export", "--format", "pdf", "-o", pdf)
	data, _ = os.ReadFile(pdf)
	text := strings.Join(pdftest.Text(t, data), "\n")
	terminalSafe(t, "pdf text", strings.ReplaceAll(text, "\f", ""))
	for _, want := range []string{`\x1b[31mRED`, `evil\u202etxt.exe`, "<script>alert(1)</script>"} {
		if !strings.Contains(text, want) {
			t.Errorf("the PDF lacks %q", want)
		}
	}

	// Email: HTML escaped, text part safe.
	eml := filepath.Join(e.dir, "h.eml")
	e.vars["NEXTCORE_SMTP_FROM"] = "reports@acme.example"
	run("usage", "report", "--email", "finance@acme.example", "--dry-run", "-o", eml)
	raw, _ := os.ReadFile(eml)
	_, bodies, _ := parts(t, raw)
	html := bodies["text/html"]
	if html == "" || strings.Contains(html, "<script>alert") || !strings.Contains(html, "&lt;script&gt;") {
		t.Errorf("the HTML part does not escape names")
	}
	terminalSafe(t, "email text", strings.ReplaceAll(bodies["text/plain"], "\r", ""))
}

// strictCSV reads a report's CSV as a strict spreadsheet importer would:
// every row as wide as the header, no text cell that starts a formula, and
// every number column a plain number.
func strictCSV(t *testing.T, what, out string) {
	t.Helper()
	r := csv.NewReader(strings.NewReader(out))
	rows, err := r.ReadAll() // FieldsPerRecord 0: all rows as wide as the first
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	text := map[string]bool{"model": true, "key": true, "user": true, "region": true, "status": true, "day": true, "hour": true,
		"id": true, "timestamp": true, "apiKey": true, "date": true, "metric": true, "level": true, "projectedLevel": true,
		"project": true, "tags": true, "provider": true, "serviceTier": true}
	boolean := map[string]bool{"batch": true, "longContext": true}
	number := regexp.MustCompile(`^-?[0-9]+(\.[0-9]+)?$`)
	for _, row := range rows[1:] {
		for j, cell := range row {
			col := rows[0][j]
			switch {
			case text[col] && cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])):
				t.Errorf("%s: %s cell %q starts a formula", what, col, cell)
			case boolean[col] && cell != "" && cell != "true" && cell != "false":
				t.Errorf("%s: %s cell %q is not a boolean", what, col, cell)
			case !text[col] && !boolean[col] && cell != "" && !number.MatchString(cell):
				t.Errorf("%s: %s cell %q is not a number", what, col, cell)
			}
		}
	}
}

// markdownSafe fails when Markdown would break on a name: a raw control or
// separator, a link that GitHub would make by itself, a table row with more
// or fewer cells than its header, or the total row lost.
func markdownSafe(t *testing.T, what, md string) {
	t.Helper()
	terminalSafe(t, what, md)
	for _, r := range md {
		if r == '\u2028' || r == '\u2029' || r == '\u0085' {
			t.Errorf("%s: raw %U", what, r)
		}
	}
	for _, link := range []string{"https://", "www.evil", "a@evil"} {
		if strings.Contains(md, link) {
			t.Errorf("%s: %q would become a link", what, link)
		}
	}
	cols := -1
	for _, line := range strings.Split(md, "\n") {
		if !strings.HasPrefix(line, "|") {
			cols = -1
			continue
		}
		n := strings.Count(line, "|") - strings.Count(line, `\|`)
		if cols == -1 {
			cols = n
		} else if n != cols {
			t.Errorf("%s: a row with %d column bars under a header of %d: %s", what, n, cols, line)
		}
	}
	if strings.Contains(what, "stats") && !strings.Contains(md, "**total**") {
		t.Errorf("%s: the total row is lost", what)
	}
}

// TestMarkdownInAGFMRenderer renders the Markdown reports of hostile names
// with a third-party GitHub-flavoured Markdown renderer (micromark with its
// GFM extension): no name becomes a link, every table row has its header's
// cells, and the total row survives. It runs where NEXTCORE_GFM_MODULES
// names a folder with those npm modules (CI installs them).
func TestMarkdownInAGFMRenderer(t *testing.T) {
	modules := os.Getenv("NEXTCORE_GFM_MODULES")
	if modules == "" {
		t.Skip("NEXTCORE_GFM_MODULES is not set (npm install micromark micromark-extension-gfm in a folder, and name it)")
	}
	script, _ := filepath.Abs(filepath.Join("..", "..", "testdata", "gfm-render.mjs"))
	e := hostileEnv(t)
	summary := filepath.Join(e.dir, "summary.md")
	e.vars["GITHUB_STEP_SUMMARY"] = summary
	asOf := []string{"--as-of", "2026-11-23", "--tz", "UTC"}
	docs := map[string]string{}
	for _, args := range [][]string{{"usage", "stats", "-f", "markdown"}, {"usage", "top-models", "-f", "markdown"},
		{"usage", "breakdown", "--by", "model", "--by", "region", "-f", "markdown"}, {"usage", "quota", "-f", "markdown", "--limit-spend", "1"}} {
		r := e.run("", false, append(args, asOf...)...)
		if r.code != 0 {
			t.Fatalf("%v: %d %s", args, r.code, r.stderr)
		}
		docs[strings.Join(args, " ")] = r.stdout
	}
	data, _ := os.ReadFile(summary)
	docs["step summary"] = string(data)
	td := regexp.MustCompile(`<t[dh][ >]`)
	for what, md := range docs {
		cmd := exec.Command("node", script)
		cmd.Env = append(os.Environ(), "NEXTCORE_GFM_MODULES="+modules)
		cmd.Stdin = strings.NewReader(md)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("%s: node: %v", what, err)
		}
		html := string(out)
		if strings.Contains(html, "<a ") {
			t.Errorf("%s: a name became a link:\n%s", what, html)
		}
		for _, table := range strings.Split(html, "<table>")[1:] {
			table = table[:strings.Index(table, "</table>")]
			rows := strings.Split(table, "<tr>")[1:]
			want := len(td.FindAllString(rows[0], -1))
			for _, row := range rows[1:] {
				if n := len(td.FindAllString(row, -1)); n != want {
					t.Errorf("%s: a row of %d cells under a header of %d: %s", what, n, want, row)
				}
			}
		}
		if strings.HasPrefix(what, "usage stats") && !strings.Contains(html, "<strong>total</strong>") {
			t.Errorf("%s: the total row is lost", what)
		}
	}
}
