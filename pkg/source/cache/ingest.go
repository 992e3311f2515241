package cache

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nextcore-ai/nextcore/pkg/source"
)

// Bucket lengths, in seconds. A rollup row's level is its bucket length.
const (
	Quarter = 900
	Hour    = 3600
	Day     = 86400
)

// rollupKey names one rollup row of a tenant.
type rollupKey struct {
	dim    source.Dim
	level  int32
	bucket int64 // Unix seconds
	member int64
}

// maxPendingBytes bounds the rollup deltas held in memory before they are
// written (still inside the import's transaction), as estimated from their
// rows and the buckets of their latency histograms. Input in time order
// fills it with hours that are done; input in any other order finds most
// of its rows still there, and writes each once rather than once per visit.
const maxPendingBytes = 24 << 20

// Estimated memory of a delta row and of a histogram bucket.
const rowBytes, bucketBytes = 640, 40

// insertBatch is how many records one INSERT statement carries: enough to
// spread the cost of a statement over many rows, few enough to stay far
// below SQLite's limit on parameters.
const insertBatch = 512

const recordCols = 13

// rawInserts lets tests compare the raw statement with database/sql.
var rawInserts = true

// Writer adds records to the cache in one transaction: either everything it
// was given is stored, or (on Rollback, an error, or a crash) nothing is.
type Writer struct {
	c      *Cache
	ctx    context.Context
	tx     *sql.Tx
	tenant int64
	names  *dictionary
	acc    *rollupAcc // the rollup deltas; the worker's while it runs

	batch      []pending // records waiting for the next INSERT
	args       []any
	conn       *sql.Conn      // the connection of tx, when the writer began it
	rawInsert  *rawStmt       // INSERT of insertBatch rows, bound without database/sql
	plainStmt  *sql.Stmt      // INSERT of insertBatch rows
	rawUpsert  *rawStmt       // rollup upsert of upsertBatch rows, bound without database/sql
	byID       map[string]int // batch index of each id
	uniq       []int          // batch indexes of the records to insert
	uniqBuf    []int          // uniq's storage when dedupe made it
	all        []int          // 0 … insertBatch-1
	whole      bool           // uniq is all: the batch goes as it is
	counted    []pending      // new records of the last INSERT, for the rollups
	upsertStmt *sql.Stmt
	work       *rollupWorker
	sync       *SyncState // written with the commit

	// Added and Duplicates count the records given to Add.
	Added, Duplicates int64
}

// pending is a record waiting to be inserted, with its dictionary ids.
type pending struct {
	r   source.Record
	ids [5]int64
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
	w := &Writer{c: c, ctx: ctx, tx: tx, conn: conn, acc: newRollupAcc(), byID: map[string]int{}}
	if err := w.begin(tenant); err != nil {
		w.Rollback()
		return nil, c.wrap(err)
	}
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
	if w.plainStmt, err = w.tx.PrepareContext(w.ctx, insertSQL(insertBatch, false)); err != nil {
		return err
	}
	return w.conn.Raw(func(dc any) error {
		raw, ok := rawOf(dc)
		if !ok || !rawInserts {
			return nil // database/sql it is
		}
		w.rawInsert, err = raw.prepare(insertSQL(insertBatch, false))
		return err
	})
}

// insertSQL inserts n records and skips those whose id is stored; with
// returning, it gives back the ids it stored.
func insertSQL(n int, returning bool) string {
	var b strings.Builder
	b.WriteString("INSERT INTO records (tenant, ts, id, model, api_key, usr, region, ok, status_code, prompt, completion, cost, latency) VALUES ")
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("(?,?,?,?,?,?,?,?,?,?,?,?,?)")
	}
	b.WriteString(" ON CONFLICT DO NOTHING")
	if returning {
		b.WriteString(" RETURNING id")
	}
	return b.String()
}

// Add queues r to be stored unless a record with its id is already stored
// for the tenant. Records are written in batches; Commit writes the rest.
func (w *Writer) Add(r *source.Record) error {
	p := pending{r: *r}
	for i, d := range source.Dims() {
		id, err := w.names.id(w.ctx, w.tx, d, r.Member(d))
		if err != nil {
			return w.c.wrap(err)
		}
		p.ids[i] = id
	}
	w.batch = append(w.batch, p)
	if len(w.batch) == insertBatch {
		return w.insert()
	}
	return nil
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
	if w.rawInsert != nil && len(w.batch) == insertBatch {
		// A full batch goes as it is: SQLite skips an id met twice as it
		// skips a stored one, and only then does the batch need sorting out.
		if w.all == nil {
			for i := range insertBatch {
				w.all = append(w.all, i)
			}
		}
		w.uniq, w.whole = w.all, true
		added, err = w.insertRaw()
	} else {
		w.dedupe()
		added, err = w.insertPlain()
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
		ok := 0
		if r.Success {
			ok = 1
		}
		w.args = append(w.args, w.tenant, r.Time, r.ID, p.ids[0], p.ids[1], p.ids[2], p.ids[3], ok,
			code, r.PromptTokens, r.CompletionTokens, int64(r.Cost), latency)
	}
	return w.args
}

// insertPlain writes the records at w.uniq through database/sql and counts
// what it stored.
func (w *Writer) insertPlain() (int, error) {
	n := len(w.uniq)
	args := w.plainArgs()
	return w.insertCounted(func() (int64, error) {
		var res sql.Result
		var err error
		if n == insertBatch {
			res, err = w.plainStmt.ExecContext(w.ctx, args...)
		} else {
			res, err = w.tx.ExecContext(w.ctx, insertSQL(n, false), args...)
		}
		if err != nil {
			return 0, err
		}
		return res.RowsAffected()
	})
}

// insertRaw writes the insertBatch records at w.uniq with the raw statement.
func (w *Writer) insertRaw() (int, error) {
	return w.insertCounted(func() (int64, error) {
		var stored int64
		err := w.conn.Raw(func(any) error {
			s := w.rawInsert
			room := 0
			for _, i := range w.uniq {
				room += len(w.batch[i].r.ID)
			}
			s.reserve(room)
			var err error
			for k, i := range w.uniq {
				if err = w.bindRecord(s, k*recordCols, &w.batch[i]); err != nil {
					break
				}
			}
			if err != nil {
				s.reset()
				return err
			}
			stored, err = s.exec()
			return err
		})
		return stored, err
	})
}

// bindRecord binds p as the row whose first parameter follows at.
func (w *Writer) bindRecord(s *rawStmt, at int, p *pending) error {
	r := &p.r
	ok := int64(0)
	if r.Success {
		ok = 1
	}
	for k, v := range [...]int64{w.tenant, r.Time} {
		if err := s.int64(at+1+k, v); err != nil {
			return err
		}
	}
	if err := s.str(at+3, r.ID); err != nil {
		return err
	}
	for k, v := range [...]int64{p.ids[0], p.ids[1], p.ids[2], p.ids[3], ok} {
		if err := s.int64(at+4+k, v); err != nil {
			return err
		}
	}
	var err error
	if r.StatusCode != 0 {
		err = s.int64(at+9, int64(r.StatusCode))
	} else {
		err = s.null(at + 9)
	}
	if err != nil {
		return err
	}
	for k, v := range [...]int64{r.PromptTokens, r.CompletionTokens, int64(r.Cost)} {
		if err := s.int64(at+10+k, v); err != nil {
			return err
		}
	}
	if r.LatencyMs >= 0 {
		return s.int64(at+13, r.LatencyMs)
	}
	return s.null(at + 13)
}

// insertCounted runs one INSERT of the records at w.uniq in a savepoint and
// counts the new ones. A batch partly stored already is undone and written
// again through database/sql with RETURNING, to learn which are new.
func (w *Writer) insertCounted(insert func() (int64, error)) (int, error) {
	n := len(w.uniq)
	if _, err := w.tx.ExecContext(w.ctx, "SAVEPOINT batch"); err != nil {
		return 0, err
	}
	stored, err := insert()
	if err != nil {
		return 0, err
	}
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

// rollupAcc gathers the rollup deltas of the records stored.
type rollupAcc struct {
	hour   hourSlots
	deltas map[rollupKey]*source.Totals
	bytes  int // estimated size of deltas
}

func newRollupAcc() *rollupAcc {
	return &rollupAcc{hour: hourSlots{hour: -1}, deltas: map[rollupKey]*source.Totals{}}
}

// full reports whether the deltas should be written out.
func (a *rollupAcc) full() bool { return a.bytes >= maxPendingBytes }

// count adds a stored record to the finest rollup buckets: quarter hours for
// all calls, hours for each dimension.
func (a *rollupAcc) count(p *pending) {
	r := &p.r
	sec := floorDiv(r.Time, int64(time.Second))
	hour := floorDiv(sec, Hour) * Hour
	h := &a.hour
	if hour != h.hour {
		a.spill()
		h.hour = hour
	}
	q := (sec - hour) / Quarter
	h.quarters[q].AddCounts(r)
	if r.LatencyMs >= 0 {
		h.quarterLat[q].Record(r.LatencyMs)
	}
	for i, id := range p.ids {
		m := h.members[i]
		if int(id) >= len(m) {
			m = append(m, make([]source.Totals, int(id)+1-len(m))...)
			h.members[i] = m
			h.memberLat[i] = append(h.memberLat[i], make([]*source.LatencyCounter, len(m)-len(h.memberLat[i]))...)
		}
		m[id].AddCounts(r)
		if r.LatencyMs >= 0 {
			c := h.memberLat[i][id]
			if c == nil {
				c = &source.LatencyCounter{}
				h.memberLat[i][id] = c
			}
			c.Record(r.LatencyMs)
		}
	}
}

// hourSlots are the current hour's totals by dimension and member id.
// Records mostly come in time order, so counting one is a few slice updates;
// the hour's totals move to the rollup deltas when another hour begins.
type hourSlots struct {
	hour       int64 // Unix seconds
	quarters   [Hour / Quarter]source.Totals
	quarterLat [Hour / Quarter]source.LatencyCounter
	members    [5][]source.Totals // by dimension (source.Dims()), then member id
	memberLat  [5][]*source.LatencyCounter
}

// spill moves the current hour's totals into the rollup deltas.
func (a *rollupAcc) spill() {
	h := &a.hour
	for q := range h.quarters {
		if h.quarters[q].Calls > 0 {
			h.quarters[q].Latency = h.quarterLat[q].Drain()
			a.addDelta(rollupKey{source.DimAll, Quarter, h.hour + int64(q)*Quarter, 0}, &h.quarters[q])
			h.quarters[q] = source.Totals{}
		}
	}
	for i, d := range source.Dims() {
		for id := range h.members[i] {
			if t := &h.members[i][id]; t.Calls > 0 {
				if c := h.memberLat[i][id]; c != nil {
					t.Latency = c.Drain()
				}
				a.addDelta(rollupKey{d, Hour, h.hour, int64(id)}, t)
				*t = source.Totals{}
			}
		}
	}
}

func (a *rollupAcc) addDelta(k rollupKey, t *source.Totals) {
	d := a.deltas[k]
	if d == nil {
		c := *t // t's histogram was just drained for it: take it over
		a.deltas[k] = &c
		a.bytes += rowBytes + bucketBytes*c.Latency.Buckets()
		return
	}
	before := d.Latency.Buckets()
	d.Add(*t)
	a.bytes += bucketBytes * (d.Latency.Buckets() - before)
}

// upsertBatch is how many rollup rows one upsert statement carries.
const upsertBatch = 256

func upsertSQL(n int) string {
	var b strings.Builder
	b.WriteString(`INSERT INTO rollups (tenant, dim, level, bucket, member, calls, ok, prompt, completion, cost,
		small_calls, small_tokens, small_cost, lat_n, lat_sum, lat_hist) VALUES `)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)")
	}
	b.WriteString(` ON CONFLICT (tenant, dim, level, bucket, member) DO UPDATE SET
		calls = calls + excluded.calls, ok = ok + excluded.ok,
		prompt = prompt + excluded.prompt, completion = completion + excluded.completion,
		cost = cost + excluded.cost, small_calls = small_calls + excluded.small_calls,
		small_tokens = small_tokens + excluded.small_tokens, small_cost = small_cost + excluded.small_cost,
		lat_n = lat_n + excluded.lat_n, lat_sum = lat_sum + excluded.lat_sum,
		lat_hist = nextcore_latency_merge(lat_hist, excluded.lat_hist)`)
	return b.String()
}

// upsertRow is a rollup delta to add to the cache (the writer adds the
// tenant).
type upsertRow struct {
	key  rollupKey
	t    source.Totals // its Latency is in hist, encoded
	hist []byte
}

// take spills the current hour and turns the deltas gathered so far, the
// finest buckets as counted and the coarser ones derived from them, into
// batches of upsert rows, leaving none behind.
func (a *rollupAcc) take() [][]upsertRow {
	a.spill()
	coarse := map[rollupKey]*source.Totals{}
	up := func(k rollupKey, level int32, t *source.Totals) {
		k.level = level
		k.bucket = floorDiv(k.bucket, int64(level)) * int64(level)
		c := coarse[k]
		if c == nil {
			c = &source.Totals{}
			coarse[k] = c
		}
		c.Add(*t)
	}
	for k, t := range a.deltas {
		if k.level == Quarter {
			up(k, Hour, t)
		}
		up(k, Day, t)
	}
	var batches [][]upsertRow
	var rows []upsertRow
	for _, m := range []map[rollupKey]*source.Totals{a.deltas, coarse} {
		for k, t := range m {
			if rows == nil {
				rows = make([]upsertRow, 0, upsertBatch)
			}
			row := upsertRow{key: k, t: *t, hist: t.Latency.MarshalBinary()}
			row.t.Latency = nil
			rows = append(rows, row)
			if len(rows) == upsertBatch {
				batches, rows = append(batches, rows), nil
			}
		}
	}
	if rows != nil {
		batches = append(batches, rows)
	}
	clear(a.deltas)
	a.bytes = 0
	return batches
}

// execUpserts writes batches made by take into the transaction.
func (w *Writer) execUpserts(batches [][]upsertRow) error {
	for _, b := range batches {
		var err error
		if w.rawInsert != nil {
			err = w.upsertRaw(b)
		} else {
			err = w.upsertPlain(b)
		}
		if err != nil {
			return w.c.wrap(fmt.Errorf("update rollups: %w", err))
		}
	}
	return nil
}

// upsertPlain writes rows through database/sql.
func (w *Writer) upsertPlain(rows []upsertRow) error {
	args := make([]any, 0, len(rows)*upsertCols)
	for i := range rows {
		r := &rows[i]
		k, t := r.key, &r.t
		args = append(args, w.tenant, int(k.dim), k.level, k.bucket, k.member,
			t.Calls, t.Successful, t.Prompt, t.Completion, int64(t.Cost),
			t.SmallCalls, t.SmallTokens, int64(t.SmallCost), t.LatencyN, t.LatencySum, r.hist)
	}
	if len(rows) != upsertBatch {
		_, err := w.tx.ExecContext(w.ctx, upsertSQL(len(rows)), args...)
		return err
	}
	if w.upsertStmt == nil {
		stmt, err := w.tx.PrepareContext(w.ctx, upsertSQL(upsertBatch))
		if err != nil {
			return err
		}
		w.upsertStmt = stmt
	}
	_, err := w.upsertStmt.ExecContext(w.ctx, args...)
	return err
}

// upsertRaw writes rows with a raw statement, as insertRaw does records.
func (w *Writer) upsertRaw(rows []upsertRow) error {
	return w.conn.Raw(func(dc any) error {
		s := w.rawUpsert
		if len(rows) != upsertBatch || s == nil {
			raw, _ := rawOf(dc)
			one, err := raw.prepare(upsertSQL(len(rows)))
			if err != nil {
				return err
			}
			if len(rows) != upsertBatch {
				defer one.close()
			} else {
				w.rawUpsert = one
			}
			s = one
		}
		room := 0
		for i := range rows {
			room += len(rows[i].hist)
		}
		s.reserve(room)
		for i := range rows {
			if err := bindUpsert(s, i*upsertCols, w.tenant, &rows[i]); err != nil {
				s.reset()
				return err
			}
		}
		_, err := s.exec()
		return err
	})
}

// bindUpsert binds r as the row whose first parameter follows at.
func bindUpsert(s *rawStmt, at int, tenant int64, r *upsertRow) error {
	k, t := r.key, &r.t
	for n, v := range [...]int64{tenant, int64(k.dim), int64(k.level), k.bucket, k.member,
		t.Calls, t.Successful, t.Prompt, t.Completion, int64(t.Cost),
		t.SmallCalls, t.SmallTokens, int64(t.SmallCost), t.LatencyN, t.LatencySum} {
		if err := s.int64(at+1+n, v); err != nil {
			return err
		}
	}
	return s.blob(at+upsertCols, r.hist)
}

// upsertCols is how many parameters an upsert row has.
const upsertCols = 16

// flush writes out the deltas gathered so far, on this goroutine.
func (w *Writer) flush() error { return w.execUpserts(w.acc.take()) }

// rollupWorker counts stored records into rollups on a goroutine of its own,
// so that the goroutine writing to SQLite does nothing else. Messages keep
// their order; ready carries upsert batches for the writer to execute.
type rollupWorker struct {
	msgs  chan rollupMsg
	ready chan [][]upsertRow
	free  chan []pending // record buffers the worker is done with
	done  chan struct{}
	ended bool
}

type rollupMsg struct {
	recs  []pending
	reply chan [][]upsertRow // a flush: the rest of the deltas come back here
}

func startRollupWorker(acc *rollupAcc) *rollupWorker {
	rw := &rollupWorker{msgs: make(chan rollupMsg, 8), ready: make(chan [][]upsertRow, 4), free: make(chan []pending, 10), done: make(chan struct{})}
	go func() {
		for {
			select {
			case m := <-rw.msgs:
				if m.reply != nil {
					m.reply <- acc.take()
					continue
				}
				for i := range m.recs {
					acc.count(&m.recs[i])
				}
				select {
				case rw.free <- m.recs[:0]:
				default:
				}
				if acc.full() {
					select {
					case rw.ready <- acc.take():
					case <-rw.done:
						return
					}
				}
			case <-rw.done:
				return
			}
		}
	}()
	return rw
}

// count hands a copy of the new records to the worker.
func (rw *rollupWorker) count(recs []pending) error {
	var buf []pending
	select {
	case buf = <-rw.free:
	default:
	}
	m := rollupMsg{recs: append(buf, recs...)}
	select {
	case rw.msgs <- m:
		return nil
	case <-rw.done:
		return errors.New("the import was stopped")
	}
}

// finishRollups takes the rollup worker's last deltas, with any batches
// still ready, and stops it.
func (w *Writer) finishRollups() error {
	rw := w.work
	reply := make(chan [][]upsertRow, 1)
	sent := false
	for {
		var msgs chan rollupMsg
		if !sent {
			msgs = rw.msgs
		}
		select {
		case msgs <- rollupMsg{reply: reply}:
			sent = true
		case b := <-rw.ready:
			if err := w.execUpserts(b); err != nil {
				return err
			}
		case b := <-reply:
			// Batches the worker made ready before the reply may still wait.
			rw.stop()
			for {
				select {
				case r := <-rw.ready:
					if err := w.execUpserts(r); err != nil {
						return err
					}
					continue
				default:
				}
				break
			}
			return w.execUpserts(b)
		}
	}
}

func (rw *rollupWorker) stop() {
	if !rw.ended {
		rw.ended = true
		close(rw.done)
	}
}

// Commit writes what is queued and makes everything added visible at once.
func (w *Writer) Commit() error {
	if err := w.insert(); err != nil {
		w.Rollback()
		return err
	}
	if err := w.finishRollups(); err != nil {
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
	w.closeStmts()
	err := w.tx.Commit()
	w.closeConn()
	if err != nil {
		return w.c.wrap(fmt.Errorf("commit to the cache: %w", err))
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
	if w.plainStmt != nil {
		_ = w.plainStmt.Close() // the transaction is over either way
	}
	if w.upsertStmt != nil {
		_ = w.upsertStmt.Close()
	}
	if w.conn != nil && (w.rawInsert != nil || w.rawUpsert != nil) {
		_ = w.conn.Raw(func(any) error { // frees the raw statements; cannot fail
			w.rawInsert.close()
			w.rawUpsert.close()
			return nil
		})
	}
	w.rawInsert, w.rawUpsert = nil, nil
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

// floorDiv divides rounding toward minus infinity.
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// dictionary maps the names of models, keys, users and regions to small
// integers, per dimension. Id 0 is "none" (an absent user or region).
type dictionary struct {
	ids   [numDims]map[string]int64 // by Dim
	names [numDims]map[int64]string
	next  [numDims]int64
}

// numDims bounds the Dim values, for the dictionary's arrays.
const numDims = int(source.DimStatus) + 1

func loadDictionary(ctx context.Context, q queryer) (*dictionary, error) {
	d := &dictionary{}
	for _, dim := range source.Dims() {
		d.ids[dim] = map[string]int64{"": 0}
		d.names[dim] = map[int64]string{0: ""}
		d.next[dim] = 1
	}
	// Status members are fixed.
	d.ids[source.DimStatus] = map[string]int64{source.StatusError: 0, source.StatusSuccess: 1}
	d.names[source.DimStatus] = map[int64]string{0: source.StatusError, 1: source.StatusSuccess}
	rows, err := q.QueryContext(ctx, "SELECT dim, id, name FROM names")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var dim source.Dim
		var id int64
		var name string
		if err := rows.Scan(&dim, &id, &name); err != nil {
			return nil, err
		}
		if int(dim) >= numDims || d.ids[dim] == nil {
			continue
		}
		d.ids[dim][name] = id
		d.names[dim][id] = name
		if id >= d.next[dim] {
			d.next[dim] = id + 1
		}
	}
	return d, rows.Err()
}

// id returns the number of name along dim, adding it (inside the caller's
// transaction) when it is new.
func (d *dictionary) id(ctx context.Context, q queryer, dim source.Dim, name string) (int64, error) {
	if id, ok := d.ids[dim][name]; ok {
		return id, nil
	}
	id := d.next[dim]
	if _, err := q.ExecContext(ctx, "INSERT INTO names (dim, id, name) VALUES (?, ?, ?)", int(dim), id, name); err != nil {
		return 0, fmt.Errorf("add name: %w", err)
	}
	d.next[dim] = id + 1
	d.ids[dim][name] = id
	d.names[dim][id] = name
	return id, nil
}
