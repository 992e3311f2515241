// Filters and pivots answered from the column blocks.

package cache

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"math"
	"slices"

	"github.com/nextcore-ai/nextcore/pkg/source"
)

// blockFilter keeps the records whose code in col is allowed.
type blockFilter struct {
	col   int
	allow []bool // by code; codes past its end are not
}

// keeps reports whether f keeps a record of code c. A code the dictionary
// lacks is kept: counting it says the cache is corrupted (pick, narrow).
func (f *blockFilter) keeps(c int64) bool { return uint64(c) >= uint64(len(f.allow)) || f.allow[c] }

// pick appends to sel the records lo…hi that f keeps.
func (f *blockFilter) pick(codes []int64, lo, hi int, sel []int32) ([]int32, error) {
	for i := lo; i < hi; i++ {
		c := codes[i]
		if uint64(c) >= uint64(len(f.allow)) {
			return sel, f.bad(c)
		}
		if f.allow[c] {
			sel = append(sel, int32(i))
		}
	}
	return sel, nil
}

// narrow keeps of sel the records f keeps.
func (f *blockFilter) narrow(codes []int64, sel []int32) ([]int32, error) {
	kept := sel[:0]
	for _, i := range sel {
		c := codes[i]
		if uint64(c) >= uint64(len(f.allow)) {
			return kept, f.bad(c)
		}
		if f.allow[c] {
			kept = append(kept, i)
		}
	}
	return kept, nil
}

func (f *blockFilter) bad(c int64) error {
	return fmt.Errorf("%w: a block holds code %d of column %d, which the dictionary has not", ErrCorrupted, c, f.col)
}

// measureCols are the columns that count a record: those that price it,
// and unless money alone is asked, its outcome, reasoning and response
// time (with its bucket when percentiles are asked).
func measureCols(money, latency bool) []int {
	cols := []int{colRequests, colPrompt, colCompletion, colCost, colCacheRead, colCacheWrite, colCacheWrite1h}
	if !money {
		cols = append(cols, colStatus, colReasoning, colLatency)
		if latency {
			cols = append(cols, colLatencyBucket)
		}
	}
	return cols
}

// blockPivot is a dimension a query groups by, its column and its members'
// names by code (several for a tag set; merged by name at the end).
type blockPivot struct {
	dim   source.Dim
	col   int
	size  int64 // codes are below it
	names func(code int64) ([]string, error)
}

// maxDenseSlots is the most group slots a query addresses through a table
// rather than a map.
const maxDenseSlots = 1 << 23

// blockPlan is how one query is answered from the column blocks.
type blockPlan struct {
	q       *source.Query
	out     []source.Groups
	secs    []int64 // the bounds in Unix seconds
	filters []blockFilter
	pivots  []blockPivot
	agg     blockAgg
	keys    []int64 // each slot's key: its interval and codes
	sel     []int32
	slots   []int32 // the slot of each record of a span counted
}

// planBlocks plans q over the column blocks, or returns nil when they
// cannot answer it (times finer than a second, a dimension they lack).
func planBlocks(names *dictionary, q *source.Query, out []source.Groups) (*blockPlan, error) {
	if !blocksUsable(q.Bounds) {
		return nil, nil
	}
	p := &blockPlan{q: q, out: out, secs: boundSecs(q.Bounds)}
	for d, vals := range q.Filter {
		f, ok, err := filterOf(names, d, vals)
		if err != nil || !ok {
			return nil, err
		}
		p.filters = append(p.filters, f)
	}
	if q.NoCostOnly {
		f := blockFilter{col: colPrice, allow: codeTable(names, source.DimPrice)}
		for id, name := range names.names[source.DimPrice] {
			k, ok := source.ParsePriceKey(name)
			f.allow[id] = ok && k.NoCost
		}
		p.filters = append(p.filters, f)
	}
	for _, d := range append([]source.Dim{q.Dim}, q.Also...) {
		pv, ok := pivotOf(names, d)
		if !ok {
			return nil, nil
		}
		p.pivots = append(p.pivots, pv)
	}
	// A slot for each interval and combination of codes.
	space := float64(len(q.Bounds) - 1)
	for _, pv := range p.pivots {
		space *= float64(pv.size)
	}
	if space > math.MaxInt64/2 {
		return nil, nil
	}
	p.agg.money = q.MoneyOnly
	p.agg.latency = q.Latency && q.Dim.HasLatency() && !q.MoneyOnly
	if space <= maxDenseSlots {
		p.agg.dense = make([]int32, int(space))
	} else {
		p.agg.sparse = map[int64]int32{}
	}
	return p, nil
}

// cols are the columns p reads.
func (p *blockPlan) cols() []int {
	cols := measureCols(p.agg.money, p.agg.latency)
	for _, f := range p.filters {
		cols = append(cols, f.col)
	}
	for _, pv := range p.pivots {
		if pv.col >= 0 {
			cols = append(cols, pv.col)
		}
	}
	for _, s := range p.secs {
		if floorDiv(s, Day)*Day != s {
			return append(cols, colSec) // a day may be in two intervals
		}
	}
	return cols
}

// days are the UTC days p reads: its first and last.
func (p *blockPlan) days() (first, last int64, any bool) {
	lo, hi := p.secs[0], p.secs[len(p.secs)-1]
	return floorDiv(lo, Day) * Day, floorDiv(hi-1, Day) * Day, lo < hi
}

// slot is the group slot of key, made when new.
func (p *blockPlan) slot(key int64) int32 {
	a := &p.agg
	if a.dense != nil {
		s := a.dense[key] - 1
		if s < 0 {
			s = int32(len(p.keys))
			a.dense[key] = s + 1
			p.keys = append(p.keys, key)
			a.grow()
		}
		return s
	}
	s, ok := a.sparse[key]
	if !ok {
		s = int32(len(p.keys))
		a.sparse[key] = s
		p.keys = append(p.keys, key)
		a.grow()
	}
	return s
}

// covers reports whether p counts records of day.
func (p *blockPlan) covers(day int64) bool {
	return day+Day > p.secs[0] && day < p.secs[len(p.secs)-1]
}

// block counts a block of day's n records.
func (p *blockPlan) block(day int64, n int, col *[numCols][]int64) error {
	secs := p.secs
	if !p.covers(day) {
		return nil
	}
	// The intervals the records fall in: all in one when the day is, else
	// by their second (records are in time order).
	k := source.IntervalOf(secs, day)
	if k >= 0 && day+Day <= secs[k+1] {
		return p.span(int64(k), 0, n, col)
	}
	sec := col[colSec]
	for k := range len(secs) - 1 {
		lo, hi := secs[k]-day, secs[k+1]-day
		if hi <= 0 || lo >= Day || lo >= hi {
			continue
		}
		i, _ := slices.BinarySearch(sec, lo)
		j, _ := slices.BinarySearch(sec, hi)
		if i < j {
			if err := p.span(int64(k), i, j, col); err != nil {
				return err
			}
		}
	}
	return nil
}

// span counts records lo…hi of a block into interval k.
func (p *blockPlan) span(k int64, lo, hi int, col *[numCols][]int64) error {
	// The records that pass the filters (the first picks them, a filter at
	// a time), and the slot of each.
	filtered := len(p.filters) > 0
	sel := p.sel[:0]
	for fi := range p.filters {
		f := &p.filters[fi]
		var err error
		if fi == 0 {
			sel, err = f.pick(col[f.col], lo, hi, sel)
		} else {
			sel, err = f.narrow(col[f.col], sel)
		}
		if err != nil {
			return err
		}
	}
	p.sel = sel
	slots := p.slots[:0]
	var err error
	if filtered {
		for _, i := range sel {
			if slots, err = p.slotOf(k, i, col, slots); err != nil {
				return err
			}
		}
	} else {
		for i := lo; i < hi; i++ {
			if slots, err = p.slotOf(k, int32(i), col, slots); err != nil {
				return err
			}
		}
	}
	p.slots = slots
	if filtered {
		p.agg.addSel(slots, col, sel)
	} else {
		p.agg.addRange(slots, col, lo)
	}
	return nil
}

// slotOf appends the slot of record i of a block, in interval k.
func (p *blockPlan) slotOf(k int64, i int32, col *[numCols][]int64, slots []int32) ([]int32, error) {
	key := k
	for _, pv := range p.pivots {
		var c int64
		if pv.col >= 0 {
			c = col[pv.col][i]
			if uint64(c) >= uint64(pv.size) {
				return slots, fmt.Errorf("%w: a block holds code %d of %s, which the dictionary has not", ErrCorrupted, c, pv.dim)
			}
		}
		key = key*pv.size + c
	}
	return append(slots, p.slot(key)), nil
}

// finish names the groups and adds them to the query's answer.
func (p *blockPlan) finish() error {
	for s, key := range p.keys {
		t := p.agg.totals(s)
		groups := []string{""}
		for pi := len(p.pivots) - 1; pi >= 0; pi-- {
			pv := p.pivots[pi]
			code := key % pv.size
			key /= pv.size
			members, err := pv.names(code)
			if err != nil {
				return err
			}
			next := make([]string, 0, len(groups)*len(members))
			for _, m := range members {
				for _, g := range groups {
					if pi == len(p.pivots)-1 {
						next = append(next, m)
					} else {
						next = append(next, m+source.PivotSep+g)
					}
				}
			}
			groups = next
		}
		for _, g := range groups {
			cur := p.out[key][g]
			cur.Add(t)
			p.out[key][g] = cur
		}
	}
	return nil
}

// prefilterOf picks the records any plan may count, when every plan has
// a filter; nil when one has none.
func prefilterOf(plans []*blockPlan) *blockPrefilter {
	var cols []int
	for _, p := range plans {
		if len(p.filters) == 0 {
			return nil
		}
		for _, f := range p.filters {
			cols = append(cols, f.col)
		}
	}
	slices.Sort(cols)
	return &blockPrefilter{cols: slices.Compact(cols), sel: func(c *[numCols][]int64, n int, dst []int32) []int32 {
		for i := range n {
			for _, p := range plans {
				if p.passes(c, i) {
					dst = append(dst, int32(i))
					break
				}
			}
		}
		return dst
	}}
}

// passes reports whether record i of a block passes p's filters.
func (p *blockPlan) passes(col *[numCols][]int64, i int) bool {
	for fi := range p.filters {
		if f := &p.filters[fi]; !f.keeps(col[f.col][i]) {
			return false
		}
	}
	return true
}

// scanBlocks answers the plans in one pass over the column blocks: the
// columns any of them reads, over the days any of them covers.
func scanBlocks(ctx context.Context, conn *sql.Conn, tx *sql.Tx, tid int64, plans []*blockPlan) error {
	var cols []int
	first, last, anyDay := int64(math.MaxInt64), int64(math.MinInt64), false
	for _, p := range plans {
		cols = append(cols, p.cols()...)
		if f, l, ok := p.days(); ok {
			first, last, anyDay = min(first, f), max(last, l), true
		}
	}
	if anyDay {
		slices.Sort(cols)
		var live []*blockPlan
		err := readBlocksOf(ctx, conn, tx, tid, first, last, slices.Compact(cols), prefilterOf(plans), func(day int64, n int, col *[numCols][]int64) error {
			// The plans that count records of the day, in two halves: one
			// counted on a goroutine of its own, the other here.
			live = live[:0]
			for _, p := range plans {
				if p.covers(day) {
					live = append(live, p)
				}
			}
			count := func(ps []*blockPlan) error {
				for _, p := range ps {
					if err := p.block(day, n, col); err != nil {
						return err
					}
				}
				return nil
			}
			if len(live) < 2 {
				return count(live)
			}
			half := make(chan error, 1)
			go func() { half <- count(live[len(live)/2:]) }()
			err := count(live[:len(live)/2])
			return cmp.Or(<-half, err)
		})
		if err != nil {
			return err
		}
	}
	for _, p := range plans {
		if err := p.finish(); err != nil {
			return err
		}
	}
	return nil
}

// codeTable is a table by code of a dimension's members.
func codeTable(names *dictionary, d source.Dim) []bool {
	return make([]bool, codeSpace(names, d))
}

// codeSpace bounds the codes of a dimension's members.
func codeSpace(names *dictionary, d source.Dim) int64 {
	if d == source.DimStatus {
		return okUnknown + 1
	}
	n := int64(1)
	for id := range names.names[d] {
		n = max(n, id+1)
	}
	return n
}

// filterOf is a filter on d as a table of codes.
func filterOf(names *dictionary, d source.Dim, vals []string) (blockFilter, bool, error) {
	col := dimCol(d)
	if col < 0 || d == source.DimPrice || d == source.DimPairPrice {
		return blockFilter{}, false, nil
	}
	if d != source.DimTag {
		f := blockFilter{col: col, allow: codeTable(names, d)}
		for _, v := range vals {
			if id, ok := names.ids[d][v]; ok {
				f.allow[id] = true
			}
		}
		return f, true, nil
	}
	// A call passes a tag filter when one of its tags is among the values
	// ("" for a call with none): by tag set.
	f := blockFilter{col: col, allow: codeTable(names, dimTagSet)}
	for set := range names.names[dimTagSet] {
		tags, err := names.tagNames(set)
		if err != nil {
			return f, false, err
		}
		for _, t := range tags {
			f.allow[set] = f.allow[set] || slices.Contains(vals, t)
		}
	}
	return f, true, nil
}

// pivotOf is d as a dimension to group by.
func pivotOf(names *dictionary, d source.Dim) (blockPivot, bool) {
	one := func(d source.Dim) func(int64) ([]string, error) {
		return func(code int64) ([]string, error) { return []string{names.names[d][code]}, nil }
	}
	switch d {
	case source.DimAll:
		return blockPivot{dim: d, col: -1, size: 1, names: func(int64) ([]string, error) { return []string{""}, nil }}, true
	case source.DimTag:
		return blockPivot{dim: d, col: colTagSet, size: codeSpace(names, dimTagSet), names: names.tagNames}, true
	case source.DimPairPrice:
		return blockPivot{dim: d, col: colPrice, size: codeSpace(names, source.DimPrice), names: func(code int64) ([]string, error) {
			k, ok := source.ParsePriceKey(names.names[source.DimPrice][code])
			if !ok {
				return nil, fmt.Errorf("%w: price key %d is not one", ErrCorrupted, code)
			}
			k.Small = false
			return []string{k.String()}, nil
		}}, true
	}
	col := dimCol(d)
	if col < 0 {
		return blockPivot{}, false
	}
	return blockPivot{dim: d, col: col, size: codeSpace(names, d), names: one(d)}, true
}

// blockAgg sums records into group slots.
type blockAgg struct {
	dense   []int32         // slot + 1 by key, 0 for none yet
	sparse  map[int64]int32 // … when keys are too many for a table
	sums    []source.Totals
	lats    []*source.LatencyCounter // by slot, the first denseLatencySlots
	hists   []*source.Latency        // by slot less denseLatencySlots
	latency bool
	money   bool
	gather  [numCols][]int64 // the columns of the records a filter picked
}

func (a *blockAgg) grow() {
	if len(a.sums) == cap(a.sums) {
		// Double: append grows a large slice by a quarter, copying a
		// pivot of a million groups' sums a dozen times over.
		a.sums = slices.Grow(a.sums, max(len(a.sums), 256))
	}
	a.sums = append(a.sums, source.Totals{})
	if a.latency {
		if len(a.lats) < denseLatencySlots {
			a.lats = append(a.lats, nil)
		} else {
			a.hists = append(a.hists, nil)
		}
	}
}

// denseLatencySlots is how many slots count response times densely (20 MB).
const denseLatencySlots = 4096

// addRange counts records lo, lo+1, … of a block into slots (one each), as
// Totals.AddCounts does (and their latency, when asked).
func (a *blockAgg) addRange(slots []int32, col *[numCols][]int64, lo int) {
	n := len(slots)
	a.addMoney(slots, col[colRequests][lo:lo+n], col[colPrompt][lo:lo+n], col[colCompletion][lo:lo+n], col[colCost][lo:lo+n],
		col[colCacheRead][lo:lo+n], col[colCacheWrite][lo:lo+n], col[colCacheWrite1h][lo:lo+n])
	if a.money {
		return
	}
	var latb []int64
	if a.latency {
		latb = col[colLatencyBucket][lo : lo+n]
	}
	a.addRest(slots, col[colRequests][lo:lo+n], col[colStatus][lo:lo+n], col[colReasoning][lo:lo+n], col[colLatency][lo:lo+n], latb)
}

// addSel counts the records of a block at sel into slots (one each).
func (a *blockAgg) addSel(slots []int32, col *[numCols][]int64, sel []int32) {
	var g [numCols][]int64
	for _, c := range measureCols(a.money, a.latency) {
		v := slices.Grow(a.gather[c][:0], len(sel))
		for _, i := range sel {
			v = append(v, col[c][i])
		}
		a.gather[c], g[c] = v, v
	}
	a.addRange(slots, &g, 0)
}

// addMoney counts what prices calls.
func (a *blockAgg) addMoney(slots []int32, req, prompt, completion, cost, cr, cw, cw1h []int64) {
	sums := a.sums
	for j, s := range slots {
		t := &sums[s]
		n, p, c, usd := req[j], prompt[j], completion[j], source.USD(cost[j])
		t.Calls += n
		t.Prompt += p
		t.Completion += c
		t.Cost += usd
		t.CacheRead += cr[j]
		t.CacheWrite += cw[j]
		t.CacheWrite1h += cw1h[j]
		tokens := p + c
		if n == 0 {
			t.NoCallsCost += usd
			t.NoCallsTokens += tokens
		} else if tokens/source.SmallCallTokens < n {
			t.SmallCalls += n
			t.SmallTokens += tokens
			t.SmallCost += usd
		}
	}
}

// addRest counts the rest: outcomes, reasoning, response times.
func (a *blockAgg) addRest(slots []int32, req, status, reasoning, lat, latb []int64) {
	sums := a.sums
	for j, s := range slots {
		t := &sums[s]
		switch status[j] {
		case okUnknown:
			t.Unknown += req[j]
		case okSuccess:
			t.Successful += req[j]
		}
		t.Reasoning += reasoning[j]
		if l := lat[j]; l > 0 {
			t.LatencyN++
			t.LatencySum += l - 1
		}
	}
	if latb == nil {
		return
	}
	// A dense counter (4.8 KB) for each of the first slots; beyond, where
	// so many would fill the memory (a pivot of a million groups), a
	// histogram of the buckets met.
	for j, s := range slots {
		b := latb[j]
		if b <= 0 {
			continue
		}
		if s < denseLatencySlots {
			c := a.lats[s]
			if c == nil {
				c = &source.LatencyCounter{}
				a.lats[s] = c
			}
			c.Add(source.LatencyBucket(b - 1))
			continue
		}
		h := a.hists[s-denseLatencySlots]
		if h == nil {
			h = &source.Latency{}
			a.hists[s-denseLatencySlots] = h
		}
		h.AddBucket(source.LatencyBucket(b-1), 1)
	}
}

// totals are slot s's sums.
func (a *blockAgg) totals(s int) source.Totals {
	t := a.sums[s]
	switch {
	case !a.latency:
	case s >= denseLatencySlots:
		t.Latency = a.hists[s-denseLatencySlots]
	case a.lats[s] != nil:
		t.Latency = a.lats[s].Drain()
		a.lats[s] = nil
	}
	return t
}

// rollupCost weighs reading a query's rollup rows against reading its
// window's records from the column blocks.
type rollupCost struct {
	days map[[2]int64][]dayCalls // by window: its UTC days' calls, from the rollups of all calls
}

type dayCalls struct{ day, calls int64 }

// What a rollup row costs, in records read from the column blocks: about
// as much as a pass over 50 records, or as counting 200 more records in a
// pass that is made anyway. (SQLite reads a rollup row in about 3 µs; a
// pass reads, decodes and counts a record in about 60 ns, and counts it
// for one more query in about 15 ns.)
const (
	rowPerPass  = 50
	rowPerCount = 200
)

// estimate is how many rollup rows answer q and how many records its
// window holds. Both matter for a dimension of many members (keys, users,
// tags), whose row by day or hour, or by member and price key, may sum
// only a few records: a day's rows are estimated as the fewer of the
// members and its records (by the hour where the window covers part of
// the day), a pair query's as four times that. Dimensions of few members
// say 0 rows.
func (rc *rollupCost) estimate(ctx context.Context, tx *sql.Tx, tid int64, names *dictionary, q *source.Query) (rows, records float64, err error) {
	d := q.Dim
	switch d {
	case source.DimAll, source.DimModel, source.DimStatus, source.DimRegion, source.DimPrice:
		return 0, 0, nil // few members, or rolled up by the quarter hour
	case source.DimTag:
		d = dimTagSet
	}
	members := float64(len(names.names[d]))
	start, end := q.Bounds[0], q.Bounds[len(q.Bounds)-1]
	if start >= end || members < 100 {
		return 0, 0, nil
	}
	if rc.days == nil {
		rc.days = map[[2]int64][]dayCalls{}
	}
	secs := boundSecs([]int64{start, end})
	days, ok := rc.days[[2]int64{start, end}]
	if !ok {
		rs, err := tx.QueryContext(ctx, "SELECT bucket, calls FROM rollups WHERE tenant = ? AND dim = ? AND level = ? AND bucket BETWEEN ? AND ?",
			tid, int(source.DimAll), Day, floorDiv(secs[0], Day)*Day, secs[1])
		if err != nil {
			return 0, 0, err
		}
		for rs.Next() {
			var dc dayCalls
			if err := rs.Scan(&dc.day, &dc.calls); err != nil {
				rs.Close()
				return 0, 0, err
			}
			days = append(days, dc)
		}
		rs.Close()
		if err := rs.Err(); err != nil {
			return 0, 0, err
		}
		rc.days[[2]int64{start, end}] = days
	}
	for _, dc := range days {
		n := float64(dc.calls)
		hours := float64(min(dc.day+Day, secs[1])-max(dc.day, secs[0])) / Hour
		if hours <= 0 {
			continue
		}
		records += n
		if hours >= 24 {
			rows += min(members, n)
		} else {
			rows += hours * min(members, n/24+1)
		}
	}
	if pairQuery(q) {
		rows *= 4
	}
	return rows, records, nil
}
