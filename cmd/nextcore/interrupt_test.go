package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
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

// TestSigintImport sends SIGINT to a real nextcore process in the middle of
// a large import: it exits 130 and the cache holds what it held before.
func TestSigintImport(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	e := imported(t)
	before := dump(t, e.cachePath())
	bin := filepath.Join(t.TempDir(), "nextcore")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	data, _ := os.ReadFile(fixture)
	// A big input: the fixture 200 times over under new ids (about 290,000 records).
	big := filepath.Join(e.dir, "big.jsonl")
	f, _ := os.Create(big)
	for i := range 200 {
		f.Write(bytes.ReplaceAll(data, []byte(`"id":"`), []byte(`"id":"`+strings.Repeat("x", i%7)+string(rune('a'+i%26))+string(rune('a'+i/26))+"-")))
	}
	f.Close()
	cmd := exec.Command(bin, "usage", "import", "--tenant", "acme", "--cache", e.cachePath(), big)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	cmd.Process.Signal(syscall.SIGINT)
	err := cmd.Wait()
	code := cmd.ProcessState.ExitCode()
	if code == 0 {
		t.Skipf("the import finished before the signal (%v); nothing to check", err)
	}
	if code != exitInterrupted {
		t.Fatalf("exit %d, want 130: %s", code, stderr.String())
	}
	if dump(t, e.cachePath()) != before {
		t.Error("an interrupted import changed the cache")
	}
}
