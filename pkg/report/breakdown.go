package report

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/nextcore-ai/nextcore/pkg/source"
)

// By is a dimension of a breakdown: a member dimension (model, key, user,
// region, status) or a time one (day, hour).
type By string

// The dimensions of --by.
const (
	ByModel  By = "model"
	ByKey    By = "key"
	ByUser   By = "user"
	ByRegion By = "region"
	ByStatus By = "status"
	// The ledger's (records v2).
	ByProject  By = "project"
	ByTag      By = "tag" // groups overlap: a call with two tags is in two
	ByProvider By = "provider"
	ByDay      By = "day"
	ByHour     By = "hour"
)

// ParseBy reads a --by value.
func ParseBy(s string) (By, error) {
	switch b := By(strings.ToLower(s)); b {
	case ByModel, ByKey, ByUser, ByRegion, ByStatus, ByProject, ByTag, ByProvider, ByDay, ByHour:
		return b, nil
	}
	return "", fmt.Errorf("unknown dimension %q (use model, key, user, region, status, project, tag, provider, day or hour)", s)
}

func (b By) dim() (source.Dim, bool) {
	switch b {
	case ByModel:
		return source.DimModel, true
	case ByKey:
		return source.DimKey, true
	case ByUser:
		return source.DimUser, true
	case ByRegion:
		return source.DimRegion, true
	case ByStatus:
		return source.DimStatus, true
	case ByProject:
		return source.DimProject, true
	case ByTag:
		return source.DimTag, true
	case ByProvider:
		return source.DimProvider, true
	}
	return 0, false
}

// DimOf is the member dimension of a --filter key.
func DimOf(name string) (source.Dim, bool) { return By(name).dim() }

// DimName is the --filter key of a member dimension.
func DimName(d source.Dim) string {
	for _, b := range []By{ByModel, ByKey, ByUser, ByRegion, ByStatus, ByProject, ByTag, ByProvider} {
		if bd, _ := b.dim(); bd == d {
			return string(b)
		}
	}
	return fmt.Sprint(d)
}

// None is the name of the group of calls without a user or region.
const None = "(none)"

// BreakdownRow is one group of a breakdown: its names along each --by, and
// its totals in the window and in the previous one.
type BreakdownRow struct {
	Keys     []string
	Current  source.Totals
	Previous source.Totals
	order    int // the row's day or hour, for time order
}

// Breakdown is a window's calls grouped by one or more dimensions.
type Breakdown struct {
	Tenant   string
	Span     Span
	Clock    Clock
	By       []By
	Filter   source.Filter
	Rows     []BreakdownRow
	Total    source.Totals // every row's, not only those listed
	Previous source.Totals
	// Overlapping: grouped by tag, a call with several tags is in several
	// rows, so the rows add up to more than Total (the window's calls).
	Overlapping bool
	Count       int // rows before --limit
	// Baseline is a saved breakdown to compare with (--compare-to).
	Baseline *GroupBaseline
	// DataStart is when the source's data begins, if known.
	DataStart time.Time
	// Unpriced is the window's usage that no price covered; CostMode the
	// cost the numbers show.
	Unpriced Unpriced
	CostMode CostMode
}

// BreakdownOptions shape a breakdown.
type BreakdownOptions struct {
	By     []By
	Filter source.Filter
	Sort   string // cost (default), calls, tokens, name; time rows go in time order unless sorted
	Limit  int
	Money  *Money // how costs are reckoned; nil: as the records report them
}

// BuildBreakdown groups the window's calls by the given dimensions. At most
// one time dimension, day or hour, may be among them; its rows are compared
// with the same day or hour of the previous window, the others with the
// same group there.
func BuildBreakdown(ctx context.Context, src source.Source, tenant string, span Span, clock Clock, opt BreakdownOptions) (*Breakdown, error) {
	var dims []source.Dim
	var timeBy By
	for _, b := range opt.By {
		if d, ok := b.dim(); ok {
			dims = append(dims, d)
			continue
		}
		if timeBy != "" {
			return nil, fmt.Errorf("%s and %s: a breakdown takes one time dimension", timeBy, b)
		}
		timeBy = b
	}
	cur, curLabels := timeBounds(timeBy, span.Current, span)
	prev, _ := timeBounds(timeBy, span.Previous, span)
	q := func(bounds []int64) source.Query {
		q := source.Query{Dim: source.DimAll, Bounds: bounds, Filter: opt.Filter, Latency: true}
		if len(dims) > 0 {
			q.Dim, q.Also = dims[0], dims[1:]
		}
		return q
	}
	qs := []source.Query{q(cur), q(prev)}
	overlapping := slices.Contains(dims, source.DimTag)
	if overlapping {
		// The totals are the windows' calls, each once.
		for _, w := range []Window{span.Current, span.Previous} {
			qs = append(qs, source.Query{Dim: source.DimAll, Bounds: []int64{w.Start.UnixNano(), w.End.UnixNano()}, Filter: opt.Filter, Latency: true})
		}
	}
	res, sums, err := opt.Money.Aggregate(ctx, src, tenant, qs)
	if err != nil {
		return nil, err
	}
	b := &Breakdown{Tenant: tenant, Span: span, Clock: clock, By: opt.By, Filter: opt.Filter, Overlapping: overlapping,
		CostMode: CostMode(opt.Money.ModeName()), Unpriced: sums[0].Unpriced}
	prevBy := map[string]source.Totals{}
	for k, g := range res[1] {
		for name, t := range g {
			if !overlapping {
				b.Previous.Add(t)
			}
			prevBy[rowKey(timeBy, k, name)] = t
		}
	}
	if overlapping {
		b.Total, b.Previous = res[2][0][""], res[3][0][""]
		b.Unpriced = sums[2].Unpriced
	} else {
		sums[1].SetCosts(&b.Previous)
	}
	rows := 0
	for _, g := range res[0] {
		rows += len(g)
	}
	b.Rows = make([]BreakdownRow, 0, rows)
	for k, g := range res[0] {
		for name, t := range g {
			if t.Empty() {
				continue
			}
			var keys []string
			members := strings.Split(name, source.PivotSep)
			mi := 0
			for _, by := range opt.By {
				if by == timeBy {
					keys = append(keys, curLabels[k])
					continue
				}
				v := ""
				if len(dims) > 0 {
					v = members[mi]
				}
				mi++
				if v == "" {
					v = None
				}
				keys = append(keys, v)
			}
			b.Rows = append(b.Rows, BreakdownRow{Keys: keys, Current: t, Previous: prevBy[rowKey(timeBy, k, name)], order: k})
			if !overlapping {
				b.Total.Add(t)
			}
		}
	}
	if !overlapping {
		sums[0].SetCosts(&b.Total)
	}
	b.Count = len(b.Rows)
	sortRows(b.Rows, opt.Sort, timeBy != "" && opt.Sort == "")
	if opt.Limit > 0 && len(b.Rows) > opt.Limit {
		b.Rows = b.Rows[:opt.Limit]
	}
	return b, nil
}

// rowKey matches a row with its counterpart in the previous window: by
// position for time rows, by name for the rest.
func rowKey(timeBy By, interval int, name string) string {
	if timeBy == "" {
		return name
	}
	return fmt.Sprint(interval) + "|" + name
}

// timeBounds splits a window into days or hours (or keeps it whole) and
// names each piece.
func timeBounds(by By, w Window, span Span) ([]int64, []string) {
	loc := span.Location
	switch by {
	case ByDay:
		var b []int64
		var labels []string
		for d := DateOf(w.Start.In(loc)); ; d = d.AddDays(1) {
			s := d.Start(loc)
			if !s.Before(w.End) {
				break
			}
			if s.Before(w.Start) {
				s = w.Start
			}
			b = append(b, s.UnixNano())
			labels = append(labels, d.String())
		}
		return append(b, w.End.UnixNano()), labels
	case ByHour:
		var b []int64
		var labels []string
		for t := w.Start; t.Before(w.End); {
			// The next local :00, which is :30 or :45 past a UTC hour in some zones.
			local := t.In(loc)
			off := time.Duration(local.Minute())*time.Minute + time.Duration(local.Second())*time.Second + time.Duration(local.Nanosecond())
			b = append(b, t.UnixNano())
			labels = append(labels, local.Format("2006-01-02 15:04 MST"))
			t = t.Add(time.Hour - off)
		}
		return append(b, w.End.UnixNano()), labels
	}
	return []int64{w.Start.UnixNano(), w.End.UnixNano()}, []string{""}
}

func sortRows(rows []BreakdownRow, by string, chronological bool) {
	key := func(r BreakdownRow) int64 {
		switch by {
		case "calls":
			return r.Current.Calls
		case "tokens":
			return r.Current.Tokens()
		}
		return int64(r.Current.Cost)
	}
	name := func(r BreakdownRow) string { return strings.Join(r.Keys, "\x00") }
	sort.SliceStable(rows, func(i, j int) bool {
		if chronological && rows[i].order != rows[j].order {
			return rows[i].order < rows[j].order
		}
		if chronological || by == "name" {
			return name(rows[i]) < name(rows[j])
		}
		a, b := key(rows[i]), key(rows[j])
		if a != b {
			return a > b
		}
		return name(rows[i]) < name(rows[j])
	})
}

// ParseSort reads --sort.
func ParseSort(s string) (string, error) {
	switch s {
	case "", "cost", "calls", "tokens", "name":
		return s, nil
	}
	return "", fmt.Errorf("unknown order %q (use cost, calls, tokens or name)", s)
}

// ParseFilter reads --filter values: "model=gpt-4o,region=eu-west"; a key
// given twice keeps either value.
func ParseFilter(specs []string) (source.Filter, error) {
	f := source.Filter{}
	for _, spec := range specs {
		for _, part := range strings.Split(spec, ",") {
			k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
			if !ok || k == "" {
				return nil, fmt.Errorf("%q is not name=value (such as model=gpt-4o,region=eu-west)", part)
			}
			d, ok := DimOf(strings.ToLower(k))
			if !ok {
				return nil, fmt.Errorf("%q: filter on model, key, user, region, status, project, tag or provider", part)
			}
			if v == None {
				v = ""
			}
			f[d] = append(f[d], v)
		}
	}
	if len(f) == 0 {
		return nil, nil
	}
	return f, nil
}

// Percentiles of a group's latency.
type Percentiles struct {
	Calls                    int64 // calls that reported a latency
	P50, P90, P95, P99, Mean float64
}

// LatencyOf is a group's percentiles (nearest rank, within 1 %) and exact
// mean; calls without a latency are left out, never counted as 0 ms.
func LatencyOf(t source.Totals) (Percentiles, bool) {
	if t.LatencyN == 0 || t.Latency == nil {
		return Percentiles{}, false
	}
	h := t.Latency
	return Percentiles{Calls: t.LatencyN, P50: h.Quantile(0.50), P90: h.Quantile(0.90), P95: h.Quantile(0.95), P99: h.Quantile(0.99),
		Mean: float64(t.LatencySum) / float64(t.LatencyN)}, true
}
