package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestFormatsDeclared: every report renders each format it declares and
// refuses every other with a usage error (exit 2) before it opens
// anything; the refusal names the formats it does take, and so does its
// --format help.
func TestFormatsDeclared(t *testing.T) {
	all := []string{"table", "json", "csv", "markdown", "github", "pdf", "html", "focus", "xlsx"}
	e := imported(t)
	missing := newEnv(t)
	missing.vars["NEXTCORE_CACHE"] = filepath.Join(missing.dir, "none", "usage.db")
	for _, c := range []struct {
		cmd     []string
		formats []string
	}{
		{[]string{"usage", "stats"}, []string{"table", "json", "csv", "markdown", "github", "html"}},
		{[]string{"usage", "overview"}, []string{"table", "json"}},
		{[]string{"usage", "top-models"}, []string{"table", "json", "csv", "markdown"}},
		{[]string{"usage", "breakdown", "--by", "model"}, []string{"table", "json", "csv", "markdown"}},
		{[]string{"usage", "quota"}, []string{"table", "json", "csv", "markdown", "github"}},
		{[]string{"usage", "export"}, []string{"csv", "pdf", "json", "html", "focus"}},
		{[]string{"usage", "budgets"}, []string{"table", "json", "csv", "markdown", "github"}},
		{[]string{"usage", "anomalies"}, []string{"table", "json", "csv", "markdown"}},
		{[]string{"usage", "reconcile"}, []string{"table", "json", "csv", "markdown"}},
	} {
		name := strings.Join(c.cmd[:2], " ")
		help := e.run("", false, append(c.cmd[:2:2], "--help")...).stdout
		if !strings.Contains(help, "output format: "+strings.Join(c.formats[:len(c.formats)-1], ", ")+" or "+c.formats[len(c.formats)-1]) {
			t.Errorf("%s --help does not list its formats:\n%s", name, help)
		}
		for _, f := range all {
			declared := contains(c.formats, f)
			args := append(append([]string{}, c.cmd...), "--format", f, "--as-of", "2026-11-23")
			switch {
			case name == "usage export" && f == "pdf":
				args = append(args, "-o", filepath.Join(e.dir, "r.pdf"), "--force")
			case name == "usage export":
				args = append(args, "-o", "-")
			}
			r := e.run("", false, args...)
			switch {
			case declared && r.code != 0:
				t.Errorf("%s --format %s: exit %d %s", name, f, r.code, r.stderr)
			case declared && f != "pdf" && r.stdout == "":
				t.Errorf("%s --format %s: nothing written", name, f)
			case !declared && (r.code != 2 || !strings.Contains(r.stderr, "unknown format")):
				t.Errorf("%s --format %s: exit %d %q, want a usage error", name, f, r.code, r.stderr)
			}
			// A refused format is refused before the cache is opened.
			if !declared {
				r := missing.run("", false, args...)
				if r.code != 2 {
					t.Errorf("%s --format %s without a cache: exit %d %q", name, f, r.code, r.stderr)
				}
				if _, err := os.Stat(filepath.Dir(missing.vars["NEXTCORE_CACHE"])); err == nil {
					t.Errorf("%s --format %s created the cache folder", name, f)
				}
			}
		}
	}
}

// TestExportFormatFromFileName: without --format, export writes what -o's
// extension says.
func TestExportFormatFromFileName(t *testing.T) {
	e := imported(t)
	for name, want := range map[string]string{"r.pdf": "%PDF-", "r.json": "{", "r.html": "<!DOCTYPE html>", "r.csv": "metric,current", "r.CSV": "metric,current", "r": "metric,current"} {
		path := filepath.Join(e.dir, name)
		if r := e.run("", false, "usage", "export", "--as-of", "2026-11-23", "-o", path); r.code != 0 {
			t.Fatalf("%s: %d %s", name, r.code, r.stderr)
		}
		data, _ := os.ReadFile(path)
		if !strings.HasPrefix(string(data), want) {
			t.Errorf("%s starts %q, want %q", name, string(data[:min(20, len(data))]), want)
		}
	}
}
