package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// TestManPages writes the pages and reads them with man -l: each titled
// by its command, with EXIT STATUS, ENVIRONMENT and FILES, and --watch
// shown with the interval it takes when given alone.
func TestManPages(t *testing.T) {
	e := newEnv(t)
	dir := filepath.Join(e.dir, "man1")
	r := e.run("", false, "man", dir)
	if r.code != 0 {
		t.Fatalf("%d %s", r.code, r.stderr)
	}
	pages, _ := filepath.Glob(filepath.Join(dir, "*.1"))
	if len(pages) < 20 {
		t.Fatalf("%d pages", len(pages))
	}
	for _, p := range pages {
		data, _ := os.ReadFile(p)
		title := strings.ToUpper(strings.TrimSuffix(filepath.Base(p), ".1"))
		if !strings.Contains(string(data), `.TH "`+title+`" "1"`) {
			t.Errorf("%s is not titled %s(1)", p, title)
		}
		for _, sec := range []string{".SH EXIT STATUS", ".SH ENVIRONMENT", ".SH FILES", ".SH SEE ALSO"} {
			if !strings.Contains(string(data), sec) {
				t.Errorf("%s has no %s", filepath.Base(p), sec)
			}
		}
	}
	stats, _ := os.ReadFile(filepath.Join(dir, "nextcore-usage-stats.1"))
	if !strings.Contains(string(stats), `\fB--watch\fP[=30s]`) {
		t.Error("--watch is not shown with its 30s")
	}
	if _, err := exec.LookPath("man"); err != nil {
		t.Skip("no man (apt-get install man-db)")
	}
	cmd := exec.Command("man", "-l", filepath.Join(dir, "nextcore-usage-stats.1"))
	cmd.Env = append(os.Environ(), "MANWIDTH=80", "MANPAGER=cat", "PAGER=cat")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("man -l: %v", err)
	}
	for _, want := range []string{"NEXTCORE-USAGE-STATS(1)", "EXIT STATUS", "ENVIRONMENT", "FILES", "--watch[=30s]", "130"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("man -l shows no %q", want)
		}
	}
	if r := e.run("", false, "man"); r.code != 2 {
		t.Errorf("man without a folder: %d %q", r.code, r.stderr)
	}
	// --install puts the pages where man finds them for the binary's PATH
	// entry, as after go install.
	bin := filepath.Join(e.dir, "go", "bin")
	os.MkdirAll(bin, 0o755)
	data, err := os.ReadFile(buildNextcore(t))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(bin, "nextcore"), data, 0o755)
	if out, err := exec.Command(filepath.Join(bin, "nextcore"), "man", "--install").CombinedOutput(); err != nil {
		t.Fatalf("man --install: %v %s", err, out)
	}
	cmd = exec.Command("man", "nextcore-usage-quota")
	cmd.Env = append(os.Environ(), "PATH="+bin+":"+os.Getenv("PATH"), "MANPATH=", "MANWIDTH=80", "MANPAGER=cat", "PAGER=cat")
	if out, err := cmd.Output(); err != nil || !strings.Contains(string(out), "NEXTCORE-USAGE-QUOTA(1)") {
		t.Errorf("man does not find the installed page: %v\n%.300s", err, out)
	}
}

// TestFlagHelp: every flag's help names its argument with one word (pflag
// takes back-quoted words as the argument's name).
func TestFlagHelp(t *testing.T) {
	a := &App{Env: func(string) string { return "" }}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		c.Flags().VisitAll(func(f *pflag.Flag) {
			name, usage := pflag.UnquoteUsage(f)
			if strings.ContainsAny(name, " -") {
				t.Errorf("%s --%s: argument named %q", c.CommandPath(), f.Name, name)
			}
			if usage == "" {
				t.Errorf("%s --%s has no help", c.CommandPath(), f.Name)
			}
		})
		for _, s := range c.Commands() {
			walk(s)
		}
	}
	walk(a.newRootCmd())
}

// TestRoffEscapes: text that roff would read as a request or an escape is
// written so that it shows as typed.
func TestRoffEscapes(t *testing.T) {
	cases := []struct{ in, want string }{
		{`plain text`, "plain text\n"},
		{`.starts with a dot`, "\\&.starts with a dot\n"},
		{`'starts with a quote`, "\\&'starts with a quote\n"},
		{`a \ backslash`, "a \\e backslash\n"},
		{"one\ntwo\n\nthree", "one\ntwo\n.PP\nthree\n"},
		{"text\n\n  indented\n  .dot", "text\n.PP\n.EX\n  indented\n  .dot\n.EE\n"}, // a dot after spaces is text
	}
	for _, c := range cases {
		var b strings.Builder
		roffParagraphs(&b, c.in)
		if b.String() != c.want {
			t.Errorf("roffParagraphs(%q) = %q, want %q", c.in, b.String(), c.want)
		}
	}
}
