package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/nextcore-ai/nextcore/pkg/report"
)

// windowFlags are --period and --from/--to, shared by every windowed report.
type windowFlags struct {
	period, from, to string
}

func (w *windowFlags) register(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVarP(&w.period, "period", "p", "", "today, week (7 days), month (30 days, the default) or year (365 days)")
	f.StringVar(&w.from, "from", "", "first day of a custom range (YYYY-MM-DD)")
	f.StringVar(&w.to, "to", "", "last day of a custom range (YYYY-MM-DD; default today)")
}

// span resolves the flags on the clock; every mistake is a usage error.
func (w *windowFlags) span(clock report.Clock) (report.Span, error) {
	var r report.Range
	if w.period != "" {
		if w.from != "" || w.to != "" {
			return report.Span{}, usagef("--period cannot be combined with --from/--to")
		}
		p, err := report.ParsePeriod(w.period)
		if err != nil {
			return report.Span{}, usagef("unknown period %q (use today, week, month or year, or --from/--to)", w.period)
		}
		r.Period = p
	}
	if w.from != "" {
		d, err := report.ParseDate(w.from)
		if err != nil {
			return report.Span{}, usagef("--from: %v", err)
		}
		r.From = &d
	}
	if w.to != "" {
		d, err := report.ParseDate(w.to)
		if err != nil {
			return report.Span{}, usagef("--to: %v", err)
		}
		r.To = &d
	}
	if r.To != nil && r.From == nil {
		return report.Span{}, usagef("--to needs --from")
	}
	span, err := report.Resolve(r, clock)
	if err != nil {
		return report.Span{}, flagError("--from/--to", err)
	}
	return span, nil
}

// windowed is what a windowed report starts from: settings, the span, and
// the open source of usage. The caller closes rs.
type windowed struct {
	s    *settings
	span report.Span
	rs   *reportSource
}

// openWindowed settles the settings and the window, checks the command's own
// flags (check, before anything is opened), and opens the source.
func (a *App) openWindowed(ctx context.Context, cmd *cobra.Command, w *windowFlags, check func(*settings) error) (*windowed, error) {
	s, err := a.settings(cmd)
	if err != nil {
		return nil, err
	}
	if err := check(s); err != nil {
		return nil, err
	}
	span, err := w.span(s.clock)
	if err != nil {
		return nil, err
	}
	rs, err := a.openSource(ctx, s)
	if err != nil {
		return nil, err
	}
	return &windowed{s, span, rs}, nil
}
