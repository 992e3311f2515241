// Output: how a report looks where it goes (colors, width), and files that
// appear whole or not at all.

package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/nextcore-ai/nextcore/pkg/atomicfile"
	"github.com/nextcore-ai/nextcore/pkg/report/render"
)

// style is how the report looks where it goes: colors only on a terminal
// and only when nobody asked for none.
func (a *App) style(s *settings, toFile bool) render.Style {
	color := a.StdoutTTY && !toFile && !s.noColor && a.env("NO_COLOR") == "" && a.env("TERM") != "dumb"
	return render.Style{Color: color, Width: a.columns(toFile)}
}

// columns is the width reports fit: the terminal's, else $COLUMNS, else 80
// (a pipe or a file).
func (a *App) columns(toFile bool) int {
	if a.StdoutTTY && !toFile && a.Width > 0 {
		return a.Width
	}
	if n, err := strconv.Atoi(strings.TrimSpace(a.env("COLUMNS"))); err == nil && n > 0 {
		return n
	}
	return 80
}

// emit writes a report to standard output, or with -o to a file that appears
// whole or not at all.
func (a *App) emit(s *settings, write func(w io.Writer, st render.Style) error) error {
	if s.output == "" || s.output == "-" {
		return write(a.Stdout, a.style(s, false))
	}
	_, err := writeFile(s.output, true, func(w io.Writer) error { return write(w, a.style(s, true)) })
	return err
}

// writeFile writes path through a temporary file in the same folder that is
// renamed into place once whole, so a failed write never leaves half a
// file. Without overwrite an existing path is refused, also when it appears
// while writing. It returns the size written.
func writeFile(path string, overwrite bool, write func(io.Writer) error) (int64, error) {
	return writeFileMode(path, overwrite, 0o644, write)
}

// writeFileMode is writeFile with the new file's permissions.
func writeFileMode(path string, overwrite bool, mode os.FileMode, write func(io.Writer) error) (int64, error) {
	n, err := atomicfile.Write(path, atomicfile.Options{Overwrite: overwrite, Mode: mode}, write)
	if errors.Is(err, atomicfile.ErrExists) {
		return 0, fmt.Errorf("%s exists; pass --force to overwrite it", path)
	}
	return n, err
}

// stepSummary appends Markdown to $GITHUB_STEP_SUMMARY when it is set, so a
// CI job's summary page shows the report.
func (a *App) stepSummary(write func(io.Writer) error) error {
	path := a.env("GITHUB_STEP_SUMMARY")
	if path == "" {
		return nil
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("GITHUB_STEP_SUMMARY: %w", unwrapPath(err))
	}
	if err := write(f); err != nil {
		_ = f.Close() // the write's error is what matters
		return err
	}
	if _, err := f.Write([]byte("\n")); err != nil {
		_ = f.Close()
		return fmt.Errorf("GITHUB_STEP_SUMMARY: %w", unwrapPath(err))
	}
	return f.Close()
}

// unwrapPathErr says "x.json: no such file" plainly.
func unwrapPathErr(path string, err error) error {
	return fmt.Errorf("%s: %w", path, unwrapPath(err))
}

func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
