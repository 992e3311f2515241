package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync/atomic"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/nextcore-ai/nextcore/pkg/report"
	"github.com/nextcore-ai/nextcore/pkg/source"
	"github.com/nextcore-ai/nextcore/pkg/source/cache"
	"github.com/nextcore-ai/nextcore/pkg/source/file"
)

type importOptions struct {
	inputFormat string
	skipInvalid bool
}

func (a *App) newImportCmd() *cobra.Command {
	opts := &importOptions{}
	cmd := &cobra.Command{
		Use:   "import FILE... | -",
		Short: "Import usage records from JSON Lines or CSV files into the cache",
		Long: `Import usage records (the record format of the NextCore API) from JSON Lines
or CSV files, or standard input ("-"), into the cache for --tenant.

The format comes from the file name (.jsonl, .ndjson, .json, .csv, and the
same with .gz), else from --input-format, else from the first character.
The import is atomic: one bad record and nothing is stored, and the error
names the file, line and field. With --skip-invalid the good records are
stored and the bad ones counted. A record whose id is already stored is a
duplicate and changes nothing, so importing a file twice is harmless.`,
		Example: `  nextcore usage import --tenant acme usage-2026-11.jsonl
  nextcore usage import --tenant acme export/*.csv --skip-invalid
  zcat usage.jsonl.gz | nextcore usage import --tenant acme -`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runImport(cmd.Context(), cmd, opts, args)
		},
	}
	cmd.Flags().StringVar(&opts.inputFormat, "input-format", "", "jsonl or csv (default: from the file name or its first character)")
	cmd.Flags().BoolVar(&opts.skipInvalid, "skip-invalid", false, "store the valid records and skip the invalid ones")
	return cmd
}

// importInput is one file to import.
type importInput struct {
	name string
	size int64 // -1 when unknown (standard input)
}

func (a *App) runImport(ctx context.Context, cmd *cobra.Command, opts *importOptions, args []string) error {
	s, err := a.settings(cmd)
	if err != nil {
		return err
	}
	if len(args) == 0 {
		return usagef("import needs at least one FILE, or - for standard input")
	}
	format, err := file.ParseFormat(opts.inputFormat)
	if err != nil {
		return usageError{err}
	}
	if s.demo {
		return usagef("--demo data cannot be imported into; drop --demo")
	}
	if s.tenant == "" {
		return usagef("import needs a tenant: pass --tenant SLUG (or set NEXTCORE_TENANT, or tenant in the config)")
	}
	// Check every input before touching the cache.
	var inputs []importInput
	var total int64
	stdin := false
	for _, name := range args {
		if name == "-" {
			if stdin {
				return usagef("standard input (-) can be read only once")
			}
			stdin = true
			inputs = append(inputs, importInput{"-", -1})
			continue
		}
		st, err := os.Stat(name)
		switch {
		case errors.Is(err, os.ErrNotExist):
			return fmt.Errorf("%s: no such file", name)
		case err != nil:
			return fmt.Errorf("%s: %w", name, unwrapPath(err))
		case st.IsDir():
			return fmt.Errorf("%s is a directory; name the files in it (for example %s/*.jsonl)", name, name)
		}
		inputs = append(inputs, importInput{name, st.Size()})
		total += st.Size()
	}
	if stdin {
		total = -1
	}

	// A cache that does not exist yet is built beside its path and appears
	// there only when the import is complete.
	copts := a.cacheOptions(true)
	copts.Build = true
	c, err := cache.Open(ctx, s.cachePath, copts)
	if err != nil {
		return err
	}
	started := time.Now()
	res, err := a.importInto(ctx, c, s.tenant, inputs, total, format, opts.skipInvalid)
	if err == nil {
		err = c.Publish(ctx)
	}
	_ = c.Close() // committed or rolled back above: nothing left to lose
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("import interrupted; nothing was stored: %w", context.Canceled)
		}
		return err
	}
	elapsed := time.Since(started)
	rate := ""
	if secs := elapsed.Seconds(); secs > 0 {
		rate = fmt.Sprintf(" (%s records/s)", report.Count(int64(float64(res.read)/secs)))
	}
	fmt.Fprintf(a.Stderr, "%s: %s added, %s duplicates, %s skipped, from %d file(s) in %s%s\n",
		s.tenant, report.Count(res.added), report.Count(res.dups), report.Count(res.skipped), len(inputs),
		elapsed.Round(time.Millisecond), rate)
	for i, e := range res.skips {
		if i == 5 {
			fmt.Fprintf(a.Stderr, "  … and %d more skipped\n", res.skipped-5)
			break
		}
		fmt.Fprintf(a.Stderr, "  skipped %s\n", e)
	}
	return nil
}

type importResult struct {
	read, added, dups, skipped int64
	skips                      []string
}

// importInto stores the inputs in one transaction: all or nothing. One
// goroutine reads and checks the records while this one writes them, so the
// two cores share the work.
func (a *App) importInto(ctx context.Context, c *cache.Cache, tenant string, inputs []importInput, total int64,
	format file.Format, skipInvalid bool) (*importResult, error) {
	w, err := c.BeginWrite(ctx, tenant)
	if err != nil {
		return nil, err
	}
	defer w.Rollback()
	bar := a.progress(total, "importing", progressbar.OptionShowBytes(true), progressbar.OptionSetWidth(30))
	defer bar.Exit()

	readCtx, stop := context.WithCancel(ctx)
	defer stop()
	rr := &recordReader{inputs: inputs, format: format, skipInvalid: skipInvalid, stdin: a.Stdin, panicked: a.panicked,
		batches: make(chan []source.Record, 4), free: make(chan []source.Record, 6)}
	go rr.run(readCtx)
	for batch := range rr.batches {
		for i := range batch {
			if err := w.Add(&batch[i]); err != nil {
				stop()
				for range rr.batches { // let the reader finish
				}
				return nil, err
			}
		}
		rr.free <- batch[:0]
		bar.Set64(rr.bytes.Load())
	}
	if rr.err != nil {
		return nil, rr.err
	}
	// Ctrl-C also ends the program that feeds standard input, which looks
	// like the end of the file: an interrupted import must not commit.
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := w.Commit(); err != nil {
		return nil, err
	}
	bar.Finish()
	res := &rr.res
	res.added, res.dups = w.Added, w.Duplicates
	return res, nil
}

// progress is a progress bar on standard error, shown on a terminal only
// (a bar in a cron log is a wall of carriage returns). total -1 is a spinner.
func (a *App) progress(total int64, desc string, opts ...progressbar.Option) *progressbar.ProgressBar {
	return progressbar.NewOptions64(total, append([]progressbar.Option{
		progressbar.OptionSetWriter(a.Stderr),
		progressbar.OptionSetVisibility(a.StderrTTY),
		progressbar.OptionThrottle(100 * time.Millisecond),
		progressbar.OptionSetDescription(desc),
		progressbar.OptionClearOnFinish(),
	}, opts...)...)
}

// recordReader reads the inputs in turn and hands their records over in
// batches. Its err and res may be read once batches is closed.
type recordReader struct {
	inputs      []importInput
	format      file.Format
	skipInvalid bool
	stdin       io.Reader
	panicked    func(any) error // turns a panic of the reading goroutine into an error
	batches     chan []source.Record
	free        chan []source.Record // batches handed back for reuse
	bytes       atomic.Int64         // bytes read so far, for progress
	err         error
	res         importResult
}

const readBatch = 512

func (rr *recordReader) run(ctx context.Context) {
	defer close(rr.batches)
	defer func() {
		if v := recover(); v != nil {
			rr.err = rr.panicked(v)
		}
	}()
	rr.err = rr.read(ctx)
}

func (rr *recordReader) read(ctx context.Context) error {
	var done int64
	batch := make([]source.Record, 0, readBatch)
	send := func() error {
		select {
		case rr.batches <- batch:
		case <-ctx.Done():
			return ctx.Err()
		}
		select {
		case batch = <-rr.free:
		default:
			batch = make([]source.Record, 0, readBatch)
		}
		return nil
	}
	// Each file is closed once read, not when all are.
	readOne := func(in importInput) error {
		var r io.Reader = rr.stdin
		name := "stdin"
		if in.name != "-" {
			f, err := os.Open(in.name)
			if err != nil {
				return fmt.Errorf("%s: %w", in.name, unwrapPath(err))
			}
			defer f.Close() //nolint:errcheck // read only: nothing to lose
			r, name = f, in.name
		}
		rd, err := file.NewReader(name, r, rr.format)
		if err != nil {
			return err
		}
		for {
			batch = batch[:len(batch)+1]
			rec := &batch[len(batch)-1]
			err := rd.Next(rec)
			if err != nil {
				batch = batch[:len(batch)-1]
			}
			if err == io.EOF {
				break
			}
			var re *file.RecordError
			if errors.As(err, &re) {
				if !rr.skipInvalid {
					return fmt.Errorf("%w; nothing was imported (fix the record, or pass --skip-invalid to import the rest)", err)
				}
				rr.res.skipped++
				if len(rr.res.skips) < 6 {
					rr.res.skips = append(rr.res.skips, re.Error())
				}
				continue
			}
			if err != nil {
				return err
			}
			rr.res.read++
			if len(batch) == readBatch {
				rr.bytes.Store(done + rd.BytesRead())
				if err := send(); err != nil {
					return err
				}
			}
		}
		done += rd.BytesRead()
		rr.bytes.Store(done)
		return nil
	}
	for _, in := range rr.inputs {
		if err := readOne(in); err != nil {
			return err
		}
	}
	if len(batch) > 0 {
		return send()
	}
	return nil
}
