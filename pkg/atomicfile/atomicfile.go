// Package atomicfile writes files that appear whole or not at all: through
// a temporary file beside the target, renamed (or linked) into place when
// complete. Temporary files carry the writer's process id, so that those a
// killed process left are removed by the next write there.
package atomicfile

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// ErrExists is returned when the target exists and may not be replaced
// (also when it appears while writing).
var ErrExists = errors.New("the file exists")

// Options say how to write.
type Options struct {
	Overwrite bool        // replace an existing file
	Mode      os.FileMode // the new file's permissions; 0644 when 0
}

// Write writes path through write and returns the bytes written.
func Write(path string, opt Options, write func(io.Writer) error) (int64, error) {
	mode := opt.Mode
	if mode == 0 {
		mode = 0o644
	}
	dir := filepath.Dir(path)
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return 0, fmt.Errorf("cannot write %s: the folder %s does not exist", path, dir)
	}
	if st, err := os.Stat(path); err == nil {
		if st.IsDir() {
			return 0, fmt.Errorf("cannot write %s: it is a directory", path)
		}
		if !opt.Overwrite {
			return 0, fmt.Errorf("%s: %w", path, ErrExists)
		}
	}
	prefix := "." + filepath.Base(path) + ".nextcore-"
	RemoveAbandoned(filepath.Join(dir, prefix))
	tmp, err := os.CreateTemp(dir, prefix+strconv.Itoa(os.Getpid())+"-*.tmp")
	if err != nil {
		return 0, fmt.Errorf("cannot write %s: %w", path, unwrap(err))
	}
	defer os.Remove(tmp.Name()) //nolint:errcheck // gone already once renamed into place
	cw := &counter{w: tmp}
	if err := write(cw); err != nil {
		_ = tmp.Close() // removed above; the write's error is what matters
		return 0, fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return 0, fmt.Errorf("write %s: %w", path, unwrap(err))
	}
	if err := os.Chmod(tmp.Name(), mode); err != nil {
		return 0, err
	}
	if opt.Overwrite {
		return cw.n, os.Rename(tmp.Name(), path)
	}
	// A hard link fails if the name was taken meanwhile; where links are
	// not supported, fall back to a rename after one more look.
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, os.ErrExist) {
			return 0, fmt.Errorf("%s: %w", path, ErrExists)
		}
		if _, serr := os.Stat(path); serr == nil {
			return 0, fmt.Errorf("%s: %w", path, ErrExists)
		}
		return cw.n, os.Rename(tmp.Name(), path)
	}
	return cw.n, nil
}

type counter struct {
	w io.Writer
	n int64
}

func (c *counter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

func unwrap(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// RemoveAbandoned removes the files named prefix followed by a process id
// (and, after a '-', anything) whose process has ended: what a killed
// process left half written. Files of running processes stay.
func RemoveAbandoned(prefix string) {
	matches, _ := filepath.Glob(escapeGlob(prefix) + "*")
	for _, m := range matches {
		rest := strings.TrimPrefix(m, prefix)
		if i := strings.IndexByte(rest, '-'); i >= 0 {
			rest = rest[:i]
		}
		pid, err := strconv.Atoi(rest)
		if err != nil || pid <= 0 || pid == os.Getpid() || processAlive(pid) {
			continue
		}
		_ = os.Remove(m) // another process may have removed it first
	}
}

// escapeGlob quotes the characters filepath.Match treats specially.
func escapeGlob(s string) string {
	if filepath.Separator == '\\' {
		// Backslash separates folders there and cannot escape: bracket instead.
		return strings.NewReplacer("*", "[*]", "?", "[?]", "[", "[[]").Replace(s)
	}
	return strings.NewReplacer(`\`, `\\`, "*", `\*`, "?", `\?`, "[", `\[`).Replace(s)
}
