//go:build unix

package atomicfile

import "golang.org/x/sys/unix"

// processAlive reports whether a process with the id runs (or may run: one
// of another user's counts).
func processAlive(pid int) bool {
	err := unix.Kill(pid, 0)
	return err == nil || err == unix.EPERM
}
