// Settings: the global flags, the environment and the config file resolved
// once, in that order of precedence, for every command.

package main

import (
	"fmt"
	"math/big"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/nextcore-ai/nextcore/pkg/report"
	"github.com/nextcore-ai/nextcore/pkg/source"
	"github.com/nextcore-ai/nextcore/pkg/source/cache"
	"github.com/nextcore-ai/nextcore/pkg/source/pgstore"
)

type globalFlags struct {
	tenant, cache, tz, asOf, config, output string
	noColor, demo, debug                    bool
	apiURL, tokenFile, source, prices, cost string
	retries                                 int
	timeout                                 time.Duration
}

// settings are the global options after flags, environment, config file and
// defaults have had their say, in that order.
type settings struct {
	cfg       *Config
	tenant    string // "" when none was given
	cachePath string
	loc       *time.Location
	clock     report.Clock
	demo      bool
	source    string // cache or api

	output    string // -o: a file, "-" or "" for standard output
	noColor   bool
	asOfGiven bool // --as-of: the clock stands still
	apiURL    string
	tokenFile string
	retries   int
	timeout   time.Duration
	prices    string // a price file: --prices, else config pricing.file
	cost      report.CostMode
}

func (a *App) env(key string) string {
	if a.Env == nil {
		return ""
	}
	return a.Env(key)
}

func firstOf(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

func (a *App) settings(cmd *cobra.Command) (*settings, error) {
	f := a.flags
	s := &settings{demo: f.demo, output: f.output, noColor: f.noColor, asOfGiven: f.asOf != "", tokenFile: f.tokenFile,
		retries: f.retries, timeout: f.timeout}
	cfgPath := firstOf(f.config, a.env("NEXTCORE_CONFIG"))
	explicit := cfgPath != ""
	if cfgPath == "" {
		cfgPath = defaultConfigPath(a.env)
	}
	cfg, err := loadConfig(cfgPath, explicit)
	if err != nil {
		return nil, err
	}
	s.cfg = cfg
	for _, w := range cfg.warnings {
		a.warn(w)
	}
	switch a.flags.source {
	case "cache", "api":
		s.source = a.flags.source
	default:
		return nil, usagef("unknown --source %q (use cache or api)", a.flags.source)
	}
	if s.demo && s.source == "api" {
		return nil, usagef("--demo and --source api cannot go together")
	}
	if a.flags.retries < 0 || a.flags.retries > 100 {
		return nil, usagef("--retries must be between 0 and 100")
	}
	if a.flags.timeout <= 0 {
		return nil, usagef("--timeout must be positive, such as 30s")
	}
	s.tenant = firstOf(f.tenant, a.env("NEXTCORE_TENANT"), cfg.Tenant)
	if s.tenant != "" && !validSlug(s.tenant) {
		return nil, usagef("bad tenant %q (a slug of a-z, 0-9 and -)", s.tenant)
	}
	s.apiURL = firstOf(f.apiURL, a.env("NEXTCORE_API_URL"), cfg.APIURL)
	s.prices = firstOf(f.prices, cfg.Pricing.File)
	if s.cost, err = report.ParseCostMode(firstOf(f.cost, cfg.Cost)); err != nil {
		if f.cost != "" {
			return nil, usageError{err}
		}
		return nil, fmt.Errorf("config cost: %w", err)
	}
	s.cachePath = firstOf(f.cache, a.env("NEXTCORE_CACHE"), cfg.Cache)
	// A team store's password goes in PGPASSWORD, ~/.pgpass or a URL in
	// the environment: a flag shows in ps and shell history, a config file
	// is shared.
	if f.cache != "" && pgstore.IsURL(f.cache) && pgstore.HasPassword(f.cache) {
		return nil, usagef("--cache: a password does not belong on the command line (ps and shell history show it); put it in PGPASSWORD or ~/.pgpass, or the URL in NEXTCORE_CACHE")
	}
	if f.cache == "" && a.env("NEXTCORE_CACHE") == "" && pgstore.IsURL(cfg.Cache) && pgstore.HasPassword(cfg.Cache) {
		return nil, fmt.Errorf("config cache: a password does not belong in the config file; put it in PGPASSWORD or ~/.pgpass, or the URL in NEXTCORE_CACHE")
	}
	if s.cachePath == "" {
		s.cachePath = defaultCachePath(a.env, "usage.db")
	}
	tz := firstOf(f.tz, a.env("NEXTCORE_TIMEZONE"), cfg.Timezone)
	s.loc = a.systemLocation()
	if tz != "" {
		loc, ok := zone(tz)
		if !ok {
			if cmd.Flags().Changed("tz") {
				return nil, usagef("unknown time zone %q (use an IANA name such as Europe/Berlin or UTC)", tz)
			}
			return nil, fmt.Errorf("unknown time zone %q in the environment or config (use an IANA name such as Europe/Berlin)", tz)
		}
		s.loc = loc
	}
	if f.asOf != "" {
		c, err := report.ParseAsOf(f.asOf, s.loc)
		if err != nil {
			return nil, flagError("--as-of", err)
		}
		s.clock = c
	} else {
		s.clock = report.ClockAt(a.now(), s.loc)
	}
	cfgName := "none"
	if s.cfg.path != "" {
		cfgName = s.cfg.path
	}
	a.debugf("nextcore %s; config %s; cache %s; tenant %q; time zone %s; now %s", version, cfgName, s.cacheName(), s.tenant,
		s.loc, s.clock.Now.Format(time.RFC3339))
	return s, nil
}

// zone is the IANA time zone name, if it is one ("Local" is not: it would
// mean another zone on every machine).
func zone(name string) (*time.Location, bool) {
	loc, err := time.LoadLocation(name)
	return loc, err == nil && name != "Local"
}

// systemLocation is the system's zone under its IANA name where the system
// tells it (TZ, or the /etc/localtime link), so that reports name it.
func (a *App) systemLocation() *time.Location {
	name := strings.TrimPrefix(a.env("TZ"), ":")
	if name == "" {
		if target, err := os.Readlink("/etc/localtime"); err == nil {
			if i := strings.LastIndex(target, "zoneinfo/"); i >= 0 {
				name = target[i+len("zoneinfo/"):]
			}
		}
	}
	if name != "" {
		if loc, err := time.LoadLocation(name); err == nil {
			return loc
		}
	}
	return time.Local
}

func (a *App) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

func validSlug(s string) bool {
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return s != ""
}

// cacheOptions are how every command opens the cache: the app's clock, and
// a word on standard error before a schema upgrade that may take a while.
func (a *App) cacheOptions(create bool) cache.Options {
	return cache.Options{Create: create, Now: a.now, Upgrading: func(from, to int) {
		slow := ""
		if from < 4 {
			slow = "; rebuilding its rollups can take a few minutes on a large cache"
		}
		fmt.Fprintf(a.Stderr, "nextcore: upgrading the cache from schema %d to %d (once%s)…\n", from, to, slow)
	}}
}

// configLimits are the monthly limits the config file sets (App.limits puts
// the flags above them and the quota sync keeps below).
func (s *settings) configLimits() (report.Limits, error) {
	var l report.Limits
	var err error
	if l.Calls, err = parseCountLimit("limits.api_calls", s.cfg.Limits.APICalls); err != nil {
		return l, err
	}
	if l.Tokens, err = parseCountLimit("limits.tokens", s.cfg.Limits.Tokens); err != nil {
		return l, err
	}
	if l.Spend, err = parseSpendLimit("limits.spend", s.cfg.Limits.Spend); err != nil {
		return l, err
	}
	return l, nil
}

func parseCountLimit(name, v string) (*int64, error) {
	if v == "" {
		return nil, nil
	}
	n, err := strconv.ParseInt(strings.ReplaceAll(strings.ReplaceAll(v, "_", ""), ",", ""), 10, 64)
	if err != nil || n <= 0 {
		return nil, fmt.Errorf("%s: %q is not a positive whole number", name, v)
	}
	return &n, nil
}

func parseSpendLimit(name, v string) (*source.USD, error) {
	if v == "" {
		return nil, nil
	}
	u, err := source.ParseUSD(strings.ReplaceAll(strings.TrimPrefix(v, "$"), ",", ""))
	if err != nil || u <= 0 {
		return nil, fmt.Errorf("%s: %q is not a positive dollar amount", name, v)
	}
	return &u, nil
}

func parsePercent(name, v string) (*big.Rat, error) {
	r, ok := new(big.Rat).SetString(strings.TrimSuffix(v, "%"))
	if !ok || r.Sign() <= 0 || r.Cmp(big.NewRat(100, 1)) > 0 {
		return nil, fmt.Errorf("%s: %q is not a percentage between 0 and 100", name, v)
	}
	return r, nil
}
