// How batches reach SQLite: bound straight to it (rawsqlite) or through
// database/sql, behind one interface.

package cache

import (
	"database/sql"
	"fmt"

	"github.com/nextcore-ai/nextcore/pkg/source/cache/rawsqlite"
)

// writePath is how a writer stores a full batch of records and rollup rows:
// bound straight to SQLite (rawPath), or through database/sql (sqlPath).
// Both store the same rows (a test compares them byte for byte); the raw
// one is faster. Smaller batches always go through database/sql.
type writePath interface {
	// insertFull writes a full batch of records, those at w.uniq after it
	// has chosen them, and says how many it stored.
	insertFull(w *Writer) (int64, error)
	// upsert adds rows to the rollups.
	upsert(w *Writer, rows []upsertRow) error
	// close frees its statements.
	close(w *Writer)
}

// sqlPath stores through database/sql.
type sqlPath struct {
	insert, upsertFull *sql.Stmt
}

func newSQLPath(w *Writer) (*sqlPath, error) {
	insert, err := w.tx.PrepareContext(w.ctx, insertSQL(insertBatch, false))
	if err != nil {
		return nil, err
	}
	return &sqlPath{insert: insert}, nil
}

func (p *sqlPath) insertFull(w *Writer) (int64, error) {
	w.dedupe()
	if len(w.uniq) != insertBatch {
		return w.insertSome()
	}
	res, err := p.insert.ExecContext(w.ctx, w.plainArgs()...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (p *sqlPath) upsert(w *Writer, rows []upsertRow) error {
	args := make([]any, 0, len(rows)*upsertCols)
	for i := range rows {
		r := &rows[i]
		k, t := r.key, &r.t
		args = append(args, w.tenant, int(k.dim), k.level, k.bucket, k.member)
		for _, c := range t.Counters() {
			args = append(args, *c)
		}
		args = append(args, r.hist)
	}
	if len(rows) != upsertBatch {
		_, err := w.tx.ExecContext(w.ctx, upsertSQL(len(rows)), args...)
		return err
	}
	if p.upsertFull == nil {
		stmt, err := w.tx.PrepareContext(w.ctx, upsertSQL(upsertBatch))
		if err != nil {
			return err
		}
		p.upsertFull = stmt
	}
	_, err := p.upsertFull.ExecContext(w.ctx, args...)
	return err
}

func (p *sqlPath) close(*Writer) {
	if p.insert != nil {
		_ = p.insert.Close() // the transaction is over either way
	}
	if p.upsertFull != nil {
		_ = p.upsertFull.Close()
	}
}

// rawPath stores through rawsqlite. Every call runs inside the writer's
// connection's Raw, which keeps the connection for it.
type rawPath struct {
	insert, upsertFull *rawsqlite.Stmt
	// insertV1 leaves the ledger's columns to their defaults: a batch of v1
	// records binds 13 values a record rather than 23.
	insertV1 *rawsqlite.Stmt
}

// newRawPath prepares the raw statements, or returns nil (and no error)
// when the driver's connection does not fit the raw binding: the writer
// then goes through database/sql.
func newRawPath(w *Writer) (*rawPath, error) {
	var p *rawPath
	err := w.conn.Raw(func(dc any) error {
		conn, err := rawsqlite.Of(dc)
		if err != nil {
			return nil // database/sql it is; rawsqlite's tests say why
		}
		insert, err := conn.Prepare(insertSQL(insertBatch, false))
		if err != nil {
			return err
		}
		insertV1, err := conn.Prepare(insertColsSQL(insertBatch, false, false))
		if err != nil {
			insert.Close()
			return err
		}
		p = &rawPath{insert: insert, insertV1: insertV1}
		return nil
	})
	return p, err
}

// insertFull sends the batch as it is: SQLite skips an id met twice as it
// skips a stored one, and only then does the batch need sorting out. A
// cancelled context stops the writer before the batch, as database/sql
// would.
func (p *rawPath) insertFull(w *Writer) (int64, error) {
	if err := w.ctx.Err(); err != nil {
		return 0, err
	}
	if w.all == nil {
		for i := range insertBatch {
			w.all = append(w.all, i)
		}
	}
	w.uniq, w.whole = w.all, true
	var stored int64
	err := w.conn.Raw(func(any) error {
		s, cols, ledger := p.insertV1, v1Cols, false
		room := 0
		for _, i := range w.uniq {
			b := &w.batch[i]
			room += len(b.r.ID)
			if !ledger && ledgerValues(&b.r, b.lids) != v1Ledger {
				s, cols, ledger = p.insert, recordCols, true
			}
		}
		s.Reserve(room)
		err := s.Bind(func() error {
			for k, i := range w.uniq {
				if err := bindRecord(s, k*cols, w.tenant, &w.batch[i], ledger); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			s.Reset()
			return err
		}
		stored, err = s.Exec()
		return err
	})
	return stored, err
}

// bindRecord binds p as the row whose first parameter follows at, with the
// ledger's columns when ledger.
func bindRecord(s *rawsqlite.Stmt, at int, tenant int64, p *pending, ledger bool) error {
	r := &p.r
	for k, v := range [...]int64{tenant, r.Time} {
		if err := s.Int64(at+1+k, v); err != nil {
			return err
		}
	}
	if err := s.Str(at+3, r.ID); err != nil {
		return err
	}
	for k, v := range [...]int64{p.ids[0], p.ids[1], p.ids[2], p.ids[3], okValue(r)} {
		if err := s.Int64(at+4+k, v); err != nil {
			return err
		}
	}
	var err error
	if r.StatusCode != 0 {
		err = s.Int64(at+9, int64(r.StatusCode))
	} else {
		err = s.Null(at + 9)
	}
	if err != nil {
		return err
	}
	for k, v := range [...]int64{r.PromptTokens, r.CompletionTokens, int64(r.Cost)} {
		if err := s.Int64(at+10+k, v); err != nil {
			return err
		}
	}
	if r.LatencyMs >= 0 {
		err = s.Int64(at+13, r.LatencyMs)
	} else {
		err = s.Null(at + 13)
	}
	if err != nil || !ledger {
		return err
	}
	for k, v := range ledgerValues(r, p.lids) {
		if err := s.Int64(at+14+k, v); err != nil {
			return err
		}
	}
	return nil
}

func (p *rawPath) upsert(w *Writer, rows []upsertRow) error {
	if err := w.ctx.Err(); err != nil {
		return err
	}
	return w.conn.Raw(func(dc any) error {
		s := p.upsertFull
		if len(rows) != upsertBatch || s == nil {
			conn, err := rawsqlite.Of(dc)
			if err != nil {
				return fmt.Errorf("the raw binding went away: %w", err)
			}
			one, err := conn.Prepare(upsertSQL(len(rows)))
			if err != nil {
				return err
			}
			if len(rows) != upsertBatch {
				defer one.Close()
			} else {
				p.upsertFull = one
			}
			s = one
		}
		room := 0
		for i := range rows {
			room += len(rows[i].hist)
		}
		s.Reserve(room)
		err := s.Bind(func() error {
			for i := range rows {
				if err := bindUpsert(s, i*upsertCols, w.tenant, &rows[i]); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			s.Reset()
			return err
		}
		_, err = s.Exec()
		return err
	})
}

// bindUpsert binds r as the row whose first parameter follows at.
func bindUpsert(s *rawsqlite.Stmt, at int, tenant int64, r *upsertRow) error {
	k, t := r.key, &r.t
	for n, v := range [...]int64{tenant, int64(k.dim), int64(k.level), k.bucket, k.member} {
		if err := s.Int64(at+1+n, v); err != nil {
			return err
		}
	}
	for n, c := range t.Counters() {
		if err := s.Int64(at+6+n, *c); err != nil {
			return err
		}
	}
	return s.Blob(at+upsertCols, r.hist)
}

func (p *rawPath) close(w *Writer) {
	if w.conn == nil {
		return
	}
	_ = w.conn.Raw(func(any) error { // frees the statements; cannot fail
		p.insert.Close()
		p.insertV1.Close()
		p.upsertFull.Close()
		return nil
	})
}
