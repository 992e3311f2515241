// Package pgstore is the team store: the cache's contract (records,
// rollups, sync positions, quota, alert and budget state) kept in a
// PostgreSQL database that every host of a team reads, so that one host
// syncs, everyone reads, and alerts go out once per team.
//
// Reports push their aggregation down as SQL: rollup rows for whole hours
// and days, GROUP BY over the records at the edges, so a report moves as
// many rows as its result has groups, never the records.
package pgstore

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/nextcore-ai/nextcore/pkg/source"
	"github.com/nextcore-ai/nextcore/pkg/source/cache"
)

// SchemaVersion is the version of the tables this build writes.
const SchemaVersion = 2

// DefaultSchema is where the tables live when the URL's search_path names
// none.
const DefaultSchema = "nextcore"

// IsURL reports whether a --cache value names a PostgreSQL database.
func IsURL(s string) bool {
	return strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://")
}

// HasPassword reports whether a URL carries a password (which belongs in
// PGPASSWORD or ~/.pgpass, or a URL in the environment, never a flag).
func HasPassword(s string) bool {
	u, err := url.Parse(s)
	if err != nil {
		return strings.Contains(s, "password=")
	}
	if _, ok := u.User.Password(); ok {
		return true
	}
	return u.Query().Has("password")
}

// Redact is the URL with its password, if any, replaced by "xxxxx".
func Redact(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "postgres://(a URL that does not parse)"
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	q := u.Query()
	if q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// Store is an open team store.
type Store struct {
	pool   *pgxpool.Pool
	conn   *pgx.ConnConfig // for the sync lock's connection, apart from the pool
	url    string          // redacted
	schema string
	now    func() time.Time
	tids   sync.Map // tenant slug → id: ids never change
}

var _ cache.Store = (*Store)(nil)

// Open connects to the database at rawURL. With opt.Create, a database
// without nextcore's tables gets them (the role needs CREATE on the
// database or the schema); without, it is cache.ErrNoCache.
func Open(ctx context.Context, rawURL string, opt cache.Options) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(rawURL)
	if err != nil {
		return nil, fmt.Errorf("team store %s: %v", Redact(rawURL), conciseParse(err))
	}
	schema := DefaultSchema
	if sp := cfg.ConnConfig.RuntimeParams["search_path"]; sp != "" {
		schema = strings.TrimSpace(strings.Split(sp, ",")[0])
	} else {
		cfg.ConnConfig.RuntimeParams["search_path"] = schema
	}
	for name, v := range sessionDefaults {
		if cfg.ConnConfig.RuntimeParams[name] == "" {
			cfg.ConnConfig.RuntimeParams[name] = v
		}
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = 10 * time.Second
	}
	cfg.MaxConns = 4
	s := &Store{url: Redact(rawURL), schema: schema, now: opt.Now}
	if s.now == nil {
		s.now = time.Now
	}
	s.conn = cfg.ConnConfig.Copy()
	s.pool, err = pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, s.wrap(err)
	}
	if err := s.prepare(ctx, opt); err != nil {
		s.pool.Close()
		return nil, err
	}
	return s, nil
}

// once runs a statement a report runs once in one round trip: parsed,
// bound and run together (the statement cache spends a round trip more,
// preparing it), with its values sent and its rows read as text.
const once = pgx.QueryExecModeExec

// sessionDefaults are the settings a connection starts with, unless the
// URL gives its own.
var sessionDefaults = map[string]string{
	// A report's statements are short: compiling them costs more than it
	// saves.
	"jit": "off",
	// A report groups tens of thousands of rollup rows (keys and users of
	// a year): in memory, not sorted on disk (the default is 4 MB).
	"work_mem": "64MB",
	// The planner sees each statement's values (a dimension's partial
	// index), even when pgx runs it again from its cache.
	"plan_cache_mode":  "force_custom_plan",
	"application_name": "nextcore",
}

// conciseParse drops the URL pgx repeats in its parse errors.
func conciseParse(err error) string {
	msg := err.Error()
	if i := strings.LastIndex(msg, ": "); i >= 0 {
		return "cannot parse the URL: " + msg[i+2:]
	}
	return msg
}

// Path implements cache.Store: the URL without its password.
func (s *Store) Path() string { return s.url }

// Close implements cache.Store.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// Publish implements cache.Store: nothing is built aside.
func (s *Store) Publish(context.Context) error { return nil }

// Rolled implements source.Rolled.
func (s *Store) Rolled() {}

// Remote implements source.Remote.
func (s *Store) Remote() {}

// prepare checks the schema version and makes or upgrades the tables.
func (s *Store) prepare(ctx context.Context, opt cache.Options) error {
	v, err := s.version(ctx)
	if err != nil {
		return err
	}
	switch {
	case v > SchemaVersion:
		return fmt.Errorf("%w: the team store %s has schema %d; this nextcore knows up to %d: upgrade nextcore",
			cache.ErrNewer, s.url, v, SchemaVersion)
	case v == SchemaVersion:
		return nil
	case v == 0:
		// A schema the role may not use looks empty: say which it is.
		var exists, usable bool
		if err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT FROM pg_namespace WHERE nspname = $1),
			coalesce((SELECT has_schema_privilege(oid, 'USAGE') FROM pg_namespace WHERE nspname = $1), false)`, s.schema).Scan(&exists, &usable); err != nil {
			return s.wrap(err)
		}
		if exists && !usable {
			return fmt.Errorf("team store %s: this role may not use the schema %q; its owner grants it: GRANT USAGE ON SCHEMA %s TO <role>; GRANT SELECT ON ALL TABLES IN SCHEMA %s TO <role> (see the README's GRANTs)",
				s.url, s.schema, s.schema, s.schema)
		}
		if !opt.Create {
			return fmt.Errorf("%w: the team store %s has no nextcore tables yet (schema %q)", cache.ErrNoCache, s.url, s.schema)
		}
	}
	if v > 0 && opt.Upgrading != nil {
		opt.Upgrading(v, SchemaVersion)
	}
	return s.migrate(ctx)
}

// version reads the schema version, 0 when there are no tables.
func (s *Store) version(ctx context.Context) (int, error) {
	var v int
	err := s.pool.QueryRow(ctx, "SELECT version FROM nextcore_schema", once).Scan(&v)
	var pe *pgconn.PgError
	if errors.As(err, &pe) && (pe.Code == "42P01" || pe.Code == "3F000") { // undefined table or schema
		return 0, nil
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	return v, s.wrap(err)
}

// migrations[i] takes the schema from version i to i+1.
var migrations = []string{
	`CREATE TABLE nextcore_schema (version int NOT NULL);
	INSERT INTO nextcore_schema VALUES (0);
	CREATE TABLE tenants (id serial PRIMARY KEY, slug text NOT NULL UNIQUE, updated_at bigint NOT NULL DEFAULT 0);
	CREATE TABLE records (
		tenant int NOT NULL, id text COLLATE "C" NOT NULL, ts bigint NOT NULL,
		model text COLLATE "C" NOT NULL, api_key text COLLATE "C" NOT NULL,
		usr text COLLATE "C" NOT NULL, region text COLLATE "C" NOT NULL,
		success bool NOT NULL, unknown bool NOT NULL, status int NOT NULL,
		prompt bigint NOT NULL, completion bigint NOT NULL, cost bigint NOT NULL,
		latency bigint NOT NULL, lat_bucket int NOT NULL,
		requests bigint NOT NULL, cache_read bigint NOT NULL, cache_write bigint NOT NULL,
		cache_write_1h bigint NOT NULL, reasoning bigint NOT NULL,
		project text COLLATE "C" NOT NULL, provider text COLLATE "C" NOT NULL,
		tags text[] NOT NULL, tier text COLLATE "C" NOT NULL,
		batch bool NOT NULL, long_ctx smallint NOT NULL, no_cost bool NOT NULL,
		PRIMARY KEY (tenant, id));
	CREATE INDEX records_by_time ON records (tenant, ts);
	CREATE TABLE rollups (
		tenant int NOT NULL, dim smallint NOT NULL, level int NOT NULL, start bigint NOT NULL,
		member text COLLATE "C" NOT NULL, ` + counterDecl + `, lat bytea);
	-- A report reads a dimension's rows of a stretch of time from the index
	-- alone (an index-only scan): they lie together there, in order.
	CREATE INDEX rollups_at ON rollups (tenant, dim, level, start) INCLUDE (member, ` + strings.Join(counterCols, ", ") + `);
	-- dim and level go together: without this the planner takes a rare
	-- dimension's rows for many, and reads the whole table.
	CREATE STATISTICS rollups_dim_level (dependencies, mcv) ON dim, level FROM rollups;
	CREATE TABLE syncs (tenant int PRIMARY KEY, api_url text NOT NULL, window_start bigint NOT NULL,
		window_end bigint NOT NULL, last_ts bigint NOT NULL, next_url text, pages bigint NOT NULL,
		records bigint NOT NULL, started_at bigint NOT NULL, updated_at bigint NOT NULL, finished_at bigint);
	CREATE TABLE source_syncs (tenant int NOT NULL, source text NOT NULL, synced_to bigint NOT NULL,
		chunk bigint NOT NULL, chunk_end bigint NOT NULL, next_page text NOT NULL, pages bigint NOT NULL,
		updated_at bigint NOT NULL, PRIMARY KEY (tenant, source));
	CREATE TABLE imported_files (tenant int NOT NULL, path text NOT NULL, size bigint NOT NULL,
		mtime bigint NOT NULL, PRIMARY KEY (tenant, path));
	CREATE TABLE quotas (tenant int PRIMARY KEY, period_start text, api_calls bigint, tokens bigint,
		spend bigint, fetched_at bigint NOT NULL);
	CREATE TABLE alerts (tenant int NOT NULL, period text NOT NULL, alert text NOT NULL, channel text NOT NULL,
		sent_at bigint NOT NULL, PRIMARY KEY (tenant, period, alert, channel));
	CREATE TABLE bills (tenant int NOT NULL, provider text NOT NULL, id text NOT NULL, start bigint NOT NULL,
		"end" bigint NOT NULL, project text NOT NULL, model text NOT NULL, item text NOT NULL,
		amount bigint NOT NULL, PRIMARY KEY (tenant, provider, id));
	CREATE INDEX bills_by_time ON bills (tenant, provider, start);`,
	// 2: keys and users are no longer rolled up with the price keys of
	// every record (allPairs); a build of version 1 would read the rows
	// left as if they were whole. nc_sum sums bigints as bigints: no
	// numeric state a group, and an overflow is an error (int8pl's).
	fmt.Sprintf("DELETE FROM rollups WHERE dim IN (%d, %d);", pairCode(source.DimKey), pairCode(source.DimUser)) + `
	CREATE AGGREGATE nc_sum(bigint) (sfunc = int8pl, stype = bigint, combinefunc = int8pl, parallel = safe);
	-- Keys and users ranked by calls (the dashboard's insights) read tens of
	-- thousands of rows of a year: from an index that holds their calls
	-- alone, a third faster than from the one that holds every counter.
	` + fmt.Sprintf("CREATE INDEX rollups_calls ON rollups (tenant, dim, level, start) INCLUDE (member, calls) WHERE dim IN (%d, %d);",
		source.DimKey, source.DimUser) + `
	-- A filtered report prices the records without a reported cost (a few
	-- in a hundred) from their own scan: this index holds only those.
	CREATE INDEX records_no_cost ON records (tenant, ts) WHERE no_cost;`,
}

// migrate brings the schema to SchemaVersion from the version it reads
// under an advisory lock, in one transaction: two hosts upgrading at once
// take turns.
func (s *Store) migrate(ctx context.Context) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return s.wrap(err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // after Commit it does nothing
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", lockKey("schema", s.schema)); err != nil {
		return s.wrap(err)
	}
	var has bool
	if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT FROM pg_namespace WHERE nspname = $1)", s.schema).Scan(&has); err != nil {
		return s.wrap(err)
	}
	if !has {
		if _, err := tx.Exec(ctx, "CREATE SCHEMA "+pgx.Identifier{s.schema}.Sanitize()); err != nil {
			return s.wrapf("create the schema", err)
		}
	}
	// Another host may have made or upgraded the tables while this one
	// waited for the lock: read the version again under it.
	var v int
	var exists bool
	if err := tx.QueryRow(ctx, "SELECT to_regclass('nextcore_schema') IS NOT NULL").Scan(&exists); err != nil {
		return s.wrap(err)
	}
	if exists {
		if err := tx.QueryRow(ctx, "SELECT version FROM nextcore_schema").Scan(&v); err != nil {
			return s.wrap(err)
		}
	}
	for ; v < SchemaVersion; v++ {
		if _, err := tx.Exec(ctx, migrations[v]); err != nil {
			return s.wrapf(fmt.Sprintf("upgrade the schema to version %d", v+1), err)
		}
		if _, err := tx.Exec(ctx, "UPDATE nextcore_schema SET version = $1", v+1); err != nil {
			return s.wrap(err)
		}
	}
	return s.wrap(tx.Commit(ctx))
}

// lockKey is a 64-bit advisory lock key for a purpose and a name.
func lockKey(purpose, name string) int64 {
	// FNV-1a: the same key on every host and every build.
	h := uint64(14695981039346656037)
	for _, b := range []byte("nextcore\x00" + purpose + "\x00" + name) {
		h ^= uint64(b)
		h *= 1099511628211
	}
	return int64(h)
}

// ErrNoWrite is a role that may not write trying to.
var ErrNoWrite = errors.New("this role may not write to the team store")

// wrap turns PostgreSQL's errors into errors a user can act on.
func (s *Store) wrap(err error) error {
	if err == nil {
		return nil
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case pe.Code == "42501": // insufficient_privilege
			return fmt.Errorf("%w (%s): %s; reports need SELECT only, syncs, imports and alerts a writer role (see the README's GRANTs)",
				ErrNoWrite, s.url, pe.Message)
		case pe.Code == "57014": // query_canceled: statement_timeout or a cancel
			return fmt.Errorf("team store %s: a statement was cancelled (%s); nothing of it was stored. Raise statement_timeout for this role, or try again",
				s.url, pe.Message)
		case pe.Code == "28P01" || pe.Code == "28000":
			return fmt.Errorf("team store %s: %s; give the password in PGPASSWORD or ~/.pgpass", s.url, pe.Message)
		case pe.Code == "3D000":
			return fmt.Errorf("%w: team store %s: %s", cache.ErrNoCache, s.url, pe.Message)
		case strings.HasPrefix(pe.Code, "57P") || strings.HasPrefix(pe.Code, "08"):
			return fmt.Errorf("team store %s: the connection was lost (%s); nothing of the unfinished transaction was stored, try again",
				s.url, pe.Message)
		case pe.Code == "53100":
			return fmt.Errorf("team store %s: the server's disk is full; nothing was changed", s.url)
		}
		return fmt.Errorf("team store %s: %s (SQLSTATE %s)", s.url, pe.Message, pe.Code)
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) {
		return fmt.Errorf("team store %s: cannot connect: %v", s.url, lastPart(ce.Unwrap()))
	}
	if pgconn.SafeToRetry(err) || strings.Contains(err.Error(), "conn closed") || strings.Contains(err.Error(), "unexpected EOF") ||
		strings.Contains(err.Error(), "connection reset") || strings.Contains(err.Error(), "broken pipe") {
		return fmt.Errorf("team store %s: the connection was lost (%v); nothing of the unfinished transaction was stored, try again", s.url, lastPart(err))
	}
	return fmt.Errorf("team store %s: %w", s.url, err)
}

func (s *Store) wrapf(what string, err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "42501" {
		return s.wrap(err)
	}
	return fmt.Errorf("%s: %w", what, s.wrap(err))
}

// lastPart is an error's innermost words, without the addresses pgx
// repeats.
func lastPart(err error) string {
	if err == nil {
		return ""
	}
	msg := err.Error()
	if i := strings.LastIndex(msg, ": "); i >= 0 && i+2 < len(msg) {
		return msg[i+2:]
	}
	return msg
}

// tenantID looks a tenant up; with create, an unknown tenant is added.
func tenantID(ctx context.Context, q interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}, slug string, create bool) (int32, error) {
	var id int32
	err := q.QueryRow(ctx, "SELECT id FROM tenants WHERE slug = $1", once, slug).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		if !create {
			return 0, fmt.Errorf("%w: %q", cache.ErrNoTenant, slug)
		}
		err = q.QueryRow(ctx, `INSERT INTO tenants (slug) VALUES ($1)
			ON CONFLICT (slug) DO UPDATE SET slug = excluded.slug RETURNING id`, slug).Scan(&id)
	}
	return id, err
}

// tenantID is the id of an existing tenant, looked up once.
func (s *Store) tenantID(ctx context.Context, slug string) (int32, error) {
	if id, ok := s.tids.Load(slug); ok {
		return id.(int32), nil
	}
	id, err := tenantID(ctx, s.pool, slug, false)
	if err == nil {
		s.tids.Store(slug, id)
	}
	return id, err
}

// knownTenant is tenantID, ok false (and no error) for a tenant the store
// does not hold: a read of its state finds nothing.
func (s *Store) knownTenant(ctx context.Context, slug string) (int32, bool, error) {
	id, err := s.tenantID(ctx, slug)
	if errors.Is(err, cache.ErrNoTenant) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, s.wrap(err)
	}
	return id, true, nil
}

// Tenants implements cache.Store.
func (s *Store) Tenants(ctx context.Context) ([]string, error) {
	rows, err := s.pool.Query(ctx, "SELECT slug FROM tenants ORDER BY slug", once)
	if err != nil {
		return nil, s.wrap(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	return out, s.wrap(err)
}

// Info implements cache.Store.
func (s *Store) Info(ctx context.Context, tenant string) (source.Info, error) {
	info := source.Info{Tenant: tenant, Kind: "cache"}
	var tid int32
	var updated int64
	err := s.pool.QueryRow(ctx, "SELECT id, updated_at FROM tenants WHERE slug = $1", once, tenant).Scan(&tid, &updated)
	if errors.Is(err, pgx.ErrNoRows) {
		return info, fmt.Errorf("%w: %q", cache.ErrNoTenant, tenant)
	}
	if err != nil {
		return info, s.wrap(err)
	}
	s.tids.Store(tenant, tid)
	if updated > 0 {
		info.UpdatedAt = time.Unix(0, updated)
	}
	// Apart from the slug's lookup: a statement on the records names the
	// tenant, so that Citus routes it to one shard.
	var oldest, newest *int64
	if err := s.pool.QueryRow(ctx, `SELECT (SELECT min(ts) FROM records WHERE tenant = $1),
		(SELECT max(ts) FROM records WHERE tenant = $1),
		(SELECT coalesce(sum(calls), 0)::bigint FROM rollups WHERE tenant = $1 AND dim = 0 AND level = $2)`,
		once, tid, cache.Day).Scan(&oldest, &newest, &info.Records); err != nil {
		return info, s.wrap(err)
	}
	if oldest != nil {
		info.Oldest, info.Newest = time.Unix(0, *oldest), time.Unix(0, *newest)
	}
	return info, nil
}

// Check implements cache.Store: the schema is this build's, and the
// rollups agree with the records, tenant by tenant.
func (s *Store) Check(ctx context.Context) error {
	v, err := s.version(ctx)
	if err != nil {
		return err
	}
	if v != SchemaVersion {
		return fmt.Errorf("%w: team store %s has schema %d, not %d", cache.ErrCorrupted, s.url, v, SchemaVersion)
	}
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return s.wrap(err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // read only
	rows, err := tx.Query(ctx, `WITH r AS (SELECT tenant, sum(requests) AS calls, sum(cost) AS cost,
			sum(prompt + completion) AS tokens FROM records GROUP BY tenant),
		u AS (SELECT tenant, level, dim, sum(calls) AS calls, sum(cost) AS cost, sum(prompt + completion) AS tokens
			FROM rollups WHERE dim IN (0, 1) GROUP BY tenant, level, dim)
		SELECT t.slug, u.level, u.dim, coalesce(r.calls, 0)::text, coalesce(u.calls, 0)::text,
			coalesce(r.cost, 0)::text, coalesce(u.cost, 0)::text, coalesce(r.tokens, 0)::text, coalesce(u.tokens, 0)::text
		FROM u FULL JOIN r ON r.tenant = u.tenant JOIN tenants t ON t.id = coalesce(u.tenant, r.tenant)
		WHERE r.calls IS DISTINCT FROM u.calls OR r.cost IS DISTINCT FROM u.cost OR r.tokens IS DISTINCT FROM u.tokens`)
	if err != nil {
		return s.wrap(err)
	}
	defer rows.Close()
	var problems []string
	for rows.Next() {
		var slug, rc, uc, rcost, ucost, rt, ut string
		var level, dim *int64
		if err := rows.Scan(&slug, &level, &dim, &rc, &uc, &rcost, &ucost, &rt, &ut); err != nil {
			return s.wrap(err)
		}
		problems = append(problems, fmt.Sprintf("tenant %s: records say %s calls, %s nano-dollars, %s tokens; rollups %s, %s, %s",
			slug, rc, rcost, rt, uc, ucost, ut))
	}
	if err := rows.Err(); err != nil {
		return s.wrap(err)
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w: team store %s: %s. Copy the records into a new schema with 'nextcore cache copy', or sync again into an empty one",
			cache.ErrCorrupted, s.url, strings.Join(problems, "; "))
	}
	return nil
}
