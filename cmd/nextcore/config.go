package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Config is the config file: $XDG_CONFIG_HOME/nextcore/config.yaml.
type Config struct {
	Tenant   string         `yaml:"tenant"`
	APIURL   string         `yaml:"api_url"`
	Token    string         `yaml:"token"`
	Timezone string         `yaml:"timezone"`
	Cache    string         `yaml:"cache"`
	Limits   ConfigLimits   `yaml:"limits"`
	WarnAt   string         `yaml:"warn_at"`
	SMTP     ConfigSMTP     `yaml:"smtp"`
	Alerts   ConfigAlerts   `yaml:"alerts"`
	Pricing  ConfigPricing  `yaml:"pricing"`
	Cost     string         `yaml:"cost"` // reported or priced
	Budgets  []ConfigBudget `yaml:"budgets"`

	path     string   // where it was read from, "" for none
	warnings []string // for standard error
}

// ConfigLimits are monthly limits; empty means unlimited.
type ConfigLimits struct {
	APICalls string `yaml:"api_calls"`
	Tokens   string `yaml:"tokens"`
	Spend    string `yaml:"spend"`
}

// ConfigSMTP is how reports and alerts are mailed.
type ConfigSMTP struct {
	URL      string   `yaml:"url"`  // smtp://user:pass@host:587 or smtps://user:pass@host:465
	From     string   `yaml:"from"` // the sender
	To       []string `yaml:"to"`   // default recipients
	Insecure bool     `yaml:"insecure"`
	RetryFor string   `yaml:"retry_for"` // how long temporary refusals are tried again, such as 10m
}

// ConfigPricing is the user's price book over the built-in one.
type ConfigPricing struct {
	File string `yaml:"file"` // a price file (YAML or JSON)
}

// ConfigAlerts are the budget alerts' defaults.
type ConfigAlerts struct {
	Thresholds []string `yaml:"thresholds"` // percent of each limit; default 50, 80, 100
	Anomalies  bool     `yaml:"anomalies"`  // usage alert alerts on anomalies too
	Email      []string `yaml:"email"`      // recipients; default smtp.to
	Webhook    string   `yaml:"webhook"`
}

// defaultConfigPath is $XDG_CONFIG_HOME/nextcore/config.yaml, or the
// platform's equivalent.
func defaultConfigPath(env func(string) string) string {
	dir := env("XDG_CONFIG_HOME")
	if dir == "" {
		home := env("HOME")
		if home == "" {
			d, err := os.UserConfigDir()
			if err != nil {
				return ""
			}
			return filepath.Join(d, "nextcore", "config.yaml")
		}
		dir = filepath.Join(home, ".config")
	}
	return filepath.Join(dir, "nextcore", "config.yaml")
}

// defaultCachePath is $XDG_CACHE_HOME/nextcore/<name>, or the platform's
// equivalent.
func defaultCachePath(env func(string) string, name string) string {
	dir := env("XDG_CACHE_HOME")
	if dir == "" {
		home := env("HOME")
		if home == "" {
			d, err := os.UserCacheDir()
			if err != nil {
				return name
			}
			return filepath.Join(d, "nextcore", name)
		}
		dir = filepath.Join(home, ".cache")
	}
	return filepath.Join(dir, "nextcore", name)
}

// parseConfig reads a config file's contents; path names it in errors.
func parseConfig(data []byte, path string) (*Config, error) {
	cfg := &Config{path: path}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(cfg); err != nil && !errors.Is(err, io.EOF) {
		msg := strings.TrimPrefix(err.Error(), "yaml: ")
		var te *yaml.TypeError
		if errors.As(err, &te) {
			msg = strings.Join(te.Errors, "; ")
		}
		msg = strings.NewReplacer("\n", `\n`, "\r", `\r`).Replace(msg) // values quoted from the file
		return nil, fmt.Errorf("config %s: %s", path, msg)
	}
	return cfg, nil
}

// loadConfig reads the config file. A missing file is fine unless it was
// named explicitly.
func loadConfig(path string, explicit bool) (*Config, error) {
	cfg := &Config{}
	if path == "" {
		return cfg, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) && !explicit {
			return cfg, nil
		}
		return nil, fmt.Errorf("read config: %w", err)
	}
	if cfg, err = parseConfig(data, path); err != nil {
		return nil, err
	}
	if cfg.Token != "" || strings.Contains(cfg.SMTP.URL, "@") {
		if st, err := os.Stat(path); err == nil && st.Mode().Perm()&0o077 != 0 {
			cfg.warnings = append(cfg.warnings, fmt.Sprintf("the config file %s holds a secret (token or SMTP password) and others can read it (mode %04o); run: chmod 600 %s",
				path, st.Mode().Perm(), path))
		}
	}
	return cfg, nil
}
