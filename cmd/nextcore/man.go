package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
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
		name := strings.ReplaceAll(c.CommandPath(), " ", "-") + ".1"
		if _, err := writeFile(filepath.Join(dir, name), true, func(w io.Writer) error {
			_, err := io.WriteString(w, manPage(c, date))
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

// manPage is c's page in roff (man(7)): NAME, SYNOPSIS, DESCRIPTION,
// OPTIONS (its own, then those it inherits), EXAMPLE, EXIT STATUS,
// ENVIRONMENT, FILES and SEE ALSO. A flag whose value may be left out shows
// the value it then takes (--watch[=30s]). Written here rather than through
// a Markdown converter: its regular expressions were compiled at every
// start of nextcore, for a page written once.
func manPage(c *cobra.Command, date time.Time) string {
	var b strings.Builder
	dashed := strings.ReplaceAll(c.CommandPath(), " ", "-")
	fmt.Fprintf(&b, ".nh\n.TH %q \"1\" %q %q \"nextcore manual\"\n", strings.ToUpper(dashed), date.Format("Jan 2006"), "nextcore "+version)
	fmt.Fprintf(&b, ".SH NAME\n%s \\- %s\n", dashed, roffText(c.Short))
	fmt.Fprintf(&b, ".SH SYNOPSIS\n\\fB%s\\fP\n", roffText(c.UseLine()))
	long := c.Long
	if long == "" {
		long = c.Short
	}
	b.WriteString(".SH DESCRIPTION\n")
	roffParagraphs(&b, long)
	for _, fs := range []struct {
		title string
		flags *pflag.FlagSet
	}{{"OPTIONS", c.NonInheritedFlags()}, {"OPTIONS INHERITED FROM PARENT COMMANDS", c.InheritedFlags()}} {
		if !fs.flags.HasAvailableFlags() {
			continue
		}
		b.WriteString(".SH " + fs.title + "\n")
		fs.flags.VisitAll(func(f *pflag.Flag) {
			if f.Hidden || f.Deprecated != "" {
				return
			}
			b.WriteString(".TP\n")
			if f.Shorthand != "" && f.ShorthandDeprecated == "" {
				fmt.Fprintf(&b, "\\fB-%s\\fP, ", f.Shorthand)
			}
			fmt.Fprintf(&b, "\\fB--%s\\fP", f.Name)
			switch {
			case f.NoOptDefVal != "" && f.Value.Type() != "bool":
				fmt.Fprintf(&b, "[=%s]", roffText(f.NoOptDefVal))
			case f.Value.Type() == "string":
				fmt.Fprintf(&b, "=%s", roffText(strconv.Quote(f.DefValue)))
			case f.Value.Type() != "bool":
				fmt.Fprintf(&b, "=%s", roffText(f.DefValue))
			}
			_, usage := pflag.UnquoteUsage(f) // `FILE` marks the value's name in --help
			b.WriteString("\n" + roffLine(usage) + "\n")
		})
	}
	if c.Example != "" {
		b.WriteString(".SH EXAMPLE\n.EX\n")
		for _, line := range strings.Split(c.Example, "\n") {
			b.WriteString(roffLine(line) + "\n")
		}
		b.WriteString(".EE\n")
	}
	b.WriteString(manExitStatus + manEnvironment + manFiles)
	var also []string
	if c.HasParent() {
		also = append(also, strings.ReplaceAll(c.Parent().CommandPath(), " ", "-"))
	}
	subs := slices.Clone(c.Commands())
	sort.Slice(subs, func(i, j int) bool { return subs[i].Name() < subs[j].Name() })
	for _, sub := range subs {
		if sub.IsAvailableCommand() && !sub.IsAdditionalHelpTopicCommand() {
			also = append(also, dashed+"-"+sub.Name())
		}
	}
	b.WriteString(".SH SEE ALSO\n")
	for i, name := range also {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "\\fB%s(1)\\fP", name)
	}
	b.WriteString("\n")
	return b.String()
}

// roffParagraphs writes text as roff paragraphs: those separated by a
// blank line; an indented one as it is (.EX), else filled.
func roffParagraphs(b *strings.Builder, text string) {
	for i, para := range strings.Split(strings.TrimSpace(text), "\n\n") {
		if i > 0 {
			b.WriteString(".PP\n")
		}
		lines := strings.Split(para, "\n")
		if strings.HasPrefix(lines[0], " ") || strings.HasPrefix(lines[0], "\t") {
			b.WriteString(".EX\n")
			for _, l := range lines {
				b.WriteString(roffLine(l) + "\n")
			}
			b.WriteString(".EE\n")
			continue
		}
		for _, l := range lines {
			b.WriteString(roffLine(strings.TrimSpace(l)) + "\n")
		}
	}
}

// roffText escapes roff's escape character.
func roffText(s string) string { return strings.ReplaceAll(s, `\`, `\e`) }

// roffLine is s as a line of text: escaped, and not read as a request
// when it begins with a dot or a quote.
func roffLine(s string) string {
	s = roffText(s)
	if strings.HasPrefix(s, ".") || strings.HasPrefix(s, "'") {
		s = `\&` + s
	}
	return s
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
