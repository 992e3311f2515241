package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"math/big"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/nextcore-ai/nextcore/pkg/report"
	"github.com/nextcore-ai/nextcore/pkg/report/render"
	"github.com/nextcore-ai/nextcore/pkg/source"
	"github.com/nextcore-ai/nextcore/pkg/source/cache"
	"github.com/nextcore-ai/nextcore/pkg/source/importer"
)

type reconcileOptions struct {
	window    windowFlags
	format    formatFlag
	tolerance string
	failOn    string
	against   string
}

func (a *App) newReconcileCmd() *cobra.Command {
	opts := &reconcileOptions{}
	cmd := &cobra.Command{
		Use:   "reconcile",
		Short: "The reported cost against what the price book says, by day and model",
		Long: `Set, for each day (in the report's zone) and model, the cost the records
report against the cost of their tokens at the price book's prices: both
amounts, the difference and the ratio, and a flag where the difference is
over both the tolerance (--tolerance, 1% of the priced cost) and $0.01.
Rows with the largest differences come first, and each says what it can
explain (a model without a price, a price that changed during the day).

Days are cut at UTC midnight, where price periods change; sums are exact
and rounded once per row. With --fail-on mismatch the command exits 3 when
a row is flagged, for CI.

--against openai-costs|anthropic-cost sets the provider's own bill
(imported with 'usage import --from openai-costs|anthropic-cost') against
what the provider's usage costs at the price book's prices, per UTC day
(as the bills are) and per project (or model) where the bill is grouped so.`,
		Example: `  nextcore usage reconcile --period week
  nextcore usage reconcile --from 2026-11-01 --to 2026-11-30 --prices contract-prices.yaml --format csv -o november.csv
  nextcore usage reconcile --period month --tolerance 0.5 --fail-on mismatch
  nextcore usage reconcile --against openai-costs --from 2026-11-01 --to 2026-11-30`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runReconcile(cmd.Context(), cmd, opts)
		},
	}
	opts.window.register(cmd)
	opts.format.register(cmd, render.ReconcileReport().Formats()...)
	cmd.Flags().StringVar(&opts.tolerance, "tolerance", "1", "the relative difference flagged, in percent of the priced cost")
	cmd.Flags().StringVar(&opts.failOn, "fail-on", "", "exit 3 when a row is flagged: mismatch")
	cmd.RegisterFlagCompletionFunc("fail-on", fixedValues("mismatch"))
	cmd.Flags().StringVar(&opts.against, "against", "", "set a provider's own bill against its usage: openai-costs or anthropic-cost")
	cmd.RegisterFlagCompletionFunc("against", fixedValues("openai-costs", "anthropic-cost"))
	return cmd
}

func (a *App) runReconcile(ctx context.Context, cmd *cobra.Command, opts *reconcileOptions) error {
	var format render.Format
	var tolerance *big.Rat
	var s *settings
	var against string
	wd, err := a.openWindowed(ctx, cmd, &opts.window, func(set *settings) error {
		var err error
		if format, err = opts.format.parse(); err != nil {
			return err
		}
		r, ok := new(big.Rat).SetString(strings.TrimSuffix(opts.tolerance, "%"))
		if !ok || r.Sign() < 0 {
			return usagef("--tolerance: %q is not a percentage, such as 1 or 0.5", opts.tolerance)
		}
		tolerance = r
		if opts.failOn != "" && opts.failOn != "mismatch" {
			return usagef("--fail-on: unknown check %q (use mismatch)", opts.failOn)
		}
		if opts.against != "" {
			f, err := importer.ParseFormat(opts.against)
			if err != nil || !importer.IsBill(f) {
				return usagef("--against: %q is not a bill (use openai-costs or anthropic-cost)", opts.against)
			}
			if set.demo || set.source == "api" {
				return usagef("--against reads the bill imported into the cache ('usage import --from %s'): drop --demo and --source api", f)
			}
			against = importer.BillProvider(f)
			// The bills' days are UTC days: so are the rows'.
			set.loc = time.UTC
			if set.clock.EndOfDay {
				set.clock = report.ClockEndOf(set.clock.Today, time.UTC)
			} else {
				set.clock = report.ClockAt(set.clock.Now, time.UTC)
			}
		}
		s = set
		return nil
	})
	if err != nil {
		return err
	}
	defer wd.rs.close()
	book, err := a.book(s)
	if err != nil {
		return err
	}
	var r *report.Reconciliation
	if against != "" {
		c, ok := wd.rs.src.(cache.Store)
		if !ok {
			return usagef("--against reads the bill imported into the cache: drop --source api")
		}
		var lines []source.BillLine
		if lines, err = c.Bills(ctx, wd.rs.tenant, against, wd.span.Current.Start.UnixNano(), wd.span.Current.End.UnixNano()); err != nil {
			return err
		}
		r, err = report.ReconcileBill(ctx, wd.rs.src, wd.rs.tenant, wd.span, s.clock, book, tolerance, against, lines)
	} else {
		r, err = report.Reconcile(ctx, wd.rs.src, wd.rs.tenant, wd.span, s.clock, book, tolerance)
	}
	if err != nil {
		return err
	}
	err = a.emit(s, func(w io.Writer, st render.Style) error {
		return render.ReconcileReport().Render(format, w, r, render.Options{Meta: wd.rs.meta, Style: st})
	})
	if err != nil {
		return err
	}
	if opts.failOn == "mismatch" && r.Flagged > 0 {
		rows := "day × model"
		if against != "" {
			rows = "day × " + cmp.Or(r.GroupBy, "bill")
		}
		return budgetError{fmt.Sprintf("reconciliation failed (--fail-on mismatch): %d %s row(s) differ by more than %s%% and $0.01",
			r.Flagged, rows, report.Fixed(tolerance, 1).Trim())}
	}
	return nil
}
