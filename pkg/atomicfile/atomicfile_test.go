package atomicfile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWrite(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "report.csv")
	hello := func(w io.Writer) error { _, err := io.WriteString(w, "hello\n"); return err }
	n, err := Write(path, Options{Mode: 0o600}, hello)
	if err != nil || n != 6 {
		t.Fatalf("first write: %d %v", n, err)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v", st.Mode().Perm())
	}
	if _, err := Write(path, Options{}, hello); !errors.Is(err, ErrExists) {
		t.Errorf("an existing file: %v", err)
	}
	// A failed write leaves the old file as it was, and no temporary file.
	boom := errors.New("boom")
	_, err = Write(path, Options{Overwrite: true}, func(w io.Writer) error { io.WriteString(w, "half"); return boom })
	if !errors.Is(err, boom) {
		t.Errorf("failed write: %v", err)
	}
	if data, _ := os.ReadFile(path); string(data) != "hello\n" {
		t.Errorf("the old file changed: %q", data)
	}
	if _, err := Write(filepath.Join(dir, "none", "x.csv"), Options{}, hello); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("a missing folder: %v", err)
	}
	if _, err := Write(dir, Options{Overwrite: true}, hello); err == nil || !strings.Contains(err.Error(), "is a directory") {
		t.Errorf("a folder: %v", err)
	}
	// What a dead process left is removed; a live one's stays.
	dead := filepath.Join(dir, ".report.csv.nextcore-999999999-1.tmp")
	live := filepath.Join(dir, ".report.csv.nextcore-1-1.tmp") // init runs
	os.WriteFile(dead, nil, 0o600)
	os.WriteFile(live, nil, 0o600)
	if _, err := Write(path, Options{Overwrite: true}, hello); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dead); err == nil {
		t.Error("a dead process's temporary file stayed")
	}
	if _, err := os.Stat(live); err != nil {
		t.Error("a live process's temporary file was removed")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Errorf("files left: %v", entries)
	}
}
