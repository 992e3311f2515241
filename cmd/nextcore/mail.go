package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/mail"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/nextcore-ai/nextcore/pkg/notify"
)

// mailFlags are how a command mails: recipients, sender, TLS.
type mailFlags struct {
	to       string
	from     string
	insecure bool
	retryFor string
}

// defaultRetryFor is how long temporary refusals are tried again: longer
// than greylisting's usual 5 minutes; a cron job can wait.
const defaultRetryFor = 10 * time.Minute

func (m *mailFlags) register(cmd *cobra.Command, toHelp string) {
	f := cmd.Flags()
	f.StringVar(&m.to, "email", "", toHelp)
	f.StringVar(&m.from, "mail-from", "", "sender address (env NEXTCORE_SMTP_FROM, config smtp.from)")
	f.BoolVar(&m.insecure, "smtp-insecure", false, "send in plain text when the server offers no STARTTLS")
	f.StringVar(&m.retryFor, "mail-retry-for", "", "try a temporary refusal (4xx, greylisting) again for this `LONG`, such as 30m (config smtp.retry_for; default 10m; 0 not at all)")
}

// recipients are the flag's list, else the config's.
func (m *mailFlags) recipients(fallback []string) ([]string, error) {
	var list []string
	if m.to != "" {
		list = strings.Split(m.to, ",")
	} else {
		list = fallback
	}
	var out []string
	for _, a := range list {
		a = strings.TrimSpace(a)
		if a == "" {
			continue
		}
		if _, err := mail.ParseAddress(a); err != nil {
			return nil, usagef("bad email address %q", a)
		}
		out = append(out, a)
	}
	return out, nil
}

// sender is the flag, NEXTCORE_SMTP_FROM or smtp.from.
func (a *App) sender(s *settings, m *mailFlags) (string, error) {
	from := firstOf(m.from, a.env("NEXTCORE_SMTP_FROM"), s.cfg.SMTP.From)
	if from == "" {
		return "", usagef("no sender: pass --mail-from, set NEXTCORE_SMTP_FROM, or smtp.from in the config")
	}
	if _, err := mail.ParseAddress(from); err != nil {
		return "", usagef("bad sender address %q", from)
	}
	return from, nil
}

// smtp is the mail server: NEXTCORE_SMTP_URL, else config smtp.url.
func (a *App) smtp(s *settings, m *mailFlags) (notify.SMTP, error) {
	raw := firstOf(a.env("NEXTCORE_SMTP_URL"), s.cfg.SMTP.URL)
	if raw == "" {
		return notify.SMTP{}, usagef("no mail server: set NEXTCORE_SMTP_URL (smtp://user:pass@host:587) or smtp.url in the config")
	}
	u, err := notify.ParseSMTPURL(raw)
	if err != nil {
		return notify.SMTP{}, usageError{err}
	}
	retryFor := defaultRetryFor
	switch {
	case m.retryFor != "":
		if retryFor, err = parseRetryFor("--mail-retry-for", m.retryFor); err != nil {
			return notify.SMTP{}, usageError{err}
		}
	case s.cfg.SMTP.RetryFor != "":
		if retryFor, err = parseRetryFor("smtp.retry_for", s.cfg.SMTP.RetryFor); err != nil {
			return notify.SMTP{}, err
		}
	}
	return notify.SMTP{URL: u, Insecure: m.insecure || s.cfg.SMTP.Insecure, TLS: a.SMTPTLS, RetryFor: retryFor, Sleep: a.Sleep, Timeout: 30 * time.Second,
		Debug: a.debugf, Waiting: func(refusal error, wait time.Duration) {
			fmt.Fprintf(a.Stderr, "nextcore: %v; trying again in %s\n", refusal, wait)
		}}, nil
}

// parseRetryFor reads how long to retry temporary refusals: a duration
// (10m, 1h), 0 for not at all.
func parseRetryFor(name, v string) (time.Duration, error) {
	if v == "0" {
		return 0, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 || d > 24*time.Hour {
		return 0, fmt.Errorf("%s: %q is not a duration up to 24h, such as 10m", name, v)
	}
	return d, nil
}

// messageID is a Message-ID for a message sent now by nextcore.
func messageID(kind, tenant, from string, now time.Time) string {
	domain := "nextcore.invalid"
	if i := strings.LastIndexByte(from, '@'); i >= 0 {
		domain = strings.Trim(from[i+1:], "> ")
	}
	return fmt.Sprintf("nextcore.%s.%s.%d@%s", kind, tenant, now.UnixNano(), domain)
}

// deliver sends m, or with dry-run writes it (as .eml) to -o or standard output.
func (a *App) deliver(ctx context.Context, s *settings, mf *mailFlags, m notify.Message, dryRun bool) error {
	if dryRun {
		var b bytes.Buffer
		if err := notify.WriteEML(&b, m); err != nil {
			return err
		}
		if out := s.output; out != "" && out != "-" {
			if _, err := writeFile(out, true, func(w io.Writer) error { _, err := w.Write(b.Bytes()); return err }); err != nil {
				return err
			}
			fmt.Fprintf(a.Stderr, "wrote %s (not sent: --dry-run)\n", out)
			return nil
		}
		_, err := a.Stdout.Write(b.Bytes())
		return err
	}
	cfg, err := a.smtp(s, mf)
	if err != nil {
		return err
	}
	if err := notify.Send(ctx, cfg, m); err != nil {
		return err
	}
	fmt.Fprintf(a.Stderr, "sent %q to %s via %s://%s\n", m.Subject, strings.Join(m.To, ", "), cfg.URL.Scheme, cfg.URL.Host)
	return nil
}
