package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/nextcore-ai/nextcore/pkg/report/render"
	"github.com/nextcore-ai/nextcore/pkg/source/api"
)

// client builds the API client from the settings: URL from --api-url,
// NEXTCORE_API_URL or config api_url; token from NEXTCORE_TOKEN, else config
// token, else --token-file (docs/api.md's order). The token is never printed.
func (a *App) client(s *settings) (*api.Client, error) {
	if s.tenant == "" {
		return nil, usagef("the API needs a tenant: pass --tenant SLUG (or set NEXTCORE_TENANT, or tenant in the config)")
	}
	base := s.apiURL
	if base == "" {
		return nil, usagef("no API URL: pass --api-url, set NEXTCORE_API_URL, or api_url in the config")
	}
	token, from, err := a.token(s)
	if err != nil {
		return nil, err
	}
	c, err := api.New(base, s.tenant, token, from, "nextcore/"+version)
	if err != nil {
		return nil, usageError{err}
	}
	c.Retries = s.retries
	c.Timeout = s.timeout
	c.Debug = a.debugf
	a.debugf("API %s, tenant %s, token from %s", c.Base.Redacted(), s.tenant, from)
	return c, nil
}

func (a *App) token(s *settings) (token, from string, err error) {
	if t := strings.TrimSpace(a.env("NEXTCORE_TOKEN")); t != "" {
		if s.tokenFile != "" {
			a.warn("NEXTCORE_TOKEN is set, so --token-file is not used")
		}
		return t, "NEXTCORE_TOKEN", nil
	}
	if t := strings.TrimSpace(s.cfg.Token); t != "" {
		return t, "the config file " + s.cfg.path, nil
	}
	if s.tokenFile != "" {
		data, err := os.ReadFile(s.tokenFile)
		if err != nil {
			return "", "", fmt.Errorf("read --token-file: %w", unwrapPath(err))
		}
		t := strings.TrimSpace(string(data))
		if t == "" || strings.ContainsAny(t, "\r\n") {
			return "", "", fmt.Errorf("--token-file %s must hold the token alone on one line", s.tokenFile)
		}
		return t, "--token-file " + s.tokenFile, nil
	}
	return "", "", usagef("no API token: set NEXTCORE_TOKEN, token in the config, or pass --token-file PATH")
}

// debugging reports whether --debug or NEXTCORE_DEBUG is on.
func (a *App) debugging() bool { return a.flags.debug || a.env("NEXTCORE_DEBUG") != "" }

// debugf logs a line to standard error under --debug (or NEXTCORE_DEBUG).
// Callers never pass a secret: tokens and passwords stay out of it.
func (a *App) debugf(format string, args ...any) {
	if !a.debugging() {
		return
	}
	fmt.Fprintln(a.Stderr, "nextcore: debug: "+render.Safe(fmt.Sprintf(format, args...)))
}

// warn writes a warning to standard error.
func (a *App) warn(msg string) {
	fmt.Fprintln(a.Stderr, "nextcore: warning: "+msg)
}

// openAPI is the live source: reports aggregate records as they stream in.
func (a *App) openAPI(s *settings) (*reportSource, error) {
	c, err := a.client(s)
	if err != nil {
		return nil, err
	}
	meta := render.Meta{Source: "api", Note: "live from " + c.Base.Host}
	return &reportSource{src: &api.Source{Client: c}, tenant: s.tenant, meta: meta, close: func() {}}, nil
}
