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
	q, err := report.BuildQuota(ctx, rs.src, rs.tenant, s.clock, limits, nil, rs.money)
	if err != nil {
		return err
	}
	all := report.Alerts(q, thresholds)
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
		send func([]report.Alert) error
	}
	var channels []channel
	if len(to) > 0 {
		channels = append(channels, channel{"email", func(cs []report.Alert) error {
			m, err := alertMessage(q, cs, from, to, a.now().In(s.loc))
			if err != nil {
				return err
			}
			return a.deliver(ctx, s, &opts.mail, m, false)
		}})
	}
	if webhook != "" {
		channels = append(channels, channel{"webhook", func(cs []report.Alert) error {
			if err := (notify.Webhook{URL: webhook, UserAgent: "nextcore/" + version, Client: a.HTTP}).Post(ctx, render.AlertData(q, cs)); err != nil {
				return err
			}
			fmt.Fprintf(a.Stderr, "posted %d alert(s) to the webhook\n", len(cs))
			return nil
		}})
	}
	var errs []error
	for _, ch := range channels {
		todo := report.Unsent(all, sent, ch.name)
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
