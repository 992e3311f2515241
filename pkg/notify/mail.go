// Package notify delivers reports and alerts: email over SMTP (through
// github.com/wneessen/go-mail) and JSON webhooks.
package notify

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"time"

	mail "github.com/wneessen/go-mail"
)

// SMTP says how to reach the mail server.
type SMTP struct {
	URL      *url.URL // smtp://user:pass@host:587 (STARTTLS) or smtps://user:pass@host:465 (implicit TLS)
	Insecure bool     // allow plain text when the server offers no STARTTLS
	TLS      *tls.Config
	Timeout  time.Duration
	Retries  int // further attempts after a temporary (4xx) refusal
	Sleep    func(context.Context, time.Duration) error
	// Debug, when set, hears what Send does (never the password).
	Debug func(format string, args ...any)
}

func (cfg SMTP) debug(format string, args ...any) {
	if cfg.Debug != nil {
		cfg.Debug(format, args...)
	}
}

// ParseSMTPURL reads NEXTCORE_SMTP_URL or smtp.url. Errors never repeat the
// password.
func ParseSMTPURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, errors.New("bad SMTP URL (want smtp://user:pass@host:587 or smtps://user:pass@host:465)")
	}
	if u.Scheme != "smtp" && u.Scheme != "smtps" {
		return nil, fmt.Errorf("bad SMTP URL %s: the scheme must be smtp or smtps", u.Redacted())
	}
	if u.Hostname() == "" {
		return nil, fmt.Errorf("bad SMTP URL %s: no host", u.Redacted())
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("bad SMTP URL %s: bad port", u.Redacted())
		}
	}
	return u, nil
}

// Attachment is a file sent with a message.
type Attachment struct {
	Name        string
	ContentType string
	Data        []byte
}

// Message is an email with a plain-text and an HTML part.
type Message struct {
	From        string
	To          []string
	Subject     string
	Text        string
	HTML        string
	Attachments []Attachment
	Date        time.Time
	MessageID   string // without angle brackets
}

func (m Message) build() (*mail.Msg, error) {
	msg := mail.NewMsg(mail.WithNoDefaultUserAgent())
	if err := msg.From(m.From); err != nil {
		return nil, fmt.Errorf("bad sender %q: %w", m.From, err)
	}
	if len(m.To) == 0 {
		return nil, errors.New("no recipients")
	}
	if err := msg.To(m.To...); err != nil {
		return nil, fmt.Errorf("bad recipient in %q: %w", strings.Join(m.To, ","), err)
	}
	msg.Subject(m.Subject)
	msg.SetDateWithValue(m.Date)
	if m.MessageID != "" {
		msg.SetMessageIDWithValue(m.MessageID)
	}
	msg.SetGenHeader(mail.HeaderXMailer, "nextcore")
	msg.SetBodyString(mail.TypeTextPlain, m.Text)
	if m.HTML != "" {
		msg.AddAlternativeString(mail.TypeTextHTML, m.HTML)
	}
	for _, a := range m.Attachments {
		if err := msg.AttachReader(a.Name, bytes.NewReader(a.Data), mail.WithFileContentType(mail.ContentType(a.ContentType))); err != nil {
			return nil, fmt.Errorf("attach %s: %w", a.Name, err)
		}
	}
	return msg, nil
}

// WriteEML writes the message as an .eml file (RFC 5322), as it would be sent.
func WriteEML(w io.Writer, m Message) error {
	msg, err := m.build()
	if err != nil {
		return err
	}
	_, err = msg.WriteTo(w)
	return err
}

// Send delivers the message, trying again after temporary (4xx) refusals.
// A permanent refusal comes back with the server's reply.
func Send(ctx context.Context, cfg SMTP, m Message) error {
	msg, err := m.build()
	if err != nil {
		return err
	}
	client, err := cfg.client()
	if err != nil {
		return err
	}
	sleep := cfg.Sleep
	if sleep == nil {
		sleep = func(ctx context.Context, d time.Duration) error {
			select {
			case <-time.After(d):
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
	mode := "STARTTLS required"
	switch {
	case cfg.URL.Scheme == "smtps":
		mode = "implicit TLS"
	case cfg.Insecure:
		mode = "STARTTLS if offered"
	}
	for attempt := 0; ; attempt++ {
		start := time.Now()
		cfg.debug("SMTP %s (%s), attempt %d, %d recipient(s)", cfg.URL.Redacted(), mode, attempt+1, len(m.To))
		err := client.DialAndSendWithContext(ctx, msg)
		if err == nil {
			cfg.debug("SMTP delivered in %s", time.Since(start).Round(time.Millisecond))
			return nil
		}
		cfg.debug("SMTP attempt %d failed after %s: %v", attempt+1, time.Since(start).Round(time.Millisecond), describeSMTP(err, cfg.URL))
		var se *mail.SendError
		temporary := errors.As(err, &se) && se.IsTemp()
		if !temporary || attempt >= cfg.Retries {
			return describeSMTP(err, cfg.URL)
		}
		if err := sleep(ctx, time.Duration(1<<attempt)*time.Second); err != nil {
			return err
		}
	}
}

func (cfg SMTP) client() (*mail.Client, error) {
	u := cfg.URL
	opts := []mail.Option{mail.WithTimeout(cfg.timeout()), mail.WithoutNoop()}
	port := u.Port()
	switch u.Scheme {
	case "smtps":
		if port == "" {
			port = "465"
		}
		opts = append(opts, mail.WithSSL())
	default:
		if port == "" {
			port = "587"
		}
		policy := mail.TLSMandatory
		if cfg.Insecure {
			policy = mail.TLSOpportunistic
		}
		opts = append(opts, mail.WithTLSPolicy(policy))
	}
	n, _ := strconv.Atoi(port)
	opts = append(opts, mail.WithPort(n))
	if cfg.TLS != nil {
		t := cfg.TLS.Clone()
		if t.ServerName == "" {
			t.ServerName = u.Hostname()
		}
		opts = append(opts, mail.WithTLSConfig(t))
	}
	if u.User != nil {
		pass, _ := u.User.Password()
		auth := mail.SMTPAuthAutoDiscover
		if cfg.Insecure && u.Scheme == "smtp" {
			auth = mail.SMTPAuthPlainNoEnc // the user asked for plain text, password included
		}
		opts = append(opts, mail.WithSMTPAuth(auth), mail.WithUsername(u.User.Username()), mail.WithPassword(pass))
	}
	c, err := mail.NewClient(u.Hostname(), opts...)
	if err != nil {
		return nil, fmt.Errorf("SMTP %s: %v", u.Redacted(), err)
	}
	return c, nil
}

func (cfg SMTP) timeout() time.Duration {
	if cfg.Timeout > 0 {
		return cfg.Timeout
	}
	return 30 * time.Second
}

// describeSMTP says what the mail server did, with its own reply, and never
// the password.
func describeSMTP(err error, u *url.URL) error {
	msg := err.Error()
	if pass, ok := u.User.Password(); ok && pass != "" {
		msg = strings.ReplaceAll(msg, pass, "xxxxx")
	}
	where := u.Scheme + "://" + u.Host
	var se *mail.SendError
	if errors.As(err, &se) {
		switch se.Reason {
		case mail.ErrSMTPMailFrom, mail.ErrSMTPRcptTo, mail.ErrSMTPData, mail.ErrSMTPDataClose:
			return fmt.Errorf("the mail server %s refused the message: %s", where, msg)
		}
	}
	if strings.Contains(msg, "STARTTLS") || strings.Contains(msg, "starttls") {
		return fmt.Errorf("the mail server %s offers no STARTTLS (%s); use smtps:// or pass --smtp-insecure to send in plain text", where, msg)
	}
	return fmt.Errorf("sending mail through %s failed: %s", where, msg)
}
