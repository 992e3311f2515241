package main

import (
	"context"
	"fmt"
	"io"
	"math/big"
	"strings"

	"github.com/spf13/cobra"

	"github.com/nextcore-ai/nextcore/pkg/report"
	"github.com/nextcore-ai/nextcore/pkg/report/render"
	"github.com/nextcore-ai/nextcore/pkg/source"
)

// quotaLimitFlags are the limits given on the command line.
type quotaLimitFlags struct {
	calls, tokens, spend string
}

type quotaOptions struct {
	limits    quotaLimitFlags
	warnAt    string
	failOn    string
	watch     watchFlag
	compareTo string
	format    formatFlag
}

func (a *App) newQuotaCmd() *cobra.Command {
	opts := &quotaOptions{}
	cmd := &cobra.Command{
		Use:   "quota",
		Short: "The billing month against its limits, with the month-end forecast",
		Long: `Show the calendar month so far (in the report's time zone) against the
monthly limits for API calls, tokens and spend, each with its level (ok,
warning, exceeded) and the month-end projection at the month's run-rate.

Limits come from --limit-* flags, else the config file's limits, else the
quota that sync stored in the cache. A metric with no limit is unlimited.

With --fail-on, the command exits with code 3 when the check fails, for CI:
  warning    a metric is at the warning level (--warn-at, default 80%) or over
  exceeded   a metric is at 100% or over
  projected  a metric is exceeded now or by the month-end projection`,
		Example: `  nextcore usage quota --demo
  nextcore usage quota --limit-spend 500 --limit-calls 50000
  nextcore usage quota --fail-on exceeded --format markdown >> "$GITHUB_STEP_SUMMARY"`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runQuota(cmd.Context(), cmd, opts)
		},
	}
	f := cmd.Flags()
	opts.limits.register(cmd)
	opts.format.register(cmd, render.QuotaReport().Formats()...)
	f.StringVar(&opts.warnAt, "warn-at", "", "warning level in percent of a limit (default 80)")
	opts.watch.register(cmd)
	f.StringVar(&opts.compareTo, "compare-to", "", "compare with `FILE`, a saved 'usage quota --format json' report")
	f.StringVar(&opts.failOn, "fail-on", "", "exit 3 when the check fails: warning, exceeded, projected, or unpriced (usage without a price)")
	return cmd
}

func (a *App) runQuota(ctx context.Context, cmd *cobra.Command, opts *quotaOptions) error {
	if opts.watch.every > 0 && (opts.failOn != "") {
		return usagef("--watch shows the report again and again; it cannot also fail a check (drop --fail-on)")
	}
	return a.watchLoop(ctx, cmd, opts.watch, func() error {
		s, err := a.settings(cmd)
		if err != nil {
			return err
		}
		format, err := opts.format.parse()
		if err != nil {
			return err
		}
		a.annotate = format == render.GitHub
		if opts.failOn != "" {
			if _, err := report.ParseFailOn(opts.failOn); err != nil {
				return flagError("--fail-on", err)
			}
		}
		warnAt, err := s.warnAt(opts.warnAt)
		if err != nil {
			return err
		}
		flagLimits, err := opts.limits.parse()
		if err != nil {
			return err
		}
		rs, err := a.openSource(ctx, s)
		if err != nil {
			return err
		}
		defer rs.close()
		limits, err := a.limits(ctx, s, rs, flagLimits)
		if err != nil {
			return err
		}
		q, err := report.BuildQuota(ctx, rs.src, rs.tenant, s.clock, limits, warnAt, rs.money)
		if err != nil {
			return err
		}
		if err := readBaseline(opts.compareTo, func(f io.Reader, label string) (err error) {
			q.Baseline, err = render.ReadQuotaBaseline(f, label)
			return err
		}); err != nil {
			return err
		}
		err = a.emit(s, func(w io.Writer, st render.Style) error {
			return render.QuotaReport().Render(format, w, q, render.Options{Meta: rs.meta, Style: st,
				NoLimitsHint: ": pass --limit-calls, --limit-tokens or --limit-spend, or set limits in the config file"})
		})
		if err != nil {
			return err
		}
		if err := a.stepSummary(func(w io.Writer) error { return render.QuotaMarkdown(w, q, render.Options{Meta: rs.meta}) }); err != nil {
			return err
		}
		if opts.failOn == "unpriced" {
			return a.unpriced(q.Unpriced, format, opts.failOn)
		}
		if err := a.unpriced(q.Unpriced, format, ""); err != nil {
			return err
		}
		if opts.failOn != "" && q.Fails(opts.failOn) {
			return budgetError{quotaFailure(q, opts.failOn)}
		}
		return nil
	})
}

// quotaFailure says which metrics failed the check.
func quotaFailure(q *report.Quota, failOn string) string {
	var parts []string
	for _, m := range q.Metrics {
		if m.Limit == nil {
			continue
		}
		name := m.Noun()
		switch {
		case m.Level.AtLeast(report.LevelExceeded) || (failOn == "warning" && m.Level.AtLeast(report.LevelWarning)):
			parts = append(parts, fmt.Sprintf("%s at %s (%s)", name, report.Pct(m.Percent), m.Level))
		case failOn == "projected" && m.ProjectedLevel.AtLeast(report.LevelExceeded):
			pp := new(big.Rat).Quo(m.Projected, big.NewRat(*m.Limit, 1))
			parts = append(parts, fmt.Sprintf("%s projected at %s of the limit by month end", name, report.Pct(pp.Mul(pp, big.NewRat(100, 1)))))
		}
	}
	return "budget check failed (--fail-on " + failOn + "): " + strings.Join(parts, ", ")
}

func (l *quotaLimitFlags) register(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&l.calls, "limit-calls", "", "monthly limit of API calls")
	f.StringVar(&l.tokens, "limit-tokens", "", "monthly limit of tokens")
	f.StringVar(&l.spend, "limit-spend", "", "monthly spend limit in USD")
}

func (l quotaLimitFlags) parse() (report.Limits, error) {
	var out report.Limits
	var err error
	if out.Calls, err = parseCountLimit("--limit-calls", l.calls); err != nil {
		return out, usageError{err}
	}
	if out.Tokens, err = parseCountLimit("--limit-tokens", l.tokens); err != nil {
		return out, usageError{err}
	}
	if out.Spend, err = parseSpendLimit("--limit-spend", l.spend); err != nil {
		return out, usageError{err}
	}
	return out, nil
}

// limits settles each metric's limit: a flag, else the config file, else the
// quota stored by sync.
func (a *App) limits(ctx context.Context, s *settings, rs *reportSource, fromFlags report.Limits) (report.Limits, error) {
	fromConfig, err := s.configLimits()
	if err != nil {
		return report.Limits{}, err
	}
	var stored report.Limits
	// Every limit given: no need to ask the source (the API would be a
	// request).
	if keeper, ok := rs.src.(source.LimitKeeper); ok && (fromFlags.Calls == nil || fromFlags.Tokens == nil || fromFlags.Spend == nil) {
		l, known, err := keeper.Limits(ctx, rs.tenant)
		if err != nil {
			return report.Limits{}, err
		}
		if known {
			stored = report.Limits{Calls: l.APICalls, Tokens: l.Tokens, Spend: l.Spend}
		}
	}
	out := fromFlags
	for _, l := range []report.Limits{fromConfig, stored} {
		if out.Calls == nil {
			out.Calls = l.Calls
		}
		if out.Tokens == nil {
			out.Tokens = l.Tokens
		}
		if out.Spend == nil {
			out.Spend = l.Spend
		}
	}
	return out, nil
}

// warnAt is the warning threshold: the flag, else config warn_at, else 80.
func (s *settings) warnAt(flag string) (*big.Rat, error) {
	if flag != "" {
		r, err := parsePercent("--warn-at", flag)
		if err != nil {
			return nil, usageError{err}
		}
		return r, nil
	}
	if s.cfg.WarnAt != "" {
		return parsePercent("config warn_at", s.cfg.WarnAt)
	}
	return big.NewRat(report.DefaultWarnAt, 1), nil
}
