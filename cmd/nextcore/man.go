package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
	"github.com/spf13/pflag"
)

type manOptions struct {
	install bool
}

// newManCmd writes the man pages, one per command: into a folder, or with
// --install where man finds them beside the binary.
func (a *App) newManCmd() *cobra.Command {
	opts := &manOptions{}
	cmd := &cobra.Command{
		Use:   "man [DIR]",
		Short: "Write the man pages (one per command) into DIR, or install them for man(1)",
		Long: `Write a man page for every command (nextcore-usage-stats.1 and so on)
into DIR. With --install they go to share/man/man1 beside the folder of
the nextcore binary (~/go/share/man/man1 after go install, or
/usr/local/share/man/man1 for /usr/local/bin), where man finds them for
every folder on PATH.`,
		Example: `  nextcore man --install && man nextcore-usage-stats
  nextcore man ./man1 && man -l ./man1/nextcore-usage-quota.1`,
		Args: func(cmd *cobra.Command, args []string) error {
			switch {
			case len(args) > 1:
				return usagef("man takes one folder (got %d arguments)", len(args))
			case len(args) == 0 && !opts.install:
				return usagef("man needs a folder, or --install")
			case len(args) == 1 && opts.install:
				return usagef("man: give a folder or --install, not both")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := ""
			if len(args) == 1 {
				dir = args[0]
			} else {
				exe, err := os.Executable()
				if err != nil {
					return fmt.Errorf("man --install: cannot find the nextcore binary: %w", err)
				}
				if real, err := filepath.EvalSymlinks(exe); err == nil {
					exe = real
				}
				dir = filepath.Join(filepath.Dir(filepath.Dir(exe)), "share", "man", "man1")
			}
			n, err := a.writeManPages(cmd.Root(), dir)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.Stderr, "wrote %d man pages to %s; try: man nextcore-usage-stats\n", n, dir)
			return nil
		},
	}
	cmd.Flags().BoolVar(&opts.install, "install", false, "install the pages beside the binary (share/man/man1), where man finds them")
	return cmd
}

// writeManPages writes a page per visible command, each titled by its
// command (NEXTCORE-USAGE-STATS(1)) with the sections cobra does not
// write: EXIT STATUS, ENVIRONMENT and FILES.
func (a *App) writeManPages(root *cobra.Command, dir string) (int, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, fmt.Errorf("man pages: %w", unwrapPathErr(dir, err))
	}
	// The date of the pages: SOURCE_DATE_EPOCH when set, for the same bytes
	// from the same source.
	date := a.now()
	if s := a.env("SOURCE_DATE_EPOCH"); s != "" {
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			date = time.Unix(n, 0).UTC()
		}
	}
	root.DisableAutoGenTag = true
	n := 0
	var walk func(c *cobra.Command) error
	walk = func(c *cobra.Command) error {
		if !c.IsAvailableCommand() && c != root {
			return nil
		}
		for _, sub := range c.Commands() {
			if err := walk(sub); err != nil {
				return err
			}
		}
		var b bytes.Buffer
		header := &doc.GenManHeader{Section: "1", Source: "nextcore " + version, Manual: "nextcore manual", Date: &date}
		if err := doc.GenMan(c, header, &b); err != nil {
			return err
		}
		page := manSections(c, b.String())
		name := strings.ReplaceAll(c.CommandPath(), " ", "-") + ".1"
		if _, err := writeFile(filepath.Join(dir, name), true, func(w io.Writer) error {
			_, err := w.Write([]byte(page))
			return err
		}); err != nil {
			return err
		}
		n++
		return nil
	}
	if err := walk(root); err != nil {
		return n, fmt.Errorf("man pages: %w", err)
	}
	return n, nil
}

// manSections adds EXIT STATUS, ENVIRONMENT and FILES before SEE ALSO, and
// shows a flag whose value may be left out with the value it then takes
// (--watch[=30s]), not its unset default.
func manSections(c *cobra.Command, page string) string {
	c.Flags().VisitAll(func(f *pflag.Flag) {
		if f.NoOptDefVal != "" {
			page = strings.ReplaceAll(page, "--"+f.Name+`\fP[=`+f.DefValue+`]`, "--"+f.Name+`\fP[=`+f.NoOptDefVal+`]`)
		}
	})
	extra := manExitStatus + manEnvironment + manFiles
	if i := strings.Index(page, ".SH SEE ALSO"); i >= 0 {
		return page[:i] + extra + page[i:]
	}
	return page + extra
}

const manExitStatus = `.SH EXIT STATUS
.TP
\fB0\fP
done
.TP
\fB1\fP
it could not be done: network, server, file, a damaged cache or corrupt input
.TP
\fB2\fP
the command line is wrong: unknown flag or command, bad date, period, format or value
.TP
\fB3\fP
a budget check failed (\fB\-\-fail\-on\fP, \fB\-\-max\-increase\fP)
.TP
\fB130\fP
interrupted (Ctrl\-C); whatever was half done is rolled back
`

const manEnvironment = `.SH ENVIRONMENT
.TP
\fBNEXTCORE_TENANT\fP, \fBNEXTCORE_CACHE\fP, \fBNEXTCORE_TIMEZONE\fP, \fBNEXTCORE_CONFIG\fP
the tenant, cache file, time zone and config file when the flags do not name them
.TP
\fBNEXTCORE_API_URL\fP, \fBNEXTCORE_TOKEN\fP
the control\-plane API and its token (the token is never printed or logged)
.TP
\fBNEXTCORE_SMTP_URL\fP, \fBNEXTCORE_SMTP_FROM\fP
the mail server (smtp:// or smtps://, with user and password) and sender of reports and alerts
.TP
\fBNEXTCORE_DEBUG\fP
log settings, API requests and mail delivery to standard error, never secrets
.TP
\fBNO_COLOR\fP, \fBTERM\fP=dumb
no colors
.TP
\fBCOLUMNS\fP
the width reports fit when standard output is not a terminal (else 80)
.TP
\fBTZ\fP
the system's time zone, used when neither \-\-tz nor the config names one
.TP
\fBGITHUB_ACTIONS\fP, \fBGITHUB_STEP_SUMMARY\fP
in a GitHub Actions job: a failed budget check is also an ::error annotation, and stats and quota append their Markdown to the step summary
.TP
\fBXDG_CONFIG_HOME\fP, \fBXDG_CACHE_HOME\fP
where the config file and the cache live (default ~/.config and ~/.cache)
`

const manFiles = `.SH FILES
.TP
\fI$XDG_CONFIG_HOME/nextcore/config.yaml\fP
settings: tenant, api_url, token, timezone, cache, limits, smtp, alerts (mode 0600; see nextcore config set)
.TP
\fI$XDG_CACHE_HOME/nextcore/usage.db\fP
the SQLite cache of usage records, with a read\-only view usage_records for ad\-hoc queries
.TP
\fI$XDG_CACHE_HOME/nextcore/demo.db\fP
the synthetic tenant of \-\-demo
`
