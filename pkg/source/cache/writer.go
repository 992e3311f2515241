// The writer: records added in one transaction, in batches, each id once.

package cache

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/nextcore-ai/nextcore/pkg/source"
)

// insertBatch is how many records one INSERT statement carries: enough to
// spread the cost of a statement over many rows, few enough to stay far
// below SQLite's limit on parameters.
const insertBatch = 512

// recordCols is how many parameters a record has: v1Cols, then the ledger's.
const recordCols = v1Cols + ledgerCount

// v1Cols is how many parameters a record has without the ledger's columns,
// which then take their defaults (what a v1 record stores).
const v1Cols = 13

// Writer adds records to the cache in one transaction: either everything it
// was given is stored, or (on Rollback, an error, or a crash) nothing is.
type Writer struct {
	c      *Cache
	ctx    context.Context
	tx     *sql.Tx
	tenant int64
	names  *dictionary
	acc    *rollupAcc // the rollup deltas; the worker's while it runs

	batch   []pending // records waiting for the next INSERT
	args    []any
	conn    *sql.Conn      // the connection of tx, when the writer began it
	path    writePath      // how full batches and rollup rows are stored
	byID    map[string]int // batch index of each id
	uniq    []int          // batch indexes of the records to insert
	uniqBuf []int          // uniq's storage when dedupe made it
	all     []int          // 0 … insertBatch-1
	whole   bool           // uniq is all: the batch goes as it is
	counted []pending      // new records of the last INSERT, for the rollups
	work    *rollupWorker
	sync    *SyncState // written with the commit
	// sourceSync is a provider sync's state, written with the commit.
	sourceSync *SourceSync
	// A first import's deferred index of ids (deferid.go): the filter of
	// ids met, and the records held back until the index is made.
	ids  *bloom
	held []pending
	// lastID, rising and probed watch whether ids come in order (ids that
	// grow with time, as req_<millis>… do): an index of those costs
	// little as it goes, so it is made early.
	lastID         string
	rising, probed int
	// priceKeys are the dictionary ids of the price keys met (priceIDs).
	priceKeys map[source.PriceKey]int64
	// blockDays are the UTC days this import wrote column blocks of.
	blockDays map[int64]bool

	// Added and Duplicates count the records given to Add.
	Added, Duplicates int64
}

// pending is a record waiting to be inserted, with its dictionary ids.
type pending struct {
	r    source.Record
	ids  [source.NumDims]int64 // by source.Dims()
	lids ledgerNames
	tags []int64 // the ids of its tags (DimTag), nil for none
	// pairPrice is the id of its price key but for the small flag
	// (source.DimPairPrice): the pair rollups' key.
	pairPrice int64
}

// BeginWrite starts adding records for tenant (created if new).
func (c *Cache) BeginWrite(ctx context.Context, tenant string) (*Writer, error) {
	conn, err := c.db.Conn(ctx)
	if err != nil {
		return nil, c.wrap(fmt.Errorf("start writing to the cache: %w", err))
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		_ = conn.Close() // the error above says what went wrong
		return nil, c.wrap(fmt.Errorf("start writing to the cache: %w", err))
	}
	w := &Writer{c: c, ctx: ctx, tx: tx, conn: conn, byID: map[string]int{}}
	if err := w.begin(tenant); err != nil {
		w.Rollback()
		return nil, c.wrap(err)
	}
	w.acc = newRollupAcc(w.names)
	w.work = startRollupWorker(w.acc)
	return w, nil
}

func (w *Writer) begin(tenant string) error {
	var err error
	if w.tenant, err = tenantID(w.ctx, w.tx, tenant, true); err != nil {
		return err
	}
	if w.names, err = loadDictionary(w.ctx, w.tx); err != nil {
		return err
	}
	if w.c.building != "" {
		// A cache being built holds no record yet: the index of ids is
		// made at the end (deferid.go).
		if _, err := w.tx.ExecContext(w.ctx, "DROP INDEX records_by_id"); err != nil {
			return err
		}
		w.ids = newBloom(w.c.expect)
	}
	if !w.c.sqlOnly {
		if w.path, err = newRawPath(w); err != nil {
			return err
		}
	}
	if w.path == nil {
		w.path, err = newSQLPath(w)
	}
	return err
}

// insertSQL inserts n records and skips those whose id is stored; with
// returning, it gives back the ids it stored. The same record again is
// found on the records' own key first, which follows time, without a
// look at the index of ids, whose pages random ids scatter; an id stored
// with another timestamp is caught by the second clause. OR IGNORE covers
// what the clauses do not (a NOT NULL column, which every row fills): a
// statement that cannot abort halfway needs no statement journal, which
// would copy every page the statement changes.
func insertSQL(n int, returning bool) string { return insertColsSQL(n, returning, true) }

// insertColsSQL is insertSQL, without the ledger's columns unless ledger.
func insertColsSQL(n int, returning, ledger bool) string {
	var b strings.Builder
	cols, width := "", v1Cols
	if ledger {
		cols, width = ", "+ledgerColumns, recordCols
	}
	b.WriteString("INSERT OR IGNORE INTO records (tenant, ts, id, model, api_key, usr, region, ok, status_code, prompt, completion, cost, latency" +
		cols + ") VALUES ")
	row := "(?" + strings.Repeat(",?", width-1) + ")"
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(row)
	}
	b.WriteString(" ON CONFLICT (tenant, ts, id) DO NOTHING ON CONFLICT DO NOTHING")
	if returning {
		b.WriteString(" RETURNING id")
	}
	return b.String()
}

// Add queues r to be stored unless a record with its id is already stored
// for the tenant. Records are written in batches; Commit writes the rest.
func (w *Writer) Add(r *source.Record) error {
	p := pending{r: *r}
	for i, d := range rollupDims {
		if d == source.DimPrice {
			id, pair, err := w.priceIDs(r)
			if err != nil {
				return w.c.wrap(err)
			}
			p.ids[i], p.pairPrice = id, pair
			continue
		}
		id, err := w.names.id(w.ctx, w.tx, d, r.Member(d))
		if err != nil {
			return w.c.wrap(err)
		}
		p.ids[i] = id
	}
	var err error
	if p.lids, p.tags, err = w.names.ledgerIDs(w.ctx, w.tx, r); err != nil {
		return w.c.wrap(err)
	}
	deferred := w.ids != nil
	if deferred && w.ids.seen(r.ID) {
		w.held = append(w.held, p)
		if len(w.held) >= maxHeld {
			return w.makeIDIndex(false)
		}
		return nil
	}
	// Whether ids come in order decides where the index of ids is made:
	// a first import of ordered ids makes it at once (it grows cheaply in
	// order); a large import of random ids into a cache makes it anew at
	// the end (deferExisting) rather than grow it on random pages.
	probing := deferred || (w.c.building == "" && w.c.expect >= deferMin)
	if probing && w.probed < orderProbe {
		if done, ordered := w.probeOrder(r.ID); done && ordered == deferred {
			if err := w.queue(p); err != nil {
				return err
			}
			if deferred {
				return w.makeIDIndex(false)
			}
			return w.deferExisting()
		}
	}
	return w.queue(p)
}

// probeOrder counts id toward the probe of the first orderProbe ids: done
// once they are counted, ordered when nearly all of them rose.
func (w *Writer) probeOrder(id string) (done, ordered bool) {
	if id > w.lastID {
		w.rising++
	}
	w.lastID = id
	w.probed++
	return w.probed == orderProbe, w.rising >= orderProbe*99/100
}

// deferExisting defers the index of ids of a large import of random ids
// into a cache, when making the index anew at the end costs less than
// growing it on random pages (and the import's first records are mostly
// new): the filter starts with the tenant's stored
// ids (this import's so far included), the index is dropped, and the
// import goes on as a first import's does.
func (w *Writer) deferExisting() error {
	if err := w.insert(); err != nil {
		return err
	}
	if w.Duplicates*10 > w.Added+w.Duplicates {
		return nil // stored already, much of it (an import run again): nothing to gain
	}
	var total int64
	if err := w.tx.QueryRowContext(w.ctx, "SELECT count(*) FROM records").Scan(&total); err != nil {
		return w.c.wrap(err)
	}
	if !worthDeferring(w.c.expect, total) {
		return nil
	}
	ids := newBloom(total + w.c.expect) // the tenant's ids are some of all
	rows, err := w.tx.QueryContext(w.ctx, "SELECT id FROM records INDEXED BY records_by_id WHERE tenant = ?", w.tenant)
	if err != nil {
		return w.c.wrap(err)
	}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return w.c.wrap(err)
		}
		ids.seen(id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return w.c.wrap(err)
	}
	if _, err := w.tx.ExecContext(w.ctx, "DROP INDEX records_by_id"); err != nil {
		return w.c.wrap(err)
	}
	w.ids = ids
	return nil
}

// queue adds a record to the batch, and stores the batch when full.
func (w *Writer) queue(p pending) error {
	w.batch = append(w.batch, p)
	if len(w.batch) == insertBatch {
		return w.insert()
	}
	return nil
}

// makeIDIndex ends a first import's deferral: the records queued are
// stored, the index of ids is made from all stored, and the records held
// back go in as into any cache, in the order they came. At the end of the
// import (last) the page cache stays small: little is left to write.
func (w *Writer) makeIDIndex(last bool) error {
	if w.ids == nil {
		return nil
	}
	if err := w.insert(); err != nil {
		return err
	}
	w.ids = nil
	// The sort spills to a temporary file rather than memory, in runs the
	// size of a small page cache.
	steps := []string{"PRAGMA temp_store = FILE", "PRAGMA cache_size = -8192",
		"CREATE UNIQUE INDEX records_by_id ON records (tenant, id)", "PRAGMA temp_store = MEMORY"}
	if !last {
		steps = append(steps, "PRAGMA cache_size = -32768")
	}
	for _, q := range steps {
		if _, err := w.tx.ExecContext(w.ctx, q); err != nil {
			return w.c.wrap(fmt.Errorf("index the records' ids: %w", err))
		}
	}
	held := w.held
	w.held = nil
	for _, p := range held {
		if err := w.queue(p); err != nil {
			return err
		}
	}
	return nil
}

// rollupDims are the dimensions with rollups by member, in pending.ids'
// order.
var rollupDims = source.Dims()

// priceIDs are the dictionary ids of r's price key, and of that key but
// for the small flag (DimPairPrice). A key met before is looked up as it
// is, without making its name.
func (w *Writer) priceIDs(r *source.Record) (id, pair int64, err error) {
	look := func(k source.PriceKey) (int64, error) {
		if id, ok := w.priceKeys[k]; ok {
			return id, nil
		}
		id, err := w.names.id(w.ctx, w.tx, source.DimPrice, k.String())
		if err == nil {
			if w.priceKeys == nil {
				w.priceKeys = map[source.PriceKey]int64{}
			}
			w.priceKeys[k] = id
		}
		return id, err
	}
	k := r.PriceKeyOf()
	small := k.Small
	k.Small = false
	if pair, err = look(k); err != nil || !small {
		return pair, pair, err
	}
	k.Small = true
	id, err = look(k)
	return id, pair, err
}

// insert writes the queued records and counts the new ones into the rollups.
//
// The usual batch is all new (a first import) or all stored (an import run
// again): a plain INSERT says which by its row count alone. Only a batch that
// is partly stored is undone and written again with RETURNING, to learn
// which of its records are new.
func (w *Writer) insert() error {
	if len(w.batch) == 0 {
		return nil
	}
	w.counted = w.counted[:0]
	var added int
	var err error
	if len(w.batch) == insertBatch {
		added, err = w.insertCounted(func() (int64, error) { return w.path.insertFull(w) })
	} else {
		w.dedupe()
		added, err = w.insertCounted(w.insertSome)
	}
	if err != nil {
		return w.c.wrap(fmt.Errorf("store records: %w", err))
	}
	w.Added += int64(added)
	w.Duplicates += int64(len(w.batch) - added)
	w.batch = w.batch[:0]
	if len(w.counted) > 0 {
		if err := w.work.count(w.counted); err != nil {
			return err
		}
	}
	// Rollup upserts the worker has made ready go into the transaction now.
	for {
		select {
		case b := <-w.work.ready:
			if err := w.execUpserts(b); err != nil {
				return err
			}
			continue
		default:
		}
		return nil
	}
}

// dedupe lists in w.uniq the batch indexes of the first record of each id,
// with w.byID mapping ids to them.
func (w *Writer) dedupe() {
	w.whole = false
	w.uniq = w.uniqBuf[:0]
	clear(w.byID)
	for i := range w.batch {
		r := &w.batch[i].r
		if _, dup := w.byID[r.ID]; dup {
			continue // the same id earlier in this batch
		}
		w.byID[r.ID] = i
		w.uniq = append(w.uniq, i)
	}
	w.uniqBuf = w.uniq
}

// plainArgs are the INSERT arguments of the records at w.uniq.
func (w *Writer) plainArgs() []any {
	w.args = w.args[:0]
	for _, i := range w.uniq {
		p := &w.batch[i]
		r := &p.r
		var code, latency any
		if r.StatusCode != 0 {
			code = r.StatusCode
		}
		if r.LatencyMs >= 0 {
			latency = r.LatencyMs
		}
		w.args = append(w.args, w.tenant, r.Time, r.ID, p.ids[0], p.ids[1], p.ids[2], p.ids[3], okValue(r),
			code, r.PromptTokens, r.CompletionTokens, int64(r.Cost), latency)
		for _, v := range ledgerValues(r, p.lids) {
			w.args = append(w.args, v)
		}
	}
	return w.args
}

// insertSome writes the records at w.uniq (fewer than a full batch)
// through database/sql.
func (w *Writer) insertSome() (int64, error) {
	res, err := w.tx.ExecContext(w.ctx, insertSQL(len(w.uniq), false), w.plainArgs()...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// insertCounted runs one INSERT of the records at w.uniq in a savepoint and
// counts the new ones. A batch partly stored already is undone and written
// again through database/sql with RETURNING, to learn which are new.
func (w *Writer) insertCounted(insert func() (int64, error)) (int, error) {
	if _, err := w.tx.ExecContext(w.ctx, "SAVEPOINT batch"); err != nil {
		return 0, err
	}
	stored, err := insert()
	if err != nil {
		return 0, err
	}
	n := len(w.uniq) // insert chose them: the batch, or its first of each id
	switch stored {
	case int64(n):
		for _, i := range w.uniq {
			w.counted = append(w.counted, w.batch[i])
		}
	case 0:
	default:
		if _, err := w.tx.ExecContext(w.ctx, "ROLLBACK TO batch"); err != nil {
			return 0, err
		}
		if _, err := w.tx.ExecContext(w.ctx, "RELEASE batch"); err != nil {
			return 0, err
		}
		if w.whole {
			w.dedupe() // the batch was sent as it was
		}
		return w.insertReturning()
	}
	_, err = w.tx.ExecContext(w.ctx, "RELEASE batch")
	return int(stored), err
}

// insertReturning writes w.args and counts the records that the cache says
// it stored.
func (w *Writer) insertReturning() (int, error) {
	rows, err := w.tx.QueryContext(w.ctx, insertSQL(len(w.uniq), true), w.plainArgs()...)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	added := 0
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return 0, err
		}
		i, ok := w.byID[id]
		if !ok {
			return 0, fmt.Errorf("the cache returned an unknown id")
		}
		w.counted = append(w.counted, w.batch[i])
		added++
	}
	return added, rows.Err()
}

// Commit writes what is queued and makes everything added visible at once.
func (w *Writer) Commit() error {
	if err := w.makeIDIndex(true); err != nil {
		w.Rollback()
		return err
	}
	if err := w.insert(); err != nil {
		w.Rollback()
		return err
	}
	if err := w.finishRollups(); err != nil {
		w.Rollback()
		return err
	}
	if err := w.dropWide(); err != nil {
		w.Rollback()
		return w.c.wrap(err)
	}
	if err := w.mergeBlocks(); err != nil {
		w.Rollback()
		return err
	}
	now := w.c.now()
	if _, err := w.tx.ExecContext(w.ctx, "UPDATE tenants SET updated_at = ? WHERE id = ?", now.UnixNano(), w.tenant); err != nil {
		w.Rollback()
		return w.c.wrap(err)
	}
	if err := w.writeSync(now); err != nil {
		w.Rollback()
		return w.c.wrap(fmt.Errorf("save the sync position: %w", err))
	}
	if err := w.writeSourceSync(now); err != nil {
		w.Rollback()
		return w.c.wrap(fmt.Errorf("save the sync position: %w", err))
	}
	w.closeStmts()
	err := w.tx.Commit()
	w.closeConn()
	if err != nil {
		return w.c.wrap(fmt.Errorf("commit to the cache: %w", err))
	}
	return nil
}

// dropWide deletes the rollup rows of the wide dimensions (wideDim), of
// every tenant: no report reads them. Those are rows this import counted
// before a dimension widened, or rows of a cache written before the rule;
// where there are none, each delete is one look at the index.
func (w *Writer) dropWide() error {
	for _, d := range slotDims {
		if !wideDim(w.names, d) {
			continue
		}
		if _, err := w.tx.ExecContext(w.ctx, "DELETE FROM rollups WHERE tenant IN (SELECT id FROM tenants) AND dim IN (?, ?)",
			int(d), int(PairDim(d))); err != nil {
			return fmt.Errorf("drop the rollups of a wide dimension: %w", err)
		}
	}
	return nil
}

// closeConn hands the writer's connection back to the pool.
func (w *Writer) closeConn() {
	if w.conn != nil {
		_ = w.conn.Close() // back to the pool; the transaction is over either way
		w.conn = nil
	}
}

// closeStmts closes the writer's prepared statements.
func (w *Writer) closeStmts() {
	if w.path != nil {
		w.path.close(w)
		w.path = nil
	}
}

// Rollback forgets everything added. It is safe to call after Commit.
func (w *Writer) Rollback() error {
	if w.work != nil {
		w.work.stop()
	}
	w.closeStmts()
	err := w.tx.Rollback()
	w.closeConn()
	if err == sql.ErrTxDone {
		return nil
	}
	return err
}
