package cache

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// ErrSyncRunning is returned by LockSync while another process syncs.
var ErrSyncRunning = errors.New("another sync of this cache is running")

// syncHolder says whether a sync holds the cache's sync lock now, and its
// process id when it wrote one.
func syncHolder(cachePath string) (pid string, held bool) {
	path := cachePath + ".sync.lock"
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return "", false
	}
	defer f.Close() //nolint:errcheck // opened to look only
	if err := lockFile(f); err == nil {
		_ = unlockFile(f) // closing the file releases it anyway
		return "", false
	}
	data, _ := os.ReadFile(path)
	pid = strings.TrimSpace(string(data))
	if _, err := strconv.Atoi(pid); err != nil {
		pid = ""
	}
	return pid, true
}

// LockSync takes the cache's sync lock, a file beside the cache, or fails
// at once when another process holds it. The operating system releases the
// lock when the process ends, however it ends (kill -9 included).
func LockSync(cachePath string) (unlock func(), err error) {
	path := cachePath + ".sync.lock"
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("take the sync lock %s: %w", path, err)
	}
	if err := lockFile(f); err != nil {
		data, _ := os.ReadFile(path)
		_ = f.Close() // held by another: ours was never taken
		holder := strings.TrimSpace(string(data))
		if _, perr := strconv.Atoi(holder); perr == nil {
			return nil, fmt.Errorf("%w (process %s); wait for it to finish", ErrSyncRunning, holder)
		}
		return nil, fmt.Errorf("%w; wait for it to finish", ErrSyncRunning)
	}
	// The holder's process id, for the message another sync shows; the
	// lock holds without it.
	_ = f.Truncate(0)
	_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	return func() {
		_ = f.Truncate(0)
		_ = unlockFile(f)
		_ = f.Close() // closing releases the lock whatever happened above
	}, nil
}
