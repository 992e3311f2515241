package main

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/nextcore-ai/nextcore/pkg/report"
	"github.com/nextcore-ai/nextcore/pkg/source/adminapi"
	"github.com/nextcore-ai/nextcore/pkg/source/cache"
	"github.com/nextcore-ai/nextcore/pkg/source/pull"
)

// firstSyncDays reaches back far enough for the longest report (a year) and
// the window it is compared with (the year before).
const firstSyncDays = 730

type syncOptions struct {
	since    string
	provider string
	baseURL  string
}

func (a *App) newSyncCmd() *cobra.Command {
	opts := &syncOptions{}
	cmd := &cobra.Command{
		Use:   "sync",
		Short: "Fetch the tenant's usage records and quota from the API into the cache",
		Long: `Fetch the tenant's usage records and quota from the NextCore API into the cache,
so that reports work offline and fast.

The first sync reaches back 730 days (a year and the year it is compared
with), or to --since. Later syncs start 48 hours before the newest record
they stored, because records can arrive up to 48 hours late; records
already stored are recognised by id and skipped. Each page is stored in one
transaction together with the sync's position, so a sync cut short (Ctrl-C,
kill, a lost network) leaves the cache consistent and the next one goes on
from there. Two syncs of one cache cannot run at once: the second refuses.

--provider openai|anthropic syncs the organisation's usage and bill from the
provider's admin API instead (OpenAI's usage of completions, Anthropic's
usage report), with the admin key from the environment only
(OPENAI_ADMIN_KEY, ANTHROPIC_ADMIN_KEY): hourly buckets up to the last
hour that is over and settled (an hour more), from where the last sync got
to, or --since, or 30 days back for the first. A page a transaction, as
above: a sync cut short goes on from the page after the last one stored.`,
		Example: `  NEXTCORE_TOKEN=… nextcore usage sync --tenant acme --api-url https://cp.example.com
  nextcore usage sync --since 2025-01-01
  # crontab: keep the cache fresh every hour
  15 * * * *  nextcore usage sync --tenant acme --token-file ~/.config/nextcore/token
  OPENAI_ADMIN_KEY=… nextcore usage sync --tenant acme --provider openai --since 2026-01-01`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runSync(cmd.Context(), cmd, opts)
		},
	}
	cmd.Flags().StringVar(&opts.since, "since", "", "fetch records from this date (YYYY-MM-DD) on, instead of where the last sync got to")
	cmd.Flags().StringVar(&opts.provider, "provider", "", "sync from a provider's admin API instead: openai or anthropic")
	cmd.Flags().StringVar(&opts.baseURL, "provider-url", "", "the provider API's base URL (default: the provider's own; a proxy, or a test server)")
	cmd.RegisterFlagCompletionFunc("provider", fixedValues("openai", "anthropic"))
	return cmd
}

func (a *App) runSync(ctx context.Context, cmd *cobra.Command, opts *syncOptions) error {
	s, err := a.settings(cmd)
	if err != nil {
		return err
	}
	limitWriterMemory(s)
	if s.demo || s.source == "api" {
		return usagef("sync fills the cache; drop --demo and --source api")
	}
	var since *report.Date
	if opts.since != "" {
		d, err := report.ParseDate(opts.since)
		if err != nil {
			return usagef("--since: %v", err)
		}
		since = &d
	}
	if opts.provider != "" || opts.baseURL != "" {
		return a.runProviderSync(ctx, s, opts, since)
	}
	client, err := a.client(s)
	if err != nil {
		return err
	}
	c, done, err := a.openForSync(ctx, s)
	if err != nil {
		return err
	}
	defer done()

	now := a.now()
	state, err := c.SyncState(ctx, s.tenant)
	if err != nil {
		return err
	}
	var sinceStart time.Time
	if since != nil {
		sinceStart = since.Start(s.loc)
	}
	first := report.DateOf(now.In(s.loc)).AddDays(-firstSyncDays).Start(s.loc)
	start, state := pull.Start(state, client.Base.String(), sinceStart, first)
	st := cache.SyncState{APIURL: client.Base.String(), WindowStart: start, WindowEnd: now, StartedAt: now}
	if state != nil {
		st.LastTS = state.LastTS
	}

	bar := a.progress(-1, "syncing", progressbar.OptionSpinnerType(14))
	defer bar.Exit()
	client.OnRetry = func(attempt int, wait time.Duration, err error) {
		bar.Describe(fmt.Sprintf("syncing: retry %d in %s (%v)", attempt, wait.Round(time.Millisecond), err))
	}
	began := time.Now()
	var added, dups int64
	if start.Before(now) {
		added, dups, err = pull.Pages(ctx, c, client, s.tenant, &st, pull.Options{Now: a.now, Panicked: a.panicked,
			Page: func(added, dups, pages int64) {
				if secs := time.Since(began).Seconds(); secs > 0 {
					bar.Describe(fmt.Sprintf("syncing: %s records, %d pages, %s/s", report.Count(added+dups), pages,
						report.Count(int64(float64(added+dups)/secs))))
				}
				bar.Add(1)
			}})
	} else {
		st.Finished = true
	}
	elapsed := time.Since(began)
	summary := func(note string) {
		rate := ""
		if secs := elapsed.Seconds(); secs > 0 && added+dups > 0 {
			rate = fmt.Sprintf(" (%s records/s)", report.Count(int64(float64(added+dups)/secs)))
		}
		fmt.Fprintf(a.Stderr, "%s: %s new, %s duplicates, %s, %s in %s%s%s\n", s.tenant,
			report.Count(added), report.Count(dups), plural(st.Pages, "page"), plural(int64(client.Retried), "retry"),
			elapsed.Round(time.Millisecond), rate, note)
	}
	if err != nil {
		bar.Exit()
		if ctx.Err() != nil {
			return fmt.Errorf("sync interrupted after %s; what was stored is kept, and the next sync goes on from there: %w",
				plural(st.Pages, "page"), context.Canceled)
		}
		if st.Pages > 0 {
			summary("; stopped")
			return fmt.Errorf("%w (%s stored; the next sync goes on from there)", err, plural(st.Pages, "page"))
		}
		return err
	}
	bar.Finish()
	q, err := client.Quota(ctx)
	if err != nil {
		summary("")
		return fmt.Errorf("records synced, but the quota could not be read: %w", err)
	}
	if err := c.SetQuota(ctx, s.tenant, cache.Quota{PeriodStart: q.PeriodStart, APICalls: q.APICalls, Tokens: q.Tokens, Spend: q.Spend, FetchedAt: a.now()}); err != nil {
		return err
	}
	summary(fmt.Sprintf("; %s → %s", start.In(s.loc).Format("2006-01-02 15:04"), now.In(s.loc).Format("2006-01-02 15:04 MST")))
	return nil
}

// plural is "1 page", "2 pages", "1 retry", "0 retries".
func plural(n int64, word string) string {
	if n == 1 {
		return "1 " + word
	}
	if strings.HasSuffix(word, "y") {
		return report.Count(n) + " " + strings.TrimSuffix(word, "y") + "ies"
	}
	return report.Count(n) + " " + word + "s"
}

// runProviderSync is usage sync --provider: the organisation's usage from a
// provider's admin API.
func (a *App) runProviderSync(ctx context.Context, s *settings, opts *syncOptions, since *report.Date) error {
	p, ok := adminapi.Providers[strings.ToLower(opts.provider)]
	if !ok {
		return usagef("--provider: %q is not openai or anthropic", opts.provider)
	}
	key := strings.TrimSpace(a.env(p.KeyEnv))
	if key == "" {
		return usagef("--provider %s needs the organisation's admin key in $%s (never a flag: it would show in ps and shell history)", p.Name, p.KeyEnv)
	}
	base := cmp.Or(opts.baseURL, p.BaseURL)
	client, err := p.Client(base, key, "nextcore/"+version)
	if err != nil {
		return usagef("--provider-url: %v", err)
	}
	client.Debug = a.debugf
	c, done, err := a.openForSync(ctx, s)
	if err != nil {
		return err
	}
	defer done()
	opt := adminapi.Options{Now: a.now}
	if since != nil {
		opt.Since = since.Start(time.UTC)
	}
	st, err := c.SourceSync(ctx, s.tenant, p.Name)
	if err != nil {
		return err
	}
	start, end := adminapi.Window(st, opt)
	bar := a.progress(-1, "syncing "+p.Name, progressbar.OptionSpinnerType(14))
	defer bar.Exit()
	client.OnRetry = func(attempt int, wait time.Duration, err error) {
		bar.Describe(fmt.Sprintf("syncing %s: retry %d in %s (%v)", p.Name, attempt, wait.Round(time.Millisecond), err))
	}
	began := time.Now()
	var pages int64
	opt.Page = func(added, dups, n int64) {
		pages++
		bar.Describe(fmt.Sprintf("syncing %s: %s buckets' results, %d pages", p.Name, report.Count(added+dups), pages))
		bar.Add(1)
	}
	added, dups, err := adminapi.Sync(ctx, c, client, p, s.tenant, opt)
	bar.Exit()
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("sync interrupted after %s; what was stored is kept, and the next sync goes on from there: %w",
				plural(pages, "page"), context.Canceled)
		}
		if pages > 0 {
			return fmt.Errorf("%w (%s stored; the next sync goes on from there)", err, plural(pages, "page"))
		}
		return err
	}
	window := "nothing new: the last settled hour is stored"
	if start.Before(end) {
		window = start.Format("2006-01-02 15:04") + " → " + end.Format("2006-01-02 15:04 UTC")
	}
	fmt.Fprintf(a.Stderr, "%s: %s new from %s, %s duplicates, %s, %s in %s; %s\n", s.tenant, report.Count(added), p.Name,
		report.Count(dups), plural(pages, "page"), plural(int64(client.Retried), "retry"), time.Since(began).Round(time.Millisecond), window)
	// The bill of the days that are over, for usage reconcile --against.
	lines, _, err := adminapi.SyncCosts(ctx, c, client, p, s.tenant, opt)
	if err != nil {
		return fmt.Errorf("usage synced, but not the bill: %w", err)
	}
	fmt.Fprintf(a.Stderr, "%s: %s new line(s) of %s's bill; 'nextcore usage reconcile --against %s' sets it against the usage\n",
		s.tenant, report.Count(lines), p.Name, p.CostFormat)
	return nil
}

// openForSync takes the cache's sync lock and opens it (made if missing);
// done closes it and lets the lock go.
func (a *App) openForSync(ctx context.Context, s *settings) (cache.Store, func(), error) {
	if s.teamStore() {
		// The team store's lock is the server's, on the tenant: a sync
		// from another host is refused too.
		c, err := openStore(ctx, s.cachePath, a.cacheOptions(true))
		if err != nil {
			return nil, nil, err
		}
		unlock, err := c.LockSync(ctx, s.tenant)
		if err != nil {
			_ = c.Close() // the error returned says what went wrong
			return nil, nil, err
		}
		return c, func() {
			unlock()
			_ = c.Close() // every page was committed with its position
		}, nil
	}
	if err := os.MkdirAll(filepath.Dir(s.cachePath), 0o700); err != nil {
		return nil, nil, fmt.Errorf("create the cache folder: %w", err)
	}
	unlock, err := cache.LockSync(s.cachePath)
	if err != nil {
		return nil, nil, err
	}
	c, err := cache.Open(ctx, s.cachePath, a.cacheOptions(true))
	if err != nil {
		unlock()
		return nil, nil, err
	}
	return c, func() {
		_ = c.Close() // every page was committed with its position
		unlock()
	}, nil
}
