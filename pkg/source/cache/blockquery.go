// Filters and pivots answered from the column blocks.

package cache

import (
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
const maxDenseSlots = 1 << 21

// scanBlocks answers a filtered or pivoted query from the column blocks. It
// reports false, having read nothing, when they cannot answer it (times
// finer than a second); the caller reads records then.
func (c *Cache) scanBlocks(ctx context.Context, tx *sql.Tx, tid int64, names *dictionary, q *source.Query, out []source.Groups) (bool, error) {
	if !blocksUsable(q.Bounds) {
		return false, nil
	}
	var filters []blockFilter
	for d, vals := range q.Filter {
		f, ok, err := filterOf(names, d, vals)
		if err != nil || !ok {
			return false, err
		}
		filters = append(filters, f)
	}
	if q.NoCostOnly {
		f := blockFilter{col: colPrice, allow: codeTable(names, source.DimPrice)}
		for id, name := range names.names[source.DimPrice] {
			k, ok := source.ParsePriceKey(name)
			f.allow[id] = ok && k.NoCost
		}
		filters = append(filters, f)
	}
	var pivots []blockPivot
	for _, d := range append([]source.Dim{q.Dim}, q.Also...) {
		p, ok := pivotOf(names, d)
		if !ok {
			return false, nil
		}
		pivots = append(pivots, p)
	}
	// A slot for each interval and combination of codes.
	nk := int64(len(q.Bounds) - 1)
	space := float64(nk)
	for _, p := range pivots {
		space *= float64(p.size)
	}
	if space > math.MaxInt64/2 {
		return false, nil
	}
	money := q.MoneyOnly
	latency := q.Latency && q.Dim.HasLatency() && !money
	cols := []int{colRequests, colPrompt, colCompletion, colCost, colCacheRead, colCacheWrite, colCacheWrite1h}
	if !money {
		cols = append(cols, colStatus, colReasoning, colLatency)
	}
	if latency {
		cols = append(cols, colLatencyBucket)
	}
	for _, f := range filters {
		cols = append(cols, f.col)
	}
	for _, p := range pivots {
		if p.col >= 0 {
			cols = append(cols, p.col)
		}
	}
	secs := boundSecs(q.Bounds)
	first, last := secs[0], secs[len(secs)-1]
	if first >= last {
		return true, nil
	}
	wholeDays := true
	for _, s := range secs {
		wholeDays = wholeDays && floorDiv(s, Day)*Day == s
	}
	if !wholeDays {
		cols = append(cols, colSec)
	}
	slices.Sort(cols)
	cols = slices.Compact(cols)

	a := &blockAgg{latency: latency, money: money}
	if space <= maxDenseSlots {
		a.dense = make([]int32, int(space))
		for i := range a.dense {
			a.dense[i] = -1
		}
	} else {
		a.sparse = map[int64]int32{}
	}
	var keys []int64 // each slot's key, by slot
	slotOf := func(key int64) int32 {
		if a.dense != nil {
			s := a.dense[key]
			if s < 0 {
				s = int32(len(keys))
				a.dense[key] = s
				keys = append(keys, key)
				a.grow()
			}
			return s
		}
		s, ok := a.sparse[key]
		if !ok {
			s = int32(len(keys))
			a.sparse[key] = s
			keys = append(keys, key)
			a.grow()
		}
		return s
	}

	sel := make([]int32, 0, blockMax)
	var bad error
	err := readBlocks(ctx, tx, tid, floorDiv(first, Day)*Day, floorDiv(last-1, Day)*Day, cols, func(day int64, n int, col *[numCols][]int64) error {
		// The intervals the block's records fall in: all in one when the
		// day is, else by their second (records are in time order).
		type span struct {
			k      int64
			lo, hi int
		}
		var spans [64]span
		sp := spans[:0]
		k := source.IntervalOf(secs, day)
		if k >= 0 && day+Day <= secs[k+1] {
			sp = append(sp, span{int64(k), 0, n})
		} else {
			sec := col[colSec]
			for k := range len(secs) - 1 {
				lo, hi := secs[k]-day, secs[k+1]-day
				if hi <= 0 || lo >= Day || lo >= hi {
					continue
				}
				i, _ := slices.BinarySearch(sec, lo)
				j, _ := slices.BinarySearch(sec, hi)
				if i < j {
					sp = append(sp, span{int64(k), i, j})
				}
			}
		}
		for _, s := range sp {
			// The records that pass the filters.
			sel = sel[:0]
			for i := s.lo; i < s.hi; i++ {
				sel = append(sel, int32(i))
			}
			for _, f := range filters {
				codes := col[f.col]
				kept := sel[:0]
				for _, i := range sel {
					if c := codes[i]; c >= 0 && c < int64(len(f.allow)) && f.allow[c] {
						kept = append(kept, i)
					}
				}
				sel = kept
			}
			for _, i := range sel {
				key := s.k
				for _, p := range pivots {
					var c int64
					if p.col >= 0 {
						c = col[p.col][i]
						if c < 0 || c >= p.size {
							bad = fmt.Errorf("%w: a block holds code %d of %s, which the dictionary has not", ErrCorrupted, c, p.dim)
							return bad
						}
					}
					key = key*p.size + c
				}
				a.add(slotOf(key), col, int(i))
			}
		}
		return nil
	})
	if err != nil {
		return true, err
	}
	// Name the groups: a slot's key is its interval and codes.
	for s, key := range keys {
		t := a.totals(s)
		groups := []string{""}
		for pi := len(pivots) - 1; pi >= 0; pi-- {
			p := pivots[pi]
			code := key % p.size
			key /= p.size
			members, err := p.names(code)
			if err != nil {
				return true, err
			}
			next := make([]string, 0, len(groups)*len(members))
			for _, m := range members {
				for _, g := range groups {
					if pi == len(pivots)-1 {
						next = append(next, m)
					} else {
						next = append(next, m+source.PivotSep+g)
					}
				}
			}
			groups = next
		}
		for _, g := range groups {
			cur := out[key][g]
			cur.Add(t)
			out[key][g] = cur
		}
	}
	return true, nil
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
	for set := range f.allow {
		if _, ok := names.names[dimTagSet][int64(set)]; !ok && set != 0 {
			continue
		}
		ids, err := names.tagIDs(int64(set))
		if err != nil {
			return f, false, err
		}
		for _, id := range ids {
			f.allow[set] = f.allow[set] || slices.Contains(vals, names.names[source.DimTag][id])
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
		return blockPivot{dim: d, col: colTagSet, size: codeSpace(names, dimTagSet), names: func(set int64) ([]string, error) {
			ids, err := names.tagIDs(set)
			if err != nil {
				return nil, err
			}
			out := make([]string, len(ids))
			for i, id := range ids {
				out[i] = names.names[source.DimTag][id]
			}
			return out, nil
		}}, true
	case source.DimPrice:
		return blockPivot{dim: d, col: colPrice, size: codeSpace(names, d), names: one(d)}, true
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
	dense   []int32         // slot by key, -1 for none yet
	sparse  map[int64]int32 // … when keys are too many for a table
	sums    []source.Totals
	lats    []*source.Latency
	latency bool
	money   bool
}

func (a *blockAgg) grow() {
	a.sums = append(a.sums, source.Totals{})
	if a.latency {
		a.lats = append(a.lats, nil)
	}
}

// add counts record i of a block into slot s, as Totals.AddCounts does (and
// its latency, when asked).
func (a *blockAgg) add(s int32, col *[numCols][]int64, i int) {
	t := &a.sums[s]
	n := col[colRequests][i]
	prompt, completion, cost := col[colPrompt][i], col[colCompletion][i], col[colCost][i]
	t.Calls += n
	t.Prompt += prompt
	t.Completion += completion
	t.Cost += source.USD(cost)
	t.CacheRead += col[colCacheRead][i]
	t.CacheWrite += col[colCacheWrite][i]
	t.CacheWrite1h += col[colCacheWrite1h][i]
	tokens := prompt + completion
	if n == 0 {
		t.NoCallsCost += source.USD(cost)
		t.NoCallsTokens += tokens
	} else if tokens/source.SmallCallTokens < n {
		t.SmallCalls += n
		t.SmallTokens += tokens
		t.SmallCost += source.USD(cost)
	}
	if a.money {
		return
	}
	switch col[colStatus][i] {
	case okUnknown:
		t.Unknown += n
	case okSuccess:
		t.Successful += n
	}
	t.Reasoning += col[colReasoning][i]
	if lat := col[colLatency][i]; lat > 0 {
		t.LatencyN++
		t.LatencySum += lat - 1
		if a.latency {
			if a.lats[s] == nil {
				a.lats[s] = &source.Latency{}
			}
			a.lats[s].AddBucket(source.LatencyBucket(col[colLatencyBucket][i]-1), 1)
		}
	}
}

// totals are slot s's sums.
func (a *blockAgg) totals(s int) source.Totals {
	t := a.sums[s]
	if a.latency {
		t.Latency = a.lats[s]
	}
	return t
}
