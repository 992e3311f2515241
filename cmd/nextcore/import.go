package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/nextcore-ai/nextcore/pkg/report"
	"github.com/nextcore-ai/nextcore/pkg/source"
	"github.com/nextcore-ai/nextcore/pkg/source/cache"
	"github.com/nextcore-ai/nextcore/pkg/source/file"
	"github.com/nextcore-ai/nextcore/pkg/source/importer"
	"github.com/nextcore-ai/nextcore/pkg/source/ingest"
)

type importOptions struct {
	inputFormat string
	from        string
	skipInvalid bool
}

func (a *App) newImportCmd() *cobra.Command {
	opts := &importOptions{}
	cmd := &cobra.Command{
		Use:   "import FILE... | -",
		Short: "Import usage records, or other sources' usage, into the cache",
		Long: `Import usage records (the record format of the NextCore API) from JSON Lines
or CSV files, or standard input ("-"), into the cache for --tenant.

The format comes from the file name (.jsonl, .ndjson, .json, .csv, and the
same with .gz), else from --input-format, else from the first character.
The import is atomic: one bad record and nothing is stored, and the error
names the file, line and field. With --skip-invalid the good records are
stored and the bad ones counted. A record whose id is already stored is a
duplicate and changes nothing, so importing a file twice is harmless.

--from reads another source's usage instead:
  openai-usage     pages of GET /v1/organization/usage/completions, or the
                   dashboard's export of them (TSV or CSV)
  anthropic-usage  pages of GET /v1/organizations/usage_report/messages
  litellm          LiteLLM spend logs: /spend/logs JSON, or the
                   LiteLLM_SpendLogs table as CSV
  openrouter       GET /api/v1/activity
  claude-code      Claude Code transcripts: a projects directory (default
                   $CLAUDE_CONFIG_DIR/projects, else ~/.claude/projects) or
                   .jsonl files
and the providers' own bills, kept beside the usage for
'usage reconcile --against':
  openai-costs     pages of GET /v1/organization/costs, or the dashboard's
                   export of them
  anthropic-cost   pages of GET /v1/organizations/cost_report
Each record's id is made of the source's own key, so overlapping exports
store each thing once.`,
		Example: `  nextcore usage import --tenant acme usage-2026-11.jsonl
  nextcore usage import --tenant acme export/*.csv --skip-invalid
  zcat usage.jsonl.gz | nextcore usage import --tenant acme -
  nextcore usage import --tenant acme --from openai-usage usage-page-*.json
  nextcore usage import --tenant acme --from claude-code`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runImport(cmd.Context(), cmd, opts, args)
		},
	}
	cmd.Flags().StringVar(&opts.inputFormat, "input-format", "", "jsonl or csv (default: from the file name or its first character)")
	cmd.Flags().StringVar(&opts.from, "from", "", "read another source's usage: "+strings.Join(importFormats(), ", "))
	cmd.Flags().BoolVar(&opts.skipInvalid, "skip-invalid", false, "store the valid records and skip the invalid ones")
	_ = cmd.RegisterFlagCompletionFunc("from", cobra.FixedCompletions(importFormats(), cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

func (a *App) runImport(ctx context.Context, cmd *cobra.Command, opts *importOptions, args []string) error {
	s, err := a.settings(cmd)
	if err != nil {
		return err
	}
	limitWriterMemory(s)
	var from importer.Format
	if opts.from != "" {
		if from, err = importer.ParseFormat(opts.from); err != nil {
			return usageError{err}
		}
		if opts.inputFormat != "" {
			return usagef("--input-format is for the record format; --from %s reads its own", from)
		}
	}
	if from == importer.ClaudeCode {
		if args, err = a.claudeCodeFiles(args); err != nil {
			return err
		}
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
	var inputs []ingest.Input
	var total int64
	stdin := false
	for _, name := range args {
		if name == "-" {
			if stdin {
				return usagef("standard input (-) can be read only once")
			}
			stdin = true
			inputs = append(inputs, ingest.Input{Name: "-", Size: -1})
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
		inputs = append(inputs, ingest.Input{Name: name, Size: st.Size()})
		total += st.Size()
	}
	if stdin {
		total = -1
	}
	var bill []source.BillLine
	if importer.IsBill(from) {
		// A bill is small: read whole, and checked, before the cache is
		// opened.
		if opts.skipInvalid {
			return usagef("--skip-invalid is for usage; a bill is read whole or not at all")
		}
		for _, in := range inputs {
			lines, err := a.readBill(from, in.Name)
			if err != nil {
				return err
			}
			bill = append(bill, lines...)
		}
	}

	// A cache that does not exist yet is built beside its path and appears
	// there only when the import is complete.
	copts := a.cacheOptions(true)
	copts.Build = true
	if total > 0 {
		copts.Expect = total / 400 // a record is 150 to 550 bytes in a file
	}
	c, err := openStore(ctx, s.cachePath, copts)
	if err != nil {
		return err
	}
	if s.teamStore() {
		// One writer of a tenant at a time, from any host.
		unlock, err := c.LockSync(ctx, s.tenant)
		if err != nil {
			_ = c.Close() // the error returned says what went wrong
			return err
		}
		defer unlock()
	}
	// Claude Code's transcripts grow: those read before and unchanged
	// since are passed over.
	// The transcripts read are remembered as they were found.
	var remember map[string]cache.FileState
	unchanged := 0
	if from == importer.ClaudeCode {
		seen, err := c.ImportedFiles(ctx, s.tenant)
		if err != nil {
			_ = c.Close()
			return err
		}
		remember = map[string]cache.FileState{}
		var fresh []ingest.Input
		for _, in := range inputs {
			st, ok := fileState(in.Name)
			path := absPath(in.Name)
			if ok && seen[path] == st {
				unchanged++
				total -= in.Size
				continue
			}
			if ok {
				remember[path] = st
			}
			fresh = append(fresh, in)
		}
		inputs = fresh
		if len(inputs) == 0 {
			_ = c.Close()
			fmt.Fprintf(a.Stderr, "%s: nothing changed in %d transcript(s) since the last import\n", s.tenant, unchanged)
			return nil
		}
	}
	if importer.IsBill(from) {
		added, dups, err := c.AddBills(ctx, s.tenant, bill, nil)
		if err == nil {
			err = c.Publish(ctx)
		}
		_ = c.Close() // committed or rolled back above
		if err != nil {
			return err
		}
		fmt.Fprintf(a.Stderr, "%s: %s line(s) of %s's bill added, %s duplicates, from %d file(s); "+
			"'nextcore usage reconcile --against %s' sets them against the usage\n",
			s.tenant, report.Count(added), importer.BillProvider(from), report.Count(dups), len(inputs), from)
		return nil
	}
	started := time.Now()
	opt := ingest.Options{Format: format, From: from, SkipInvalid: opts.skipInvalid}
	res, added, dups, err := a.importInto(ctx, c, s.tenant, inputs, total, opt, remember)
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
		rate = fmt.Sprintf(" (%s records/s)", report.Count(int64(float64(res.Read)/secs)))
	}
	fmt.Fprintf(a.Stderr, "%s: %s added, %s duplicates, %s skipped, from %d file(s) in %s%s\n",
		s.tenant, report.Count(added), report.Count(dups), report.Count(res.Skipped), len(inputs),
		elapsed.Round(time.Millisecond), rate)
	if unchanged > 0 {
		fmt.Fprintf(a.Stderr, "  %d transcript(s) unchanged since the last import passed over\n", unchanged)
	}
	if res.Ignored > 0 {
		fmt.Fprintf(a.Stderr, "  %s line(s) that are not JSON objects passed over\n", report.Count(res.Ignored))
	}
	for i, e := range res.Skips {
		if i == 5 {
			fmt.Fprintf(a.Stderr, "  … and %d more skipped\n", res.Skipped-5)
			break
		}
		fmt.Fprintf(a.Stderr, "  skipped %s\n", e)
	}
	return nil
}

// importInto stores the inputs in one transaction: all or nothing.
func (a *App) importInto(ctx context.Context, c cache.Store, tenant string, inputs []ingest.Input, total int64,
	opt ingest.Options, remember map[string]cache.FileState) (res *ingest.Result, added, dups int64, err error) {
	w, err := c.Begin(ctx, tenant)
	if err != nil {
		return nil, 0, 0, err
	}
	defer w.Rollback()
	bar := a.progress(total, "importing", progressbar.OptionShowBytes(true), progressbar.OptionSetWidth(30))
	defer bar.Exit()
	opt.Stdin, opt.Panicked = a.Stdin, a.panicked
	opt.Progress = func(n int64) { bar.Set64(n) }
	res, err = ingest.Read(ctx, inputs, w, opt)
	var re *file.RecordError
	if errors.As(err, &re) {
		return nil, 0, 0, fmt.Errorf("%w; nothing was imported (fix the record, or pass --skip-invalid to import the rest)", err)
	}
	if err != nil {
		return nil, 0, 0, err
	}
	// Ctrl-C also ends the program that feeds standard input, which looks
	// like the end of the file: an interrupted import must not commit.
	if err := ctx.Err(); err != nil {
		return nil, 0, 0, err
	}
	for path, st := range remember {
		if err := w.RememberFile(path, st); err != nil {
			return nil, 0, 0, err
		}
	}
	if err := w.Commit(); err != nil {
		return nil, 0, 0, err
	}
	bar.Finish()
	added, dups = w.Stored()
	return res, added, dups, nil
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

// importFormats are the names --from takes.
func importFormats() []string {
	var names []string
	for _, f := range append(slices.Clone(importer.Formats), importer.BillFormats...) {
		names = append(names, string(f))
	}
	return names
}

// claudeCodeFiles turns the arguments of an import --from claude-code into
// transcript files: each directory (none: Claude Code's own) becomes the
// transcripts under it.
func (a *App) claudeCodeFiles(args []string) ([]string, error) {
	if len(args) == 0 {
		args = []string{importer.ClaudeCodeDir(a.Env)}
	}
	var files []string
	for _, arg := range args {
		if arg == "-" {
			files = append(files, arg)
			continue
		}
		found, err := importer.ClaudeCodeFiles(arg)
		switch {
		case errors.Is(err, os.ErrNotExist):
			return nil, fmt.Errorf("%s: no such file or directory (Claude Code keeps its transcripts in ~/.claude/projects, or $CLAUDE_CONFIG_DIR/projects)", arg)
		case err != nil:
			return nil, fmt.Errorf("%s: %w", arg, unwrapPath(err))
		case len(found) == 0:
			return nil, fmt.Errorf("%s: no Claude Code transcripts (*.jsonl) in it", arg)
		}
		files = append(files, found...)
	}
	return files, nil
}

// readBill reads the lines of a provider's bill from a file, or standard
// input for "-".
func (a *App) readBill(from importer.Format, name string) ([]source.BillLine, error) {
	lines, err := ingest.ReadBill(from, ingest.Input{Name: name}, a.Stdin)
	var re *file.RecordError
	if errors.As(err, &re) {
		return nil, fmt.Errorf("%w; nothing was imported", err)
	}
	return lines, err
}

// fileState is a file's size and modification time, as an import reads it.
func fileState(name string) (cache.FileState, bool) {
	st, err := os.Stat(name)
	if err != nil || name == "-" {
		return cache.FileState{}, false
	}
	return cache.FileState{Size: st.Size(), MTime: st.ModTime().UnixNano()}, true
}

// absPath is name made absolute, as imported files are remembered.
func absPath(name string) string {
	if abs, err := filepath.Abs(name); err == nil {
		return abs
	}
	return name
}

// writerMemory is the Go runtime's soft memory limit while records are
// stored (import, sync): what they hold in Go is bounded (batches, rollup
// deltas, the filter of ids, about 50 MiB live), and past the limit the
// collector runs sooner rather than the heap doubling, which keeps a
// 10 M-record import under 200 MiB at the same speed. The team store's
// writer holds more (the rows of 8 and 32 days of an import, up to
// 400,000): under 100 MiB the collector would run without a pause, so its
// limit is higher. GOMEMLIMIT, when set, wins.
const (
	writerMemory     = 100 << 20
	teamWriterMemory = 512 << 20
)

func limitWriterMemory(s *settings) {
	if os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	if s.teamStore() {
		debug.SetMemoryLimit(teamWriterMemory)
		return
	}
	debug.SetMemoryLimit(writerMemory)
}
