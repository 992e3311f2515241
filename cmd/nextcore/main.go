// Command nextcore reports the usage and cost of a NextCore AI Cloud tenant.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"
	_ "time/tzdata" // zones work the same on every machine, Windows included

	"golang.org/x/term"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	width := 0
	if w, _, err := term.GetSize(int(os.Stdout.Fd())); err == nil {
		width = w
	}
	app := &App{
		Stdin:     os.Stdin,
		Stdout:    os.Stdout,
		Stderr:    os.Stderr,
		StdoutTTY: term.IsTerminal(int(os.Stdout.Fd())),
		StderrTTY: term.IsTerminal(int(os.Stderr.Fd())),
		Width:     width,
		Env:       os.Getenv,
	}
	// NEXTCORE_CPUPROFILE=FILE writes a CPU profile, for performance work.
	if path := os.Getenv("NEXTCORE_CPUPROFILE"); path != "" {
		f, err := os.Create(path)
		if err == nil {
			err = pprof.StartCPUProfile(f)
			defer f.Close() //nolint:errcheck // a profile, for performance work
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "nextcore: NEXTCORE_CPUPROFILE:", err)
		}
	}
	code := app.Run(ctx, os.Args[1:])
	pprof.StopCPUProfile()
	stop()
	os.Exit(code)
}
