package cache

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/nextcore-ai/nextcore/pkg/atomicfile"
)

// buildSuffix names a cache being built: path + buildSuffix + the builder's
// process id.
const buildSuffix = ".building-"

// build opens a new cache for path in a file of its own beside it.
func build(ctx context.Context, path string, opt Options) (*Cache, error) {
	atomicfile.RemoveAbandoned(path + buildSuffix) // the build file and its -journal
	name := path + buildSuffix + strconv.Itoa(os.Getpid())
	_ = os.Remove(name) // left by an earlier Open in this process that was not closed; usually absent
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("create cache %s: %w", path, unwrapPath(err))
	}
	_ = f.Close() // empty: SQLite opens it again below
	c, err := open(ctx, path, name, modeBuilding, opt)
	if err != nil {
		_ = os.Remove(name) // the error returned says what went wrong
		return nil, err
	}
	return c, nil
}

// Publish puts a cache opened with Build at its path, complete and in the
// same mode as any other cache, and closes it. It fails, and leaves nothing,
// if another process made a file at the path meanwhile. On a cache not
// being built it only closes it.
func (c *Cache) Publish(ctx context.Context) error {
	name := c.building
	if name == "" {
		return c.Close()
	}
	c.building = ""
	err := c.finishBuild(ctx, name)
	if err != nil {
		_ = os.Remove(name) // the error above is what matters; the next build removes leftovers
	}
	return err
}

func (c *Cache) finishBuild(ctx context.Context, name string) error {
	if _, err := c.db.ExecContext(ctx, "PRAGMA journal_mode = WAL"); err != nil {
		_ = c.db.Close() // the error returned says what went wrong
		return c.wrap(fmt.Errorf("finish the cache: %w", err))
	}
	if err := c.db.Close(); err != nil {
		return c.wrap(fmt.Errorf("finish the cache: %w", err))
	}
	if err := syncFile(name); err != nil {
		return fmt.Errorf("finish the cache %s: %w", c.path, unwrapPath(err))
	}
	// A hard link never replaces a file; where links are not supported, a
	// rename after a check comes close.
	err := os.Link(name, c.path)
	switch {
	case errors.Is(err, os.ErrExist):
		return fmt.Errorf("another process created the cache %s during the import; nothing was stored, run the import again", c.path)
	case err != nil:
		if _, serr := os.Lstat(c.path); serr == nil {
			return fmt.Errorf("another process created the cache %s during the import; nothing was stored, run the import again", c.path)
		}
		if err := os.Rename(name, c.path); err != nil {
			return fmt.Errorf("put the cache in place at %s: %w", c.path, unwrapPath(err))
		}
	default:
		_ = os.Remove(name) // the cache is in place; a leftover is removed by the next build
	}
	_ = syncFile(filepath.Dir(c.path)) // the new name, where folders can be synced (not all can)
	return nil
}

func syncFile(name string) error {
	f, err := os.Open(name)
	if err != nil {
		return err
	}
	defer f.Close() //nolint:errcheck // opened to sync only
	return f.Sync()
}

// unwrapPath drops the operation and path from an *os.PathError, which the
// caller's message already names.
func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
