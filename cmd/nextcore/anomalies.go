package main

import (
	"context"
	"fmt"
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
	cmd.AddCommand(&cobra.Command{
		Use:   "dismiss ID…",
		Short: "Silence anomalies: no alert for them (or the run of days they begin or belong to)",
		Long: `Dismiss the anomalies of the IDs that usage anomalies shows: usage alert
sends nothing for them, and the report marks them dismissed. Dismissing
an anomaly dismisses its episode: the run of anomalies of the same metric
and group on consecutive days it belongs to. Kept in the cache.`,
		Example: `  nextcore usage anomalies dismiss 601dad8e73`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usagef("anomalies dismiss takes the IDs of anomalies (usage anomalies shows them)")
			}
			for _, id := range args {
				if !report.IsAnomalyID(id) {
					return usagef("%q is not an anomaly ID (10 hexadecimal digits, as usage anomalies shows them)", id)
				}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.dismissAnomalies(cmd.Context(), cmd, args)
		},
	})
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
	if log, ok := rs.src.(source.AlertLog); ok {
		if err := markDismissed(ctx, log, r); err != nil {
			return err
		}
	}
	return a.emit(s, func(w io.Writer, st render.Style) error {
		return render.AnomaliesReport().Render(format, w, r, render.Options{Meta: rs.meta, Style: st})
	})
}

// dismissAnomalies marks anomalies dismissed in the cache: the report
// dismisses the episode of any anomaly dismissed (markDismissed).
func (a *App) dismissAnomalies(ctx context.Context, cmd *cobra.Command, ids []string) error {
	s, err := a.settings(cmd)
	if err != nil {
		return err
	}
	rs, err := a.openSource(ctx, s)
	if err != nil {
		return err
	}
	defer rs.close()
	log, ok := rs.src.(source.AlertLog)
	if !ok {
		c, err := openStore(ctx, s.cachePath, a.cacheOptions(true))
		if err != nil {
			return err
		}
		defer c.Close() //nolint:errcheck // what was written is committed
		log = c
	}
	for _, id := range ids {
		if err := log.MarkAlertsSent(ctx, rs.tenant, "anomaly:"+id, "dismissed", []string{"dismissed"}, a.now()); err != nil {
			return err
		}
		fmt.Fprintf(a.Stderr, "dismissed anomaly %s\n", id)
	}
	return nil
}

// markDismissed marks the anomalies whose episode has a dismissed one.
func markDismissed(ctx context.Context, log source.AlertLog, r *report.AnomalyReport) error {
	dismissed := map[string]bool{} // by episode
	for _, an := range r.Anomalies {
		if dismissed[an.Episode] {
			continue
		}
		sent, err := log.AlertsSent(ctx, r.Tenant, "anomaly:"+an.ID)
		if err != nil {
			return err
		}
		dismissed[an.Episode] = sent["dismissed|dismissed"]
	}
	for i := range r.Anomalies {
		r.Anomalies[i].Dismissed = dismissed[r.Anomalies[i].Episode]
	}
	return nil
}

// anomalyDim reads a dimension of --by or --drivers.
func anomalyDim(flag, v string) (source.Dim, error) {
	d, ok := report.DimOf(strings.ToLower(v))
	if !ok || d == source.DimStatus {
		return 0, usagef("%s: unknown dimension %q (use model, key, user, region, project, tag or provider)", flag, v)
	}
	return d, nil
}
