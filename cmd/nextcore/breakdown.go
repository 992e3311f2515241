package main

import (
	"context"
	"io"

	"github.com/spf13/cobra"

	"github.com/nextcore-ai/nextcore/pkg/report"
	"github.com/nextcore-ai/nextcore/pkg/report/render"
)

type breakdownOptions struct {
	window    windowFlags
	by        []string
	filter    []string
	sort      string
	limit     int
	compareTo string
	compare   bool
	format    formatFlag
	failOn    string
}

func (a *App) newBreakdownCmd() *cobra.Command {
	opts := &breakdownOptions{}
	cmd := &cobra.Command{
		Use:   "breakdown",
		Short: "Calls, tokens, cost and response times by model, key, user, region, status, project, tag, provider, day or hour",
		Long: `Group a window's calls by one dimension, or by several for a pivot
(--by model --by region), and show each group's calls, success rate, tokens,
cost, share of the cost, the cost's change against the same group in the
previous window, and its response times (p50, p95, p99; nearest rank,
within 1 %; calls that reported no latency are left out, never counted as
0 ms). Calls with no user, region, project or provider form the group
(none). Records of unknown outcome (a provider's bucket of requests) form
the status group unknown, and count in no success rate.

--by day and --by hour split the window into the report zone's days or
hours, compared with the same day or hour of the previous window.`,
		Example: `  nextcore usage breakdown --by region
  nextcore usage breakdown --by model --by region --period week
  nextcore usage breakdown --by user --filter model=gpt-4o --sort calls --limit 10
  nextcore usage breakdown --by day --filter region=eu-west --format csv
  nextcore usage breakdown --by project --by provider --period month`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runBreakdown(cmd.Context(), cmd, opts)
		},
	}
	opts.window.register(cmd)
	opts.format.register(cmd, render.BreakdownReport().Formats()...)
	f := cmd.Flags()
	f.StringArrayVar(&opts.by, "by", nil, "model, key, user, region, status, project, tag, provider, day or hour; repeat for a pivot")
	registerFilter(cmd, &opts.filter)
	registerFailOnUnpriced(cmd, &opts.failOn)
	f.StringVar(&opts.sort, "sort", "", "cost (the default), calls, tokens or name; day and hour rows go in time order")
	f.IntVar(&opts.limit, "limit", 0, "show at most this many groups (0: all)")
	f.BoolVar(&opts.compare, "compare", false, "show each group's calls and cost in the previous window")
	f.StringVar(&opts.compareTo, "compare-to", "", "compare with `FILE`, a saved 'usage breakdown --format json' report of the same --by")
	return cmd
}

// registerFilter adds --filter to a command.
func registerFilter(cmd *cobra.Command, into *[]string) {
	cmd.Flags().StringArrayVar(into, "filter", nil, "only calls where name=value (model, key, user, region, status, project, tag, provider); comma-separated or repeated, e.g. model=gpt-4o,region=eu-west")
}

func (a *App) runBreakdown(ctx context.Context, cmd *cobra.Command, opts *breakdownOptions) error {
	bo := report.BreakdownOptions{Limit: opts.limit}
	var format render.Format
	wd, err := a.openWindowed(ctx, cmd, &opts.window, func(*settings) error {
		var err error
		if format, err = opts.format.parse(); err != nil {
			return err
		}
		if len(opts.by) == 0 {
			return usagef("breakdown needs --by (model, key, user, region, status, project, tag, provider, day or hour)")
		}
		seen := map[report.By]bool{}
		for _, b := range opts.by {
			by, err := report.ParseBy(b)
			if err != nil {
				return flagError("--by", err)
			}
			if seen[by] {
				return usagef("--by %s is given twice", by)
			}
			seen[by] = true
			bo.By = append(bo.By, by)
		}
		if seen[report.ByDay] && seen[report.ByHour] {
			return usagef("--by day and --by hour: a breakdown takes one time dimension")
		}
		if bo.Filter, err = report.ParseFilter(opts.filter); err != nil {
			return flagError("--filter", err)
		}
		if bo.Sort, err = report.ParseSort(opts.sort); err != nil {
			return flagError("--sort", err)
		}
		if opts.limit < 0 {
			return usagef("--limit must not be negative")
		}
		return checkFailOnUnpriced(opts.failOn)
	})
	if err != nil {
		return err
	}
	s, span, rs := wd.s, wd.span, wd.rs
	defer rs.close()
	bo.Money = rs.money
	b, err := report.BuildBreakdown(ctx, rs.src, rs.tenant, span, s.clock, bo)
	if err != nil {
		return err
	}
	b.DataStart = a.dataStart(ctx, rs)
	if err := readBaseline(opts.compareTo, func(f io.Reader, label string) (err error) {
		by := make([]string, len(bo.By))
		for i, d := range bo.By {
			by[i] = string(d)
		}
		b.Baseline, err = render.ReadGroupBaseline(f, label, by)
		return err
	}); err != nil {
		return err
	}
	err = a.emit(s, func(w io.Writer, st render.Style) error {
		return render.BreakdownReport().Render(format, w, b, render.Options{Meta: rs.meta, Style: st, Compare: opts.compare})
	})
	if err != nil {
		return err
	}
	return a.unpriced(b.Unpriced, format, opts.failOn)
}
