// Package cache keeps usage records in one SQLite file, for any number of
// tenants, together with rollups that let a report over any window cost in
// proportion to the window's length rather than to the size of the history.
//
// Layout (schema version 4):
//   - records: one row per call, clustered by (tenant, ts, id); a unique
//     index on (tenant, id) stores each record once. Model, key, user and
//     region are dictionary-encoded through names.
//   - rollups: the additive totals of the calls in a time bucket, by one
//     dimension. Buckets are UTC days, UTC hours and, for the all-calls
//     dimension, quarter hours. They are updated in the same transaction as
//     the records they count, so both always agree.
//   - syncs: where the last API sync of each tenant got to, written in the
//     same transaction as each page it stored.
//   - alerts: the budget alerts sent, per billing month and channel, so that
//     each is sent once.
//
// A window [start, end) is answered from the coarsest buckets that fit inside
// it and raw records for the parts no bucket covers, so every number is exact
// for any bounds, in any time zone.
package cache

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	sqlite3 "modernc.org/sqlite/lib"

	"github.com/nextcore-ai/nextcore/pkg/source"
)

// SchemaVersion is the layout this build reads and writes.
const SchemaVersion = 10

// minReadable is the oldest schema a read-only cache is read at: version
// 7's price keys, which reports read.
const minReadable = 7

// applicationID marks a SQLite file as a nextcore cache ("NXTC").
const applicationID = 0x4e585443

// Errors a caller can tell apart.
var (
	ErrNoCache   = errors.New("no cache file")
	ErrNotCache  = errors.New("not a nextcore cache")
	ErrNewer     = errors.New("cache written by a newer nextcore")
	ErrNoTenant  = errors.New("tenant not in cache")
	ErrReadOnly  = errors.New("cache is read-only")
	ErrCorrupted = errors.New("cache is damaged")
	ErrBusy      = errors.New("cache is busy")
)

// Cache is an open cache file.
type Cache struct {
	sqlOnly   bool // Options.SQLOnly
	db        *sql.DB
	path      string
	now       func() time.Time
	upgrading func(from, to int)
	building  string // the file being built, while it is not yet at path
	expect    int64  // records an import expects (Options.Expect)
	readOnly  bool   // opened read-only: reports only
	noBlocks  bool   // a read-only cache of a schema before the column blocks
}

// Options say how to open a cache.
type Options struct {
	// Create makes the file (and its folder) when it does not exist. Without
	// it a missing file is ErrNoCache, so that a report never leaves an empty
	// cache behind.
	Create bool
	// Now is the clock that stamps imports; time.Now when nil.
	Now func() time.Time
	// Upgrading, when set, hears that an existing cache is about to be
	// upgraded from one schema version to another: it can take minutes
	// on a large cache, once.
	Upgrading func(from, to int)
	// SQLOnly stores records through database/sql only, never the raw
	// binding (rawsqlite): slower, the same rows. For comparing the two.
	SQLOnly bool
	// Build, with Create, builds a cache that does not exist yet in a
	// file of its own beside path, written once without a journal, and puts
	// it at path on Publish; Close without Publish leaves no file behind.
	// It is for a first import, which is all or nothing: faster, and the
	// cache appears whole or not at all, however the process ends.
	Build bool
	// Expect is about how many records an import will store (0: unknown):
	// it sizes the filter of ids met while the index of ids is deferred,
	// and says whether a large import into a cache defers it.
	Expect int64
}

// Open opens the cache at path, creating or upgrading its schema as needed.
func Open(ctx context.Context, path string, opt Options) (*Cache, error) {
	st, err := os.Stat(path)
	switch {
	case err == nil && st.IsDir():
		return nil, fmt.Errorf("%s is a directory, not a cache file", path)
	case errors.Is(err, os.ErrNotExist):
		if !opt.Create {
			return nil, fmt.Errorf("%w at %s", ErrNoCache, path)
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, fmt.Errorf("create cache folder: %w", err)
		}
		if opt.Build {
			return build(ctx, path, opt)
		}
		// Usage is the tenant's business: the file, and the journal files
		// SQLite makes with its mode, are the owner's alone (umask aside).
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil && !errors.Is(err, os.ErrExist) {
			return nil, fmt.Errorf("create cache: %w", err)
		}
		if f != nil {
			_ = f.Close() // empty: SQLite opens it again below
		}
	case err != nil:
		return nil, fmt.Errorf("open cache: %w", err)
	case st.Size() == 0 && !opt.Create:
		// A file just made by an import or sync that has not written its
		// tables yet: a report must not make them in its place.
		return nil, fmt.Errorf("%w at %s", ErrNoCache, path)
	}
	c, err := open(ctx, path, path, modeNormal, opt)
	if errors.Is(err, ErrReadOnly) && !opt.Create {
		// A cache on a read-only disk, or another user's: reports can still
		// read it, as a file nobody changes meanwhile.
		if ro, rerr := open(ctx, path, path, modeReadOnly, opt); rerr == nil {
			return ro, nil
		}
	}
	return c, err
}

// How open reads and writes a file.
const (
	modeNormal   = iota
	modeBuilding // a new cache, not yet at its path
	modeReadOnly // a file this process cannot write
)

// open opens the SQLite file name as the cache at path.
func open(ctx context.Context, path, name string, mode int, opt Options) (*Cache, error) {
	registerFunctions()
	db, err := sql.Open("sqlite", dsn(name, mode))
	if err != nil {
		return nil, fmt.Errorf("open cache %s: %w", path, err)
	}
	c := &Cache{db: db, path: path, now: opt.Now, upgrading: opt.Upgrading, readOnly: mode == modeReadOnly, sqlOnly: opt.SQLOnly,
		expect: opt.Expect}
	if mode == modeBuilding {
		c.building = name
	}
	if c.now == nil {
		c.now = time.Now
	}
	if err := c.prepare(ctx); err != nil {
		_ = db.Close() // the error above says what went wrong
		return nil, err
	}
	return c, nil
}

// dsn opens name with the cache's settings. A file being built has no
// journal on disk: nobody else reads it, and it is thrown away unless it
// is finished.
func dsn(name string, mode int) string {
	esc := strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(filepath.ToSlash(name))
	opts := "&_pragma=synchronous(NORMAL)"
	switch mode {
	case modeBuilding:
		opts = "&_pragma=journal_mode(MEMORY)&_pragma=synchronous(OFF)"
	case modeReadOnly:
		opts = "&mode=ro&immutable=1"
	}
	return "file:" + esc + "?_pragma=busy_timeout(10000)" + opts +
		fmt.Sprintf("&_pragma=cache_size(-%d)", pageCacheKiB) + "&_pragma=temp_store(MEMORY)&_txlock=immediate"
}

// pageCacheKiB is SQLite's page cache of a connection, in KiB: enough for
// the pages an import writes again and again (the rollups', the index of
// ids' upper levels), little enough to keep its memory low: a cached page
// costs about twice its size in the process (16 MiB against 32: 37 MB less
// at the peak of a 10 M-record import, at the same speed).
const pageCacheKiB = 16384

// Path is the file the cache lives in.
func (c *Cache) Path() string { return c.path }

// Close closes the cache. A cache being built that was not published is
// removed.
func (c *Cache) Close() error {
	err := c.db.Close()
	if c.building != "" {
		_ = os.Remove(c.building) // a build never published; the next build removes leftovers
		c.building = ""
	}
	return err
}

// prepare checks that the file is ours and brings its schema up to date.
func (c *Cache) prepare(ctx context.Context) error {
	var appID, version int
	if err := c.db.QueryRowContext(ctx, "PRAGMA application_id").Scan(&appID); err != nil {
		return c.wrap(err)
	}
	if err := c.db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return c.wrap(err)
	}
	if appID == 0 && version == 0 {
		var n int
		if err := c.db.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_schema").Scan(&n); err != nil {
			return c.wrap(err)
		}
		if n > 0 {
			return fmt.Errorf("%w: %s is an SQLite database of another program", ErrNotCache, c.path)
		}
	} else if appID != applicationID {
		return fmt.Errorf("%w: %s is an SQLite database of another program", ErrNotCache, c.path)
	}
	if version > SchemaVersion {
		return fmt.Errorf("%w: %s has schema version %d, this nextcore reads up to %d; upgrade nextcore",
			ErrNewer, c.path, version, SchemaVersion)
	}
	// WAL lets a cron job write while someone reads. The mode is kept in the
	// file, so only a new (or not yet WAL) file needs the pragma, which takes
	// an exclusive lock; asking on every open would stall a running sync.
	var mode string
	if err := c.db.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		return c.wrap(err)
	}
	if c.readOnly {
		if version < minReadable {
			return fmt.Errorf("%w: %s has schema version %d and needs an upgrade to %d, which needs write access", ErrReadOnly, c.path, version, SchemaVersion)
		}
		c.noBlocks = version < 10
		return nil
	}
	if mode != "wal" && c.building == "" {
		if err := c.db.QueryRowContext(ctx, "PRAGMA journal_mode = WAL").Scan(&mode); err != nil {
			return c.wrap(err)
		}
	}
	if version > 0 && version < SchemaVersion && c.upgrading != nil {
		c.upgrading(version, SchemaVersion)
	}
	if version < SchemaVersion {
		if err := c.migrate(ctx, version); err != nil {
			return c.wrap(fmt.Errorf("upgrade cache schema from version %d to %d: %w", version, SchemaVersion, err))
		}
	}
	return nil
}

// migrations[v] takes a cache from schema version v to v+1.
var migrations = []string{
	0: `
CREATE TABLE tenants (
	id         INTEGER PRIMARY KEY,
	slug       TEXT NOT NULL UNIQUE,
	updated_at INTEGER NOT NULL DEFAULT 0 -- Unix ns of the last import or sync
);
CREATE TABLE names (
	dim  INTEGER NOT NULL,
	id   INTEGER NOT NULL,
	name TEXT NOT NULL,
	PRIMARY KEY (dim, id),
	UNIQUE (dim, name)
);
CREATE TABLE records (
	tenant      INTEGER NOT NULL,
	ts          INTEGER NOT NULL, -- Unix ns
	id          TEXT NOT NULL,
	model       INTEGER NOT NULL,
	api_key     INTEGER NOT NULL,
	usr         INTEGER NOT NULL, -- 0: none
	region      INTEGER NOT NULL, -- 0: none
	ok          INTEGER NOT NULL,
	status_code INTEGER,
	prompt      INTEGER NOT NULL,
	completion  INTEGER NOT NULL,
	cost        INTEGER NOT NULL, -- nano-USD
	latency     INTEGER,          -- ms
	PRIMARY KEY (tenant, ts, id)
) WITHOUT ROWID;
CREATE UNIQUE INDEX records_by_id ON records (tenant, id);
CREATE TABLE rollups (
	tenant       INTEGER NOT NULL,
	dim          INTEGER NOT NULL,
	level        INTEGER NOT NULL, -- bucket length in seconds
	bucket       INTEGER NOT NULL, -- Unix seconds of the bucket's start
	member       INTEGER NOT NULL, -- names.id of the dimension, 0 for none
	calls        INTEGER NOT NULL,
	ok           INTEGER NOT NULL,
	prompt       INTEGER NOT NULL,
	completion   INTEGER NOT NULL,
	cost         INTEGER NOT NULL,
	small_calls  INTEGER NOT NULL,
	small_tokens INTEGER NOT NULL,
	small_cost   INTEGER NOT NULL,
	lat_n        INTEGER NOT NULL,
	lat_sum      INTEGER NOT NULL,
	PRIMARY KEY (tenant, dim, level, bucket, member)
) WITHOUT ROWID;
CREATE TABLE quotas (
	tenant       INTEGER PRIMARY KEY,
	period_start TEXT,
	api_calls    INTEGER,
	tokens       INTEGER,
	spend        INTEGER, -- nano-USD
	fetched_at   INTEGER NOT NULL
);
`,
	1: `
CREATE TABLE syncs (
	tenant       INTEGER PRIMARY KEY,
	api_url      TEXT NOT NULL,
	window_start INTEGER NOT NULL, -- Unix ns: the window the last sync asked for
	window_end   INTEGER NOT NULL,
	last_ts      INTEGER NOT NULL, -- Unix ns of the newest record a sync stored; 0: none
	next_url     TEXT,             -- the next page of a window not finished
	pages        INTEGER NOT NULL,
	records      INTEGER NOT NULL, -- new records the last sync stored so far
	started_at   INTEGER NOT NULL,
	updated_at   INTEGER NOT NULL,
	finished_at  INTEGER           -- NULL while a sync is under way or was cut short
);
`,
	2: `
CREATE TABLE alerts (
	tenant  INTEGER NOT NULL,
	period  TEXT NOT NULL,    -- the billing month, YYYY-MM
	alert   TEXT NOT NULL,    -- metric:threshold, or metric:forecast
	channel TEXT NOT NULL,    -- email or webhook
	sent_at INTEGER NOT NULL, -- Unix ns
	PRIMARY KEY (tenant, period, alert, channel)
) WITHOUT ROWID;
`,
	3: `
ALTER TABLE rollups ADD COLUMN lat_hist BLOB; -- latency histogram (source.Latency)
DELETE FROM rollups;                          -- rebuilt from the records, with histograms
`,
	// A view for people and their tools (sqlite3, DuckDB, Datasette): one
	// row a record, names instead of codes, ISO times, dollars. Nothing of
	// nextcore reads through it; docs/cache.md describes it.
	4: `
CREATE VIEW usage_records AS
SELECT
	t.slug                      AS tenant,
	r.id                        AS id,
	strftime('%Y-%m-%dT%H:%M:%S', r.ts / 1000000000, 'unixepoch') || '.' ||
		printf('%03d', (r.ts / 1000000) % 1000) || 'Z' AS timestamp, -- UTC, to the millisecond
	r.ts                        AS timestamp_ns, -- Unix nanoseconds, exact
	m.name                      AS model,
	k.name                      AS api_key,
	u.name                      AS user,         -- NULL: none
	g.name                      AS region,       -- NULL: none
	CASE WHEN r.ok THEN 'success' ELSE 'error' END AS status,
	r.status_code               AS status_code,
	r.prompt                    AS prompt_tokens,
	r.completion                AS completion_tokens,
	r.prompt + r.completion     AS tokens,
	r.cost / 1e9                AS cost_usd,     -- dollars (floating point: sum cost_nano_usd to be exact)
	r.cost                      AS cost_nano_usd,
	r.latency                   AS latency_ms
FROM records r
JOIN tenants t ON t.id = r.tenant
LEFT JOIN names m ON m.dim = 1 AND m.id = r.model
LEFT JOIN names k ON k.dim = 2 AND k.id = r.api_key
LEFT JOIN names u ON u.dim = 3 AND u.id = r.usr AND r.usr <> 0
LEFT JOIN names g ON g.dim = 4 AND g.id = r.region AND r.region <> 0;
`,
	// Records v2 (docs/ledger.md): a v1 record takes the defaults, which
	// SQLite stores in no bytes at all. ok gains 2: status unknown.
	5: `
ALTER TABLE records ADD COLUMN requests       INTEGER NOT NULL DEFAULT 1; -- calls the record stands for
ALTER TABLE records ADD COLUMN cache_read     INTEGER NOT NULL DEFAULT 0; -- of prompt
ALTER TABLE records ADD COLUMN cache_write    INTEGER NOT NULL DEFAULT 0; -- of prompt
ALTER TABLE records ADD COLUMN cache_write_1h INTEGER NOT NULL DEFAULT 0; -- of prompt
ALTER TABLE records ADD COLUMN reasoning      INTEGER NOT NULL DEFAULT 0; -- of completion
ALTER TABLE records ADD COLUMN project        INTEGER NOT NULL DEFAULT 0; -- names (dim 6), 0: none
ALTER TABLE records ADD COLUMN provider       INTEGER NOT NULL DEFAULT 0; -- names (dim 8), 0: none
ALTER TABLE records ADD COLUMN tags           INTEGER NOT NULL DEFAULT 0; -- names (dim 31): the tag set, 0: none
ALTER TABLE records ADD COLUMN tier           INTEGER NOT NULL DEFAULT 0; -- names (dim 30): service tier, 0: standard
ALTER TABLE records ADD COLUMN flags          INTEGER NOT NULL DEFAULT 0; -- 1 batch, 2 long context known, 4 long context, 8 no cost
ALTER TABLE rollups ADD COLUMN unknown        INTEGER NOT NULL DEFAULT 0; -- calls of unknown status
ALTER TABLE rollups ADD COLUMN cache_read     INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollups ADD COLUMN cache_write    INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollups ADD COLUMN cache_write_1h INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollups ADD COLUMN reasoning      INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollups ADD COLUMN nocalls_cost   INTEGER NOT NULL DEFAULT 0; -- cost and tokens of records of 0 requests
ALTER TABLE rollups ADD COLUMN nocalls_tokens INTEGER NOT NULL DEFAULT 0;
-- Rollups gain dimensions (project, tag, provider, price) and counters:
-- rebuilt from the records once the upgrade's steps are done.
DELETE FROM rollups;
DROP VIEW usage_records;
CREATE VIEW usage_records AS
SELECT
	t.slug                      AS tenant,
	r.id                        AS id,
	strftime('%Y-%m-%dT%H:%M:%S', r.ts / 1000000000, 'unixepoch') || '.' ||
		printf('%03d', (r.ts / 1000000) % 1000) || 'Z' AS timestamp, -- UTC, to the millisecond
	r.ts                        AS timestamp_ns, -- Unix nanoseconds, exact
	m.name                      AS model,
	k.name                      AS api_key,
	u.name                      AS user,         -- NULL: none
	g.name                      AS region,       -- NULL: none
	CASE r.ok WHEN 1 THEN 'success' WHEN 0 THEN 'error' END AS status, -- NULL: unknown
	r.status_code               AS status_code,
	r.requests                  AS requests,
	r.prompt                    AS prompt_tokens,
	r.completion                AS completion_tokens,
	r.prompt + r.completion     AS tokens,
	r.prompt - r.cache_read - r.cache_write - r.cache_write_1h AS input_tokens, -- uncached
	r.cache_read                AS cache_read_tokens,
	r.cache_write               AS cache_write_tokens,
	r.cache_write_1h            AS cache_write_1h_tokens,
	r.completion                AS output_tokens,
	r.reasoning                 AS reasoning_tokens, -- of output_tokens
	CASE WHEN r.flags & 8 THEN NULL ELSE r.cost / 1e9 END AS cost_usd, -- dollars (floating point: sum cost_nano_usd to be exact); NULL: not reported
	CASE WHEN r.flags & 8 THEN NULL ELSE r.cost END       AS cost_nano_usd,
	r.latency                   AS latency_ms,
	p.name                      AS project,      -- NULL: none
	v.name                      AS provider,     -- NULL: none
	coalesce(s.name, '[]')      AS tags,         -- a JSON array
	(r.flags & 1) <> 0          AS batch,
	coalesce(x.name, 'standard') AS service_tier,
	CASE WHEN r.flags & 2 THEN (r.flags & 4) <> 0 END AS long_context -- NULL: from the input
FROM records r
JOIN tenants t ON t.id = r.tenant
LEFT JOIN names m ON m.dim = 1 AND m.id = r.model
LEFT JOIN names k ON k.dim = 2 AND k.id = r.api_key
LEFT JOIN names u ON u.dim = 3 AND u.id = r.usr AND r.usr <> 0
LEFT JOIN names g ON g.dim = 4 AND g.id = r.region AND r.region <> 0
LEFT JOIN names p ON p.dim = 6 AND p.id = r.project AND r.project <> 0
LEFT JOIN names v ON v.dim = 8 AND v.id = r.provider AND r.provider <> 0
LEFT JOIN names s ON s.dim = 31 AND s.id = r.tags AND r.tags <> 0
LEFT JOIN names x ON x.dim = 30 AND x.id = r.tier AND r.tier <> 0;
`,
	6: `
-- Price keys say whether calls are small or count no requests (the
-- insight's small calls and per-call figures take priced costs too): the
-- price dimension's names and the rollups are made anew from the records.
DELETE FROM rollups;
DELETE FROM names WHERE dim = 9;
-- Reports price the records that reported no cost: they are found apart.
CREATE INDEX records_nocost ON records (tenant, ts) WHERE flags & 8 <> 0;
`,
	7: `
-- The providers' own bills (their cost APIs), beside the usage: usage
-- reconcile --against sets them against the usage's priced cost.
CREATE TABLE bills (
	tenant   INTEGER NOT NULL,
	provider TEXT NOT NULL,
	id       TEXT NOT NULL,              -- from the bill's own key
	start    INTEGER NOT NULL,           -- Unix ns, UTC
	end      INTEGER NOT NULL,
	project  TEXT NOT NULL DEFAULT '',
	model    TEXT NOT NULL DEFAULT '',
	item     TEXT NOT NULL DEFAULT '',   -- line item or description
	amount   INTEGER NOT NULL,           -- nano-USD
	PRIMARY KEY (tenant, provider, id)
) WITHOUT ROWID;
CREATE INDEX bills_start ON bills (tenant, provider, start);
-- The files an import read, as they were: an import of a directory that
-- grows (Claude Code's transcripts) reads again only what changed.
CREATE TABLE imported_files (
	tenant INTEGER NOT NULL,
	path   TEXT NOT NULL,
	size   INTEGER NOT NULL,
	mtime  INTEGER NOT NULL, -- Unix ns
	PRIMARY KEY (tenant, path)
) WITHOUT ROWID;
`,
	8: `
-- Where a sync from a provider's admin API got to, per tenant and provider.
CREATE TABLE source_syncs (
	tenant     INTEGER NOT NULL,
	source     TEXT NOT NULL,               -- openai, anthropic
	synced_to  INTEGER NOT NULL DEFAULT 0,  -- Unix ns: everything before is stored
	chunk      INTEGER NOT NULL DEFAULT 0,  -- Unix ns: the start of the stretch being fetched
	chunk_end  INTEGER NOT NULL DEFAULT 0,  -- … and its end
	next_page  TEXT NOT NULL DEFAULT '',    -- the provider's cursor in it, '' for its first page
	pages      INTEGER NOT NULL DEFAULT 0,
	updated_at INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (tenant, source)
) WITHOUT ROWID;
`,
	9: `
-- Column blocks (blocks.go): each UTC day's records column by column, for
-- filters and pivots. Made from the records with the rollups.
CREATE TABLE blocks (
	tenant INTEGER NOT NULL,
	col    INTEGER NOT NULL, -- which column of the records
	day    INTEGER NOT NULL, -- Unix seconds of the UTC day's start
	seg    INTEGER NOT NULL, -- a day's blocks, 0, 1, …
	n      INTEGER NOT NULL, -- records
	data   BLOB NOT NULL,    -- the values, packed
	PRIMARY KEY (tenant, col, day, seg)
);
DELETE FROM rollups;
`,
}

// migrate takes a cache from schema version from to SchemaVersion in one
// transaction: a cut-short upgrade leaves the cache as it was.
func (c *Cache) migrate(ctx context.Context, from int) error {
	tx, err := c.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	// Another process may have migrated while we waited for the write lock.
	var version int
	if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return err
	}
	if version != from {
		return nil
	}
	rebuild := false
	for v := from; v < SchemaVersion; v++ {
		if _, err := tx.ExecContext(ctx, migrations[v]); err != nil {
			return fmt.Errorf("step %d: %w", v+1, err)
		}
		rebuild = rebuild || v == 3 || v == 5 || v == 6 || v == 9
	}
	// Rollups are rebuilt from the records once all the steps are done, so
	// that the rebuild reads the records as this build lays them out.
	if rebuild {
		if err := rebuildRollups(ctx, c, tx); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d; PRAGMA application_id = %d", SchemaVersion, applicationID)); err != nil {
		return err
	}
	return tx.Commit()
}

// damaged says the cache is damaged, why, and how to rebuild it.
func (c *Cache) damaged(why string) error {
	return fmt.Errorf("%w: %s (%s). Move it away (mv %s %s.damaged) and rebuild it with 'nextcore usage sync' or 'nextcore usage import FILE'",
		ErrCorrupted, c.path, why, c.path, c.path)
}

// Check reads the whole cache file and checks its structure (SQLite's
// quick_check: pages, records, index order), then that the rollups and the
// column blocks agree with the records. It returns ErrCorrupted, saying how
// to rebuild, when anything is wrong.
func (c *Cache) Check(ctx context.Context) error {
	rows, err := c.db.QueryContext(ctx, "PRAGMA quick_check(5)")
	if err != nil {
		return c.wrap(err)
	}
	var problems []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			rows.Close()
			return c.wrap(err)
		}
		if line != "ok" {
			problems = append(problems, line)
		}
	}
	if err := rows.Err(); err != nil {
		rows.Close()
		return c.wrap(err)
	}
	rows.Close()
	if len(problems) > 0 {
		return c.damaged(strings.Join(problems, "; "))
	}
	// The rollups of all calls by day must add up to the records.
	var bad int
	err = c.db.QueryRowContext(ctx, `
		SELECT count(*) FROM (
			SELECT tenant, sum(requests) AS n, sum(cost) AS cost, sum(prompt) AS prompt, sum(completion) AS completion,
				sum(cache_read) AS cache_read, sum(reasoning) AS reasoning FROM records GROUP BY tenant
		) r LEFT JOIN (
			SELECT tenant, sum(calls) AS n, sum(cost) AS cost, sum(prompt) AS prompt, sum(completion) AS completion,
				sum(cache_read) AS cache_read, sum(reasoning) AS reasoning
			FROM rollups WHERE dim = ? AND level = ? GROUP BY tenant
		) u USING (tenant)
		WHERE u.n IS NOT r.n OR u.cost IS NOT r.cost OR u.prompt IS NOT r.prompt OR u.completion IS NOT r.completion
			OR u.cache_read IS NOT r.cache_read OR u.reasoning IS NOT r.reasoning`, int(source.DimAll), Day).Scan(&bad)
	if err != nil {
		return c.wrap(err)
	}
	if bad > 0 {
		return c.damaged("its rollups disagree with its records")
	}
	// So must those by key and price key (the rows that price them), unless
	// keys are many (wideDim) and have no rollup rows.
	names, err := loadDictionary(ctx, c.db)
	if err != nil {
		return c.wrap(err)
	}
	if wideDim(names, source.DimKey) {
		return c.checkBlocks(ctx)
	}
	err = c.db.QueryRowContext(ctx, `
		SELECT count(*) FROM (
			SELECT tenant, sum(requests) AS n, sum(prompt) AS prompt, sum(completion) AS completion,
				sum(cache_read) AS cache_read FROM records GROUP BY tenant
		) r LEFT JOIN (
			SELECT tenant, sum(calls) AS n, sum(prompt) AS prompt, sum(completion) AS completion, sum(cache_read) AS cache_read
			FROM rollups WHERE dim = ? AND level = ? GROUP BY tenant
		) u USING (tenant)
		WHERE u.n IS NOT r.n OR u.prompt IS NOT r.prompt OR u.completion IS NOT r.completion OR u.cache_read IS NOT r.cache_read`,
		int(PairDim(source.DimKey)), Day).Scan(&bad)
	if err != nil {
		return c.wrap(err)
	}
	if bad > 0 {
		return c.damaged("its rollups by price key disagree with its records")
	}
	return c.checkBlocks(ctx)
}

// busyWith says what is known of who holds the cache's write lock: a
// nextcore sync, which says so in its lock file, or any SQLite writer.
func (c *Cache) busyWith() string {
	if pid, held := syncHolder(c.path); held {
		if pid != "" {
			return c.path + " is being written by a nextcore sync (process " + pid + ")"
		}
		return c.path + " is being written by a nextcore sync"
	}
	return c.path + " is being written by another program (a nextcore import or sync, or any SQLite client with a write transaction open, such as sqlite3)"
}

// wrap turns SQLite's codes into errors a user can act on.
func (c *Cache) wrap(err error) error {
	if err == nil {
		return nil
	}
	var se interface{ Code() int } // *sqlite.Error or *rawError
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_NOTADB:
			return fmt.Errorf("%w: %s is not an SQLite database; move it away", ErrNotCache, c.path)
		case sqlite3.SQLITE_CORRUPT:
			return c.damaged(err.Error())
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
			return fmt.Errorf("%w: %s; try again when it finishes", ErrBusy, c.busyWith())
		case sqlite3.SQLITE_READONLY, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_PERM:
			return fmt.Errorf("%w: %s cannot be written (%v)", ErrReadOnly, c.path, se)
		case sqlite3.SQLITE_FULL:
			return fmt.Errorf("cache %s: the disk is full; nothing was changed", c.path)
		}
	}
	return err
}

// tenantID looks a tenant up. With create, an unknown tenant is added.
func tenantID(ctx context.Context, q queryer, slug string, create bool) (int64, error) {
	var id int64
	err := q.QueryRowContext(ctx, "SELECT id FROM tenants WHERE slug = ?", slug).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		if !create {
			return 0, fmt.Errorf("%w: %q", ErrNoTenant, slug)
		}
		res, err := q.ExecContext(ctx, "INSERT INTO tenants (slug) VALUES (?)", slug)
		if err != nil {
			return 0, err
		}
		return res.LastInsertId()
	}
	return id, err
}

type queryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// Tenants lists the tenants the cache holds, by slug.
func (c *Cache) Tenants(ctx context.Context) ([]string, error) {
	rows, err := c.db.QueryContext(ctx, "SELECT slug FROM tenants ORDER BY slug")
	if err != nil {
		return nil, c.wrap(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, c.wrap(err)
		}
		out = append(out, s)
	}
	return out, c.wrap(rows.Err())
}
