package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/nextcore-ai/nextcore/pkg/source/cache"
	"github.com/nextcore-ai/nextcore/pkg/source/pgstore"
)

func (a *App) newCacheCmd() *cobra.Command {
	group := &cobra.Command{
		Use:   "cache",
		Short: "Look after the cache or team store: check, copy",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return cmd.Help()
		},
	}
	group.AddCommand(&cobra.Command{
		Use:   "check",
		Short: "Check that the cache file is whole and its rollups and column blocks agree with its records",
		Long: `Read the whole cache file and check its structure (SQLite's quick_check),
then that its rollups and column blocks add up to its records. A damaged cache exits 1 with
what is wrong and how to rebuild it. It reads only: safe while a sync runs.`,
		Example: `  nextcore cache check
  nextcore cache check --cache /srv/nextcore/usage.db`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := a.settings(cmd)
			if err != nil {
				return err
			}
			c, err := openStore(cmd.Context(), s.cachePath, a.cacheOptions(false))
			if err != nil {
				return err
			}
			defer c.Close() //nolint:errcheck // checked only, nothing written
			if err := c.Check(cmd.Context()); err != nil {
				return err
			}
			tenants, err := c.Tenants(cmd.Context())
			if err != nil && !errors.Is(err, cache.ErrNoTenant) {
				return err
			}
			if s.teamStore() {
				fmt.Fprintf(a.Stdout, "%s: ok (%d tenant(s), schema %d)\n", s.cacheName(), len(tenants), pgstore.SchemaVersion)
				return nil
			}
			size := int64(0)
			if st, err := os.Stat(s.cachePath); err == nil {
				size = st.Size()
			}
			fmt.Fprintf(a.Stdout, "%s: ok (%.1f MiB, %d tenant(s), schema %d)\n", s.cachePath, float64(size)/(1<<20), len(tenants), cache.SchemaVersion)
			return nil
		},
	})
	group.AddCommand(a.newCacheCopyCmd())
	return group
}
