package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/nextcore-ai/nextcore/pkg/report/render/pdftest"
)

// mailbox is an in-process SMTP server (github.com/emersion/go-smtp) that
// keeps what it receives, and refuses to order.
type mailbox struct {
	srv      *smtp.Server
	addr     string
	mu       sync.Mutex
	messages []received
	failData []*smtp.SMTPError // replies to the next DATA commands, in order
	greylist func() bool       // while it says so, every recipient is refused for now
	user     string
	pass     string
	authed   bool
}

type received struct {
	from string
	to   []string
	data []byte
}

type session struct {
	mb   *mailbox
	from string
	to   []string
}

func (s *session) AuthMechanisms() []string { return []string{sasl.Plain} }
func (s *session) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, user, pass string) error {
		if user != s.mb.user || pass != s.mb.pass {
			return &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "Authentication credentials invalid"}
		}
		s.mb.mu.Lock()
		s.mb.authed = true
		s.mb.mu.Unlock()
		return nil
	}), nil
}
func (s *session) Mail(from string, _ *smtp.MailOptions) error { s.from = from; return nil }
func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if strings.HasPrefix(to, "nobody@") {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "No such user here"}
	}
	s.mb.mu.Lock()
	grey := s.mb.greylist != nil && s.mb.greylist()
	s.mb.mu.Unlock()
	if grey {
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 7, 1}, Message: "Greylisted, please try again later"}
	}
	s.to = append(s.to, to)
	return nil
}
func (s *session) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.mb.mu.Lock()
	defer s.mb.mu.Unlock()
	if len(s.mb.failData) > 0 {
		e := s.mb.failData[0]
		s.mb.failData = s.mb.failData[1:]
		return e
	}
	s.mb.messages = append(s.mb.messages, received{s.from, append([]string(nil), s.to...), data})
	return nil
}
func (s *session) Reset()        { s.from, s.to = "", nil }
func (s *session) Logout() error { return nil }

// newMailbox starts a server; with tlsCfg it offers STARTTLS.
func newMailbox(t *testing.T, tlsCfg *tls.Config) *mailbox {
	t.Helper()
	mb := &mailbox{user: "reports", pass: "p@ss w0rd!"}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &session{mb: mb}, nil }))
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = tlsCfg == nil
	srv.TLSConfig = tlsCfg
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	mb.srv, mb.addr = srv, l.Addr().String()
	return mb
}

func (mb *mailbox) received() []received {
	mb.mu.Lock()
	defer mb.mu.Unlock()
	return append([]received(nil), mb.messages...)
}

// testCert is a self-signed certificate for 127.0.0.1, and a pool that trusts it.
func testCert(t *testing.T) (*tls.Config, *x509.CertPool) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}, pool
}

// mailEnv is an env with the fixture and a mail server.
func mailEnv(t *testing.T, tlsCfg *tls.Config) (*env, *mailbox) {
	e := imported(t)
	mb := newMailbox(t, tlsCfg)
	e.vars["NEXTCORE_SMTP_URL"] = "smtp://reports:p%40ss%20w0rd%21@" + mb.addr
	e.vars["NEXTCORE_SMTP_FROM"] = "NextCore <reports@acme.example>"
	return e, mb
}

// runMail runs nextcore with the mail test hooks: instant retries, and the
// test certificate trusted.
func (e *env) runMail(pool *x509.CertPool, args ...string) result {
	e.t.Helper()
	var out, errb bytes.Buffer
	app := &App{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb,
		Env: func(k string) string { return e.vars[k] }, Now: func() time.Time { return testNow },
		Sleep: func(context.Context, time.Duration) error { return nil }}
	if pool != nil {
		app.SMTPTLS = &tls.Config{RootCAs: pool}
	}
	code := app.Run(context.Background(), args)
	return result{out.String(), errb.String(), code}
}

// parts splits a received message into its headers, text, HTML and
// attachments (decoded).
func parts(t *testing.T, data []byte) (*mail.Message, map[string]string, map[string][]byte) {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	bodies, files := map[string]string{}, map[string][]byte{}
	var walk func(ct string, r io.Reader, enc string)
	walk = func(ct string, r io.Reader, enc string) {
		mt, params, _ := mime.ParseMediaType(ct)
		if strings.HasPrefix(mt, "multipart/") {
			mr := multipart.NewReader(r, params["boundary"])
			for {
				p, err := mr.NextPart()
				if err != nil {
					return
				}
				if name := p.FileName(); name != "" {
					b, _ := io.ReadAll(p) // multipart.Part decodes quoted-printable; base64 below
					if p.Header.Get("Content-Transfer-Encoding") == "base64" {
						b, _ = decodeBase64(b)
					}
					files[name] = b
					continue
				}
				walk(p.Header.Get("Content-Type"), p, p.Header.Get("Content-Transfer-Encoding"))
			}
		}
		b, _ := io.ReadAll(r)
		if enc == "base64" {
			b, _ = decodeBase64(b)
		}
		bodies[mt] = string(b)
	}
	walk(m.Header.Get("Content-Type"), m.Body, m.Header.Get("Content-Transfer-Encoding"))
	return m, bodies, files
}

func TestReportEmail(t *testing.T) {
	serverTLS, pool := testCert(t)
	e, mb := mailEnv(t, serverTLS)
	r := e.runMail(pool, append([]string{"usage", "report", "--email", "finance@acme.example,eng@acme.example", "--attach", "pdf,csv"}, week...)...)
	if r.code != 0 {
		t.Fatalf("%d %q", r.code, r.stderr)
	}
	if !strings.Contains(r.stderr, `sent "NextCore usage · acme · week to 2026-11-23" to finance@acme.example, eng@acme.example via smtp://127.0.0.1:`) {
		t.Errorf("stderr %q", r.stderr)
	}
	if strings.Contains(r.stderr, "w0rd") {
		t.Error("the password was printed")
	}
	got := mb.received()
	if len(got) != 1 || !mb.authed {
		t.Fatalf("%d messages, authenticated %v", len(got), mb.authed)
	}
	if got[0].from != "reports@acme.example" || strings.Join(got[0].to, ",") != "finance@acme.example,eng@acme.example" {
		t.Errorf("envelope %s → %v", got[0].from, got[0].to)
	}
	m, bodies, files := parts(t, got[0].data)
	dec := new(mime.WordDecoder)
	subject, _ := dec.DecodeHeader(m.Header.Get("Subject"))
	if subject != "NextCore usage · acme · week to 2026-11-23" || !strings.Contains(m.Header.Get("From"), "reports@acme.example") ||
		m.Header.Get("Date") == "" || !strings.HasPrefix(m.Header.Get("Message-Id"), "<nextcore.report.acme.") {
		t.Errorf("headers: %v", m.Header)
	}
	for _, want := range []string{"API CALLS", "264", "$0.76", "TOP MODELS", "COST BREAKDOWN", "INSIGHTS"} {
		if !strings.Contains(bodies["text/plain"], want) {
			t.Errorf("text part lacks %q", want)
		}
	}
	for _, want := range []string{"<table", "style=", "Top models", "Cost breakdown", "$0.76", "gpt-4o-mini"} {
		if !strings.Contains(bodies["text/html"], want) {
			t.Errorf("HTML part lacks %q", want)
		}
	}
	pdf := files["nextcore-acme-2026-11-17_2026-11-23.pdf"]
	if text := strings.Join(pdftest.Text(t, pdf), ""); !strings.Contains(text, "NextCore usage report") || !strings.Contains(text, "$0.76") {
		t.Errorf("the PDF attachment does not read back: %d bytes", len(pdf))
	}
	if csv := string(files["nextcore-acme-2026-11-17_2026-11-23-daily.csv"]); !strings.HasPrefix(csv, "date,calls,") || strings.Count(csv, "\n") != 8 {
		t.Errorf("the CSV attachment: %q", csv)
	}
}

func TestReportEmailFailures(t *testing.T) {
	e, mb := mailEnv(t, nil)
	base := append([]string{"usage", "report", "--email", "finance@acme.example"}, week...)
	// No STARTTLS on offer: refused unless --smtp-insecure.
	r := e.runMail(nil, base...)
	if r.code != 1 || !strings.Contains(r.stderr, "offers no STARTTLS") || strings.Contains(r.stderr, "w0rd") {
		t.Fatalf("plain server: %d %q", r.code, r.stderr)
	}
	// A temporary refusal, then success.
	mb.failData = []*smtp.SMTPError{{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "Try again later"}}
	if r := e.runMail(nil, append(base, "--smtp-insecure")...); r.code != 0 || len(mb.received()) != 1 {
		t.Fatalf("4xx then 2xx: %d %q, %d messages", r.code, r.stderr, len(mb.received()))
	}
	// A permanent refusal, with the server's reply.
	mb.failData = []*smtp.SMTPError{{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: "Message rejected as spam"}}
	r = e.runMail(nil, append(base, "--smtp-insecure")...)
	if r.code != 1 || !strings.Contains(r.stderr, "refused the message") || !strings.Contains(r.stderr, "Message rejected as spam") {
		t.Fatalf("5xx: %d %q", r.code, r.stderr)
	}
	r = e.runMail(nil, append([]string{"usage", "report", "--email", "nobody@acme.example", "--smtp-insecure"}, week...)...)
	if r.code != 1 || !strings.Contains(r.stderr, "No such user here") {
		t.Fatalf("unknown recipient: %d %q", r.code, r.stderr)
	}
	// A wrong password: the error says so without the password.
	e.vars["NEXTCORE_SMTP_URL"] = "smtp://reports:wrong-secret@" + mb.addr
	r = e.runMail(nil, append(base, "--smtp-insecure")...)
	if r.code != 1 || strings.Contains(r.stderr, "wrong-secret") || !strings.Contains(r.stderr, "535") {
		t.Fatalf("bad password: %d %q", r.code, r.stderr)
	}
	for name, c := range map[string]struct {
		vars map[string]string
		args []string
		want string
	}{
		"no recipients": {nil, []string{"usage", "report"}, "no recipients"},
		"bad address":   {nil, []string{"usage", "report", "--email", "not an address"}, `bad email address "not an address"`},
		"no sender":     {map[string]string{"NEXTCORE_SMTP_FROM": ""}, base, "no sender"},
		"no server":     {map[string]string{"NEXTCORE_SMTP_URL": ""}, base, "no mail server"},
		"bad scheme":    {map[string]string{"NEXTCORE_SMTP_URL": "http://u:topsecret@host"}, base, "the scheme must be smtp or smtps"},
		"bad attach":    {nil, append(base, "--attach", "xlsx"), `unknown attachment "xlsx"`},
	} {
		saved := map[string]string{}
		for k, v := range c.vars {
			saved[k], e.vars[k] = e.vars[k], v
		}
		r := e.runMail(nil, c.args...)
		for k, v := range saved {
			e.vars[k] = v
		}
		if r.code != 2 || !strings.Contains(r.stderr, c.want) || strings.Contains(r.stderr, "topsecret") {
			t.Errorf("%s: %d %q", name, r.code, r.stderr)
		}
	}
}

func TestReportDryRun(t *testing.T) {
	e, mb := mailEnv(t, nil)
	path := filepath.Join(e.dir, "week.eml")
	r := e.runMail(nil, append([]string{"usage", "report", "--email", "finance@acme.example", "--dry-run", "--attach", "csv", "-o", path}, week...)...)
	if r.code != 0 || len(mb.received()) != 0 {
		t.Fatalf("%d %q; %d sent", r.code, r.stderr, len(mb.received()))
	}
	data, _ := os.ReadFile(path)
	m, bodies, files := parts(t, data)
	if m.Header.Get("To") != "<finance@acme.example>" || bodies["text/plain"] == "" || bodies["text/html"] == "" || len(files) != 1 {
		t.Errorf("dry-run message: %v, %d bodies, %d files", m.Header, len(bodies), len(files))
	}
}

// TestAlertsOnce crosses a threshold over several runs, as an hourly cron
// job would, and receives each alert exactly once.
func TestAlertsOnce(t *testing.T) {
	e, mb := mailEnv(t, nil)
	var hooks []map[string]any
	var hookMu sync.Mutex
	failHook := true
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hookMu.Lock()
		defer hookMu.Unlock()
		if failHook {
			failHook = false
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		var v map[string]any
		json.NewDecoder(r.Body).Decode(&v)
		hooks = append(hooks, v)
	}))
	defer hook.Close()
	// November spend (fixture, UTC) by the end of Nov 3: $0.33; Nov 20: $2.09;
	// Nov 21: $2.19; Nov 24: $2.36.
	alert := func(asOf, limit string, extra ...string) result {
		return e.runMail(nil, append([]string{"usage", "alert", "--email", "finance@acme.example", "--smtp-insecure",
			"--webhook", hook.URL, "--limit-spend", limit, "--thresholds", "50,80,100", "--tz", "UTC", "--as-of", asOf}, extra...)...)
	}
	// 8 %, forecast 81 %: nothing to say.
	if r := alert("2026-11-03", "4"); r.code != 0 || len(mb.received()) != 0 || r.stderr != "" {
		t.Fatalf("below every threshold: %d %q, %d sent", r.code, r.stderr, len(mb.received()))
	}
	// 52 %: one email; the webhook fails and is tried again by the next run.
	r := alert("2026-11-20", "4")
	if r.code != 1 || len(mb.received()) != 1 || !strings.Contains(r.stderr, "webhook alert not sent (the next run tries again)") {
		t.Fatalf("crossing: %d %q, %d sent", r.code, r.stderr, len(mb.received()))
	}
	m, bodies, _ := parts(t, mb.received()[0].data)
	subject, _ := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
	if !strings.HasPrefix(subject, "NextCore alert · acme · Spend passed 50% of the November limit") || !strings.Contains(bodies["text/plain"], "Spend passed 50%") {
		t.Errorf("alert: %q\n%s", subject, bodies["text/plain"])
	}
	// An hour later: no new email; the webhook goes through now.
	if r := alert("2026-11-21T01:00:00Z", "4"); r.code != 0 || len(mb.received()) != 1 || len(hooks) != 1 {
		t.Fatalf("repeat: %d %q, %d sent, %d hooks", r.code, r.stderr, len(mb.received()), len(hooks))
	}
	if a := hooks[0]["alerts"].([]any); len(a) != 1 || a[0].(map[string]any)["key"] != "spend:50" {
		t.Errorf("webhook payload: %v", hooks[0])
	}
	// And again: nothing at all, quietly.
	if r := alert("2026-11-21", "4"); r.code != 0 || len(mb.received()) != 1 || len(hooks) != 1 || r.stderr != "" {
		t.Fatalf("third run: %d %q, %d sent, %d hooks", r.code, r.stderr, len(mb.received()), len(hooks))
	}
	// A lower limit: 88 %, forecast 125 %. --dry-run shows what would go
	// without sending or remembering it.
	r = alert("2026-11-21", "2.5", "--dry-run")
	if r.code != 0 || !strings.Contains(r.stdout, "would send by email:\n  Spend passed 80%") || !strings.Contains(r.stdout, "on course for 125.4%") || len(mb.received()) != 1 {
		t.Fatalf("dry run: %d %q %q", r.code, r.stdout, r.stderr)
	}
	if r := alert("2026-11-21", "2.5"); r.code != 0 || len(mb.received()) != 2 || len(hooks) != 2 {
		t.Fatalf("80 %%: %d %q, %d sent", r.code, r.stderr, len(mb.received()))
	}
	// Past 100 % and the send fails: the next run sends it.
	mb.failData = []*smtp.SMTPError{{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 0, 0}, Message: "Out of order"}}
	if r := alert("2026-11-24", "2"); r.code != 1 || len(mb.received()) != 2 || !strings.Contains(r.stderr, "Out of order") {
		t.Fatalf("failed send: %d %q", r.code, r.stderr)
	}
	if r := alert("2026-11-24", "2"); r.code != 0 || len(mb.received()) != 3 {
		t.Fatalf("retry: %d %q, %d sent", r.code, r.stderr, len(mb.received()))
	}
	if _, bodies, _ := parts(t, mb.received()[2].data); !strings.Contains(bodies["text/plain"], "Spend passed 100%") || strings.Contains(bodies["text/plain"], "passed 80%") {
		t.Errorf("third alert:\n%s", bodies["text/plain"])
	}
	if r := e.runMail(nil, "usage", "alert", "--limit-spend", "2"); r.code != 2 || !strings.Contains(r.stderr, "no one to alert") {
		t.Errorf("no channel: %d %q", r.code, r.stderr)
	}
}

func decodeBase64(b []byte) ([]byte, error) {
	return io.ReadAll(base64.NewDecoder(base64.StdEncoding, bytes.NewReader(b)))
}

// TestReportEmailImplicitTLS sends through smtps:// (TLS from the start).
func TestReportEmailImplicitTLS(t *testing.T) {
	serverTLS, pool := testCert(t)
	e := imported(t)
	mb := &mailbox{user: "reports", pass: "p@ss w0rd!"}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &session{mb: mb}, nil }))
	srv.Domain = "localhost"
	l, err := tls.Listen("tcp", "127.0.0.1:0", serverTLS)
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	defer srv.Close()
	e.vars["NEXTCORE_SMTP_URL"] = "smtps://reports:p%40ss%20w0rd%21@" + l.Addr().String()
	e.vars["NEXTCORE_SMTP_FROM"] = "reports@acme.example"
	r := e.runMail(pool, append([]string{"usage", "report", "--email", "finance@acme.example"}, week...)...)
	if r.code != 0 || len(mb.received()) != 1 || !mb.authed || !strings.Contains(r.stderr, "via smtps://") {
		t.Fatalf("%d %q, %d messages", r.code, r.stderr, len(mb.received()))
	}
}

// TestGreylisting: a server that greylists for five minutes (it refuses
// every recipient with 451 until then) gets the report after waits of 30 s,
// 1, 2 and 4 minutes; a shorter --mail-retry-for gives up, saying the
// refusal was temporary. Time is a fake clock moved by the waits.
func TestGreylisting(t *testing.T) {
	e, mb := mailEnv(t, nil)
	var mu sync.Mutex
	var elapsed time.Duration
	var waits []time.Duration
	mb.greylist = func() bool {
		mu.Lock()
		defer mu.Unlock()
		return elapsed < 5*time.Minute
	}
	run := func(args ...string) result {
		mu.Lock()
		elapsed, waits = 0, nil
		mu.Unlock()
		var out, errb bytes.Buffer
		app := &App{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb,
			Env: func(k string) string { return e.vars[k] }, Now: func() time.Time { return testNow },
			Sleep: func(_ context.Context, d time.Duration) error {
				mu.Lock()
				defer mu.Unlock()
				waits, elapsed = append(waits, d), elapsed+d
				return nil
			}}
		code := app.Run(context.Background(), append(append([]string{"usage", "report", "--email", "finance@acme.example", "--smtp-insecure"}, week...), args...))
		return result{out.String(), errb.String(), code}
	}
	r := run()
	if r.code != 0 || len(mb.received()) != 1 {
		t.Fatalf("greylisted: %d %q", r.code, r.stderr)
	}
	if got := fmt.Sprint(waits); got != "[30s 1m0s 2m0s 4m0s]" {
		t.Errorf("waits %s", got)
	}
	if n := strings.Count(r.stderr, "refused a recipient for now: 451 4.7.1 Greylisted, please try again later; trying again in"); n != 4 {
		t.Errorf("%d waits said:\n%s", n, r.stderr)
	}
	// Two minutes are not enough: a clear, final word that it was temporary.
	r = run("--mail-retry-for", "2m")
	if r.code != 1 || len(mb.received()) != 1 {
		t.Fatalf("short window: %d %q", r.code, r.stderr)
	}
	if !strings.Contains(r.stderr, "the refusal was temporary (a 4xx reply, such as greylisting or a busy server) and still stood after 3 tries over 1m30s") ||
		!strings.Contains(r.stderr, "--mail-retry-for") {
		t.Errorf("final error: %q", r.stderr)
	}
	// The config's smtp.retry_for, and 0 for no retry at all.
	cfg := filepath.Join(e.dir, "retry.yaml")
	os.WriteFile(cfg, []byte("smtp:\n  retry_for: \"0\"\n"), 0o600)
	e.vars["NEXTCORE_CONFIG"] = cfg
	if r = run(); r.code != 1 || len(waits) != 0 || !strings.Contains(r.stderr, "after 1 try over 0s") {
		t.Errorf("retry_for 0: %d %v %q", r.code, waits, r.stderr)
	}
	if r = run("--mail-retry-for", "soon"); r.code != 2 {
		t.Errorf("bad --mail-retry-for: %d %q", r.code, r.stderr)
	}
}

// TestMailErrorsInPlainWords: errors say what the mail server did, not
// what the library called it; the Date header speaks the report's zone.
func TestMailErrorsInPlainWords(t *testing.T) {
	e, mb := mailEnv(t, nil)
	base := append([]string{"usage", "report", "--email", "finance@acme.example", "--smtp-insecure"}, week...)
	mb.failData = []*smtp.SMTPError{{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: "Message rejected as spam"}}
	r := e.runMail(nil, base...)
	if !strings.Contains(r.stderr, "nextcore: the mail server smtp://"+mb.addr+" refused the message: 554 5.6.0 Message rejected as spam\n") {
		t.Errorf("5xx: %q", r.stderr)
	}
	mb.failData = nil
	e.vars["NEXTCORE_SMTP_URL"] = "smtp://reports:wrong@" + mb.addr
	r = e.runMail(nil, base...)
	if want := "nextcore: the mail server smtp://" + mb.addr + " refused the login of \"reports\": 535 5.7.8 Authentication credentials invalid\n"; r.stderr != want {
		t.Errorf("login:\n got %q\nwant %q", r.stderr, want)
	}
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	closed := l.Addr().String()
	l.Close()
	e.vars["NEXTCORE_SMTP_URL"] = "smtp://" + closed
	r = e.runMail(nil, base...)
	if r.code != 1 || !strings.Contains(r.stderr, "nextcore: cannot reach the mail server smtp://"+closed+": connect: connection refused") {
		t.Errorf("closed port: %q", r.stderr)
	}
	for _, jargon := range []string{"dial failed", "SMTP DATA writer", "affected recipient", "send failed"} {
		if strings.Contains(r.stderr, jargon) {
			t.Errorf("library words %q in %q", jargon, r.stderr)
		}
	}
	r = e.run("", false, append(append([]string{}, base...), "--dry-run")...)
	if !strings.Contains(r.stdout, "Date: Tue, 24 Nov 2026 11:00:00 +0100") {
		t.Errorf("Date header not in Europe/Berlin:\n%.400s", r.stdout)
	}
}
