package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// cancelAfter is standard input that cancels the command's context once it
// has given n bytes, as Ctrl-C would in the middle of an import, and then
// goes on to the end as a pipe whose writer died would.
type cancelAfter struct {
	r      io.Reader
	n      int
	cancel context.CancelFunc
}

func (c *cancelAfter) Read(p []byte) (int, error) {
	k, err := c.r.Read(p)
	if c.n -= k; c.n <= 0 {
		c.cancel()
	}
	return k, err
}

func TestInterruptedImportStoresNothing(t *testing.T) {
	e := imported(t)
	before := dump(t, e.cachePath())
	data, err := os.ReadFile(fixture)
	if err != nil {
		t.Fatal(err)
	}
	// New ids, so that anything stored would show.
	data = bytes.ReplaceAll(data, []byte(`"id":"`), []byte(`"id":"again-`))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errb bytes.Buffer
	app := &App{
		Stdin: &cancelAfter{r: bytes.NewReader(data), n: len(data) / 2, cancel: cancel}, Stdout: &out, Stderr: &errb,
		Env: func(k string) string { return e.vars[k] }, Now: func() time.Time { return testNow },
	}
	code := app.Run(ctx, []string{"usage", "import", "--tenant", "acme", "-"})
	if code != exitInterrupted {
		t.Fatalf("exit %d, want %d: %s", code, exitInterrupted, errb.String())
	}
	if !strings.Contains(errb.String(), "interrupted") {
		t.Errorf("stderr %q", errb.String())
	}
	if dump(t, e.cachePath()) != before {
		t.Error("an interrupted import changed the cache")
	}
}

// bigInput writes the fixture 200 times over under new ids (about 290,000
// records): an import that takes a while.
func bigInput(t *testing.T, dir string) string {
	t.Helper()
	data, err := os.ReadFile(fixture)
	if err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big.jsonl")
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 200 {
		f.Write(bytes.ReplaceAll(data, []byte(`"id":"`), []byte(`"id":"`+strings.Repeat("x", i%7)+string(rune('a'+i%26))+string(rune('a'+i/26))+"-")))
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return big
}

// TestKilledFirstImport kills (SIGKILL) a real import into a cache that does
// not exist yet: no cache appears, and the next import stores everything
// and removes what the killed one left.
func TestKilledFirstImport(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	dir := t.TempDir()
	bin := buildNextcore(t)
	big := bigInput(t, dir)
	path := filepath.Join(dir, "cache", "usage.db")
	cmd := exec.Command(bin, "usage", "import", "--tenant", "acme", "--cache", path, big)
	building := func() string { return path + ".building-" + strconv.Itoa(cmd.Process.Pid) }
	// Kill it a moment into writing its build file.
	var since time.Time
	if !signalWhen(t, cmd, os.Kill, func() bool {
		if _, err := os.Stat(building()); err != nil {
			return false
		}
		if since.IsZero() {
			since = time.Now()
		}
		return time.Since(since) > 400*time.Millisecond
	}) {
		t.Skip("the import finished before the kill; nothing to check")
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("a killed first import left a cache: %v", err)
	}
	if _, err := os.Stat(building()); err != nil {
		t.Fatalf("expected the killed build's file: %v", err)
	}
	out, err := exec.Command(bin, "usage", "import", "--tenant", "acme", "--cache", path, big).CombinedOutput()
	if err != nil {
		t.Fatalf("import after the kill: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "290,200 added, 0 duplicates") {
		t.Errorf("import after the kill: %s", out)
	}
	if left := names(t, filepath.Dir(path)); !slices.Equal(left, []string{"usage.db"}) {
		t.Errorf("files after the second import: %v", left)
	}
}

// signalWhen starts the command and sends it sig once ready says so, or
// after 20 s. It reports whether the command was still running.
func signalWhen(t *testing.T, cmd *exec.Cmd, sig os.Signal, ready func() bool) bool {
	t.Helper()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) && !ready() {
		time.Sleep(5 * time.Millisecond)
	}
	cmd.Process.Signal(sig)
	cmd.Wait()
	return !cmd.ProcessState.Success()
}

func grown(path string, n int64) func() bool {
	return func() bool {
		st, err := os.Stat(path)
		return err == nil && st.Size() > n
	}
}

// TestSignalledImport stops a real nextcore process in the middle of a
// large import into a cache that holds data, with Ctrl-C (SIGINT: exit 130)
// and with kill -9: either way the cache holds exactly what it held, and
// checks out.
func TestSignalledImport(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGKILL} {
		t.Run(sig.String(), func(t *testing.T) {
			e := imported(t)
			before := dump(t, e.cachePath())
			big := bigInput(t, e.dir)
			cmd := exec.Command(buildNextcore(t), "usage", "import", "--tenant", "acme", "--cache", e.cachePath(), big)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if !signalWhen(t, cmd, sig, grown(e.cachePath()+"-wal", 1<<20)) {
				t.Skip("the import finished before the signal; nothing to check")
			}
			if code := cmd.ProcessState.ExitCode(); sig == syscall.SIGINT && code != exitInterrupted {
				t.Fatalf("exit %d after SIGINT, want 130: %s", code, stderr.String())
			}
			if dump(t, e.cachePath()) != before {
				t.Errorf("an import stopped by %s changed the cache", sig)
			}
			if r := e.run("", false, "cache", "check"); r.code != 0 {
				t.Errorf("check after %s: %q", sig, r.stderr)
			}
		})
	}
}

// TestKilledExport kills a records export half written: no file at the
// target, and the cache as it was.
func TestKilledExport(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	e := newEnv(t)
	big := bigInput(t, e.dir)
	if r := e.run("", false, "usage", "import", "--tenant", "acme", big); r.code != 0 {
		t.Fatal(r.stderr)
	}
	before := dump(t, e.cachePath())
	bin := buildNextcore(t)
	outDir := t.TempDir()
	out := filepath.Join(outDir, "records.csv")
	cmd := exec.Command(bin, "usage", "export", "--tenant", "acme", "--cache", e.cachePath(), "--format", "csv",
		"--report", "records", "--from", "2020-01-01", "--to", "2026-12-31", "-o", out)
	started := func() bool {
		ents, _ := os.ReadDir(outDir)
		for _, ent := range ents {
			if info, err := ent.Info(); err == nil && info.Size() > 1<<20 {
				return true
			}
		}
		return false
	}
	if !signalWhen(t, cmd, os.Kill, started) {
		t.Skip("the export finished before the kill; nothing to check")
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("a killed export left %s: %v", out, err)
	}
	if dump(t, e.cachePath()) != before {
		t.Error("a killed export changed the cache")
	}
	// What it left is removed by the next export into the folder.
	if r := e.run("", false, "usage", "export", "--format", "csv", "--report", "records", "--from", "2020-01-01", "--to", "2026-12-31", "-o", out); r.code != 0 {
		t.Fatalf("export again: %q", r.stderr)
	}
	if left := names(t, outDir); !slices.Equal(left, []string{"records.csv"}) {
		t.Errorf("files after the next export: %v", left)
	}
}
