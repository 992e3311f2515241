//go:build linux

package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
)

// smallDisk mounts a file system of the given size (tmpfs) for a test: a
// disk that fills up, or that can be made read-only. It needs root, as CI
// has; elsewhere the test is skipped.
func smallDisk(t *testing.T, size string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a small file system")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size+",mode=0755", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", dir).Run() })
	return dir
}

// fill writes a file until the disk is full.
func fill(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "filler")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	block := make([]byte, 4096)
	for {
		if _, err := f.Write(block); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatal(err)
			}
			return path
		}
	}
}

// TestFullDisk: with the disk full, writing to the cache, making a new one
// and exporting each fail with one clear line, exit 1, and leave the cache
// as it was; once there is room again, the same import succeeds.
func TestFullDisk(t *testing.T) {
	disk := smallDisk(t, "128m")
	e := importedInto(t, filepath.Join(disk, "usage.db"))
	before := dump(t, e.cachePath())
	filler := fill(t, disk)
	big := bigInput(t, e.dir) // on another disk
	check := func(what string, r result, want string) {
		t.Helper()
		if r.code != exitFailure || !strings.Contains(r.stderr, want) || strings.Count(r.stderr, "\n") != 1 || strings.Contains(r.stderr, "goroutine") {
			t.Errorf("%s on a full disk: %d %q", what, r.code, r.stderr)
		}
	}
	check("import", e.run("", false, "usage", "import", "--tenant", "acme", big), "the disk is full; nothing was changed")
	check("a new cache", e.run("", false, "usage", "import", "--tenant", "acme", "--cache", filepath.Join(disk, "new.db"), big), "new.db")
	check("export", e.run("", false, "usage", "export", "--format", "csv", "--report", "records", "--period", "year", "-o", filepath.Join(disk, "out.csv")), "out.csv")
	if got := dump(t, e.cachePath()); got != before {
		t.Error("a write on a full disk changed the cache")
	}
	left := slices.DeleteFunc(names(t, disk), func(n string) bool { return n == "usage.db-wal" || n == "usage.db-shm" })
	if !slices.Equal(left, []string{"filler", "usage.db"}) {
		t.Errorf("files on the disk after the failures: %v", left)
	}
	if r := e.run("", false, "cache", "check"); r.code != 0 {
		t.Errorf("check after the failures: %q", r.stderr)
	}
	os.Remove(filler)
	if r := e.run("", false, "usage", "import", "--tenant", "acme", big); r.code != 0 || !strings.Contains(r.stderr, "290,200 added") {
		t.Errorf("import with room again: %d %q", r.code, r.stderr)
	}
}

// TestReadOnlyCache: a cache on a read-only disk still answers reports;
// writing to it fails with a clear line and changes nothing.
func TestReadOnlyCache(t *testing.T) {
	disk := smallDisk(t, "8m")
	e := importedInto(t, filepath.Join(disk, "usage.db"))
	want := e.run("", false, append([]string{"usage", "stats"}, week...)...)
	if out, err := exec.Command("mount", "-o", "remount,ro", disk).CombinedOutput(); err != nil {
		t.Skipf("cannot remount read-only: %v %s", err, out)
	}
	if r := e.run("", false, append([]string{"usage", "stats"}, week...)...); r.code != 0 || r.stdout != want.stdout {
		t.Errorf("stats on a read-only cache: %d %q", r.code, r.stderr)
	}
	if r := e.run("", false, "cache", "check"); r.code != 0 {
		t.Errorf("check on a read-only cache: %q", r.stderr)
	}
	r := e.run("", false, "usage", "import", "--tenant", "acme", fixture)
	if r.code != exitFailure || !strings.Contains(r.stderr, "cache is read-only") {
		t.Errorf("import into a read-only cache: %d %q", r.code, r.stderr)
	}
}
