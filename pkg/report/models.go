package report

import (
	"context"
	"fmt"
	"time"

	"github.com/nextcore-ai/nextcore/pkg/source"
)

// ModelRanking is the models of a window ranked by calls, tokens or cost.
type ModelRanking struct {
	Tenant string
	Span   Span
	Clock  Clock
	By     Ordering
	Total  source.Totals // every model of the window, not only those listed
	Models []Group       // at most Limit, in the ranking's order
	Count  int           // models in the window
	// Previous has each model's totals in the previous window (--compare).
	Previous source.Groups
	Filter   source.Filter
	// Baseline is a saved ranking to compare with (--compare-to).
	Baseline *GroupBaseline
	// DataStart is when the source's data begins, if known.
	DataStart time.Time
	// Unpriced is the window's usage that no price covered; CostMode the
	// cost the numbers show.
	Unpriced Unpriced
	CostMode CostMode
}

// ParseOrdering reads --by.
func ParseOrdering(s string) (Ordering, error) {
	switch o := Ordering(s); o {
	case ByCalls, ByTokens, ByCost:
		return o, nil
	}
	return "", fmt.Errorf("unknown order %q (use calls, tokens or cost)", s)
}

// RankModels ranks the models of the current window.
func RankModels(ctx context.Context, src source.Source, tenant string, span Span, clock Clock, by Ordering, limit int, filter source.Filter, money *Money) (*ModelRanking, error) {
	res, sums, err := money.Aggregate(ctx, src, tenant, []source.Query{
		{Dim: source.DimModel, Bounds: span.Current.Bounds(), Filter: filter, Latency: true},
		{Dim: source.DimModel, Bounds: span.Previous.Bounds(), Filter: filter},
	})
	if err != nil {
		return nil, err
	}
	all := SortGroups(res[0][0], by)
	r := &ModelRanking{Tenant: tenant, Span: span, Clock: clock, By: by, Count: len(all), Previous: res[1][0], Filter: filter,
		Unpriced: sums[0].Unpriced, CostMode: CostMode(money.ModeName())}
	for _, m := range all {
		r.Total.Add(m.Totals)
	}
	sums[0].SetCosts(&r.Total)
	if limit > 0 && len(all) > limit {
		all = all[:limit]
	}
	r.Models = all
	return r, nil
}
