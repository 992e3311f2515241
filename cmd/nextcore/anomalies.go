package main

import (
	"context"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/nextcore-ai/nextcore/pkg/report"
	"github.com/nextcore-ai/nextcore/pkg/report/render"
	"github.com/nextcore-ai/nextcore/pkg/source"
)

type anomaliesOptions struct {
	window  windowFlags
	by      []string
	drivers []string
	metrics []string
	weeks   int
	format  formatFlag
}

func (a *App) newAnomaliesCmd() *cobra.Command {
	opts := &anomaliesOptions{}
	cmd := &cobra.Command{
		Use:   "anomalies",
		Short: "Days (or hours) of unexpected spend or calls, with what drove them",
		Long: `Judge each day of the window (each hour with --by hour) against the same
weekday (and hour) of the weeks before it, and list those whose cost or
calls were above the expected range, by the excess (actual − expected),
each with its drivers: the members of model, key, user, project and
provider (--drivers) whose own use was most above their expected.

The expected value is a robust line through the samples (Theil–Sen: steady
growth is expected, not flagged), the range ± 4 times their spread around
it (the median distance × 1.4826), and never narrower than ± a quarter of
the expected value, $1 of cost, 10 calls or 4 square roots of the calls. A day is judged once it is
over, and when at least 4 of its samples come after the first record: too
little history is said, not flagged. --by model (key, project, …) judges
each member too.`,
		Example: `  nextcore usage anomalies --demo
  nextcore usage anomalies --period week --by hour
  nextcore usage anomalies --by key --by model --format json`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runAnomalies(cmd.Context(), cmd, opts)
		},
	}
	opts.window.register(cmd)
	opts.format.register(cmd, render.AnomaliesReport().Formats()...)
	f := cmd.Flags()
	f.StringSliceVar(&opts.by, "by", nil, "hour (judge each hour), or a dimension whose members are judged too: model, key, user, region, project, tag, provider")
	f.StringSliceVar(&opts.drivers, "drivers", nil, "dimensions searched for drivers (default model,key,user,project,provider)")
	f.StringSliceVar(&opts.metrics, "metric", nil, "cost and/or calls (default both)")
	f.IntVar(&opts.weeks, "weeks", 8, "weeks of history each day is judged against")
	return cmd
}

func (a *App) runAnomalies(ctx context.Context, cmd *cobra.Command, opts *anomaliesOptions) error {
	var format render.Format
	ao := report.AnomalyOptions{Weeks: opts.weeks}
	wd, err := a.openWindowed(ctx, cmd, &opts.window, func(*settings) error {
		var err error
		if format, err = opts.format.parse(); err != nil {
			return err
		}
		if opts.weeks < 2 || opts.weeks > 52 {
			return usagef("--weeks: %d is not from 2 to 52", opts.weeks)
		}
		ao.MinWeeks = min(4, opts.weeks)
		for _, b := range opts.by {
			if strings.ToLower(b) == "hour" {
				ao.Hourly = true
				continue
			}
			d, err := anomalyDim("--by", b)
			if err != nil {
				return err
			}
			ao.Dims = append(ao.Dims, d)
		}
		for _, b := range opts.drivers {
			d, err := anomalyDim("--drivers", b)
			if err != nil {
				return err
			}
			ao.DriverDims = append(ao.DriverDims, d)
		}
		for _, m := range opts.metrics {
			if m != report.MetricCost && m != report.MetricCalls {
				return usagef("--metric: unknown metric %q (use cost or calls)", m)
			}
			ao.Metrics = append(ao.Metrics, m)
		}
		return nil
	})
	if err != nil {
		return err
	}
	s, span, rs := wd.s, wd.span, wd.rs
	defer rs.close()
	r, err := report.BuildAnomalies(ctx, rs.src, rs.tenant, s.clock, span, ao, rs.money)
	if err != nil {
		return err
	}
	return a.emit(s, func(w io.Writer, st render.Style) error {
		return render.AnomaliesReport().Render(format, w, r, render.Options{Meta: rs.meta, Style: st})
	})
}

// anomalyDim reads a dimension of --by or --drivers.
func anomalyDim(flag, v string) (source.Dim, error) {
	d, ok := report.DimOf(strings.ToLower(v))
	if !ok || d == source.DimStatus {
		return 0, usagef("%s: unknown dimension %q (use model, key, user, region, project, tag or provider)", flag, v)
	}
	return d, nil
}
