// The scaffolding of the whole-CLI tests: a home of its own for each test,
// nextcore run in-process as a terminal or a pipe, the binary built once for
// the tests that need a real process, and golden files under
// testdata/golden (go test ./cmd/nextcore -update rewrites them).

package main

import (
	"bytes"
	"cmp"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nextcore-ai/nextcore/pkg/report/render/goldentest"
	_ "modernc.org/sqlite"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// fixture is a synthetic tenant's 45 days ending 2026-11-24 (nextcore-gen
// -days 45 -per-day 40 -growth 1.3 -end 2026-11-24 -seed 42).
const fixture = "../../testdata/usage.jsonl"

// testNow is the clock of every test: Tuesday 2026-11-24 10:00 UTC.
var testNow = time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)

// env is a home of its own for one test: cache, config and environment.
type env struct {
	t    *testing.T
	dir  string
	vars map[string]string
	cols int // the terminal's width; 100 when 0
}

func newEnv(t *testing.T) *env {
	t.Helper()
	dir := t.TempDir()
	return &env{t: t, dir: dir, vars: map[string]string{
		"HOME":            dir,
		"XDG_CACHE_HOME":  filepath.Join(dir, "cache"),
		"XDG_CONFIG_HOME": filepath.Join(dir, "config"),
		"TZ":              "UTC",
	}}
}

func (e *env) cachePath() string {
	if p := e.vars["NEXTCORE_CACHE"]; p != "" {
		return p
	}
	return filepath.Join(e.dir, "cache", "nextcore", "usage.db")
}

type result struct {
	stdout, stderr string
	code           int
}

// run runs nextcore in-process; tty makes standard output a terminal.
func (e *env) run(stdin string, tty bool, args ...string) result {
	e.t.Helper()
	var out, errb bytes.Buffer
	app := &App{
		Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errb,
		StdoutTTY: tty, Width: cmp.Or(e.cols, 100),
		Env: func(k string) string { return e.vars[k] },
		Now: func() time.Time { return testNow },
	}
	code := app.Run(context.Background(), args)
	return result{out.String(), errb.String(), code}
}

// imported is an env whose cache holds the fixture for tenant acme.
func imported(t *testing.T) *env {
	t.Helper()
	return importedInto(t, "")
}

// importedInto is imported with the cache at path ("" for the default).
func importedInto(t *testing.T, path string) *env {
	t.Helper()
	e := newEnv(t)
	if path != "" {
		e.vars["NEXTCORE_CACHE"] = path
	}
	if r := e.run("", false, "usage", "import", "--tenant", "acme", fixture); r.code != 0 {
		t.Fatalf("import: %d %s", r.code, r.stderr)
	}
	return e
}

// golden compares got with testdata/golden/NAME.golden (escapes shown as
// ␛); a color code printed as text fails outright.
func golden(t *testing.T, name, got string) {
	t.Helper()
	if strings.Contains(got, `\x1b[`) || strings.Contains(got, `\u001b[`) {
		t.Errorf("%s: a color code is printed as text", name)
	}
	goldentest.Check(t, filepath.Join("testdata", "golden", name+".golden"), got, *update)
}

// diff shows the first lines that differ.
func diff(want, got string) string { return goldentest.Diff(want, got) }

var built struct {
	once sync.Once
	dir  string
	bin  string
	err  error
}

// buildNextcore builds the nextcore binary once for the tests that run it
// as a real process (signals, kills). TestMain removes it.
func buildNextcore(t *testing.T) string {
	t.Helper()
	built.once.Do(func() {
		if built.dir, built.err = os.MkdirTemp("", "nextcore-test-bin-"); built.err != nil {
			return
		}
		built.bin = filepath.Join(built.dir, "nextcore")
		if out, err := exec.Command("go", "build", "-o", built.bin, ".").CombinedOutput(); err != nil {
			built.err = fmt.Errorf("build: %v\n%s", err, out)
		}
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.bin
}

func TestMain(m *testing.M) {
	code := m.Run()
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
	os.Exit(code)
}

// stripSGR removes the colour sequences the renderers write.
func stripSGR(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == 0x1b && i+1 < len(s) && s[i+1] == '[' {
			j := i + 2
			for j < len(s) && (s[j] == ';' || (s[j] >= '0' && s[j] <= '9')) {
				j++
			}
			if j < len(s) && s[j] == 'm' {
				i = j
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
