package main

import (
	"bytes"
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestWatch drives --watch with an injected clock and ticker: three
// reports, the clock moving between them, then a clean end.
func TestWatch(t *testing.T) {
	e := imported(t)
	for _, tty := range []bool{false, true} {
		ticks := make(chan time.Time)
		var now atomic.Int64 // the clock, moved by the test while the app reads it
		now.Store(testNow.UnixNano())
		var out, errb bytes.Buffer
		app := &App{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, StdoutTTY: tty, Width: 100,
			Env: func(k string) string { return e.vars[k] }, Now: func() time.Time { return time.Unix(0, now.Load()).UTC() },
			Tick: func(d time.Duration) (<-chan time.Time, func()) {
				if d != time.Minute {
					t.Errorf("ticker of %v, want 1m", d)
				}
				return ticks, func() {}
			}}
		done := make(chan int)
		go func() {
			done <- app.Run(context.Background(), []string{"usage", "overview", "--period", "today", "--watch", "1m", "--tz", "UTC"})
		}()
		for range 2 {
			select {
			case ticks <- time.Time{}:
			case code := <-done:
				t.Fatalf("ended early: exit %d: %s", code, errb.String())
			case <-time.After(20 * time.Second):
				t.Fatal("the watch loop is stuck")
			}
			now.Add(int64(24 * time.Hour)) // a day later each time: the numbers change
		}
		close(ticks)
		if code := <-done; code != 0 {
			t.Fatalf("exit %d: %s", code, errb.String())
		}
		if tty {
			if strings.Count(out.String(), "\x1b[H\x1b[2J") != 3 {
				t.Errorf("terminal: %d redraws", strings.Count(out.String(), "\x1b[H\x1b[2J"))
			}
			continue
		}
		parts := strings.Split(out.String(), "--- ")
		if len(parts) != 4 || !strings.HasPrefix(parts[1], "2026-11-24T10:00:00Z\ncalls ") {
			t.Fatalf("pipe: %q", out.String())
		}
		if parts[1][21:] == parts[3][21:] {
			t.Error("the report did not follow the clock")
		}
	}
	for _, args := range [][]string{
		{"usage", "quota", "--watch", "--fail-on", "exceeded"},
		{"usage", "stats", "--watch", "--max-increase", "5"},
		{"usage", "overview", "--watch", "10ms"},
		{"usage", "overview", "--watch", "--as-of", "2026-11-20"},
	} {
		if r := e.run("", false, args...); r.code != 2 {
			t.Errorf("%v: exit %d %q", args, r.code, r.stderr)
		}
	}
}
