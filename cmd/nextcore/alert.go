package main

import (
	"context"
	"errors"
	"fmt"
	"html"
	"math/big"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/nextcore-ai/nextcore/pkg/notify"
	"github.com/nextcore-ai/nextcore/pkg/report"
	"github.com/nextcore-ai/nextcore/pkg/report/render"
	"github.com/nextcore-ai/nextcore/pkg/source"
	"github.com/nextcore-ai/nextcore/pkg/source/cache"
)

type alertOptions struct {
	limits     quotaLimitFlags
	mail       mailFlags
	thresholds string
	webhook    string
	dryRun     bool
}

func (a *App) newAlertCmd() *cobra.Command {
	opts := &alertOptions{}
	cmd := &cobra.Command{
		Use:   "alert",
		Short: "Send budget alerts, each once per billing month",
		Long: `Check the billing month against its limits and send an alert for each
threshold crossed (by default 50, 80 and 100 % of each limit) and for a
month-end forecast over 100 %, by email and/or as a JSON POST to a webhook.

What was sent is remembered in the cache per billing month and channel, so
an hourly cron job alerts once, not hourly; a send that fails is tried again
by the next run. A run with nothing new to say prints nothing. --dry-run
shows what would be sent, and sends and remembers nothing.`,
		Example: `  # crontab: sync, then alert, every hour
  15 * * * *  nextcore usage sync && nextcore usage alert --email finance@acme.example
  nextcore usage alert --webhook https://hooks.example.com/nextcore --thresholds 75,90,100
  nextcore usage alert --dry-run`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runAlert(cmd.Context(), cmd, opts)
		},
	}
	f := cmd.Flags()
	opts.limits.register(cmd)
	f.StringVar(&opts.thresholds, "thresholds", "", "percent of each limit that alerts, comma-separated (default 50,80,100; config alerts.thresholds)")
	f.StringVar(&opts.webhook, "webhook", "", "POST each alert as JSON to this URL (config alerts.webhook)")
	f.BoolVar(&opts.dryRun, "dry-run", false, "show what would be sent; send and remember nothing")
	opts.mail.register(cmd, "recipients, comma-separated (default: config alerts.email, else smtp.to)")
	return cmd
}

// crossing is one alert: a metric past a threshold, or its forecast past 100 %.
type crossing struct {
	Key       string        `json:"key"` // metric:threshold or metric:forecast
	Metric    string        `json:"metric"`
	Kind      string        `json:"kind"` // threshold or forecast
	Threshold report.Number `json:"threshold"`
	Percent   report.Number `json:"percent"`
	Used      report.Number `json:"used"`
	Limit     report.Number `json:"limit"`
	Projected report.Number `json:"projected"`
	Text      string        `json:"message"`
	metric    report.QuotaMetric
}

func (a *App) runAlert(ctx context.Context, cmd *cobra.Command, opts *alertOptions) error {
	s, err := a.settings(cmd)
	if err != nil {
		return err
	}
	flagLimits, err := opts.limits.parse()
	if err != nil {
		return err
	}
	thresholds, err := parseThresholds(firstOf(opts.thresholds, strings.Join(s.cfg.Alerts.Thresholds, ",")))
	if err != nil {
		return err
	}
	fallback := s.cfg.Alerts.Email
	if len(fallback) == 0 {
		fallback = s.cfg.SMTP.To
	}
	to, err := opts.mail.recipients(fallback)
	if err != nil {
		return err
	}
	webhook := firstOf(opts.webhook, s.cfg.Alerts.Webhook)
	if len(to) == 0 && webhook == "" {
		return usagef("no one to alert: pass --email or --webhook (or set alerts.email, smtp.to or alerts.webhook in the config)")
	}
	var from string
	if len(to) > 0 {
		if from, err = a.sender(s, &opts.mail); err != nil {
			return err
		}
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
	if !limits.HasLimits() {
		fmt.Fprintln(a.Stderr, "nextcore: no limits are set, so there is nothing to alert on (set limits in the config, pass --limit-*, or sync the quota)")
		return nil
	}
	q, err := report.BuildQuota(ctx, rs.src, rs.tenant, s.clock, limits, nil)
	if err != nil {
		return err
	}
	all := crossings(q, thresholds)
	period := q.Period.Start.Format("2006-01")
	state, ok := rs.src.(source.AlertLog)
	if !ok {
		// Live from the API: what was sent is still kept in the cache file.
		c, err := cache.Open(ctx, s.cachePath, a.cacheOptions(true))
		if err != nil {
			return err
		}
		defer c.Close() //nolint:errcheck // the alerts sent were committed already
		state = c
	}
	sent, err := state.AlertsSent(ctx, rs.tenant, period)
	if err != nil {
		return err
	}
	type channel struct {
		name string
		send func([]crossing) error
	}
	var channels []channel
	if len(to) > 0 {
		channels = append(channels, channel{"email", func(cs []crossing) error {
			return a.deliver(ctx, s, &opts.mail, alertMessage(q, cs, from, to, a.now().In(s.loc)), false)
		}})
	}
	if webhook != "" {
		channels = append(channels, channel{"webhook", func(cs []crossing) error {
			payload := map[string]any{"tenant": rs.tenant, "billingMonth": period, "alerts": cs, "quota": render.QuotaData(q)}
			if err := (notify.Webhook{URL: webhook, UserAgent: "nextcore/" + version, Client: a.HTTP}).Post(ctx, payload); err != nil {
				return err
			}
			fmt.Fprintf(a.Stderr, "posted %d alert(s) to the webhook\n", len(cs))
			return nil
		}})
	}
	var errs []error
	for _, ch := range channels {
		var todo []crossing
		for _, c := range all {
			if !sent[c.Key+"|"+ch.name] {
				todo = append(todo, c)
			}
		}
		if len(todo) == 0 {
			continue
		}
		if opts.dryRun {
			fmt.Fprintf(a.Stdout, "would send by %s:\n", ch.name)
			for _, c := range todo {
				fmt.Fprintf(a.Stdout, "  %s\n", c.Text)
			}
			continue
		}
		if err := ch.send(todo); err != nil {
			errs = append(errs, fmt.Errorf("%s alert not sent (the next run tries again): %w", ch.name, err))
			continue
		}
		keys := make([]string, len(todo))
		for i, c := range todo {
			keys[i] = c.Key
		}
		if err := state.MarkAlertsSent(ctx, rs.tenant, period, ch.name, keys, a.now()); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// parseThresholds reads "50,80,100".
func parseThresholds(s string) ([]*big.Rat, error) {
	if s == "" {
		s = "50,80,100"
	}
	var out []*big.Rat
	for _, part := range strings.Split(s, ",") {
		r, err := parsePercent("--thresholds", strings.TrimSpace(part))
		if err != nil {
			// Thresholds may exceed 100 (an alert at 120 %).
			r, ok := new(big.Rat).SetString(strings.TrimSuffix(strings.TrimSpace(part), "%"))
			if !ok || r.Sign() <= 0 {
				return nil, usageError{err}
			}
			out = append(out, r)
			continue
		}
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Cmp(out[j]) < 0 })
	return out, nil
}

// crossings lists every alert the month has reached so far.
func crossings(q *report.Quota, thresholds []*big.Rat) []crossing {
	var out []crossing
	for _, m := range q.Metrics {
		if m.Limit == nil {
			continue
		}
		base := crossing{Metric: m.Key, Percent: report.Nearest(m.Percent), metric: m,
			Used: amount(m, m.Used), Limit: amount(m, *m.Limit), Projected: projectedAmount(m)}
		for _, t := range thresholds {
			if m.Percent.Cmp(t) >= 0 {
				c := base
				c.Kind, c.Threshold = "threshold", report.Nearest(t)
				c.Key = m.Key + ":" + t.FloatString(0)
				if !t.IsInt() {
					c.Key = m.Key + ":" + report.Nearest(t).String()
				}
				c.Text = fmt.Sprintf("%s passed %s%% of the %s limit: %s", m.Label, c.Threshold, q.Period.Start.Format("January"), report.Pct(m.Percent))
				out = append(out, c)
			}
		}
		if m.ProjectedLevel == report.LevelExceeded {
			c := base
			c.Kind, c.Key = "forecast", m.Key+":forecast"
			pp := new(big.Rat).Quo(m.Projected, new(big.Rat).SetInt64(*m.Limit))
			c.Text = fmt.Sprintf("%s is on course for %s of the %s limit by month end", m.Label, report.Pct(pp.Mul(pp, big.NewRat(100, 1))), q.Period.Start.Format("January"))
			out = append(out, c)
		}
	}
	return out
}

func amount(m report.QuotaMetric, v int64) report.Number {
	return render.QuotaAmount(m, new(big.Rat).SetInt64(v))
}

func projectedAmount(m report.QuotaMetric) report.Number { return render.QuotaAmount(m, m.Projected) }

// alertMessage is the email of a run's new alerts: the most severe in the
// subject, all of them and the month's quota in the body.
func alertMessage(q *report.Quota, cs []crossing, from string, to []string, now time.Time) notify.Message {
	top := cs[len(cs)-1]
	for _, c := range cs {
		if c.Kind == "threshold" && (top.Kind == "forecast" || c.Threshold.Rat().Cmp(top.Threshold.Rat()) > 0) {
			top = c
		}
	}
	var text strings.Builder
	var items strings.Builder
	for _, c := range cs {
		text.WriteString("• " + c.Text + "\n")
		items.WriteString("<li>" + html.EscapeString(c.Text) + "</li>")
	}
	text.WriteString("\n")
	var quota strings.Builder
	_ = render.QuotaTable(&quota, q, render.Options{Style: render.Style{Width: 78}}) // a Builder does not fail
	text.WriteString(quota.String())
	text.WriteString("\n-- \nSent by nextcore usage alert. Each alert is sent once per billing month.\n")
	body := `<!DOCTYPE html><html><head><meta charset="utf-8"></head><body style="font-family:Helvetica,Arial,sans-serif;color:#111827">` +
		`<h2 style="font-size:18px;margin:0 0 8px">NextCore budget alert · ` + html.EscapeString(q.Tenant) + `</h2>` +
		`<ul style="font-size:14px;line-height:1.5;color:#dc2626">` + items.String() + `</ul>` +
		`<pre style="font-size:12px;background:#f3f4f6;padding:10px">` + html.EscapeString(quota.String()) + `</pre>` +
		`<p style="font-size:11px;color:#9ca3af">Sent by nextcore usage alert. Each alert is sent once per billing month.</p></body></html>`
	return notify.Message{
		From: from, To: to,
		Subject:   "NextCore alert · " + q.Tenant + " · " + top.Text,
		Text:      text.String(),
		HTML:      body,
		Date:      now,
		MessageID: messageID("alert", q.Tenant, from, now),
	}
}
