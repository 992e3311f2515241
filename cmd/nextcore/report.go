package main

import (
	"bytes"
	"context"
	"strings"

	"github.com/spf13/cobra"

	"github.com/nextcore-ai/nextcore/pkg/notify"
	"github.com/nextcore-ai/nextcore/pkg/report/render"
)

type reportOptions struct {
	window windowFlags
	mail   mailFlags
	attach string
	dryRun bool
	top    int
	paper  string
}

func (a *App) newReportCmd() *cobra.Command {
	opts := &reportOptions{}
	cmd := &cobra.Command{
		Use:   "report",
		Short: "Mail the dashboard: text and HTML, with the PDF or CSV attached",
		Long: `Mail a window's dashboard to people: a plain-text and an inline-styled HTML
part with the key metrics and their changes, the top models, the cost
breakdown, the quota and the insights; --attach pdf,csv adds the export's PDF
and daily CSV.

The mail server is NEXTCORE_SMTP_URL or smtp.url in the config:
  smtp://user:pass@host:587    STARTTLS, required unless --smtp-insecure
  smtps://user:pass@host:465   TLS from the start
The password is never printed. A temporary refusal (4xx) is retried; a
permanent one fails with the server's reply. --dry-run writes the message
(.eml) to -o FILE or standard output instead of sending it.`,
		Example: `  nextcore usage report --period week --as-of 2026-11-23 --email finance@acme.example --attach pdf
  # crontab: every Monday at 07:00, the week that ended yesterday
  0 7 * * 1  nextcore usage sync && nextcore usage report --period week --as-of "$(date -d yesterday +\%F)" --attach pdf
  nextcore usage report --period week --dry-run -o week.eml`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runReport(cmd.Context(), cmd, opts)
		},
	}
	opts.window.register(cmd)
	opts.mail.register(cmd, "recipients, comma-separated (default: config smtp.to)")
	f := cmd.Flags()
	f.StringVar(&opts.attach, "attach", "", "attachments, comma-separated: pdf, csv")
	f.BoolVar(&opts.dryRun, "dry-run", false, "write the message instead of sending it")
	f.IntVar(&opts.top, "top", 5, "how many models the top list shows")
	f.StringVar(&opts.paper, "paper", "a4", "paper size of an attached PDF: a4 or letter")
	return cmd
}

func (a *App) runReport(ctx context.Context, cmd *cobra.Command, opts *reportOptions) error {
	var attach []string
	var to []string
	wd, err := a.openWindowed(ctx, cmd, &opts.window, func(*settings) error {
		for _, x := range strings.Split(opts.attach, ",") {
			switch x = strings.TrimSpace(strings.ToLower(x)); x {
			case "":
			case "pdf", "csv":
				attach = append(attach, x)
			default:
				return usagef("unknown attachment %q (use pdf, csv)", x)
			}
		}
		paper := strings.ToLower(opts.paper)
		if paper != "a4" && paper != "letter" {
			return usagef("unknown --paper %q (use a4 or letter)", opts.paper)
		}
		return nil
	})
	if err != nil {
		return err
	}
	s, span, rs := wd.s, wd.span, wd.rs
	defer rs.close()
	if to, err = opts.mail.recipients(s.cfg.SMTP.To); err != nil {
		return err
	}
	if len(to) == 0 {
		return usagef("no recipients: pass --email a@x,b@y or set smtp.to in the config")
	}
	from, err := a.sender(s, &opts.mail)
	if err != nil {
		return err
	}
	stats, err := a.dashboard(ctx, s, span, rs, opts.top, nil)
	if err != nil {
		return err
	}
	text, err := render.EmailText(stats, rs.meta)
	if err != nil {
		return err
	}
	html, err := render.EmailHTML(stats, rs.meta)
	if err != nil {
		return err
	}
	now := a.now().In(s.loc) // the Date header speaks the report's zone
	m := notify.Message{From: from, To: to, Subject: render.EmailSubject(stats), Text: text, HTML: html,
		Date: now, MessageID: messageID("report", rs.tenant, from, now)}
	base := "nextcore-" + rs.tenant + "-" + span.Days[0].String() + "_" + span.Days[len(span.Days)-1].String()
	for _, x := range attach {
		var b bytes.Buffer
		switch x {
		case "pdf":
			paper := render.A4
			if strings.ToLower(opts.paper) == "letter" {
				paper = render.Letter
			}
			if err := render.StatsPDF(&b, stats, render.Options{Meta: rs.meta, PDF: a.pdfOptions(s, paper)}); err != nil {
				return err
			}
			m.Attachments = append(m.Attachments, notify.Attachment{Name: base + ".pdf", ContentType: "application/pdf", Data: b.Bytes()})
		case "csv":
			if err := render.DailyCSV(&b, stats); err != nil {
				return err
			}
			m.Attachments = append(m.Attachments, notify.Attachment{Name: base + "-daily.csv", ContentType: "text/csv", Data: b.Bytes()})
		}
	}
	return a.deliver(ctx, s, &opts.mail, m, opts.dryRun)
}
