package report

import (
	"context"
	"math/big"
	"sort"
	"strings"
	"time"

	"github.com/nextcore-ai/nextcore/pkg/pricing"
	"github.com/nextcore-ai/nextcore/pkg/source"
)

// ReconRow is one day (in the report's zone) and model: the cost the
// records report against what the price book says their tokens cost.
type ReconRow struct {
	Date     Date
	Model    string
	Calls    int64
	Reported source.USD
	Priced   source.USD // rounded once, from the exact sum
	Unpriced bool       // the model has no price that day: nothing to compare
	Flagged  bool
	// Explanations are what the row can say of itself: a price period
	// changed inside the day, the model has no price.
	Explanations []string
}

// Difference is reported − priced.
func (r ReconRow) Difference() source.USD { return r.Reported - r.Priced }

// Ratio is reported ÷ priced; nil when nothing was priced.
func (r ReconRow) Ratio() *big.Rat {
	if r.Unpriced || r.Priced == 0 {
		return nil
	}
	return big.NewRat(int64(r.Reported), int64(r.Priced))
}

// Reconciliation is usage reconcile: every day × model of the window.
type Reconciliation struct {
	Tenant    string
	Span      Span
	Clock     Clock
	Tolerance *big.Rat // percent
	Rows      []ReconRow
	Reported  source.USD // of the rows that could be priced
	Priced    source.USD // of the same rows, rounded once
	// UnpricedReported is what the rows of models without a price report.
	UnpricedReported source.USD
	Flagged          int
	Unpriced         []string // models without a price
	Book             *pricing.Book
	// Against is the provider whose bill the rows' Reported is
	// (ReconcileBill); "" for the records' own reported cost.
	Against string
	// GroupBy is what a row's Model names against a bill: "project",
	// "model", or "" (the day's whole bill).
	GroupBy string
}

// minDifference is the least difference flagged whatever the tolerance.
const minDifference = source.USD(source.NanosPerUSD / 100) // $0.01

// Reconcile sets, per day and model, the records' reported cost against
// their priced cost (docs/ledger.md §5). Each day is cut at UTC midnights,
// where price periods change, so that every piece is priced at its own
// day's prices; sums are exact and rounded once per row.
func Reconcile(ctx context.Context, src source.Source, tenant string, span Span, clock Clock, book *pricing.Book, tolerance *big.Rat) (*Reconciliation, error) {
	bounds, pieces := utcPieces(span)
	r := &Reconciliation{Tenant: tenant, Span: span, Clock: clock, Tolerance: tolerance, Book: book}
	if len(pieces) == 0 {
		return r, nil
	}
	res, err := source.AggregateMany(ctx, src, tenant, []source.Query{{Dim: source.DimPrice, Bounds: bounds}})
	if err != nil {
		return nil, err
	}
	type key struct {
		day   int
		model string
	}
	type acc struct {
		row     ReconRow
		priced  pricing.Amount
		periods map[*pricing.Period]bool
		// reported is exact: reported costs, and the priced cost of
		// records that reported none.
		reported pricing.Amount
		noCost   bool
	}
	rows := map[key]*acc{}
	var total pricing.Amount
	unpriced := map[string]bool{}
	for i, p := range pieces {
		for member, t := range res[0][i] {
			if t.Empty() {
				continue
			}
			pk, ok := source.ParsePriceKey(member)
			if !ok {
				continue // not from this build: no price key
			}
			k := key{p.day, pk.Model}
			a := rows[k]
			if a == nil {
				a = &acc{row: ReconRow{Date: span.Days[p.day], Model: pk.Model}, periods: map[*pricing.Period]bool{}}
				rows[k] = a
			}
			a.row.Calls += t.Calls
			per, ok := book.PeriodOf(pk.Model, p.utcDay)
			if !ok {
				a.row.Unpriced = true
				unpriced[pk.Model] = true
				a.reported.AddUSD(t.Cost)
				continue
			}
			a.periods[per] = true
			var priced pricing.Amount
			AddPriced(&priced, per, pk, t)
			a.priced.AddAmount(&priced)
			if pk.NoCost {
				// No reported cost: priced on both sides.
				a.noCost = true
				a.reported.AddAmount(&priced)
			} else {
				a.reported.AddUSD(t.Cost)
			}
		}
	}
	for _, a := range rows {
		row := a.row
		row.Reported = a.reported.Nano()
		if a.noCost {
			row.Explanations = append(row.Explanations, "records without a reported cost, priced on both sides")
		}
		if row.Unpriced {
			row.Explanations = append(row.Explanations, "no price for this model on this day")
		} else {
			row.Priced = a.priced.Nano()
			total.AddAmount(&a.priced)
			if len(a.periods) > 1 {
				row.Explanations = append(row.Explanations, "the price changed during the day")
			}
			row.Flagged = outOfTolerance(row, tolerance)
			if row.Flagged {
				r.Flagged++
			}
		}
		if row.Unpriced {
			r.UnpricedReported += row.Reported
		} else {
			r.Reported += row.Reported
		}
		r.Rows = append(r.Rows, row)
	}
	r.Priced = total.Nano()
	for m := range unpriced {
		r.Unpriced = append(r.Unpriced, m)
	}
	sort.Strings(r.Unpriced)
	sort.Slice(r.Rows, func(i, j int) bool {
		a, b := r.Rows[i], r.Rows[j]
		da, db := abs(a.Difference()), abs(b.Difference())
		if a.Unpriced != b.Unpriced {
			return !a.Unpriced // rows that could be compared first
		}
		if da != db {
			return da > db
		}
		if a.Date != b.Date {
			return a.Date.Before(b.Date)
		}
		return a.Model < b.Model
	})
	return r, nil
}

// dayPiece is a stretch of a report's day within one UTC day (prices
// change on UTC days).
type dayPiece struct {
	day    int // index in span.Days
	utcDay time.Time
}

// utcPieces cuts the window's days at every UTC midnight inside them: the
// bounds, and the day and UTC day of each piece.
func utcPieces(span Span) ([]int64, []dayPiece) {
	dayBounds := span.DayBounds()
	var bounds []int64
	var pieces []dayPiece
	for i := 0; i+1 < len(dayBounds); i++ {
		for cut, end := dayBounds[i], dayBounds[i+1]; cut < end; {
			t := time.Unix(0, cut).UTC()
			bounds = append(bounds, cut)
			pieces = append(pieces, dayPiece{i, t.Truncate(24 * time.Hour)})
			cut = min(t.Truncate(24*time.Hour).AddDate(0, 0, 1).UnixNano(), end)
		}
	}
	return append(bounds, dayBounds[len(dayBounds)-1]), pieces
}

// AddPriced adds to a the cost of t's tokens, of the price key pk, at the
// prices of period per (docs/ledger.md §3): exact, rounded by the caller.
func AddPriced(a *pricing.Amount, per *pricing.Period, pk source.PriceKey, t source.Totals) {
	rates, bf, _ := per.Rates(pricing.Use{Batch: pk.Batch, Tier: pk.Tier, LongContext: pk.Long})
	a.Add(pricing.Tokens{Input: t.Input(), CacheRead: t.CacheRead, CacheWrite: t.CacheWrite, CacheWrite1h: t.CacheWrite1h,
		Output: t.Completion}, rates, pk.Batch, bf)
}

func abs(u source.USD) source.USD {
	if u < 0 {
		return -u
	}
	return u
}

// outOfTolerance reports whether a row's difference is over both the
// tolerance (in percent of the priced cost) and a cent: a flagged row.
func outOfTolerance(row ReconRow, tolerance *big.Rat) bool {
	diff := abs(row.Difference())
	over := new(big.Rat).Mul(big.NewRat(int64(row.Priced), 1), tolerance)
	over.Quo(over, big.NewRat(100, 1))
	return diff > minDifference && big.NewRat(int64(diff), 1).Cmp(over) > 0
}

// AllOfBill names a row of a bill that is not grouped: the day's whole
// bill.
const AllOfBill = "(all)"

// ReconcileBill sets a provider's own bill against what the provider's
// usage (the records whose provider it is) costs by the price book, per
// day (UTC, as the bills are; span is in UTC) and, where the bill is
// grouped so, per project (OpenAI's project_id, Anthropic's workspace) or
// else per model. A row's Reported is what the provider billed, its Priced
// what the usage costs at list prices; flags follow Reconcile's rule.
func ReconcileBill(ctx context.Context, src source.Source, tenant string, span Span, clock Clock, book *pricing.Book,
	tolerance *big.Rat, provider string, lines []source.BillLine) (*Reconciliation, error) {
	r := &Reconciliation{Tenant: tenant, Span: span, Clock: clock, Tolerance: tolerance, Book: book, Against: provider}
	for _, l := range lines {
		switch {
		case l.Project != "":
			r.GroupBy = "project"
		case l.Model != "" && r.GroupBy == "":
			r.GroupBy = "model"
		}
	}
	bounds := span.DayBounds()
	if len(span.Days) == 0 {
		return r, nil
	}
	q := source.Query{Dim: source.DimPrice, Bounds: bounds, Filter: source.Filter{source.DimProvider: {provider}}}
	if r.GroupBy == "project" {
		q.Also = []source.Dim{source.DimProject}
	}
	res, err := source.AggregateMany(ctx, src, tenant, []source.Query{q})
	if err != nil {
		return nil, err
	}
	type key struct {
		day   int
		group string
	}
	type acc struct {
		row      ReconRow
		priced   pricing.Amount
		billed   bool
		unpriced map[string]bool
	}
	rows := map[key]*acc{}
	at := func(k key) *acc {
		a := rows[k]
		if a == nil {
			a = &acc{row: ReconRow{Date: span.Days[k.day], Model: k.group}, unpriced: map[string]bool{}}
			rows[k] = a
		}
		return a
	}
	unpriced := map[string]bool{}
	for i := range span.Days {
		day := span.Days[i].Start(time.UTC)
		for member, t := range res[0][i] {
			if t.Empty() {
				continue
			}
			name, project, _ := strings.Cut(member, source.PivotSep)
			pk, ok := source.ParsePriceKey(name)
			if !ok {
				continue
			}
			group := AllOfBill
			switch r.GroupBy {
			case "project":
				group = project
			case "model":
				group = pk.Model
			}
			a := at(key{i, group})
			a.row.Calls += t.Calls
			per, ok := book.PeriodOf(pk.Model, day)
			if !ok {
				a.unpriced[pk.Model], unpriced[pk.Model] = true, true
				continue
			}
			AddPriced(&a.priced, per, pk, t)
		}
	}
	var billed pricing.Amount
	for _, l := range lines {
		i := source.IntervalOf(bounds, l.Start)
		if i < 0 {
			continue // outside the window
		}
		group := AllOfBill
		switch r.GroupBy {
		case "project":
			group = l.Project
		case "model":
			group = l.Model
		}
		a := at(key{i, group})
		a.row.Reported += l.Amount
		a.billed = true
		billed.AddUSD(l.Amount)
	}
	var total pricing.Amount
	for _, a := range rows {
		row := a.row
		row.Priced = a.priced.Nano()
		total.AddAmount(&a.priced)
		switch {
		case !a.billed:
			row.Explanations = append(row.Explanations, "usage that is not on the bill")
		case row.Calls == 0 && row.Priced == 0:
			row.Explanations = append(row.Explanations, "billed, and no usage imported for it")
		}
		if len(a.unpriced) > 0 {
			var ms []string
			for m := range a.unpriced {
				ms = append(ms, m)
			}
			sort.Strings(ms)
			row.Explanations = append(row.Explanations, "no price for "+strings.Join(ms, ", ")+": its usage counts $0")
		}
		row.Flagged = outOfTolerance(row, tolerance)
		if row.Flagged {
			r.Flagged++
		}
		r.Rows = append(r.Rows, row)
	}
	r.Reported, r.Priced = billed.Nano(), total.Nano()
	for m := range unpriced {
		r.Unpriced = append(r.Unpriced, m)
	}
	sort.Strings(r.Unpriced)
	sort.Slice(r.Rows, func(i, j int) bool {
		a, b := r.Rows[i], r.Rows[j]
		if da, db := abs(a.Difference()), abs(b.Difference()); da != db {
			return da > db
		}
		if a.Date != b.Date {
			return a.Date.Before(b.Date)
		}
		return a.Model < b.Model
	})
	return r, nil
}
