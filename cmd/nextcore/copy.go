// nextcore cache copy: a store's records and state into another, the
// laptop's SQLite cache into the team store or back.

package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/spf13/cobra"

	"github.com/nextcore-ai/nextcore/pkg/report"
	"github.com/nextcore-ai/nextcore/pkg/source"
	"github.com/nextcore-ai/nextcore/pkg/source/cache"
	"github.com/nextcore-ai/nextcore/pkg/source/pgstore"
)

func (a *App) newCacheCopyCmd() *cobra.Command {
	var tenant string
	cmd := &cobra.Command{
		Use:   "copy SRC DST",
		Short: "Copy a store into another: a cache file into the team store (PostgreSQL), or back",
		Long: `Copy every tenant's records (or --tenant's), with its quota, sync position,
bills and the files its imports read, from SRC to DST. Each is a cache file or
a postgres:// URL (the password in PGPASSWORD or ~/.pgpass, never on the
command line). DST is made if missing.

The records go a UTC day a transaction. A copy that stops (Ctrl-C, a lost
connection) is run again to finish: the days already copied are passed over,
and a record whose id DST holds is never counted twice. A sync or import of
the tenant into DST is refused while the copy runs: it holds DST's sync lock.`,
		Example: `  nextcore cache copy ~/.cache/nextcore/usage.db postgres://nextcore@db/nextcore
  nextcore cache copy postgres://reader@db/nextcore ./usage.db --tenant acme`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 2 {
				return usagef("cache copy takes SRC and DST (got %d argument(s)); see 'nextcore cache copy --help'", len(args))
			}
			for _, arg := range args {
				if pgstore.IsURL(arg) && pgstore.HasPassword(arg) {
					return usagef("cache copy: a password does not belong on the command line (ps and shell history show it); put it in PGPASSWORD or ~/.pgpass")
				}
			}
			if args[0] == args[1] {
				return usagef("cache copy: SRC and DST are the same store")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if tenant != "" && !validSlug(tenant) {
				return usagef("bad tenant %q (a slug of a-z, 0-9 and -)", tenant)
			}
			return a.copyStore(cmd.Context(), args[0], args[1], tenant)
		},
	}
	cmd.Flags().StringVar(&tenant, "tenant", "", "copy only this tenant")
	return cmd
}

func (a *App) copyStore(ctx context.Context, srcLoc, dstLoc, only string) error {
	src, err := openStore(ctx, srcLoc, a.cacheOptions(false))
	if errors.Is(err, cache.ErrNoCache) {
		return fmt.Errorf("nothing to copy: %w", err)
	}
	if err != nil {
		return err
	}
	defer src.Close() //nolint:errcheck // read only
	tenants, err := src.Tenants(ctx)
	if err != nil {
		return err
	}
	if only != "" {
		found := false
		for _, t := range tenants {
			found = found || t == only
		}
		if !found {
			return fmt.Errorf("tenant %q is not in %s", only, src.Path())
		}
		tenants = []string{only}
	}
	if len(tenants) == 0 {
		return fmt.Errorf("nothing to copy: %s holds no tenant", src.Path())
	}
	dst, err := openStore(ctx, dstLoc, a.cacheOptions(true))
	if err != nil {
		return err
	}
	defer dst.Close() //nolint:errcheck // each day was committed
	for _, tenant := range tenants {
		if err := a.copyTenant(ctx, src, dst, tenant); err != nil {
			return err
		}
	}
	return dst.Publish(ctx)
}

// copyTenant copies one tenant a UTC day a transaction, passing over the
// days whose totals DST has already.
func (a *App) copyTenant(ctx context.Context, src, dst cache.Store, tenant string) error {
	unlock, err := dst.LockSync(ctx, tenant)
	if err != nil {
		return err
	}
	defer unlock()
	began := time.Now()
	info, err := src.Info(ctx, tenant)
	if err != nil {
		return err
	}
	var days []int64
	if !info.Oldest.IsZero() {
		for d := info.Oldest.UTC().Truncate(24 * time.Hour); !d.After(info.Newest); d = d.Add(24 * time.Hour) {
			days = append(days, d.UnixNano())
		}
		days = append(days, days[len(days)-1]+int64(24*time.Hour))
	}
	var copied, there, skipped int64
	bar := a.progress(int64(max(len(days)-1, 0)), "copying "+tenant)
	defer bar.Exit()
	if len(days) > 1 {
		q := []source.Query{{Dim: source.DimAll, Bounds: days}}
		have, err := src.AggregateMany(ctx, tenant, q)
		if err != nil {
			return err
		}
		var got [][]source.Groups
		if dstTenants, err := dst.Tenants(ctx); err != nil {
			return err
		} else if contains(dstTenants, tenant) {
			if got, err = dst.AggregateMany(ctx, tenant, q); err != nil {
				return err
			}
		}
		for i := 0; i+1 < len(days); i++ {
			want := have[0][i][""]
			if want.Empty() || (got != nil && sameTotals(want, got[0][i][""])) {
				skipped += want.Calls
				_ = bar.Add(1)
				continue
			}
			w, err := dst.Begin(ctx, tenant)
			if err != nil {
				return err
			}
			err = src.EachRecord(ctx, tenant, days[i], days[i+1], func(r *source.Record) error { return w.Add(r) })
			if err == nil {
				err = w.Commit()
			}
			if err != nil {
				_ = w.Rollback() // the error returned says what went wrong
				return fmt.Errorf("copy %s's records of %s: %w", tenant, time.Unix(0, days[i]).UTC().Format("2006-01-02"), err)
			}
			added, dups := w.Stored()
			copied, there = copied+added, there+dups
			_ = bar.Add(1)
		}
	}
	if err := copyState(ctx, src, dst, tenant); err != nil {
		return err
	}
	_ = bar.Finish()
	fmt.Fprintf(a.Stderr, "%s: %s records copied, %s there already, %s calls in days copied before, into %s in %s\n",
		tenant, report.Count(copied), report.Count(there), report.Count(skipped), dst.Path(), time.Since(began).Round(time.Millisecond))
	return nil
}

// sameTotals reports whether two days' totals agree (latencies apart).
func sameTotals(a, b source.Totals) bool {
	x, y := a.Counters(), b.Counters()
	for i := range x {
		if *x[i] != *y[i] {
			return false
		}
	}
	return true
}

// copyState copies what is not records: the quota, the sync position, the
// bills and the files imports read.
func copyState(ctx context.Context, src, dst cache.Store, tenant string) error {
	if q, err := src.Quota(ctx, tenant); err != nil {
		return err
	} else if q != nil {
		if err := dst.SetQuota(ctx, tenant, *q); err != nil {
			return err
		}
	}
	for _, provider := range []string{"openai", "anthropic"} {
		lines, err := src.Bills(ctx, tenant, provider, math.MinInt64, math.MaxInt64)
		if err != nil && !errors.Is(err, cache.ErrNoTenant) {
			return err
		}
		if len(lines) > 0 {
			if _, _, err := dst.AddBills(ctx, tenant, lines, nil); err != nil {
				return err
			}
		}
	}
	st, err := src.SyncState(ctx, tenant)
	if err != nil {
		return err
	}
	files, err := src.ImportedFiles(ctx, tenant)
	if err != nil {
		return err
	}
	if st == nil && len(files) == 0 {
		return nil
	}
	w, err := dst.Begin(ctx, tenant)
	if err != nil {
		return err
	}
	if st != nil {
		w.SaveSync(*st)
	}
	for path, fs := range files {
		if err := w.RememberFile(path, fs); err != nil {
			_ = w.Rollback() // the error returned says what went wrong
			return err
		}
	}
	return w.Commit()
}
