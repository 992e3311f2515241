package main

import (
	"context"
	"fmt"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/nextcore-ai/nextcore/pkg/report"
	"github.com/nextcore-ai/nextcore/pkg/report/render"
	"github.com/nextcore-ai/nextcore/pkg/source"
)

type statsOptions struct {
	window      windowFlags
	top         int
	compareTo   string
	maxIncrease string
	watch       watchFlag
	filter      []string
	format      formatFlag
	failOn      string
}

func (a *App) newStatsCmd() *cobra.Command {
	opts := &statsOptions{}
	cmd := &cobra.Command{
		Use:   "stats",
		Short: "The dashboard: calls, tokens, cost and success rate with their trends",
		Long: `Show a window's API calls, tokens, cost and success rate, each against the
previous window of the same length, with the daily trend, the top models,
the cost breakdown and insights.`,
		Example: `  nextcore usage stats --demo
  nextcore usage stats --period week --tz Europe/Berlin
  nextcore usage stats --from 2026-11-01 --to 2026-11-15 --format json
  nextcore usage stats --period week --as-of 2026-11-23 --format markdown -o weekly.md
  nextcore usage stats --period month --compare-to last-release.json --max-increase 20%`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runStats(cmd.Context(), cmd, opts)
		},
	}
	opts.window.register(cmd)
	opts.format.register(cmd, render.StatsReport().Formats()...)
	cmd.Flags().IntVar(&opts.top, "top", 5, "how many models the top-models list shows")
	opts.watch.register(cmd)
	registerFilter(cmd, &opts.filter)
	cmd.Flags().StringVar(&opts.compareTo, "compare-to", "", "compare with `FILE`, a saved 'usage stats --format json' report")
	cmd.Flags().StringVar(&opts.maxIncrease, "max-increase", "", "exit 3 when spend rose more than this percent (vs --compare-to, else the previous period)")
	registerFailOnUnpriced(cmd, &opts.failOn)
	return cmd
}

func (a *App) runStats(ctx context.Context, cmd *cobra.Command, opts *statsOptions) error {
	if err := checkFailOnUnpriced(opts.failOn); err != nil {
		return err
	}
	if opts.watch.every > 0 && (opts.maxIncrease != "" || opts.failOn != "") {
		return usagef("--watch shows the report again and again; it cannot also fail a check (drop --max-increase and --fail-on)")
	}
	return a.watchLoop(ctx, cmd, opts.watch, func() error {
		var maxIncrease *big.Rat
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
			if opts.top < 1 {
				return usagef("--top must be at least 1")
			}
			if opts.maxIncrease != "" {
				r, ok := new(big.Rat).SetString(strings.TrimSuffix(opts.maxIncrease, "%"))
				if !ok || r.Sign() < 0 {
					return usagef("--max-increase: %q is not a percentage, such as 20%%", opts.maxIncrease)
				}
				maxIncrease = r
			}
			return nil
		})
		if err != nil {
			return err
		}
		a.annotate = format == render.GitHub
		s, span, rs := wd.s, wd.span, wd.rs
		defer rs.close()
		stats, err := a.dashboard(ctx, s, span, rs, opts.top, filter)
		if err != nil {
			return err
		}
		if err := readBaseline(opts.compareTo, func(r io.Reader, label string) (err error) {
			stats.Baseline, err = render.ReadBaseline(r, label)
			return err
		}); err != nil {
			return err
		}
		err = a.emit(s, func(w io.Writer, st render.Style) error {
			return render.StatsReport().Render(format, w, stats, render.Options{Meta: rs.meta, Style: st, PDF: a.pdfOptions(s, "")})
		})
		if err != nil {
			return err
		}
		if err := a.stepSummary(func(w io.Writer) error { return render.StatsMarkdown(w, stats, render.Options{Meta: rs.meta}) }); err != nil {
			return err
		}
		if err := a.unpriced(stats.Unpriced, format, opts.failOn); err != nil {
			return err
		}
		if maxIncrease != nil {
			change, against := stats.SpendIncrease()
			if change.Null() {
				a.warn("--max-increase: " + against + " spent nothing, so there is no increase to check")
			} else if change.Rat().Cmp(maxIncrease) > 0 {
				return budgetError{fmt.Sprintf("budget check failed (--max-increase %s%%): spend rose %s against %s",
					maxIncrease.FloatString(0), strings.TrimPrefix(report.ChangeText(change), "+"), against)}
			}
		}
		return nil
	})
}

// dashboard builds the stats of a window with the billing month's quota
// (when limits are known) and the insights: what stats, export and report
// all show.
func (a *App) dashboard(ctx context.Context, s *settings, span report.Span, rs *reportSource, top int, filter source.Filter) (*report.Stats, error) {
	stats, err := report.BuildStats(ctx, rs.src, rs.tenant, span, s.clock, report.Options{Top: top, Filter: filter, DataStart: a.dataStart(ctx, rs), Money: rs.money})
	if err != nil {
		return nil, err
	}
	limits, err := a.limits(ctx, s, rs, report.Limits{})
	if err != nil {
		return nil, err
	}
	if limits.HasLimits() {
		warnAt, err := s.warnAt("")
		if err != nil {
			return nil, err
		}
		if stats.Quota, err = report.BuildQuota(ctx, rs.src, rs.tenant, s.clock, limits, warnAt, rs.money); err != nil {
			return nil, err
		}
	}
	stats.ComputeInsights()
	return stats, nil
}

// dataStart is when the tenant's data begins: known to the cache; asked of
// a live source that can tell (one record). Unknown (zero) when it cannot
// be had: a report never fails for it.
func (a *App) dataStart(ctx context.Context, rs *reportSource) time.Time {
	if !rs.dataStart.IsZero() {
		return rs.dataStart
	}
	if b, ok := rs.src.(source.Beginning); ok {
		if t, err := b.Oldest(ctx, rs.tenant); err == nil {
			rs.dataStart = t
		} else {
			a.debugf("where the data begins is unknown: %v", err)
		}
	}
	return rs.dataStart
}

// readBaseline opens a --compare-to file, if one was named, for read.
func readBaseline(path string, read func(r io.Reader, label string) error) error {
	if path == "" {
		return nil
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("--compare-to: %w", unwrapPathErr(path, err))
	}
	defer f.Close() //nolint:errcheck // read only
	return read(f, filepath.Base(path))
}
