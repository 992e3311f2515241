package main

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/nextcore-ai/nextcore/pkg/source/api/apitest"
)

// leaks fails when any of the secrets shows in text, as typed or encoded as
// it would be on the wire.
func leaks(t *testing.T, what, text string, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		for _, form := range []string{s, base64.StdEncoding.EncodeToString([]byte(s)), strings.ReplaceAll(s, " ", "%20")} {
			if strings.Contains(text, form) {
				t.Errorf("%s shows a secret (%q)", what, form)
			}
		}
	}
}

// fileText is a cache file and its write-ahead log, as bytes.
func fileText(path string) string {
	var b strings.Builder
	for _, p := range []string{path, path + "-wal", path + "-journal"} {
		data, _ := os.ReadFile(p)
		b.Write(data)
	}
	return b.String()
}

// TestTokenNeverShown runs every way the token is used, with --debug, in
// success and failure, and looks for the token in what the user sees and
// in the cache.
func TestTokenNeverShown(t *testing.T) {
	e, srv := apiEnv(t)
	const token = "s3cret-token"
	var seen strings.Builder
	runAll := func(args ...string) result {
		r := e.run("", false, append([]string{"--debug"}, args...)...)
		seen.WriteString(r.stdout + r.stderr)
		return r
	}
	if r := runAll("usage", "sync"); r.code != 0 || !strings.Contains(r.stderr, "debug: GET ") || !strings.Contains(r.stderr, "token from NEXTCORE_TOKEN") {
		t.Fatalf("sync --debug: %d %q", r.code, r.stderr)
	}
	runAll("usage", "stats", "--source", "api")
	runAll("usage", "quota", "--source", "api", "-f", "json")
	srv.Fail(apitest.Fault{Status: 503}, apitest.Fault{Status: 429, RetryAfter: "1"}, apitest.Fault{Reset: true})
	runAll("usage", "top-models", "--source", "api")
	// Refused: a wrong token, from the environment and from a file.
	e.vars["NEXTCORE_TOKEN"] = token + "-wrong"
	if r := runAll("usage", "sync"); r.code == 0 {
		t.Fatal("a wrong token was accepted")
	}
	delete(e.vars, "NEXTCORE_TOKEN")
	tokenFile := filepath.Join(e.dir, "token")
	os.WriteFile(tokenFile, []byte(token+"-wrong\n"), 0o600)
	runAll("usage", "stats", "--source", "api", "--token-file", tokenFile)
	// From a config file that others can read: a warning, without the token.
	cfg := filepath.Join(e.dir, "config.yaml")
	os.WriteFile(cfg, []byte("token: "+token+"\n"), 0o644)
	if r := runAll("usage", "sync", "--config", cfg); r.code != 0 || !strings.Contains(r.stderr, "chmod 600") {
		t.Errorf("sync with a readable config: %d %q", r.code, r.stderr)
	}
	leaks(t, "output, errors and debug logs", seen.String(), token)
	leaks(t, "the cache file", fileText(e.cachePath()), token)
}

// TestSMTPPasswordNeverShown sends, fails to send and dry-runs reports and
// alerts with --debug: the password shows nowhere.
func TestSMTPPasswordNeverShown(t *testing.T) {
	e, mb := mailEnv(t, nil)
	const password = "p@ss w0rd!"
	var seen strings.Builder
	run := func(args ...string) result {
		r := e.runMail(nil, append(append([]string{"--debug"}, args...), "--smtp-insecure")...)
		seen.WriteString(r.stdout + r.stderr)
		return r
	}
	if r := run(append([]string{"usage", "report", "--email", "finance@acme.example"}, week...)...); r.code != 0 || !strings.Contains(r.stderr, "debug: SMTP smtp://reports:xxxxx@") {
		t.Fatalf("report --debug: %d %q", r.code, r.stderr)
	}
	eml := filepath.Join(e.dir, "r.eml")
	run(append([]string{"usage", "report", "--email", "finance@acme.example", "--dry-run", "-o", eml}, week...)...)
	data, _ := os.ReadFile(eml)
	seen.Write(data)
	run("usage", "alert", "--email", "finance@acme.example", "--limit-spend", "0.01")
	e.vars["NEXTCORE_SMTP_URL"] = "smtp://reports:wr0ng%20s3cret@" + mb.addr
	if r := run(append([]string{"usage", "report", "--email", "finance@acme.example"}, week...)...); r.code == 0 || !strings.Contains(r.stderr, "535") {
		t.Errorf("a refused login: %d %q", r.code, r.stderr)
	}
	for _, m := range mb.received() {
		seen.Write(m.data)
	}
	leaks(t, "output, errors, debug logs and the messages", seen.String(), password, "\x00reports\x00"+password, "wr0ng s3cret")
	leaks(t, "the cache file", fileText(e.cachePath()), password, "wr0ng s3cret")
}

// TestNoSecretFlags: no command takes a secret as a flag value, where the
// process list and the shell history would keep it (a file holding it is
// fine).
func TestNoSecretFlags(t *testing.T) {
	app := &App{Env: func(string) string { return "" }}
	var walk func(c *cobra.Command)
	seen := 0
	walk = func(c *cobra.Command) {
		for _, fs := range []*pflag.FlagSet{c.LocalFlags(), c.PersistentFlags()} {
			fs.VisitAll(func(f *pflag.Flag) {
				seen++
				name := strings.ToLower(f.Name)
				if strings.HasSuffix(name, "-file") {
					return
				}
				words := strings.Split(name, "-") // --limit-tokens counts tokens; --token would be one
				if slices.ContainsFunc(words, func(w string) bool {
					return w == "token" || w == "password" || w == "passwd" || w == "secret"
				}) || strings.Contains(name, "smtp-url") || strings.Contains(name, "api-key") {
					t.Errorf("%s --%s takes a secret on the command line", c.CommandPath(), f.Name)
				}
			})
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(app.newRootCmd())
	if seen < 40 {
		t.Fatalf("only %d flags seen", seen)
	}
}
