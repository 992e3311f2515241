package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"
)

// watchFlag is --watch [INTERVAL].
type watchFlag struct {
	every time.Duration
}

func (w *watchFlag) register(cmd *cobra.Command) {
	cmd.Flags().DurationVar(&w.every, "watch", 0, "redraw every `INTERVAL` (30s when given alone) until Ctrl-C; off without it")
	cmd.Flags().Lookup("watch").NoOptDefVal = "30s"
}

// watchLoop runs draw once, or with --watch every interval until the
// context ends (Ctrl-C), which is a clean exit. On a terminal each report
// replaces the last; in a pipe each follows the last under a time stamp.
func (a *App) watchLoop(ctx context.Context, cmd *cobra.Command, w watchFlag, draw func() error) error {
	if w.every == 0 {
		return draw()
	}
	if w.every < time.Second {
		return usagef("--watch must be at least 1s")
	}
	s, err := a.settings(cmd)
	if err != nil {
		return err
	}
	if s.output != "" && s.output != "-" {
		return usagef("--watch writes to the terminal; drop -o")
	}
	if s.asOfGiven {
		return usagef("--watch follows the clock; drop --as-of")
	}
	tick := a.Tick
	if tick == nil {
		tick = func(d time.Duration) (<-chan time.Time, func()) {
			t := time.NewTicker(d)
			return t.C, t.Stop
		}
	}
	c, stop := tick(w.every)
	defer stop()
	for {
		if a.StdoutTTY {
			fmt.Fprint(a.Stdout, "\x1b[H\x1b[2J") // home, clear
		} else {
			fmt.Fprintf(a.Stdout, "--- %s\n", a.now().Format(time.RFC3339))
		}
		if err := draw(); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case _, ok := <-c:
			if !ok {
				return nil
			}
		}
	}
}
