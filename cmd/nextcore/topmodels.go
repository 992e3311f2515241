package main

import (
	"context"
	"io"

	"github.com/spf13/cobra"

	"github.com/nextcore-ai/nextcore/pkg/report"
	"github.com/nextcore-ai/nextcore/pkg/report/render"
	"github.com/nextcore-ai/nextcore/pkg/source"
)

type topModelsOptions struct {
	window    windowFlags
	by        string
	limit     int
	filter    []string
	compare   bool
	compareTo string
	format    formatFlag
	failOn    string
}

func (a *App) newTopModelsCmd() *cobra.Command {
	opts := &topModelsOptions{}
	cmd := &cobra.Command{
		Use:   "top-models",
		Short: "Models ranked by calls, tokens or cost",
		Long: `Rank the models of a window by calls, tokens or cost, with each model's
success rate, prompt, completion and total tokens, cost, share of the
window's cost and average cost per call.`,
		Example: `  nextcore usage top-models --demo
  nextcore usage top-models --by cost --limit 3 --period week
  nextcore usage top-models --format csv -o models.csv`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runTopModels(cmd.Context(), cmd, opts)
		},
	}
	opts.window.register(cmd)
	opts.format.register(cmd, render.RankingReport().Formats()...)
	cmd.Flags().StringVar(&opts.by, "by", "calls", "rank by calls, tokens or cost")
	cmd.Flags().IntVar(&opts.limit, "limit", 10, "how many models to list (0 for all)")
	cmd.Flags().BoolVar(&opts.compare, "compare", false, "show each model's calls and cost in the previous window, and the cost's change")
	registerFilter(cmd, &opts.filter)
	cmd.Flags().StringVar(&opts.compareTo, "compare-to", "", "compare with `FILE`, a saved 'usage top-models --format json' report")
	registerFailOnUnpriced(cmd, &opts.failOn)
	return cmd
}

func (a *App) runTopModels(ctx context.Context, cmd *cobra.Command, opts *topModelsOptions) error {
	var by report.Ordering
	var filter source.Filter
	var format render.Format
	wd, err := a.openWindowed(ctx, cmd, &opts.window, func(*settings) error {
		var err error
		if format, err = opts.format.parse(); err != nil {
			return err
		}
		if filter, err = report.ParseFilter(opts.filter); err != nil {
			return flagError("--filter", err)
		}
		if by, err = report.ParseOrdering(opts.by); err != nil {
			return flagError("--by", err)
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
	r, err := report.RankModels(ctx, rs.src, rs.tenant, span, s.clock, by, opts.limit, filter, rs.money)
	if err != nil {
		return err
	}
	r.DataStart = a.dataStart(ctx, rs)
	if err := readBaseline(opts.compareTo, func(f io.Reader, label string) (err error) {
		r.Baseline, err = render.ReadGroupBaseline(f, label, nil)
		return err
	}); err != nil {
		return err
	}
	err = a.emit(s, func(w io.Writer, st render.Style) error {
		return render.RankingReport().Render(format, w, r, render.Options{Meta: rs.meta, Style: st, Compare: opts.compare})
	})
	if err != nil {
		return err
	}
	return a.unpriced(r.Unpriced, format, opts.failOn)
}
