package pgstore

import (
	"fmt"
	"slices"
	"strings"

	"github.com/nextcore-ai/nextcore/pkg/source"
	"github.com/nextcore-ai/nextcore/pkg/source/cache"
)

// counterCols are the rollups' columns of source.Totals.Counters, in order.
var counterCols = []string{"calls", "successful", "prompt", "completion", "cost",
	"small_calls", "small_tokens", "small_cost", "latency_n", "latency_sum",
	"unknown", "cache_read", "cache_write", "cache_write_1h", "reasoning",
	"no_calls_cost", "no_calls_tokens"}

var counterDecl = strings.Join(counterCols, " bigint NOT NULL, ") + " bigint NOT NULL"

// smallSQL is source.Record's small(): fewer than SmallCallTokens tokens a
// call, without overflow.
var smallSQL = fmt.Sprintf("(r.requests > 0 AND (r.prompt + r.completion) / %d < r.requests)", source.SmallCallTokens)

// rawCounters are the sums of a set of records (alias r) in counterCols'
// order, as source.Totals.AddCounts counts them. Each is summed by nc_sum
// (the schema's): a sum beyond int64 is an error, never a wrap.
var rawCounters = []string{
	"r.requests",
	"CASE WHEN r.success AND NOT r.unknown THEN r.requests ELSE 0 END",
	"r.prompt",
	"r.completion",
	"r.cost",
	"CASE WHEN " + smallSQL + " THEN r.requests ELSE 0 END",
	"CASE WHEN " + smallSQL + " THEN r.prompt + r.completion ELSE 0 END",
	"CASE WHEN " + smallSQL + " THEN r.cost ELSE 0 END",
	"CASE WHEN r.latency >= 0 THEN 1 ELSE 0 END",
	"CASE WHEN r.latency >= 0 THEN r.latency ELSE 0 END",
	"CASE WHEN r.unknown THEN r.requests ELSE 0 END",
	"r.cache_read",
	"r.cache_write",
	"r.cache_write_1h",
	"r.reasoning",
	"CASE WHEN r.requests = 0 THEN r.cost ELSE 0 END",
	"CASE WHEN r.requests = 0 THEN r.prompt + r.completion ELSE 0 END",
}

// sumsOf is "nc_sum(e1), nc_sum(e2), …".
func sumsOf(exprs []string) string {
	var b strings.Builder
	for i, e := range exprs {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("nc_sum(" + e + ")")
	}
	return b.String()
}

// allCounters are the indexes of every counter of counterCols.
var allCounters = func() []int {
	idx := make([]int, len(counterCols))
	for i := range idx {
		idx[i] = i
	}
	return idx
}()

// summed are the indexes of the counters q reads: its calls only, what
// prices (source.MoneyCounters), or all.
func summed(q *source.Query) []int {
	switch {
	case q.CallsOnly:
		return []int{0}
	case q.MoneyOnly:
		return source.MoneyCounters
	}
	return allCounters
}

// sumsFor is sumsOf the exprs at idx.
func sumsFor(exprs []string, idx []int) string { return sumsOf(pick(exprs, idx)) }

// columnsFor is the exprs at idx as a column list, not summed.
func columnsFor(exprs []string, idx []int) string { return strings.Join(pick(exprs, idx), ", ") }

// pick is the exprs at idx.
func pick(exprs []string, idx []int) []string {
	some := make([]string, len(idx))
	for i, j := range idx {
		some[i] = exprs[j]
	}
	return some
}

// counterList is counterCols as a column list.
var counterList = strings.Join(counterCols, ", ")

// rollupCounters are the rollups' counters (alias r).
var rollupCounters = func() []string {
	out := make([]string, len(counterCols))
	for i, c := range counterCols {
		out[i] = "r." + c
	}
	return out
}()

// longSQL is PriceKeyOf's long-context rule.
var longSQL = fmt.Sprintf("(r.long_ctx = 1 OR (r.long_ctx = 0 AND r.requests = 1 AND r.prompt > %d))", source.LongContextTokens)

// priceSQL is a record's source.PriceKey as a member name; pair drops the
// small flag (source.DimPairPrice).
func priceSQL(pair bool) string {
	small := "CASE WHEN " + smallSQL + " THEN 's' ELSE '-' END"
	if pair {
		small = "'-'"
	}
	return "r.model || E'\\x1e' || CASE WHEN r.batch THEN 'b' ELSE '-' END || CASE WHEN " + longSQL +
		" THEN 'l' ELSE '-' END || CASE WHEN r.no_cost THEN 'n' ELSE '-' END || CASE WHEN r.requests = 0 THEN 'z' ELSE '-' END || " +
		small + " || E'\\x1e' || r.tier"
}

// statusSQL is a record's source.DimStatus member.
const statusSQL = "CASE WHEN r.unknown THEN 'unknown' WHEN r.success THEN 'success' ELSE 'error' END"

// tagsSQL are a record's tags as DimTag members: "" for none.
const tagsSQL = "CASE WHEN cardinality(r.tags) = 0 THEN '{\"\"}'::text[] ELSE r.tags END"

// memberSQL is a record's member along d (DimTag apart: tagsSQL).
func memberSQL(d source.Dim) string {
	switch d {
	case source.DimAll:
		return "''::text"
	case source.DimModel:
		return "r.model"
	case source.DimKey:
		return "r.api_key"
	case source.DimUser:
		return "r.usr"
	case source.DimRegion:
		return "r.region"
	case source.DimStatus:
		return statusSQL
	case source.DimProject:
		return "r.project"
	case source.DimProvider:
		return "r.provider"
	case source.DimPrice:
		return priceSQL(false)
	case source.DimPairPrice:
		return priceSQL(true)
	}
	panic(fmt.Sprintf("pgstore: no member of %v", d))
}

// levelsFor lists the rollup levels (seconds, coarsest first) kept for a
// dimension: hours and days for the narrow ones, days for those with
// thousands of members (keys, users, tags), whose hours would be as many
// rows as records.
func levelsFor(d source.Dim) []int64 {
	switch d {
	case source.DimKey, source.DimUser, source.DimTag:
		return []int64{days32, days8, day}
	}
	return []int64{days32, days8, day, hour}
}

// pairLevels are the levels of the pairs of a member and a price key.
var pairLevels = []int64{days32, days8, day}

// The rollups' levels, in seconds: buckets aligned on the epoch. A year
// is a dozen buckets of 32 days and, at its edges, a few of 8 days, days
// and hours; a report reads rows a member of those, not of every day.
const (
	hour   = cache.Hour
	day    = cache.Day
	days8  = 8 * day
	days32 = 32 * day
)

// rolledDims are the dimensions with rollup rows (DimTag apart).
var rolledDims = []source.Dim{source.DimAll, source.DimModel, source.DimKey, source.DimUser, source.DimRegion,
	source.DimStatus, source.DimProject, source.DimProvider, source.DimPrice, source.DimPairPrice}

// pairDims are the dimensions whose members are also rolled up by price
// key (source.DimPairPrice), by day: how reports price the groups of
// records without a reported cost. Models and price keys hold the model
// already.
var pairDims = []source.Dim{source.DimKey, source.DimUser, source.DimRegion, source.DimStatus,
	source.DimProject, source.DimProvider, source.DimTag}

// pairCode is the rollups' dim of the pairs of d and the price key.
func pairCode(d source.Dim) int { return pairBase + int(d) }

const pairBase = 32

// noCostCode is the rollups' dim of the rows of code (a price key, or a
// pair of a member and one) that count only the records without a
// reported cost: what reports price from the book in reported mode.
func noCostCode(code int) int { return code + 64 }

// pairQuery reports whether q asks d × DimPairPrice unfiltered (and
// without latencies), which the pair rollups answer: those of every record
// for the dimensions of few members, those of the records without a
// reported cost for all.
func pairQuery(q *source.Query) bool {
	return !q.Latency && len(q.Filter) == 0 && len(q.Also) == 1 && q.Also[0] == source.DimPairPrice &&
		slices.Contains(pairDims, q.Dim) && (q.NoCostOnly || allPairs(q.Dim))
}

// allPairs says whether the pairs of every record are rolled up for d, not
// only of those without a reported cost. Keys and users have thousands of
// members: their pairs with the price keys would be a row for nearly every
// record, written three times; a report that prices every record
// (--cost priced) by key or user sums the records instead.
func allPairs(d source.Dim) bool { return d != source.DimKey && d != source.DimUser }
