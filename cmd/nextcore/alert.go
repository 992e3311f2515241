package main

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/nextcore-ai/nextcore/pkg/notify"
	"github.com/nextcore-ai/nextcore/pkg/report"
	"github.com/nextcore-ai/nextcore/pkg/report/render"
	"github.com/nextcore-ai/nextcore/pkg/source"
)

type alertOptions struct {
	limits     quotaLimitFlags
	mail       mailFlags
	thresholds string
	webhook    string
	dryRun     bool
	anomalies  bool
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
	f.BoolVar(&opts.anomalies, "anomalies", false, "alert on the last 7 days' anomalies too, once each (config alerts.anomalies)")
	opts.mail.register(cmd, "recipients, comma-separated (default: config alerts.email, else smtp.to)")
	return cmd
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
	budgets, err := s.cfg.budgets()
	if err != nil {
		return err
	}
	own := map[string]ConfigBudget{} // budgets with channels of their own
	for _, cb := range s.cfg.Budgets {
		if len(cb.Email) > 0 || cb.Webhook != "" {
			own[strings.TrimSpace(cb.Name)] = cb
		}
	}
	if len(to) == 0 && webhook == "" && len(own) == 0 {
		return usagef("no one to alert: pass --email or --webhook (or set alerts.email, smtp.to or alerts.webhook in the config, or a budget's email or webhook)")
	}
	var from string
	var noSender error // for a budget's own recipients, said when sending to them
	if len(to) > 0 || len(own) > 0 {
		if from, noSender = a.sender(s, &opts.mail); noSender != nil && len(to) > 0 {
			return noSender
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
	anomalies := opts.anomalies || s.cfg.Alerts.Anomalies
	if !limits.HasLimits() && len(budgets) == 0 && !anomalies {
		fmt.Fprintln(a.Stderr, "nextcore: no limits or budgets are set, so there is nothing to alert on (set limits in the config, pass --limit-*, sync the quota, or set a budget: nextcore budget set)")
		return nil
	}
	state, ok := rs.src.(source.AlertLog)
	if !ok {
		// Live from the API: what was sent is still kept in the cache file.
		c, err := openStore(ctx, s.cachePath, a.cacheOptions(true))
		if err != nil {
			return err
		}
		defer c.Close() //nolint:errcheck // the alerts sent were committed already
		state = c
	}
	now := a.now().In(s.loc)
	mailTo := func(to []string, m func() (notify.Message, error)) error {
		if noSender != nil {
			return noSender
		}
		msg, err := m()
		if err != nil {
			return err
		}
		msg.From, msg.To = from, to
		return a.deliver(ctx, s, &opts.mail, msg, false)
	}
	post := func(url string, n int, payload any) error {
		if err := (notify.Webhook{URL: url, UserAgent: "nextcore/" + version, Client: a.HTTP}).Post(ctx, payload); err != nil {
			return err
		}
		fmt.Fprintf(a.Stderr, "posted %d alert(s) to the webhook\n", n)
		return nil
	}
	var errs []error
	if limits.HasLimits() {
		q, err := report.BuildQuota(ctx, rs.src, rs.tenant, s.clock, limits, nil, rs.money)
		if err != nil {
			return err
		}
		var chans []alertChannel[report.Alert]
		if len(to) > 0 {
			chans = append(chans, alertChannel[report.Alert]{"email", func(cs []report.Alert) error {
				return mailTo(to, func() (notify.Message, error) { return alertMessage(q, cs, from, to, now) })
			}})
		}
		if webhook != "" {
			chans = append(chans, alertChannel[report.Alert]{"webhook", func(cs []report.Alert) error {
				return post(webhook, len(cs), render.AlertData(q, cs))
			}})
		}
		errs = append(errs, sendAlerts(ctx, a, state, rs.tenant, q.Period.Start.Format("2006-01"), report.Alerts(q, thresholds), opts.dryRun, chans))
	}
	if len(budgets) > 0 {
		r, err := report.BuildBudgets(ctx, rs.src, rs.tenant, s.clock, budgets, rs.money)
		if err != nil {
			return err
		}
		for i, st := range r.Budgets {
			one := &report.BudgetReport{Tenant: r.Tenant, Clock: r.Clock, Budgets: r.Budgets[i : i+1], CostMode: r.CostMode}
			bto, bhook := to, webhook
			if cb, ok := own[st.Name]; ok {
				bto, bhook = cb.Email, cb.Webhook
			}
			if len(bto) == 0 && bhook == "" {
				fmt.Fprintf(a.Stderr, "nextcore: budget %s has no one to alert: give it an email or webhook, or pass --email or --webhook\n", render.Safe(st.Name))
				continue
			}
			var chans []alertChannel[report.BudgetAlert]
			if len(bto) > 0 {
				chans = append(chans, alertChannel[report.BudgetAlert]{"email", func(cs []report.BudgetAlert) error {
					return mailTo(bto, func() (notify.Message, error) {
						text, html, err := render.BudgetAlertMail(one, cs)
						return notify.Message{Subject: render.BudgetAlertSubject(r.Tenant, cs), Text: text, HTML: html, Date: now,
							MessageID: messageID(fmt.Sprintf("budget%d", i), r.Tenant, from, now)}, err
					})
				}})
			}
			if bhook != "" {
				chans = append(chans, alertChannel[report.BudgetAlert]{"webhook", func(cs []report.BudgetAlert) error {
					return post(bhook, len(cs), render.BudgetAlertData(one, cs))
				}})
			}
			errs = append(errs, sendAlerts(ctx, a, state, rs.tenant, st.AlertPeriod(), st.Alerts(), opts.dryRun, chans))
			if !opts.dryRun {
				errs = append(errs, state.ForgetAlerts(ctx, rs.tenant, st.AlertPeriod(), st.Rearmed()))
			}
		}
	}
	if anomalies && (len(to) > 0 || webhook != "") {
		errs = append(errs, a.anomalyAlerts(ctx, rs, s, state, opts.dryRun, to, webhook, mailTo, post))
	}
	return errors.Join(errs...)
}

// anomalyAlert is an anomaly as an alert: one an episode.
type anomalyAlert struct {
	a    report.Anomaly
	text string
}

func (x anomalyAlert) AlertKey() string  { return "anomaly" }
func (x anomalyAlert) AlertText() string { return x.text }

// anomalyAlerts sends each episode of anomaly of the last 7 days that was
// not dismissed once, to the default channels.
func (a *App) anomalyAlerts(ctx context.Context, rs *reportSource, s *settings, state source.AlertLog, dryRun bool, to []string, webhook string,
	mailTo func([]string, func() (notify.Message, error)) error, post func(string, int, any) error) error {
	span, err := report.Resolve(report.Range{Period: report.Week}, s.clock)
	if err != nil {
		return err
	}
	r, err := report.BuildAnomalies(ctx, rs.src, rs.tenant, s.clock, span, report.AnomalyOptions{}, rs.money)
	if err != nil {
		return err
	}
	if err := markDismissed(ctx, state, r); err != nil {
		return err
	}
	now := a.now().In(s.loc)
	seen := map[string]bool{}
	var errs []error
	for _, an := range r.Anomalies {
		if an.Dismissed || seen[an.Episode] {
			continue
		}
		seen[an.Episode] = true
		one := &report.AnomalyReport{Tenant: r.Tenant, Clock: r.Clock, Span: r.Span, Options: r.Options, Anomalies: []report.Anomaly{an}, CostMode: r.CostMode}
		alert := anomalyAlert{an, render.AnomalyText(an)}
		var chans []alertChannel[anomalyAlert]
		if len(to) > 0 {
			chans = append(chans, alertChannel[anomalyAlert]{"email", func(cs []anomalyAlert) error {
				return mailTo(to, func() (notify.Message, error) {
					text, html, err := render.AnomalyAlertMail(one)
					return notify.Message{Subject: "NextCore alert · " + render.Safe(r.Tenant) + " · " + alert.text, Text: text, HTML: html, Date: now,
						MessageID: messageID("anomaly-"+an.Episode, r.Tenant, "", now)}, err
				})
			}})
		}
		if webhook != "" {
			chans = append(chans, alertChannel[anomalyAlert]{"webhook", func(cs []anomalyAlert) error {
				return post(webhook, 1, render.AnomaliesData(one))
			}})
		}
		errs = append(errs, sendAlerts(ctx, a, state, rs.tenant, "anomaly:"+an.Episode, []anomalyAlert{alert}, dryRun, chans))
	}
	return errors.Join(errs...)
}

// alertChannel is a way alerts go out: its name in the log of alerts sent,
// and how to send them.
type alertChannel[A any] struct {
	name string
	send func([]A) error
}

// sendAlerts sends each channel the alerts of the period it has not had,
// and logs them; a channel that fails is tried again by the next run. A
// dry run says what it would send.
func sendAlerts[A interface {
	AlertKey() string
	AlertText() string
}](ctx context.Context, a *App, state source.AlertLog, tenant, period string, all []A, dryRun bool, channels []alertChannel[A]) error {
	sent, err := state.AlertsSent(ctx, tenant, period)
	if err != nil {
		return err
	}
	var errs []error
	for _, ch := range channels {
		todo := report.Unsent(all, sent, ch.name)
		if len(todo) == 0 {
			continue
		}
		if dryRun {
			fmt.Fprintf(a.Stdout, "would send by %s:\n", ch.name)
			for _, c := range todo {
				fmt.Fprintf(a.Stdout, "  %s\n", c.AlertText())
			}
			continue
		}
		if err := ch.send(todo); err != nil {
			errs = append(errs, fmt.Errorf("%s alert not sent (the next run tries again): %w", ch.name, err))
			continue
		}
		keys := make([]string, len(todo))
		for i, c := range todo {
			keys[i] = c.AlertKey()
		}
		if err := state.MarkAlertsSent(ctx, tenant, period, ch.name, keys, a.now()); err != nil {
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

// alertMessage is the email of a run's new alerts: the most severe in the
// subject, all of them and the month's quota in the body.
func alertMessage(q *report.Quota, alerts []report.Alert, from string, to []string, now time.Time) (notify.Message, error) {
	text, err := render.AlertText(q, alerts)
	if err != nil {
		return notify.Message{}, err
	}
	body, err := render.AlertHTML(q, alerts)
	if err != nil {
		return notify.Message{}, err
	}
	return notify.Message{From: from, To: to, Subject: render.AlertSubject(q, alerts), Text: text, HTML: body,
		Date: now, MessageID: messageID("alert", q.Tenant, from, now)}, nil
}
