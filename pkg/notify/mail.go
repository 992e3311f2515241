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
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	mail "github.com/wneessen/go-mail"
)

// Errors the command line completes with the flag that helps.
var (
	// ErrTemporary: the server still refused for now when the retries ran
	// out.
	ErrTemporary = errors.New("try again later")
	// ErrNoSTARTTLS: the server offers no encryption; sending in plain
	// text needs the user's say-so.
	ErrNoSTARTTLS = errors.New("no STARTTLS")
)

// SMTP says how to reach the mail server.
type SMTP struct {
	URL      *url.URL // smtp://user:pass@host:587 (STARTTLS) or smtps://user:pass@host:465 (implicit TLS)
	Insecure bool     // allow plain text when the server offers no STARTTLS
	TLS      *tls.Config
	Timeout  time.Duration
	// RetryFor is how long temporary (4xx) refusals are tried again, as
	// greylisting asks: after 30 s, 1, 2 and 4 min, then every 5 min.
	RetryFor time.Duration
	Sleep    func(context.Context, time.Duration) error
	// Waiting, when set, hears of each wait after a temporary refusal.
	Waiting func(refusal error, wait time.Duration)
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
	waited := time.Duration(0)
	for attempt := 0; ; attempt++ {
		start := time.Now()
		cfg.debug("SMTP %s (%s), attempt %d, %d recipient(s)", cfg.URL.Redacted(), mode, attempt+1, len(m.To))
		err := client.DialAndSendWithContext(ctx, msg)
		if err == nil {
			cfg.debug("SMTP delivered in %s", time.Since(start).Round(time.Millisecond))
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		refusal := describeSMTP(err, cfg.URL)
		cfg.debug("SMTP attempt %d failed after %s: %v", attempt+1, time.Since(start).Round(time.Millisecond), refusal)
		var se *mail.SendError
		if !errors.As(err, &se) || !se.IsTemp() {
			return refusal
		}
		wait := RetryWait(attempt)
		if waited+wait > cfg.RetryFor {
			tries := fmt.Sprintf("%d tries", attempt+1)
			if attempt == 0 {
				tries = "1 try"
			}
			return fmt.Errorf("%w; the refusal was temporary (a 4xx reply, such as greylisting or a busy server) and still stood after %s over %s: %w",
				refusal, tries, waited.Round(time.Second), ErrTemporary)
		}
		if cfg.Waiting != nil {
			cfg.Waiting(refusal, wait)
		}
		if err := sleep(ctx, wait); err != nil {
			return err
		}
		waited += wait
	}
}

// RetryWait is the wait before the next try after attempt temporary
// refusals: 30 s, 1 min, 2 min, 4 min, then 5 min.
func RetryWait(attempt int) time.Duration {
	if attempt >= 4 {
		return 5 * time.Minute
	}
	return time.Duration(30<<attempt) * time.Second
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

// describeSMTP says what went wrong in words of mail, not of the
// library: what the server refused and its own reply, or why it could not
// be reached. It never repeats the password.
func describeSMTP(err error, u *url.URL) error {
	where := u.Scheme + "://" + u.Host
	redact := func(s string) string {
		if pass, ok := u.User.Password(); ok && pass != "" {
			s = strings.ReplaceAll(s, pass, "xxxxx")
		}
		return s
	}
	var se *mail.SendError
	if errors.As(err, &se) {
		reply := redact(serverReply(se))
		what := "the message"
		switch se.Reason {
		case mail.ErrSMTPMailFrom:
			what = "the sender"
		case mail.ErrSMTPRcptTo:
			what = "a recipient"
		case mail.ErrConnCheck, mail.ErrSMTPReset:
			return fmt.Errorf("the mail server %s dropped the connection: %s", where, reply)
		}
		if se.IsTemp() {
			return fmt.Errorf("the mail server %s refused %s for now: %s", where, what, reply)
		}
		return fmt.Errorf("the mail server %s refused %s: %s", where, what, reply)
	}
	var dns *net.DNSError
	var op *net.OpError
	var cert *tls.CertificateVerificationError
	msg := redact(err.Error())
	switch {
	case errors.As(err, &dns):
		return fmt.Errorf("cannot find the mail server %s: no such host (check smtp.url or NEXTCORE_SMTP_URL)", where)
	case errors.As(err, &cert):
		return fmt.Errorf("the mail server %s has a certificate that is not trusted: %v", where, cert.Err)
	case errors.As(err, &op) && op.Timeout():
		return fmt.Errorf("the mail server %s did not answer in time", where)
	case errors.As(err, &op) && op.Op == "dial":
		return fmt.Errorf("cannot reach the mail server %s: %v", where, op.Err)
	case strings.Contains(msg, "SMTP AUTH failed"):
		_, reply, _ := strings.Cut(msg, "SMTP AUTH failed: ")
		return fmt.Errorf("the mail server %s refused the login of %q: %s", where, u.User.Username(), unquoteReply(reply))
	case strings.Contains(msg, "does not support SMTP AUTH"):
		return fmt.Errorf("the mail server %s does not accept a login; leave user and password out of the SMTP URL", where)
	case strings.Contains(msg, "STARTTLS") || strings.Contains(msg, "starttls"):
		return fmt.Errorf("the mail server %s offers %w; use smtps://", where, ErrNoSTARTTLS)
	case errors.As(err, &op):
		return fmt.Errorf("the connection to the mail server %s failed: %v", where, op.Err)
	}
	return fmt.Errorf("sending mail through %s failed: %s", where, strings.TrimPrefix(strings.TrimPrefix(msg, "dial failed: "), "send failed: "))
}

// serverReply is the server's own reply inside a SendError ("451 4.3.0 Try
// again later"), without the library's words around it.
func serverReply(se *mail.SendError) string {
	msg := se.Error()
	if _, after, ok := strings.Cut(msg, ": "); ok {
		msg = after
	}
	if i := strings.Index(msg, ", affected "); i >= 0 {
		msg = msg[:i]
	}
	msg = unquoteReply(msg)
	if se.ErrorCode() > 0 && !strings.HasPrefix(msg, strconv.Itoa(se.ErrorCode())) {
		msg = strconv.Itoa(se.ErrorCode()) + " " + msg
	}
	return msg
}

// unquoteReply reads a reply the library writes as 451 "4.7.1 Greylisted":
// the code, then the server's text as it sent it.
func unquoteReply(msg string) string {
	if code, text, ok := strings.Cut(msg, " "); ok && len(code) == 3 && strings.HasPrefix(text, `"`) {
		if t, err := strconv.Unquote(text); err == nil {
			return code + " " + t
		}
	}
	return msg
}
