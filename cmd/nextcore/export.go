package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/nextcore-ai/nextcore/pkg/pricing"
	"github.com/nextcore-ai/nextcore/pkg/report"
	"github.com/nextcore-ai/nextcore/pkg/report/render"
	"github.com/nextcore-ai/nextcore/pkg/source"
)

type exportOptions struct {
	window windowFlags
	format formatFlag
	kind   render.Format // the format chosen
	report string
	paper  string
	force  bool
	top    int
	filter []string
	parsed source.Filter
}

// The CSV reports of export.
var exportReports = []string{"summary", "daily", "models", "keys", "records"}

func (a *App) newExportCmd() *cobra.Command {
	opts := &exportOptions{}
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Write a report file: PDF for people, CSV for spreadsheets, JSON for programs",
		Long: `Write a report as a file, from the same numbers as every other report.

  --format pdf    the dashboard as a PDF (A4, or --paper letter): title block,
                  metric cards, daily trend chart, top models, cost breakdown,
                  quota with forecast, insights; page numbers. The same input
                  gives the same bytes (the creation date is --as-of).
  --format csv    --report summary (one metric a row, current and previous),
                  daily (one row a day), models or keys (one row each, cost
                  descending), or records (every call of the window, streamed).
                  RFC 4180, raw numbers, ISO dates; cells that a spreadsheet
                  would run as a formula are neutralised with a leading '.
  --format json   the stats object (as usage stats --format json).
  --format focus  FOCUS 1.2 (FinOps Open Cost and Usage Specification) for
                  cost tools, CSV, or Parquet with -o FILE.parquet: a charge
                  a day × model × token kind, with every mandatory column;
                  ListCost from the price book, BilledCost the reported cost.

Without --format, the format follows the extension of -o (.pdf, .json,
.csv), else CSV. The file is written under a temporary name and renamed
when whole; an existing file is kept unless --force. -o - writes CSV or
JSON to standard output.`,
		Example: `  nextcore usage export --format pdf --period week --as-of 2026-11-23 -o weekly.pdf
  nextcore usage export --format csv --report daily --period month -o daily.csv
  nextcore usage export --format csv --report records --from 2026-11-01 -o - | gzip > november.csv.gz`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runExport(cmd.Context(), cmd, opts)
		},
	}
	opts.window.register(cmd)
	f := cmd.Flags()
	formats := append(render.ExportReport().Formats(), render.Focus)
	opts.format.register(cmd, formats...)
	f.Lookup("format").Usage = "output format: " + formats.String() + " (default: from the extension of -o, else csv)"
	f.StringVar(&opts.report, "report", "", "for CSV: "+strings.Join(exportReports, ", ")+" (default summary)")
	f.StringVar(&opts.paper, "paper", "a4", "PDF paper size: a4 or letter")
	f.BoolVar(&opts.force, "force", false, "overwrite an existing file")
	f.IntVar(&opts.top, "top", 5, "how many models the top list shows (PDF, JSON)")
	registerFilter(cmd, &opts.filter)
	return cmd
}

func (a *App) runExport(ctx context.Context, cmd *cobra.Command, opts *exportOptions) error {
	var out string
	wd, err := a.openWindowed(ctx, cmd, &opts.window, func(s *settings) error {
		out = s.output
		return opts.check(out, a.StdoutTTY)
	})
	if err != nil {
		return err
	}
	s, span, rs := wd.s, wd.span, wd.rs
	defer rs.close()
	write, err := a.exportWriter(ctx, s, span, rs, opts)
	if err != nil {
		return err
	}
	if out == "" || out == "-" {
		return write(a.Stdout)
	}
	n, err := writeFile(out, opts.force, write)
	if err != nil {
		return err
	}
	fmt.Fprintf(a.Stderr, "wrote %s (%s)\n", out, size(n))
	return nil
}

// check validates the flags before anything is opened.
func (o *exportOptions) check(out string, stdoutTTY bool) error {
	if o.format.value == "" {
		switch strings.ToLower(filepath.Ext(strings.TrimSuffix(out, ".gz"))) {
		case ".pdf":
			o.format.value = "pdf"
		case ".json":
			o.format.value = "json"
		case ".html", ".htm":
			o.format.value = "html"
		case ".parquet":
			o.format.value = "focus"
		}
	}
	var err error
	if o.kind, err = o.format.parse(); err != nil {
		return err
	}
	switch o.kind {
	case render.CSV:
		if o.report == "" {
			o.report = "summary"
		}
		ok := false
		for _, r := range exportReports {
			ok = ok || r == o.report
		}
		if !ok {
			return usagef("unknown --report %q (use %s)", o.report, strings.Join(exportReports, ", "))
		}
	default:
		if o.report != "" {
			return usagef("--report chooses a CSV report; --format %s has one report", o.kind)
		}
	}
	switch strings.ToLower(o.paper) {
	case "a4":
		o.paper = render.A4
	case "letter":
		o.paper = render.Letter
	default:
		return usagef("unknown --paper %q (use a4 or letter)", o.paper)
	}
	if o.top < 1 {
		return usagef("--top must be at least 1")
	}
	if o.parsed, err = report.ParseFilter(o.filter); err != nil {
		return flagError("--filter", err)
	}
	if o.kind == render.PDF && (out == "" || (out == "-" && stdoutTTY)) {
		return usagef("a PDF needs a file: pass -o FILE.pdf")
	}
	if o.kind == render.HTML && (out == "" || out == "-") && stdoutTTY {
		return usagef("an HTML report goes to a file: pass -o FILE.html")
	}
	return nil
}

// exportWriter computes the report and returns what writes it.
func (a *App) exportWriter(ctx context.Context, s *settings, span report.Span, rs *reportSource, opts *exportOptions) (func(io.Writer) error, error) {
	if opts.kind == render.Focus {
		var book *pricing.Book
		if rs.money != nil {
			book = rs.money.Book
		}
		f, err := report.BuildFocus(ctx, rs.src, rs.tenant, span, book, opts.parsed)
		if err != nil {
			return nil, err
		}
		if strings.EqualFold(filepath.Ext(s.output), ".parquet") {
			return func(w io.Writer) error { return render.FocusParquet(w, f) }, nil
		}
		return func(w io.Writer) error { return render.FocusCSV(w, f) }, nil
	}
	switch opts.report {
	case "models", "keys":
		dim, column := source.DimModel, "model"
		if opts.report == "keys" {
			dim, column = source.DimKey, "key"
		}
		res, sums, err := rs.money.Aggregate(ctx, rs.src, rs.tenant, []source.Query{{Dim: dim, Bounds: span.Current.Bounds(), Filter: opts.parsed}})
		if err != nil {
			return nil, err
		}
		groups := report.SortGroups(res[0][0], report.ByCost)
		total := res[0][0].Sum()
		sums[0].SetCosts(&total)
		a.warnUnpriced(sums[0].Unpriced)
		return func(w io.Writer) error { return render.GroupsCSV(w, column, groups, total) }, nil
	case "records":
		lister, ok := rs.src.(source.RecordLister)
		if !ok {
			return nil, fmt.Errorf("this source cannot list records")
		}
		return a.recordsWriter(ctx, rs, lister, span, opts.parsed), nil
	}
	stats, err := a.dashboard(ctx, s, span, rs, opts.top, opts.parsed)
	if err != nil {
		return nil, err
	}
	if opts.report == "daily" {
		return func(w io.Writer) error { return render.DailyCSV(w, stats) }, nil
	}
	o := render.Options{Meta: rs.meta, PDF: a.pdfOptions(s, opts.paper)}
	return func(w io.Writer) error { return render.ExportReport().Render(opts.kind, w, stats, o) }, nil
}

// recordsWriter streams every record of the window, with a progress bar on
// a terminal sized from the rollups' count.
func (a *App) recordsWriter(ctx context.Context, rs *reportSource, lister source.RecordLister, span report.Span, filter source.Filter) func(io.Writer) error {
	return func(w io.Writer) error {
		total := int64(-1)
		if counter, ok := rs.src.(source.Counter); ok && len(filter) == 0 {
			if n, err := counter.Count(ctx, rs.tenant, span.Current.Start.UnixNano(), span.Current.End.UnixNano()); err == nil {
				total = n
			}
		}
		bar := a.progress(total, "exporting")
		defer bar.Exit()
		n := 0
		err := render.RecordsCSV(w, func(emit func(*source.Record) error) error {
			return lister.EachRecord(ctx, rs.tenant, span.Current.Start.UnixNano(), span.Current.End.UnixNano(), func(r *source.Record) error {
				if len(filter) > 0 && !filter.Match(r) {
					return nil
				}
				if n++; n%8192 == 0 {
					bar.Set(n)
				}
				return emit(r)
			})
		})
		if err == nil {
			bar.Finish()
		}
		return err
	}
}

// size is a file size for people: 812 B, 48 KB, 3.1 MB.
func size(n int64) string {
	switch {
	case n < 1000:
		return fmt.Sprintf("%d B", n)
	case n < 1_000_000:
		return fmt.Sprintf("%.0f KB", float64(n)/1000)
	case n < 1_000_000_000:
		return fmt.Sprintf("%.1f MB", float64(n)/1e6)
	}
	return fmt.Sprintf("%.1f GB", float64(n)/1e9)
}

// pdfOptions are how a printable report (PDF, HTML) is made: the paper,
// when (--as-of, for the same bytes from the same input) and by which
// version.
func (a *App) pdfOptions(s *settings, paper string) render.PDFOptions {
	return render.PDFOptions{Paper: paper, Generated: s.clock.Now, Version: version}
}
