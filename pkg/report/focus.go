package report

import (
	"cmp"
	"context"
	"math/big"
	"slices"
	"strings"
	"time"

	"github.com/nextcore-ai/nextcore/pkg/pricing"
	"github.com/nextcore-ai/nextcore/pkg/source"
)

// FOCUS export: one charge a day (in the report's zone) × model × token
// kind. ListCost is the price book's price of the kind's tokens; BilledCost
// the cost the records report (priced from the book for records that
// reported none), shared among the day's kinds of the model in proportion
// to their list cost (to the nano-dollar: the kinds add up to the day's
// reported cost exactly). A model without a price has one charge a day, of
// all its tokens, listed at what it billed.

// The token kinds of a charge.
var focusKinds = []string{"input", "cache-read", "cache-write", "cache-write-1h", "output"}

// FocusCharge is a row of the FOCUS export.
type FocusCharge struct {
	Day              Date
	Start, End       time.Time // the charge period
	BillStart        time.Time // the billing period: the calendar month
	BillEnd          time.Time
	Model            string
	Provider         string // the records' provider ("" for this platform's own)
	Publisher        string // the model's maker, as the price book has it ("" when unknown)
	Kind             string // a token kind, or "all" for a model without a price
	Tokens           int64
	ListCost, Billed source.USD
	Reasoning        int64 // of the output charge: reasoning tokens among them
	Calls            int64 // of the day and model, on its first charge
}

// FocusExport is usage export --format focus.
type FocusExport struct {
	Tenant  string
	Span    Span
	Charges []FocusCharge
}

// BuildFocus makes the FOCUS charges of the span's days.
func BuildFocus(ctx context.Context, src source.Source, tenant string, span Span, book *pricing.Book, filter source.Filter) (*FocusExport, error) {
	if book == nil {
		book = pricing.NewBook()
	}
	out := &FocusExport{Tenant: tenant, Span: span}
	if len(span.Days) == 0 {
		return out, nil
	}
	bounds, pieces := utcPieces(span)
	res, err := source.AggregateMany(ctx, src, tenant, []source.Query{
		{Dim: source.DimPrice, Also: []source.Dim{source.DimProvider}, Bounds: bounds, Filter: filter},
	})
	if err != nil {
		return nil, err
	}
	type key struct {
		day             int
		model, provider string
	}
	type acc struct {
		list      [5]pricing.Amount
		billed    pricing.Amount
		tokens    [5]int64
		reasoning int64
		calls     int64
		unpriced  bool
	}
	accs := map[key]*acc{}
	for i, p := range pieces {
		for member, t := range res[0][i] {
			if t.Empty() {
				continue
			}
			name, provider := splitPivot(member)
			pk, ok := source.ParsePriceKey(name)
			if !ok {
				continue
			}
			k := key{p.day, pk.Model, provider}
			a := accs[k]
			if a == nil {
				a = &acc{}
				accs[k] = a
			}
			a.calls += t.Calls
			a.reasoning += t.Reasoning
			toks := [5]int64{t.Input(), t.CacheRead, t.CacheWrite, t.CacheWrite1h, t.Completion}
			per, ok := book.PeriodOf(pk.Model, p.utcDay)
			if !ok {
				a.unpriced = true
				a.billed.AddUSD(t.Cost)
				for j, n := range toks {
					a.tokens[j] += n
				}
				continue
			}
			rates, bf, _ := per.Rates(pricing.Use{Batch: pk.Batch, Tier: pk.Tier, LongContext: pk.Long})
			var priced pricing.Amount
			for j, n := range toks {
				a.tokens[j] += n
				var one pricing.Tokens
				switch j {
				case 0:
					one.Input = n
				case 1:
					one.CacheRead = n
				case 2:
					one.CacheWrite = n
				case 3:
					one.CacheWrite1h = n
				case 4:
					one.Output = n
				}
				var kind pricing.Amount
				kind.Add(one, rates, pk.Batch, bf)
				a.list[j].AddAmount(&kind)
				priced.AddAmount(&kind)
			}
			if pk.NoCost {
				a.billed.AddAmount(&priced) // no reported cost: priced
			} else {
				a.billed.AddUSD(t.Cost)
			}
		}
	}
	loc := span.Location
	// In the order of the charges: each value rounded from the running
	// exact sum less the one before, so that the charges add up to the
	// window's sums rounded once (as every report has them).
	keys := make([]key, 0, len(accs))
	for k := range accs {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(x, y key) int {
		return cmp.Or(cmp.Compare(x.day, y.day), cmp.Compare(x.model, y.model), cmp.Compare(x.provider, y.provider))
	})
	var cumBilled, cumList pricing.Amount
	var prevBilled, prevList source.USD
	next := func(cum *pricing.Amount, prev *source.USD, add *pricing.Amount) source.USD {
		cum.AddAmount(add)
		cur := cum.Nano()
		v := cur - *prev
		*prev = cur
		return v
	}
	for _, k := range keys {
		a := accs[k]
		d := span.Days[k.day]
		month := BillingMonth(Clock{Now: d.Start(loc), Today: d})
		base := FocusCharge{Day: d, Start: d.Start(loc), End: d.AddDays(1).Start(loc), BillStart: month.Start, BillEnd: month.End,
			Model: k.model, Provider: k.provider}
		if m, ok := book.Lookup(k.model); ok {
			base.Publisher = m.Provider
		}
		if k.day == len(span.Days)-1 && span.Current.End.Before(base.End) {
			base.End = span.Current.End // today, to now
		}
		billed := next(&cumBilled, &prevBilled, &a.billed)
		if a.unpriced {
			c := base
			c.Kind, c.Tokens, c.Billed, c.Reasoning, c.Calls = "all", sum5(a.tokens), billed, a.reasoning, a.calls
			c.ListCost = next(&cumList, &prevList, &a.billed)
			out.Charges = append(out.Charges, c)
			continue
		}
		// The billed cost shared by list cost (by tokens when the list is
		// 0), largest remainders last, so that the kinds add up exactly.
		var lists [5]source.USD
		var weights [5]int64
		var total int64
		for j := range 5 {
			lists[j] = next(&cumList, &prevList, &a.list[j])
			weights[j] = max(int64(lists[j]), 0)
			total += weights[j]
		}
		if total == 0 {
			weights, total = a.tokens, sum5(a.tokens)
		}
		shares := apportion(int64(billed), weights, total)
		first := true
		for j, kind := range focusKinds {
			if a.tokens[j] == 0 && shares[j] == 0 && lists[j] == 0 {
				continue
			}
			c := base
			c.Kind, c.Tokens, c.ListCost, c.Billed = kind, a.tokens[j], lists[j], source.USD(shares[j])
			if kind == "output" {
				c.Reasoning = a.reasoning
			}
			if first {
				c.Calls, first = a.calls, false
			}
			out.Charges = append(out.Charges, c)
		}
		if first { // no tokens at all: the calls and their cost in one charge
			c := base
			c.Kind, c.Billed, c.Calls = "input", billed, a.calls
			out.Charges = append(out.Charges, c)
		}
	}
	slices.SortFunc(out.Charges, func(x, y FocusCharge) int {
		return cmp.Or(x.Start.Compare(y.Start), cmp.Compare(x.Model, y.Model), cmp.Compare(x.Provider, y.Provider),
			cmp.Compare(slices.Index(focusKinds, x.Kind), slices.Index(focusKinds, y.Kind)))
	})
	return out, nil
}

func sum5(v [5]int64) int64 { return v[0] + v[1] + v[2] + v[3] + v[4] }

// apportion shares total among weights (Σ weights = sum, sum > 0) exactly:
// each the floor of its share, the rest a nano-dollar each to the largest
// remainders (ties: the first).
func apportion(total int64, weights [5]int64, sum int64) [5]int64 {
	var out [5]int64
	if sum == 0 {
		out[0] = total
		return out
	}
	var rems [5]*big.Int
	given := int64(0)
	for j, w := range weights {
		q, r := new(big.Int).QuoRem(new(big.Int).Mul(big.NewInt(total), big.NewInt(w)), big.NewInt(sum), new(big.Int))
		// Floor for negative totals (credits): QuoRem truncates.
		if r.Sign() < 0 {
			q.Sub(q, big.NewInt(1))
			r.Add(r, big.NewInt(sum))
		}
		out[j], rems[j] = q.Int64(), r
		given += out[j]
	}
	order := []int{0, 1, 2, 3, 4}
	slices.SortStableFunc(order, func(a, b int) int { return rems[b].Cmp(rems[a]) })
	for i := 0; given < total; i++ {
		out[order[i%5]]++
		given++
	}
	return out
}

// splitPivot is a pivot's member name and its second dimension's.
func splitPivot(member string) (string, string) {
	name, second, _ := strings.Cut(member, source.PivotSep)
	return name, second
}
