// Where usage is kept: the SQLite cache file, or a PostgreSQL team store
// named by a postgres:// URL.

package main

import (
	"context"

	"github.com/nextcore-ai/nextcore/pkg/source/cache"
	"github.com/nextcore-ai/nextcore/pkg/source/pgstore"
)

// openStore opens the store at loc: a postgres:// URL is the team store,
// anything else the cache file.
func openStore(ctx context.Context, loc string, opt cache.Options) (cache.Store, error) {
	if pgstore.IsURL(loc) {
		return pgstore.Open(ctx, loc, opt)
	}
	return cache.Open(ctx, loc, opt)
}

// teamStore reports whether the settings name a PostgreSQL team store.
func (s *settings) teamStore() bool { return pgstore.IsURL(s.cachePath) }

// cacheName is the store's location for messages: a URL without password.
func (s *settings) cacheName() string {
	if s.teamStore() {
		return pgstore.Redact(s.cachePath)
	}
	return s.cachePath
}
