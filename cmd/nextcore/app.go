// The program: App (its streams, environment and clock come in from
// outside), the command tree, and the one place where errors become exit
// codes.

package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/nextcore-ai/nextcore/pkg/notify"
	"github.com/nextcore-ai/nextcore/pkg/report/render"
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

// flagError is a package's complaint about a flag's value, named by the
// flag: "--by: unknown dimension "x" (use …)".
func flagError(flag string, err error) error { return usageError{fmt.Errorf("%s: %w", flag, err)} }

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

// Run runs the command line args and returns the exit code.
func (a *App) Run(ctx context.Context, args []string) (code int) {
	defer func() {
		if v := recover(); v != nil {
			code = a.exitCode(a.panicked(v))
		}
	}()
	root := a.newRootCmd()
	if len(args) > 0 && strings.HasPrefix(args[0], cobra.ShellCompRequestCmd) {
		// The shell asks for completions (__complete, __completeNoDesc):
		// only then are they needed, and giving every flag of every command
		// its own costs a report's start a few milliseconds.
		a.registerCompletions(root)
	}
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
	fmt.Fprintln(a.Stderr, "nextcore: "+render.Safe(err.Error()+hint(err)))
	return code
}

// hint is what an error of a package leaves to the command line: the flag
// that helps. Packages know no flags.
func hint(err error) string {
	var status *api.StatusError
	switch {
	case errors.Is(err, cache.ErrNewer):
		return " or use another --cache"
	case errors.Is(err, cache.ErrNotCache):
		return "; pass another --cache"
	case errors.Is(err, api.ErrGaveUp):
		return ", or raise --retries"
	case errors.Is(err, api.ErrCredentialsInURL):
		return "; give the token with NEXTCORE_TOKEN or --token-file"
	case errors.As(err, &status) && status.Status == http.StatusUnauthorized:
		return ", or give another with NEXTCORE_TOKEN or --token-file"
	case errors.As(err, &status) && status.Status == http.StatusForbidden:
		return "; check --tenant, or use a token of that tenant"
	case errors.As(err, &status) && status.Status == http.StatusNotFound:
		return "; check --tenant and --api-url"
	case errors.Is(err, notify.ErrTemporary):
		return ", or wait longer with --mail-retry-for"
	case errors.Is(err, notify.ErrNoSTARTTLS):
		return " or pass --smtp-insecure to send in plain text"
	}
	return ""
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
	pf.StringVar(&a.flags.cache, "cache", "", "cache file, or a team store's postgres:// URL (env NEXTCORE_CACHE; default $XDG_CACHE_HOME/nextcore/usage.db)")
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
	pf.StringVar(&a.flags.prices, "prices", "", "a price file (YAML or JSON) over the built-in price book (config pricing.file)")
	pf.StringVar(&a.flags.cost, "cost", "", "which cost reports show: reported (a record's own cost, else its price; the default) or priced (every record at the price book's prices) (config cost)")
	pf.BoolVar(&a.flags.debug, "debug", false, "log settings, API requests and mail delivery to standard error (never secrets; also NEXTCORE_DEBUG=1)")

	usage := &cobra.Command{
		Use:   "usage",
		Short: "Usage reports: stats, top-models, quota, export; import and sync",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return cmd.Help()
		},
	}
	usage.AddCommand(a.newStatsCmd(), a.newOverviewCmd(), a.newTopModelsCmd(), a.newBreakdownCmd(), a.newQuotaCmd(), a.newBudgetsCmd(), a.newAnomaliesCmd(), a.newReconcileCmd(), a.newExportCmd(), a.newReportCmd(), a.newAlertCmd(), a.newImportCmd(), a.newSyncCmd())
	root.AddCommand(usage, a.newBudgetCmd(), a.newCacheCmd(), a.newConfigCmd(), a.newPricingCmd(), a.newVersionCmd(), a.newManCmd())
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
