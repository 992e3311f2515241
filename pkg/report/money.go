package report

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/nextcore-ai/nextcore/pkg/pricing"
	"github.com/nextcore-ai/nextcore/pkg/source"
)

// CostMode is which cost a report shows (docs/ledger.md §4).
type CostMode string

// The cost modes: a record's own cost when it has one (else its priced
// cost), or every record priced from the price book.
const (
	CostReported CostMode = "reported"
	CostPriced   CostMode = "priced"
)

// CostModes are the values of --cost.
var CostModes = []string{string(CostReported), string(CostPriced)}

// ParseCostMode reads --cost or the config's cost.
func ParseCostMode(s string) (CostMode, error) {
	switch CostMode(s) {
	case CostReported, CostPriced:
		return CostMode(s), nil
	case "":
		return CostReported, nil
	}
	return "", fmt.Errorf("unknown cost mode %q (want reported or priced)", s)
}

// Money is how reports reckon cost: the mode, and the price book that
// prices usage whose source reported no cost (in priced mode: all usage).
// A nil Money, or one without a book, prices nothing: usage without a
// reported cost is unpriced.
type Money struct {
	Mode CostMode
	Book *pricing.Book
}

// Priced reports whether every record is priced from the book.
func (m *Money) Priced() bool { return m != nil && m.Mode == CostPriced }

// ModeName is the mode's name for JSON, "reported" for a nil Money.
func (m *Money) ModeName() string {
	if m.Priced() {
		return string(CostPriced)
	}
	return string(CostReported)
}

// Unpriced is usage that adds nothing to a report's cost because no price
// covers it: records without a reported cost (in priced mode, any record)
// whose model the price book has no price for on their day.
type Unpriced struct {
	Calls, Tokens int64
	Models        []string // sorted
}

// Sentence says what u is and what to do about it.
func (u Unpriced) Sentence() string {
	var names []string
	for _, m := range u.Models[:min(len(u.Models), 3)] {
		names = append(names, clipName(m))
	}
	models := strings.Join(names, ", ")
	if len(u.Models) > 3 {
		models += fmt.Sprintf(" and %d more", len(u.Models)-3)
	}
	what := fmt.Sprintf("%s calls (%s tokens)", Count(u.Calls), Compact(u.Tokens))
	if u.Calls == 0 {
		what = Compact(u.Tokens) + " tokens" // of buckets that count no calls
	}
	return fmt.Sprintf("%s of %s have no price: counted as $0. Price them in a price file (--prices FILE); 'nextcore pricing check' lists what is missing.",
		what, models)
}

// Empty reports whether u counts nothing.
func (u Unpriced) Empty() bool { return u.Calls == 0 && u.Tokens == 0 && len(u.Models) == 0 }

// Add merges o into u.
func (u *Unpriced) Add(o Unpriced) {
	u.Calls += o.Calls
	u.Tokens += o.Tokens
	for _, m := range o.Models {
		if i, found := slices.BinarySearch(u.Models, m); !found {
			u.Models = slices.Insert(u.Models, i, m)
		}
	}
}

// Summary is what Money.Aggregate says of a query beyond its groups.
//
// Totals.SmallCost, the cost of small calls, is reckoned for queries of all
// calls and by model (what the insight on small calls reads); by other
// dimensions it counts reported costs only, and nothing with --cost priced.
type Summary struct {
	Unpriced Unpriced
	// Cost, SmallCost and NoCallsCost are the sums over all of the query's
	// groups and intervals, each rounded once (a total a report shows).
	Cost, SmallCost, NoCallsCost source.USD
}

// SetCosts gives t, the sum of the query's groups, its costs rounded once.
func (s Summary) SetCosts(t *source.Totals) {
	t.Cost, t.SmallCost, t.NoCallsCost = s.Cost, s.SmallCost, s.NoCallsCost
}

// sumCosts is the summary of groups whose costs are all reported: exact
// already.
func sumCosts(res []source.Groups) Summary {
	var s Summary
	for _, groups := range res {
		for _, g := range groups {
			s.Cost += g.Cost
			s.SmallCost += g.SmallCost
			s.NoCallsCost += g.NoCallsCost
		}
	}
	return s
}

func summaries(res [][]source.Groups) []Summary {
	out := make([]Summary, len(res))
	for i := range res {
		out[i] = sumCosts(res[i])
	}
	return out
}

// pieces cuts the intervals of bounds at the instants where prices change:
// the new bounds, and for each of their intervals the interval of bounds it
// is part of and a time inside it that dates its prices.
func pieces(bounds, changes []int64) (cut []int64, of []int, at []time.Time) {
	if len(bounds) < 2 {
		return bounds, nil, nil
	}
	for k := 0; k+1 < len(bounds); k++ {
		start, end := bounds[k], bounds[k+1]
		if start >= end {
			// An empty interval stays one, so that k still counts intervals.
			cut, of, at = append(cut, start), append(of, k), append(at, time.Unix(0, start).UTC())
			continue
		}
		i, _ := slices.BinarySearch(changes, start+1) // the first change after start
		for s := start; s < end; {
			e := end
			if i < len(changes) && changes[i] < end {
				e = changes[i]
				i++
			}
			when := s
			if s == bounds[0] && s < 0 {
				when = e - 1 // the beginning of time: date the piece by its end
			}
			cut, of, at = append(cut, s), append(of, k), append(at, time.Unix(0, when).UTC())
			s = e
		}
	}
	return append(cut, bounds[len(bounds)-1]), of, at
}

// priceKeys parses the price keys of a call's groups, and finds their
// models in the book, once a key: a year by day is thousands of groups of a
// few dozen keys.
type priceKeys struct {
	book *pricing.Book
	seen map[string]priceKeyOf
}

type priceKeyOf struct {
	pk    source.PriceKey
	model *pricing.Model // nil: the book has no price for it
	ok    bool
}

// of is key parsed (ok false: not a key this build makes) and its model.
func (ks priceKeys) of(key string) (source.PriceKey, *pricing.Model, bool) {
	k, seen := ks.seen[key]
	if !seen {
		k.pk, k.ok = source.ParsePriceKey(key)
		if k.ok {
			k.model, _ = ks.book.Lookup(k.pk.Model)
		}
		ks.seen[key] = k
	}
	return k.pk, k.model, k.ok
}

// moneyPlan is how one query's costs are made.
type moneyPlan struct {
	base    int // index of the query itself in the call, -1 when derived from comp
	comp    int // index of the companion query over price keys
	of      []int
	at      []time.Time
	byModel bool // the companion is plain DimPrice, the query by model (else by nothing)
	pivot   bool // the companion is the query's groups by price key too
}

// priceAcc is the exact priced cost of a group, and of its small calls and
// its records of no calls (Totals.SmallCost, NoCallsCost).
type priceAcc struct {
	all, small, zero pricing.Amount
}

// carriesMoney reports whether Money reckons q's cost: queries by price
// key are answered as stored (reconciliation reads them so).
func carriesMoney(q *source.Query) bool {
	return !q.CountsOnly && q.Dim != source.DimPrice && q.Dim != source.DimPairPrice && !slices.Contains(q.Also, source.DimPrice) &&
		!slices.Contains(q.Also, source.DimPairPrice) && len(q.Bounds) >= 2
}

// Aggregate answers qs from src as source.AggregateMany does, with costs
// as m reckons them, and for each query the usage no price covered. The
// unpriced usage of a query whose groups overlap (tags) counts a call once
// a group: read it from a query whose groups do not.
func (m *Money) Aggregate(ctx context.Context, src source.Source, tenant string, qs []source.Query) ([][]source.Groups, []Summary, error) {
	book := pricing.NewBook()
	if m != nil && m.Book != nil {
		book = m.Book
	}
	priced := m.Priced()
	// The span of the queries that carry money.
	lo, hi, some := int64(0), int64(0), false
	for i := range qs {
		if !carriesMoney(&qs[i]) {
			continue
		}
		b := qs[i].Bounds
		if !some || b[0] < lo {
			lo = b[0]
		}
		if !some || b[len(b)-1] > hi {
			hi = b[len(b)-1]
		}
		some = true
	}
	if !some {
		res, err := source.AggregateMany(ctx, src, tenant, qs)
		if err != nil {
			return nil, nil, err
		}
		return res, summaries(res), nil
	}
	_, rolled := src.(source.Rolled)
	if _, remote := src.(source.Remote); rolled && !remote && !priced {
		// Only records without a reported cost are priced: first see
		// whether the queries' span holds any (one read of rollups). A
		// source without rollups is read once, with the whole plan; so is
		// a server's, where a call costs more than the companions.
		probe := source.Query{Dim: source.DimPrice, Bounds: []int64{lo, hi}}
		res, err := source.AggregateMany(ctx, src, tenant, []source.Query{probe})
		if err != nil {
			return nil, nil, err
		}
		if !hasNoCost(res[0][0]) {
			// The queries as they are, and the probe again in the same
			// snapshot: records without a cost may have come meanwhile.
			res, err := source.AggregateMany(ctx, src, tenant, append(slices.Clone(qs), probe))
			if err != nil {
				return nil, nil, err
			}
			if !hasNoCost(res[len(qs)][0]) {
				return res[:len(qs)], summaries(res[:len(qs)]), nil
			}
		}
	}

	// One call answers every query and its companion over price keys, so
	// that all read the same snapshot.
	changes := book.Changes()
	var call []source.Query
	plans := map[int]*moneyPlan{}
	direct := make([]int, len(qs)) // index in call of each query answered as is
	for i := range qs {
		q := qs[i]
		if !carriesMoney(&q) {
			direct[i] = len(call)
			call = append(call, q)
			continue
		}
		p := &moneyPlan{base: -1}
		cut, of, at := pieces(q.Bounds, changes)
		p.of, p.at = of, at
		if q.Plain() && (q.Dim == source.DimAll || q.Dim == source.DimModel) {
			// Rollups by price key answer these: the model is in the key.
			p.base = len(call)
			call = append(call, q)
			p.byModel = q.Dim == source.DimModel
			p.comp = len(call)
			call = append(call, source.Query{Dim: source.DimPrice, Bounds: cut, NoCostOnly: !priced, MoneyOnly: true})
		} else if q.Plain() || !priced {
			// The query as it is, and its groups by price key: of the
			// records without a reported cost (in reported mode their cost
			// is all that is priced), else of all. The cache keeps rollups
			// by member and price key; records without a cost have an
			// index of their own.
			// Small calls are priced by model only: a plain query's groups
			// go by DimPairPrice, which the cache rolls up.
			key := source.DimPrice
			if q.Plain() {
				key = source.DimPairPrice
			}
			p.base, p.pivot = len(call), true
			call = append(call, q)
			p.comp = len(call)
			call = append(call, source.Query{Dim: q.Dim, Also: append(slices.Clone(q.Also), key),
				Bounds: cut, Filter: q.Filter, NoCostOnly: !priced, MoneyOnly: true})
		} else {
			// A pivot with the price key: the query's own totals are its sums.
			p.comp, p.pivot = len(call), true
			call = append(call, source.Query{Dim: q.Dim, Also: append(slices.Clone(q.Also), source.DimPrice),
				Bounds: cut, Filter: q.Filter, Latency: q.Latency})
		}
		plans[i] = p
	}
	res, err := source.AggregateMany(ctx, src, tenant, call)
	if err != nil {
		return nil, nil, err
	}
	out := make([][]source.Groups, len(qs))
	sums := make([]Summary, len(qs))
	keys := priceKeys{book: book, seen: map[string]priceKeyOf{}}
	for i := range qs {
		p, ok := plans[i]
		if !ok {
			out[i] = res[direct[i]]
			sums[i] = sumCosts(out[i])
			continue
		}
		unpriced := &sums[i].Unpriced
		derived := p.base < 0
		if derived {
			out[i] = source.NewGroups(qs[i])
		} else {
			out[i] = res[p.base]
		}
		accs := make([]map[string]*priceAcc, len(out[i]))
		for k := range accs {
			accs[k] = map[string]*priceAcc{}
		}
		unpricedModels := map[string]bool{}
		for j, groups := range res[p.comp] {
			k := p.of[j]
			for member, t := range groups {
				name, key := "", member
				if p.pivot {
					cut := strings.LastIndex(member, source.PivotSep)
					name, key = member[:cut], member[cut+len(source.PivotSep):]
				}
				pk, model, ok := keys.of(key)
				if !ok || t.Empty() {
					continue // not a key this build makes
				}
				if p.byModel {
					name = pk.Model
				}
				if derived {
					g := out[i][k][name]
					g.Add(t)
					out[i][k][name] = g
				}
				if !priced && !pk.NoCost {
					continue // its reported cost stands
				}
				a := accs[k][name]
				if a == nil {
					a = &priceAcc{}
					accs[k][name] = a
				}
				var per *pricing.Period
				if model != nil {
					per, _ = model.Period(p.at[j]) // nil before its first price
				}
				if per == nil {
					unpriced.Calls += t.Calls
					unpriced.Tokens += t.Tokens()
					unpricedModels[pk.Model] = true
					continue
				}
				var amount pricing.Amount
				AddPriced(&amount, per, pk, t)
				a.all.AddAmount(&amount)
				if pk.Small {
					a.small.AddAmount(&amount)
				}
				if pk.Zero {
					a.zero.AddAmount(&amount)
				}
			}
		}
		unpriced.Models = slices.Sorted(maps.Keys(unpricedModels))
		var total priceAcc // exact sums over every group
		for k, groups := range out[i] {
			for name, g := range groups {
				a := accs[k][name]
				if priced {
					g.Cost, g.SmallCost, g.NoCallsCost = 0, 0, 0
				}
				total.all.AddUSD(g.Cost)
				total.small.AddUSD(g.SmallCost)
				total.zero.AddUSD(g.NoCallsCost)
				if a != nil {
					g.Cost += a.all.Nano()
					g.SmallCost += a.small.Nano()
					g.NoCallsCost += a.zero.Nano()
					total.all.AddAmount(&a.all)
					total.small.AddAmount(&a.small)
					total.zero.AddAmount(&a.zero)
				}
				groups[name] = g
			}
		}
		sums[i].Cost, sums[i].SmallCost, sums[i].NoCallsCost = total.all.Nano(), total.small.Nano(), total.zero.Nano()
	}
	return out, sums, nil
}

// hasNoCost reports whether groups by price key count records that
// reported no cost.
func hasNoCost(g source.Groups) bool {
	for member, t := range g {
		if k, ok := source.ParsePriceKey(member); ok && k.NoCost && !t.Empty() {
			return true
		}
	}
	return false
}

// CacheSavings is what prompt caching saved over the window [start, end)
// (docs/ledger.md §6): every cache read priced at the input price less the
// cache-read price, as the book prices the record (tier, long context,
// batch), exact and rounded once. Models without a price add nothing.
func (m *Money) CacheSavings(ctx context.Context, src source.Source, tenant string, start, end int64, filter source.Filter) (source.USD, error) {
	q, sv, ok := m.SavingsQuery(start, end, filter)
	if !ok {
		return 0, nil
	}
	res, err := source.AggregateMany(ctx, src, tenant, []source.Query{q})
	if err != nil {
		return 0, err
	}
	return sv.Of(res[0]), nil
}

// Savings prices the answer of a SavingsQuery.
type Savings struct {
	m  *Money
	at []time.Time // the time of each interval of the query, for the book
}

// SavingsQuery is the query CacheSavings asks, to be asked with a report's
// others (a pass over the column blocks answers them all); ok is false
// when there is nothing to ask.
func (m *Money) SavingsQuery(start, end int64, filter source.Filter) (q source.Query, sv Savings, ok bool) {
	if m == nil || m.Book == nil || start >= end {
		return q, sv, false
	}
	cut, _, at := pieces([]int64{start, end}, m.Book.Changes())
	return source.Query{Dim: source.DimPrice, Bounds: cut, Filter: filter, MoneyOnly: true}, Savings{m, at}, true
}

// Of is what caching saved, from the query's groups.
func (sv Savings) Of(res []source.Groups) source.USD {
	var saved pricing.Amount
	for j, groups := range res {
		for member, t := range groups {
			pk, ok := source.ParsePriceKey(member)
			if !ok || t.CacheRead == 0 {
				continue
			}
			per, ok := sv.m.Book.PeriodOf(pk.Model, sv.at[j])
			if !ok {
				continue
			}
			rates, bf, _ := per.Rates(pricing.Use{Batch: pk.Batch, Tier: pk.Tier, LongContext: pk.Long})
			saved.Add(pricing.Tokens{CacheRead: t.CacheRead}, pricing.Rates{1: rates[0] - rates[1]}, pk.Batch, bf)
		}
	}
	return saved.Nano()
}
