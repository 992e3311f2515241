package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestConfigSet(t *testing.T) {
	e := newEnv(t)
	path := filepath.Join(e.dir, "conf", "nextcore", "config.yaml")
	e.vars["NEXTCORE_CONFIG"] = path
	ok := func(stdin string, args ...string) string {
		t.Helper()
		r := e.run(stdin, false, append([]string{"config", "set"}, args...)...)
		if r.code != 0 {
			t.Fatalf("config set %v: %d %q", args, r.code, r.stderr)
		}
		return r.stderr
	}
	ok("", "tenant", "acme")
	if msg := ok("tok-S3CRET\n", "token"); strings.Contains(msg, "tok-S3CRET") || !strings.Contains(msg, "not shown") {
		t.Errorf("setting the token said %q", msg)
	}
	ok("smtp://reports:pw%40x@mail.example:587\n", "smtp.url", "-")
	ok("", "smtp.to", "a@acme.example, b@acme.example")
	ok("", "smtp.insecure", "true")
	ok("", "limits.spend", "500.50")
	ok("", "tenant", "globex") // replaces, keeps the rest
	for p, want := range map[string]os.FileMode{path: 0o600, filepath.Dir(path): 0o700} {
		if st, err := os.Stat(p); err != nil || st.Mode().Perm() != want {
			t.Errorf("%s: mode %v, want %04o (%v)", p, st.Mode().Perm(), want, err)
		}
	}
	data, _ := os.ReadFile(path)
	cfg, err := parseConfig(data, path)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Tenant != "globex" || cfg.Token != "tok-S3CRET" || cfg.SMTP.URL != "smtp://reports:pw%40x@mail.example:587" ||
		strings.Join(cfg.SMTP.To, " ") != "a@acme.example b@acme.example" || !cfg.SMTP.Insecure || cfg.Limits.Spend != "500.50" {
		t.Errorf("read back: %+v", cfg)
	}
	// The file in use is the one reports read: no warning about its mode.
	if r := e.run("", false, "config", "path"); strings.TrimSpace(r.stdout) != path {
		t.Errorf("config path: %q", r.stdout)
	}
	if r := e.run("", false, "usage", "stats", "--demo"); strings.Contains(r.stderr, "others can read it") || r.code != 0 {
		t.Errorf("a report with the written config: %d %q", r.code, r.stderr)
	}
}

func TestConfigSetKeepsCommentsAndTightensMode(t *testing.T) {
	e := newEnv(t)
	path := filepath.Join(e.dir, "config.yaml")
	e.vars["NEXTCORE_CONFIG"] = path
	os.WriteFile(path, []byte("# our team's settings\ntenant: acme # the prod tenant\ntimezone: Europe/Berlin\n"), 0o644)
	if r := e.run("tok\n", false, "config", "set", "token"); r.code != 0 {
		t.Fatalf("%d %q", r.code, r.stderr)
	}
	data, _ := os.ReadFile(path)
	for _, want := range []string{"# our team's settings", "tenant: acme # the prod tenant", "timezone: Europe/Berlin", "token: tok"} {
		if !strings.Contains(string(data), want) {
			t.Errorf("the file lost %q:\n%s", want, data)
		}
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Errorf("mode %04o after writing a secret", st.Mode().Perm())
	}
}

func TestConfigSetRefusals(t *testing.T) {
	for name, c := range map[string]struct {
		stdin, existing string
		args            []string
		code            int
		want            string
	}{
		"token on the command line":   {args: []string{"token", "tok-S3CRET"}, code: 2, want: "token is a secret: give it on standard input"},
		"smtp password on the line":   {args: []string{"smtp.url", "smtp://u:tok-S3CRET@h:587"}, code: 2, want: "smtp.url is a secret"},
		"unknown key":                 {args: []string{"colour", "red"}, code: 2, want: `unknown config key "colour"`},
		"not a boolean":               {args: []string{"smtp.insecure", "yes"}, code: 2, want: "smtp.insecure is true or false"},
		"nothing on standard input":   {args: []string{"token"}, code: 2, want: "no value for token on standard input"},
		"a broken file is left alone": {existing: "tenant: [unclosed\n", args: []string{"tenant", "acme"}, code: 1, want: "fix it before setting values"},
		"an unknown key in the file":  {existing: "tenant: a\ncolour: red\n", args: []string{"tenant", "acme"}, code: 1, want: "field colour not found"},
		"too many arguments":          {args: []string{"tenant", "a", "b"}, code: 2, want: "config set takes KEY and VALUE"},
		"a spend that is not money":   {args: []string{"limits.spend", "lots"}, code: 2, want: "limits.spend"},
		"an unknown zone":             {args: []string{"timezone", "Mars/Olympus"}, code: 2, want: `unknown time zone "Mars/Olympus"`},
		"a percent that is not one":   {args: []string{"warn_at", "most"}, code: 2, want: "warn_at"},
		"an API URL without a scheme": {args: []string{"api_url", "api.example"}, code: 2, want: "api_url must be an http:// or https:// URL"},
		"an SMTP URL of another kind": {stdin: "ftp://h\n", args: []string{"smtp.url"}, code: 2, want: "smtp"},
	} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			path := filepath.Join(e.dir, "config.yaml")
			e.vars["NEXTCORE_CONFIG"] = path
			if c.existing != "" {
				os.WriteFile(path, []byte(c.existing), 0o600)
			}
			r := e.run(c.stdin, false, append([]string{"config", "set"}, c.args...)...)
			if r.code != c.code || !strings.Contains(r.stderr, c.want) || strings.Contains(r.stderr, "tok-S3CRET") {
				t.Errorf("%d %q", r.code, r.stderr)
			}
			data, err := os.ReadFile(path)
			if c.code != 0 && string(data) != c.existing && !(c.existing == "" && os.IsNotExist(err)) {
				t.Errorf("a refused set changed the file: %q", data)
			}
		})
	}
}
