package cache

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"sync"

	"modernc.org/sqlite"

	"github.com/nextcore-ai/nextcore/pkg/source"
)

var registerOnce sync.Once

// registerFunctions adds the SQL functions that merge latency histograms:
// nextcore_latency_merge(a, b) for upserts and nextcore_latency_sum(h) for
// GROUP BY. SQLite functions are registered for the whole driver, once.
func registerFunctions() {
	registerOnce.Do(func() {
		sqlite.MustRegisterDeterministicScalarFunction("nextcore_latency_merge", 2, func(ctx *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
			var h source.Latency
			for _, a := range args {
				if b, ok := a.([]byte); ok {
					if err := h.MergeBinary(b); err != nil {
						return nil, err
					}
				}
			}
			return h.MarshalBinary(), nil
		})
		sqlite.MustRegisterFunction("nextcore_latency_sum", &sqlite.FunctionImpl{NArgs: 1, Deterministic: true,
			MakeAggregate: func(ctx sqlite.FunctionContext) (sqlite.AggregateFunction, error) { return &latencySum{}, nil }})
	})
}

type latencySum struct{ h source.Latency }

func (l *latencySum) Step(_ *sqlite.FunctionContext, args []driver.Value) error {
	if b, ok := args[0].([]byte); ok {
		return l.h.MergeBinary(b)
	}
	return nil
}

func (l *latencySum) WindowInverse(*sqlite.FunctionContext, []driver.Value) error {
	return fmt.Errorf("nextcore_latency_sum is not a window function")
}

func (l *latencySum) WindowValue(*sqlite.FunctionContext) (driver.Value, error) {
	return l.h.MarshalBinary(), nil
}

func (l *latencySum) Final(*sqlite.FunctionContext) {}

// rebuildRollups recomputes every rollup from the records, inside the
// migration's transaction.
func rebuildRollups(ctx context.Context, c *Cache, tx *sql.Tx) error {
	return c.rebuildFrom(ctx, tx)
}

// rebuildFrom reads each tenant's records in chunks, in time order, and
// counts them into fresh rollups. (One connection cannot read and write at
// once, so each chunk is read whole before it is counted.)
func (c *Cache) rebuildFrom(ctx context.Context, tx *sql.Tx) error {
	var tenants []int64
	trs, err := tx.QueryContext(ctx, "SELECT id FROM tenants ORDER BY id")
	if err != nil {
		return err
	}
	for trs.Next() {
		var id int64
		if err := trs.Scan(&id); err != nil {
			return err
		}
		tenants = append(tenants, id)
	}
	trs.Close()
	names, err := loadDictionary(ctx, tx)
	if err != nil {
		return err
	}
	for _, tid := range tenants {
		w := &Writer{c: c, ctx: ctx, tx: tx, tenant: tid, names: names, acc: newRollupAcc(names), path: &sqlPath{}}
		// Chunks follow the records' key (ts, id), so none is read twice or
		// skipped, however many share a timestamp.
		afterTS, afterID := int64(-1<<62), ""
		for {
			chunk, err := rebuildChunk(ctx, tx, names, tid, afterTS, afterID)
			if err != nil {
				return err
			}
			if len(chunk) == 0 {
				break
			}
			for i := range chunk {
				p := &chunk[i]
				// The price key needs names: the model's and the tier's.
				p.r.Model, p.r.ServiceTier = names.names[source.DimModel][p.ids[0]], names.names[dimTier][p.lids[3]]
				id, pair, err := w.priceIDs(&p.r)
				if err != nil {
					return err
				}
				p.ids[priceSlot], p.pairPrice = id, pair
				w.acc.count(p)
			}
			if d, ok := w.acc.ready(); ok {
				if err := w.execUpserts(d); err != nil {
					return err
				}
			}
			last := &chunk[len(chunk)-1].r
			afterTS, afterID = last.Time, last.ID
		}
		if err := w.flush(); err != nil {
			return err
		}
		if err := w.mergeBlocks(); err != nil {
			return err
		}
		w.path.close(w)
	}
	return nil
}

// rebuildChunk reads the next records of a tenant after (ts, id), with their
// members as dictionary ids, as the writer counts them.
func rebuildChunk(ctx context.Context, tx *sql.Tx, names *dictionary, tid, afterTS int64, afterID string) ([]pending, error) {
	rows, err := tx.QueryContext(ctx, `SELECT ts, id, model, api_key, usr, region, ok, prompt, completion, cost, latency, `+
		ledgerColumns+` FROM records WHERE tenant = ? AND (ts > ? OR (ts = ? AND id > ?)) ORDER BY ts, id LIMIT 50000`,
		tid, afterTS, afterTS, afterID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []pending
	for rows.Next() {
		var p pending
		var lat sql.NullInt64
		var l ledgerRow
		rec := &p.r
		if err := rows.Scan(append([]any{&rec.Time, &rec.ID, &p.ids[0], &p.ids[1], &p.ids[2], &p.ids[3], &p.ids[4],
			&rec.PromptTokens, &rec.CompletionTokens, &rec.Cost, &lat}, l.dest()...)...); err != nil {
			return nil, err
		}
		setOK(rec, p.ids[4]) // the status member is the ok column
		l.applyCounts(rec)
		p.lids = l.ids()
		p.ids[5], p.ids[6] = p.lids[0], p.lids[1] // project, provider
		if p.tags, err = names.tagIDs(p.lids[2]); err != nil {
			return nil, err
		}
		rec.LatencyMs = -1
		if lat.Valid {
			rec.LatencyMs = lat.Int64
		}
		out = append(out, p)
	}
	return out, rows.Err()
}
