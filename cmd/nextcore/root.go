package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/nextcore-ai/nextcore/pkg/report"
	"github.com/nextcore-ai/nextcore/pkg/report/render"
	"github.com/nextcore-ai/nextcore/pkg/source"
	"github.com/nextcore-ai/nextcore/pkg/source/api"
	"github.com/nextcore-ai/nextcore/pkg/source/cache"
)

// Exit codes (docs/numbers.md).
const (
	exitOK          = 0
	exitFailure     = 1
	exitUsage       = 2
	exitBudget      = 3
	exitInterrupted = 130
)

// usageError is a mistake on the command line: exit code 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// budgetError is a failed budget check: exit code 3.
type budgetError struct{ msg string }

func (e budgetError) Error() string { return e.msg }

// App is the program with its surroundings: streams, environment and clock
// come in from outside so tests can run it whole, as a terminal or a pipe.
type App struct {
	Stdin     io.Reader
	Stdout    io.Writer
	Stderr    io.Writer
	StdoutTTY bool
	StderrTTY bool
	Width     int // terminal columns, 0 if unknown
	Env       func(string) string
	Now       func() time.Time

	// For tests: the TLS settings of the mail server, and how to wait
	// between retries.
	SMTPTLS *tls.Config
	Sleep   func(context.Context, time.Duration) error
	// For tests: the ticker of --watch; it returns the channel and a stop.
	Tick func(time.Duration) (<-chan time.Time, func())
	// HTTP posts webhooks; a client with a 30 s timeout when nil.
	HTTP *http.Client

	flags globalFlags
	// annotate: the report is written as GitHub annotations, so a failed
	// budget check is one too.
	annotate bool
}

type globalFlags struct {
	tenant, cache, tz, asOf, config, output string
	noColor, demo, debug                    bool
	apiURL, tokenFile, source               string
	retries                                 int
	timeout                                 time.Duration
}

// Run runs the command line args and returns the exit code.
func (a *App) Run(ctx context.Context, args []string) (code int) {
	defer func() {
		if v := recover(); v != nil {
			code = a.exitCode(a.panicked(v))
		}
	}()
	root := a.newRootCmd()
	root.SetArgs(joinOptionalValues(args))
	root.SetIn(a.Stdin)
	root.SetOut(a.Stdout)
	root.SetErr(a.Stderr)
	err := root.ExecuteContext(ctx)
	if err != nil && ctx.Err() != nil && !errors.As(err, new(*internalError)) {
		err = fmt.Errorf("interrupted; %w", context.Canceled)
	}
	return a.exitCode(err)
}

// internalError is a panic turned into an error: a bug, never the user's
// input. Transactions it interrupted are rolled back.
type internalError struct{ value any }

func (e *internalError) Error() string {
	return fmt.Sprintf("internal error (a bug in nextcore, not in your input): %v; nothing was half written. Please report it with the command you ran; NEXTCORE_DEBUG=1 shows where it happened", e.value)
}

// panicked turns a recovered panic into an error, logging where it
// happened under --debug.
func (a *App) panicked(v any) error {
	if a.debugging() {
		fmt.Fprintf(a.Stderr, "nextcore: debug: panic: %s\n%s", render.Safe(fmt.Sprint(v)), debug.Stack())
	}
	return &internalError{v}
}

// joinOptionalValues lets "--watch 1m" mean "--watch=1m": a flag whose value
// may be left out takes the next argument when it reads as its value.
func joinOptionalValues(args []string) []string {
	out := make([]string, 0, len(args))
	for i := 0; i < len(args); i++ {
		if args[i] == "--watch" && i+1 < len(args) {
			if _, err := time.ParseDuration(args[i+1]); err == nil {
				out = append(out, "--watch="+args[i+1])
				i++
				continue
			}
		}
		if args[i] == "--" {
			return append(out, args[i:]...)
		}
		out = append(out, args[i])
	}
	return out
}

// exitCode reports err and decides the exit code: the one place that does.
func (a *App) exitCode(err error) int {
	if err == nil {
		return exitOK
	}
	var ue usageError
	var be budgetError
	code := exitFailure
	switch {
	case errors.As(err, &ue):
		code = exitUsage
	case errors.As(err, &be):
		code = exitBudget
		// In a CI log the failed check is also an annotation, on the
		// workflow's summary page, saying why.
		if a.env("GITHUB_ACTIONS") == "true" || a.annotate {
			fmt.Fprintln(a.Stderr, render.Annotation("error", "NextCore budget check", be.msg))
		}
	case errors.Is(err, context.Canceled):
		code = exitInterrupted
	}
	fmt.Fprintln(a.Stderr, "nextcore: "+render.Safe(err.Error()))
	return code
}

func (a *App) newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "nextcore",
		Short: "Usage and cost reports for NextCore AI Cloud",
		Long: `nextcore reports what a NextCore AI Cloud tenant used and what it cost:
calls, tokens and spend by model and by day, the billing month against its
limits, and the insights behind them. Reports read a local cache that
'nextcore usage sync' keeps in step with the API (or 'nextcore usage import'
fills from files), or the API itself with --source api.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Args:          noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return cmd.Help()
		},
	}
	root.CompletionOptions.HiddenDefaultCmd = false
	// Every command inherits it: a flag mistake is a usage error (exit 2).
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	pf := root.PersistentFlags()
	pf.StringVar(&a.flags.tenant, "tenant", "", "tenant slug (env NEXTCORE_TENANT, config tenant)")
	pf.StringVar(&a.flags.cache, "cache", "", "cache file (env NEXTCORE_CACHE; default $XDG_CACHE_HOME/nextcore/usage.db)")
	pf.StringVar(&a.flags.tz, "tz", "", "IANA time zone of the report, e.g. Europe/Berlin (env NEXTCORE_TIMEZONE; default: the system's)")
	pf.StringVar(&a.flags.asOf, "as-of", "", "report as of this time (RFC 3339) or the end of this date (YYYY-MM-DD)")
	pf.StringVarP(&a.flags.output, "output", "o", "", "write the report to this file instead of standard output")
	pf.BoolVar(&a.flags.noColor, "no-color", false, "no colors (also NO_COLOR=1)")
	pf.StringVar(&a.flags.config, "config", "", "config file (env NEXTCORE_CONFIG; default $XDG_CONFIG_HOME/nextcore/config.yaml)")
	pf.BoolVar(&a.flags.demo, "demo", false, "report on a synthetic demo tenant (no server or data needed)")
	pf.StringVar(&a.flags.source, "source", "cache", "where reports read usage: cache, or api (live, no cache needed)")
	pf.StringVar(&a.flags.apiURL, "api-url", "", "control-plane API URL (env NEXTCORE_API_URL, config api_url)")
	pf.StringVar(&a.flags.tokenFile, "token-file", "", "file holding the API token (when NEXTCORE_TOKEN and config token are unset)")
	pf.IntVar(&a.flags.retries, "retries", api.DefaultRetries, "API retries after a failed attempt (429, 5xx, timeouts)")
	pf.DurationVar(&a.flags.timeout, "timeout", api.DefaultTimeout, "longest wait for one API answer")
	pf.BoolVar(&a.flags.debug, "debug", false, "log settings, API requests and mail delivery to standard error (never secrets; also NEXTCORE_DEBUG=1)")

	usage := &cobra.Command{
		Use:   "usage",
		Short: "Usage reports: stats, top-models, quota, export; import and sync",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return cmd.Help()
		},
	}
	usage.AddCommand(a.newStatsCmd(), a.newOverviewCmd(), a.newTopModelsCmd(), a.newBreakdownCmd(), a.newQuotaCmd(), a.newExportCmd(), a.newReportCmd(), a.newAlertCmd(), a.newImportCmd(), a.newSyncCmd())
	root.AddCommand(usage, a.newCacheCmd(), a.newConfigCmd(), a.newVersionCmd(), a.newManCmd())
	a.registerCompletions(root)
	return root
}

// noArgs rejects arguments, and names an unknown subcommand as such.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		if cmd.HasSubCommands() {
			return usagef("unknown command %q for %q; see '%s --help'", args[0], cmd.CommandPath(), cmd.CommandPath())
		}
		return usagef("%s takes no arguments (got %q)", cmd.CommandPath(), args[0])
	}
	return nil
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
	s := &settings{demo: f.demo}
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
	s.cachePath = firstOf(f.cache, a.env("NEXTCORE_CACHE"), cfg.Cache)
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
			return nil, usageError{err}
		}
		s.clock = c
	} else {
		s.clock = report.ClockAt(a.now(), s.loc)
	}
	cfgName := "none"
	if s.cfg.path != "" {
		cfgName = s.cfg.path
	}
	a.debugf("nextcore %s; config %s; cache %s; tenant %q; time zone %s; now %s", version, cfgName, s.cachePath, s.tenant,
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

// style is how the report looks where it goes: colors only on a terminal
// and only when nobody asked for none.
func (a *App) style(toFile bool) render.Style {
	color := a.StdoutTTY && !toFile && !a.flags.noColor && a.env("NO_COLOR") == "" && a.env("TERM") != "dumb"
	return render.Style{Color: color, Width: a.columns(toFile)}
}

// columns is the width reports fit: the terminal's, else $COLUMNS, else 80
// (a pipe or a file).
func (a *App) columns(toFile bool) int {
	if a.StdoutTTY && !toFile && a.Width > 0 {
		return a.Width
	}
	if n, err := strconv.Atoi(strings.TrimSpace(a.env("COLUMNS"))); err == nil && n > 0 {
		return n
	}
	return 80
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

// report is an open source of usage for one tenant.
type reportSource struct {
	src    source.Source
	tenant string
	meta   render.Meta
	close  func()
	// dataStart is the oldest record's time (zero when unknown, as live
	// from the API): a previous window before it is only partly covered.
	dataStart time.Time
}

// openSource opens the cache (or the demo cache) for a report and settles
// the tenant: the one named, or the only one the cache holds.
func (a *App) openSource(ctx context.Context, s *settings) (*reportSource, error) {
	if s.demo {
		return a.openDemo(ctx, s)
	}
	if s.source == "api" {
		return a.openAPI(s)
	}
	c, err := cache.Open(ctx, s.cachePath, a.cacheOptions(false))
	if errors.Is(err, cache.ErrNoCache) {
		return nil, fmt.Errorf("no usage yet: the cache %s does not exist. Import records with 'nextcore usage import FILE --tenant SLUG', or try 'nextcore usage stats --demo'", s.cachePath)
	}
	if err != nil {
		return nil, err
	}
	tenants, err := c.Tenants(ctx)
	if err != nil {
		_ = c.Close() // the error returned says what went wrong
		return nil, err
	}
	tenant := s.tenant
	switch {
	case len(tenants) == 0:
		_ = c.Close() // the error returned says what went wrong
		return nil, fmt.Errorf("no usage yet: the cache %s is empty. Import records with 'nextcore usage import FILE --tenant SLUG'", s.cachePath)
	case tenant == "" && len(tenants) == 1:
		tenant = tenants[0]
	case tenant == "":
		_ = c.Close() // the error returned says what went wrong
		return nil, usagef("the cache holds several tenants (%s): choose one with --tenant", strings.Join(tenants, ", "))
	case !contains(tenants, tenant):
		_ = c.Close() // the error returned says what went wrong
		return nil, fmt.Errorf("tenant %q has no usage in the cache %s (it holds: %s)", tenant, s.cachePath, strings.Join(tenants, ", "))
	}
	info, err := c.Info(ctx, tenant)
	if err != nil {
		_ = c.Close() // the error returned says what went wrong
		return nil, err
	}
	meta := render.Meta{Source: "cache"}
	if st, err := c.SyncState(ctx, tenant); err == nil && st != nil && st.Finished && !st.UpdatedAt.Before(info.UpdatedAt) {
		meta.Note = "cache synced " + ago(a.now().Sub(st.UpdatedAt))
	} else if !info.UpdatedAt.IsZero() {
		meta.Note = "cache updated " + ago(a.now().Sub(info.UpdatedAt))
	}
	return &reportSource{src: c, tenant: tenant, meta: meta, close: func() { _ = c.Close() } /* reports only read */, dataStart: info.Oldest}, nil
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// ago says how long ago something happened, roughly.
func ago(d time.Duration) string {
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return strconv.Itoa(int(d.Minutes())) + " min ago"
	case d < 48*time.Hour:
		return strconv.Itoa(int(d.Hours())) + " h ago"
	}
	return strconv.Itoa(int(d.Hours()/24)) + " days ago"
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

// emit writes a report to standard output, or with -o to a file that appears
// whole or not at all.
func (a *App) emit(write func(w io.Writer, st render.Style) error) error {
	if a.flags.output == "" || a.flags.output == "-" {
		return write(a.Stdout, a.style(false))
	}
	_, err := writeFile(a.flags.output, true, func(w io.Writer) error { return write(w, a.style(true)) })
	return err
}

// writeFile writes path through a temporary file in the same folder that is
// renamed into place once whole, so a failed write never leaves half a
// file. Without overwrite an existing path is refused, also when it appears
// while writing. It returns the size written.
func writeFile(path string, overwrite bool, write func(io.Writer) error) (int64, error) {
	return writeFileMode(path, overwrite, 0o644, write)
}

// writeFileMode is writeFile with the new file's permissions.
func writeFileMode(path string, overwrite bool, mode os.FileMode, write func(io.Writer) error) (int64, error) {
	dir := filepath.Dir(path)
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return 0, fmt.Errorf("cannot write %s: the folder %s does not exist", path, dir)
	}
	if st, err := os.Stat(path); err == nil {
		if st.IsDir() {
			return 0, fmt.Errorf("cannot write %s: it is a directory", path)
		}
		if !overwrite {
			return 0, fmt.Errorf("%s exists; pass --force to overwrite it", path)
		}
	}
	// The temporary file names this process, so that one a killed nextcore
	// left is removed by the next write here.
	prefix := "." + filepath.Base(path) + ".nextcore-"
	cache.RemoveAbandoned(filepath.Join(dir, prefix))
	tmp, err := os.CreateTemp(dir, prefix+strconv.Itoa(os.Getpid())+"-*.tmp")
	if err != nil {
		return 0, fmt.Errorf("cannot write %s: %w", path, unwrapPath(err))
	}
	defer os.Remove(tmp.Name()) //nolint:errcheck // gone already once renamed into place
	cw := &countingWriter{w: tmp}
	if err := write(cw); err != nil {
		_ = tmp.Close() // removed above; the write's error is what matters
		return 0, fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return 0, fmt.Errorf("write %s: %w", path, unwrapPath(err))
	}
	if err := os.Chmod(tmp.Name(), mode); err != nil {
		return 0, err
	}
	if overwrite {
		return cw.n, os.Rename(tmp.Name(), path)
	}
	// A hard link fails if the name was taken meanwhile; where links are
	// not supported, fall back to a rename after one more look.
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, os.ErrExist) {
			return 0, fmt.Errorf("%s exists; pass --force to overwrite it", path)
		}
		if _, serr := os.Stat(path); serr == nil {
			return 0, fmt.Errorf("%s exists; pass --force to overwrite it", path)
		}
		return cw.n, os.Rename(tmp.Name(), path)
	}
	return cw.n, nil
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// stepSummary appends Markdown to $GITHUB_STEP_SUMMARY when it is set, so a
// CI job's summary page shows the report.
func (a *App) stepSummary(write func(io.Writer) error) error {
	path := a.env("GITHUB_STEP_SUMMARY")
	if path == "" {
		return nil
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("GITHUB_STEP_SUMMARY: %w", unwrapPath(err))
	}
	if err := write(f); err != nil {
		_ = f.Close() // the write's error is what matters
		return err
	}
	if _, err := f.Write([]byte("\n")); err != nil {
		_ = f.Close()
		return fmt.Errorf("GITHUB_STEP_SUMMARY: %w", unwrapPath(err))
	}
	return f.Close()
}

// unwrapPathErr says "x.json: no such file" plainly.
func unwrapPathErr(path string, err error) error {
	return fmt.Errorf("%s: %w", path, unwrapPath(err))
}

func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
