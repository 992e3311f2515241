// Rollups: the sums by bucket and dimension kept in step with the records,
// counted on a goroutine of their own while the writer stores records.

package cache

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
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

// rollupAcc gathers the rollup deltas of the records stored.
type rollupAcc struct {
	hour   hourSlots
	deltas map[rollupKey]*source.Totals
	bytes  int // estimated size of deltas
	// The current UTC day's pair rows (countPairs), by pair slot and
	// pairMember; pairDay is that day, in Unix seconds.
	pairDay int64
	pairs   []map[int64]*source.Totals // by slot of pairDims, then DimTag
	blocks  blockSet                   // the records for the column blocks
	// wide are the dimensions of many members (wideDim), by slot of
	// hourSlots: no rollup row counts them, the column blocks answer them.
	wide [source.NumDims + 1]bool
}

// newRollupAcc counts into fresh deltas; names is the dictionary as the
// writer began, which says what dimensions are wide already.
func newRollupAcc(names *dictionary) *rollupAcc {
	a := &rollupAcc{hour: hourSlots{hour: -1}, deltas: map[rollupKey]*source.Totals{}, pairDay: -1}
	a.pairs = make([]map[int64]*source.Totals, len(pairDims)+1)
	for i := range a.pairs {
		a.pairs[i] = map[int64]*source.Totals{}
	}
	for i, d := range slotDims {
		a.wide[i] = wideDim(names, d)
	}
	return a
}

// wideMembers is how many members a dimension has at most to be rolled up
// (a variable for tests). Past it (thousands of users, a key per CI job)
// its rows by hour, by day and by price key would outnumber the records
// they sum: an import would write more rollup rows than records, and a
// report read more of them than a pass over the column blocks reads
// records. A wide dimension's queries are answered from the blocks.
var wideMembers int64 = 256

// canWiden reports whether d may be wide: not all calls, nor the status
// (three members), nor the price keys (what prices the reports).
func canWiden(d source.Dim) bool {
	return d != source.DimAll && d != source.DimStatus && d != source.DimPrice && d != source.DimPairPrice
}

// wideDim reports whether d has more members than wideMembers. The
// dictionary is the cache's and only grows, so a reader that finds a
// dimension narrow finds every rollup row of it: every writer before found
// it narrow too, and counted it. A writer that widens one deletes its rows
// (Writer.dropWide).
func wideDim(names *dictionary, d source.Dim) bool {
	return canWiden(d) && int64(len(names.names[d]))-1 > wideMembers
}

// slotDims are the dimensions of hourSlots' members, by slot.
var slotDims = append(source.Dims(), source.DimTag)

// widen stops counting the dimension at slot i, whose member ids passed
// wideMembers in this import, and forgets the deltas of it gathered so far.
func (a *rollupAcc) widen(i int) {
	a.wide[i] = true
	d := slotDims[i]
	for k, t := range a.deltas {
		if k.dim == d || k.dim == PairDim(d) {
			a.bytes -= rowBytes + bucketBytes*t.Latency.Buckets()
			delete(a.deltas, k)
		}
	}
	h := &a.hour
	for _, id := range h.touched[i] {
		h.members[i][id] = source.Totals{}
		if c := h.memberLat[i][id]; c != nil {
			c.Drain()
		}
	}
	h.touched[i] = h.touched[i][:0]
	if slot := slices.Index(pairDims, i); slot >= 0 {
		clear(a.pairs[slot])
	} else if i == tagSlot {
		clear(a.pairs[len(pairDims)])
	}
}

// counts reports whether the member id at slot i is counted in rollups,
// widening its dimension when id is past wideMembers.
func (a *rollupAcc) counts(i int, id int64) bool {
	if a.wide[i] {
		return false
	}
	if id > wideMembers && canWiden(slotDims[i]) {
		a.widen(i)
		return false
	}
	return true
}

// full reports whether the deltas should be written out.
func (a *rollupAcc) full() bool { return a.bytes >= maxPendingBytes }

// ready is what should be written out now: the rollup deltas when they
// are full, the records for the blocks alone when those are; ok is false
// while neither is. (Rollup rows written more often would be written more
// times over.)
func (a *rollupAcc) ready() (d deltas, ok bool) {
	switch {
	case a.full():
		return a.take(), true
	case a.blocks.bytes >= maxBlockBytes:
		return deltas{blocks: a.blocks.take()}, true
	}
	return deltas{}, false
}

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
	lat := source.LatencyBucket(-1)
	if r.LatencyMs >= 0 {
		lat = source.LatencyBucketOf(r.LatencyMs)
		h.quarterLat[q].Add(lat)
	}
	for i, id := range p.ids {
		if a.counts(i, id) {
			h.countMember(i, id, r, lat)
		}
	}
	tags := p.tags
	if tags == nil {
		tags = noTagIDs
	}
	for _, id := range tags {
		if a.counts(tagSlot, id) {
			h.countMember(tagSlot, id, r, lat)
		}
	}
	a.countPairs(p, tags)
	a.blocks.add(p)
}

// Reports price calls from their tokens by price key: for the dimensions
// but model (whose members the price key names), calls are also rolled up
// by member and price key, by UTC day, in rows of the dimension's pair code
// whose member is pairMember(member, price key). An hour more would be most
// of the rollup rows; a window's hours at its edges are read from records.
const (
	pairBase  = 16 // a dimension's pair code is pairBase + its code
	pairShift = 24 // price key ids below 2²⁴ (16 M keys)
)

// PairDim is the rollup code of d's members by price key.
func PairDim(d source.Dim) source.Dim { return pairBase + d }

func pairMember(member, price int64) int64 { return member<<pairShift | price }

func splitPair(m int64) (member, price int64) { return m >> pairShift, m & (1<<pairShift - 1) }

// pairDims are the dimensions rolled up by price key, by their slot in
// pending.ids; DimTag's slot follows them.
var pairDims = func() (out []int) {
	for i, d := range source.Dims() {
		if HasPairs(d) {
			out = append(out, i)
		}
	}
	return out
}()

// HasPairs reports whether d's members are rolled up by price key.
func HasPairs(d source.Dim) bool {
	return d == source.DimTag || (d != source.DimModel && d != source.DimPrice && d != source.DimAll)
}

// countPairs counts a record by member and price key (but for the small
// flag: source.DimPairPrice) into the current day's pair rows (no latency:
// these rows are read for money).
func (a *rollupAcc) countPairs(p *pending, tags []int64) {
	r := &p.r
	day := dayOf(r.Time)
	if day != a.pairDay {
		a.spillPairs()
		a.pairDay = day
	}
	price := p.pairPrice
	count := func(slot int, member int64) {
		k := pairMember(member, price)
		t := a.pairs[slot][k]
		if t == nil {
			t = &source.Totals{}
			a.pairs[slot][k] = t
		}
		t.AddCounts(r)
	}
	for slot, i := range pairDims {
		if !a.wide[i] {
			count(slot, p.ids[i])
		}
	}
	if !a.wide[tagSlot] {
		for _, id := range tags {
			count(len(pairDims), id)
		}
	}
}

// spillPairs moves the current day's pair rows into the rollup deltas.
func (a *rollupAcc) spillPairs() {
	dims := source.Dims()
	for slot, m := range a.pairs {
		d := source.DimTag
		if slot < len(pairDims) {
			d = dims[pairDims[slot]]
		}
		for member, t := range m {
			a.addCounts(rollupKey{PairDim(d), Day, a.pairDay, member}, t)
		}
		clear(m)
	}
}

// pairLevels are the rollup levels of the pair rows.
var pairLevels = []int64{Day}

// addCounts adds counts without a histogram to a delta row.
func (a *rollupAcc) addCounts(k rollupKey, t *source.Totals) {
	if d := a.deltas[k]; d != nil {
		d.Add(*t)
		return
	}
	c := *t
	a.deltas[k] = &c
	a.bytes += rowBytes
}

// tagSlot is the index of DimTag in hourSlots' members, after source.Dims().
const tagSlot = source.NumDims

// priceSlot is the index of DimPrice in source.Dims().
var priceSlot = slices.Index(source.Dims(), source.DimPrice)

// slotLatency says which of hourSlots' members keep latency histograms
// (source.Dim.HasLatency).
var slotLatency = func() (keep [source.NumDims + 1]bool) {
	for i, d := range append(source.Dims(), source.DimTag) {
		keep[i] = d.HasLatency()
	}
	return keep
}()

// countMember counts r, whose latency is in bucket lat (-1: none), into
// member id of the dimension at slot i.
func (h *hourSlots) countMember(i int, id int64, r *source.Record, lat source.LatencyBucket) {
	m := h.members[i]
	if int(id) >= len(m) {
		m = append(m, make([]source.Totals, int(id)+1-len(m))...)
		h.members[i] = m
		h.memberLat[i] = append(h.memberLat[i], make([]*source.LatencyCounter, len(m)-len(h.memberLat[i]))...)
	}
	if m[id].Empty() {
		h.touched[i] = append(h.touched[i], id)
	}
	m[id].AddCounts(r)
	if lat >= 0 && slotLatency[i] {
		c := h.memberLat[i][id]
		if c == nil {
			c = &source.LatencyCounter{}
			h.memberLat[i][id] = c
		}
		c.Add(lat)
	}
}

// hourSlots are the current hour's totals by dimension and member id.
// Records mostly come in time order, so counting one is a few slice updates;
// the hour's totals move to the rollup deltas when another hour begins.
type hourSlots struct {
	hour       int64 // Unix seconds
	quarters   [Hour / Quarter]source.Totals
	quarterLat [Hour / Quarter]source.LatencyCounter
	members    [source.NumDims + 1][]source.Totals // by dimension (source.Dims(), then DimTag), then member id
	memberLat  [source.NumDims + 1][]*source.LatencyCounter
	// touched are the member ids counted this hour, by dimension: a spill
	// visits those only (a tenant has thousands of users, an hour a few).
	touched [source.NumDims + 1][]int64
}

// spill moves the current hour's totals into the rollup deltas.
func (a *rollupAcc) spill() {
	h := &a.hour
	for q := range h.quarters {
		if !h.quarters[q].Empty() { // a record of 0 requests counts too
			h.quarters[q].Latency = h.quarterLat[q].Drain()
			a.addDelta(rollupKey{source.DimAll, Quarter, h.hour + int64(q)*Quarter, 0}, &h.quarters[q])
			h.quarters[q] = source.Totals{}
		}
	}
	for i, d := range append(source.Dims(), source.DimTag) {
		for _, id := range h.touched[i] {
			if t := &h.members[i][id]; !t.Empty() {
				if c := h.memberLat[i][id]; c != nil {
					t.Latency = c.Drain()
				}
				a.addDelta(rollupKey{d, Hour, h.hour, int64(id)}, t)
				*t = source.Totals{}
			}
		}
		h.touched[i] = h.touched[i][:0]
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

// counterCols are the rollup columns of source.Totals.Counters, in order.
var counterCols = []string{"calls", "ok", "prompt", "completion", "cost", "small_calls", "small_tokens", "small_cost",
	"lat_n", "lat_sum", "unknown", "cache_read", "cache_write", "cache_write_1h", "reasoning", "nocalls_cost", "nocalls_tokens"}

func upsertSQL(n int) string {
	var b strings.Builder
	b.WriteString("INSERT INTO rollups (tenant, dim, level, bucket, member, " + strings.Join(counterCols, ", ") + ", lat_hist) VALUES ")
	row := "(?" + strings.Repeat(",?", upsertCols-1) + ")"
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(row)
	}
	b.WriteString(" ON CONFLICT (tenant, dim, level, bucket, member) DO UPDATE SET ")
	for _, c := range counterCols {
		b.WriteString(c + " = " + c + " + excluded." + c + ", ")
	}
	b.WriteString("lat_hist = nextcore_latency_merge(lat_hist, excluded.lat_hist)")
	return b.String()
}

// upsertRow is a rollup delta to add to the cache (the writer adds the
// tenant).
type upsertRow struct {
	key  rollupKey
	t    source.Totals // its Latency is in hist, encoded
	hist []byte
}

// deltas are what a flush writes: rollup rows in batches, and records for
// the column blocks.
type deltas struct {
	ups    [][]upsertRow
	blocks blockSet
}

// take spills the current hour and turns the deltas gathered so far, the
// finest buckets as counted and the coarser ones derived from them, into
// batches of upsert rows, leaving none behind; and hands over the records
// gathered for the column blocks.
func (a *rollupAcc) take() deltas {
	a.spill()
	a.spillPairs()
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
		if k.level != Day { // pair rows are counted by day already
			up(k, Day, t)
		}
	}
	// Rows go in the table's key order: each batch then writes
	// neighbouring pages of the rollups' B-tree, not pages all over it.
	all := make([]upsertRow, 0, len(a.deltas)+len(coarse))
	for _, m := range []map[rollupKey]*source.Totals{a.deltas, coarse} {
		for k, t := range m {
			row := upsertRow{key: k, t: *t, hist: t.Latency.MarshalBinary()}
			row.t.Latency = nil
			all = append(all, row)
		}
	}
	slices.SortFunc(all, func(a, b upsertRow) int { return compareKeys(a.key, b.key) })
	var batches [][]upsertRow
	for len(all) > 0 {
		n := min(len(all), upsertBatch)
		batches, all = append(batches, all[:n:n]), all[n:]
	}
	clear(a.deltas)
	a.bytes = 0
	return deltas{ups: batches, blocks: a.blocks.take()}
}

// execUpserts writes what take made into the transaction.
func (w *Writer) execUpserts(d deltas) error {
	for _, b := range d.ups {
		if err := w.path.upsert(w, b); err != nil {
			return w.c.wrap(fmt.Errorf("update rollups: %w", err))
		}
	}
	return w.writeBlocks(d.blocks)
}

// upsertCols is how many parameters an upsert row has: tenant, dim, level,
// bucket, member, the counters and the histogram.
const upsertCols = 5 + 17 + 1

// flush writes out the deltas gathered so far, on this goroutine.
func (w *Writer) flush() error { return w.execUpserts(w.acc.take()) }

// rollupWorker counts stored records into rollups on a goroutine of its own,
// so that the goroutine writing to SQLite does nothing else. Messages keep
// their order; ready carries upsert batches for the writer to execute.
type rollupWorker struct {
	msgs  chan rollupMsg
	ready chan deltas
	free  chan []pending // record buffers the worker is done with
	done  chan struct{}
	ended bool
}

type rollupMsg struct {
	recs  []pending
	reply chan deltas // a flush: the rest of the deltas come back here
}

func startRollupWorker(acc *rollupAcc) *rollupWorker {
	rw := &rollupWorker{msgs: make(chan rollupMsg, 8), ready: make(chan deltas, 4), free: make(chan []pending, 10), done: make(chan struct{})}
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
				if d, ok := acc.ready(); ok {
					select {
					case rw.ready <- d:
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
	reply := make(chan deltas, 1)
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

// floorDiv divides rounding toward minus infinity.
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// compareKeys orders rollup keys as the table's primary key does (the
// tenant is the writer's own).
func compareKeys(a, b rollupKey) int {
	switch {
	case a.dim != b.dim:
		return cmp.Compare(a.dim, b.dim)
	case a.level != b.level:
		return cmp.Compare(a.level, b.level)
	case a.bucket != b.bucket:
		return cmp.Compare(a.bucket, b.bucket)
	}
	return cmp.Compare(a.member, b.member)
}
