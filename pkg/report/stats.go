package report

import (
	"context"
	"math/big"
	"sort"
	"strconv"
	"time"

	"github.com/nextcore-ai/nextcore/pkg/source"
)

// Group is the totals of one member of a dimension (one model, one key…).
type Group struct {
	Name string
	source.Totals
}

// Day is the totals of one calendar day.
type Day struct {
	Date Date
	source.Totals
}

// Stats is the dashboard: a window's totals against the previous window,
// its days, and its models.
type Stats struct {
	Tenant   string
	Span     Span
	Clock    Clock
	Current  source.Totals
	Previous source.Totals
	// Models has every model of the current window, cost descending, ties
	// by name (the cost breakdown's order).
	Models []Group
	// PreviousModels has the previous window's models by name.
	PreviousModels map[string]source.Totals
	// Keys and Users, in both windows, for the "suddenly dominates" insight.
	Keys, PreviousKeys   source.Groups
	Users, PreviousUsers source.Groups
	Daily                []Day
	// Top is how many models TopModels lists.
	Top int
	// Quota is the billing month, when limits are known (for insights).
	Quota    *Quota
	Insights []Insight
	// Baseline is a saved report to compare with, when one was given.
	Baseline *Baseline
	// Filter is the --filter the numbers were taken with, if any.
	Filter source.Filter
	// DataStart is when the source's data begins (its oldest record);
	// zero when unknown.
	DataStart time.Time
	// Unpriced is the window's usage that no price covered; CostMode the
	// cost the numbers show.
	Unpriced Unpriced
	CostMode CostMode
	// CacheSaved is what prompt caching saved in the window, priced from
	// the book.
	CacheSaved source.USD
}

// PreviousPartial says whether the data begins after the previous window
// does: that window is only partly covered, so a change against it
// overstates growth (the first weeks of a tenant, a sync --since).
func (s *Stats) PreviousPartial() bool { return PartlyCovered(s.Span, s.DataStart) }

// PartlyCovered says whether data that begins at dataStart (zero: unknown)
// covers the span's previous window only in part, or not at all.
func PartlyCovered(span Span, dataStart time.Time) bool {
	return !dataStart.IsZero() && dataStart.After(span.Previous.Start)
}

// Options shape a report.
type Options struct {
	Top    int           // models in the top list; 5 when 0
	Filter source.Filter // only the calls that match (--filter)
	// DataStart is when the source's data begins, if known.
	DataStart time.Time
	// Money is how costs are reckoned; nil: as the records report them.
	Money *Money
}

// BuildStats computes the dashboard for tenant over span.
func BuildStats(ctx context.Context, src source.Source, tenant string, span Span, clock Clock, opt Options) (*Stats, error) {
	s := &Stats{Tenant: tenant, Span: span, Clock: clock, Top: opt.Top, Filter: opt.Filter, DataStart: opt.DataStart,
		CostMode: CostMode(opt.Money.ModeName())}
	if s.Top <= 0 {
		s.Top = 5
	}
	qs := []source.Query{
		{Dim: source.DimModel, Bounds: span.Current.Bounds(), Latency: true},
		{Dim: source.DimModel, Bounds: span.Previous.Bounds(), Latency: true},
		{Dim: source.DimAll, Bounds: span.DayBounds()},
	}
	// Keys and users are compared by calls (the "suddenly dominates"
	// insight): no money. A filtered report is one pass over the records:
	// they are asked in it. Otherwise only when the rule can fire, after
	// the totals of both windows are known: thousands of members a window.
	members := []source.Query{
		{Dim: source.DimKey, Bounds: span.Current.Bounds(), CountsOnly: true, CallsOnly: true},
		{Dim: source.DimKey, Bounds: span.Previous.Bounds(), CountsOnly: true, CallsOnly: true},
		{Dim: source.DimUser, Bounds: span.Current.Bounds(), CountsOnly: true, CallsOnly: true},
		{Dim: source.DimUser, Bounds: span.Previous.Bounds(), CountsOnly: true, CallsOnly: true},
	}
	asked := len(opt.Filter) > 0
	if asked {
		qs = append(qs, members...)
	}
	for i := range qs {
		qs[i].Filter = opt.Filter
	}
	// What caching saved. A filtered report is answered by a pass over
	// the records' columns, a server's in one call: it is asked with the
	// rest. Otherwise rollup rows answer it, after the rest, when there are
	// cache reads (the price book is read only then).
	start, end := span.Current.Start.UnixNano(), span.Current.End.UnixNano()
	var savings Savings
	save := false
	if _, remote := src.(source.Remote); len(opt.Filter) > 0 || remote {
		var saving source.Query
		if saving, savings, save = opt.Money.SavingsQuery(start, end, opt.Filter); save {
			qs = append(qs, saving)
		}
	}
	res, sums, err := opt.Money.Aggregate(ctx, src, tenant, qs)
	if err != nil {
		return nil, err
	}
	cur, prev, daily := res[0], res[1], res[2]
	if asked {
		s.Keys, s.PreviousKeys, s.Users, s.PreviousUsers = res[3][0], res[4][0], res[5][0], res[6][0]
	}
	s.Unpriced = sums[0].Unpriced
	s.Models = SortGroups(cur[0], ByCost)
	for _, g := range s.Models {
		s.Current.Add(g.Totals)
	}
	sums[0].SetCosts(&s.Current)
	s.PreviousModels = map[string]source.Totals{}
	for name, t := range prev[0] {
		if !t.Empty() {
			s.PreviousModels[name] = t
			s.Previous.Add(t)
		}
	}
	sums[1].SetCosts(&s.Previous)
	if !asked && dominanceCounts(s.Current.Calls, s.Previous.Calls) {
		m, err := source.AggregateMany(ctx, src, tenant, members)
		if err != nil {
			return nil, err
		}
		s.Keys, s.PreviousKeys, s.Users, s.PreviousUsers = m[0][0], m[1][0], m[2][0], m[3][0]
	}
	switch {
	case s.Current.CacheRead == 0:
	case save:
		s.CacheSaved = savings.Of(res[len(res)-1])
	default:
		if s.CacheSaved, err = opt.Money.CacheSavings(ctx, src, tenant, start, end, opt.Filter); err != nil {
			return nil, err
		}
	}
	for i, d := range span.Days {
		s.Daily = append(s.Daily, Day{Date: d, Totals: daily[i][""]})
	}
	return s, nil
}

// Ordering is the order of a ranking.
type Ordering string

// Rankings: by calls, tokens or cost, descending, ties by name.
const (
	ByCalls  Ordering = "calls"
	ByTokens Ordering = "tokens"
	ByCost   Ordering = "cost"
)

// SortGroups lists the groups with usage, in the given order.
func SortGroups(g source.Groups, by Ordering) []Group {
	out := make([]Group, 0, len(g))
	for name, t := range g {
		if !t.Empty() {
			out = append(out, Group{name, t})
		}
	}
	key := func(t source.Totals) int64 {
		switch by {
		case ByCalls:
			return t.Calls
		case ByTokens:
			return t.Tokens()
		}
		return int64(t.Cost)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := key(out[i].Totals), key(out[j].Totals)
		if a != b {
			return a > b
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// TopModels are the first Top models by calls, ties by name.
func (s *Stats) TopModels() []Group {
	m := make(source.Groups, len(s.Models))
	for _, g := range s.Models {
		m[g.Name] = g.Totals
	}
	top := SortGroups(m, ByCalls)
	if len(top) > s.Top {
		top = top[:s.Top]
	}
	return top
}

// SuccessRate is successful / calls of known status × 100, nil without
// them (docs/ledger: calls of unknown outcome are left out).
func SuccessRate(t source.Totals) *big.Rat { return Percent(t.Successful, t.Known()) }

// CacheHitRate is the share of input served from a prompt cache, as a
// fraction: cacheRead / (input + cacheRead + cacheWrite + cacheWrite1h);
// nil without input.
func CacheHitRate(t source.Totals) *big.Rat {
	if t.Prompt == 0 {
		return nil
	}
	return ratio(t.CacheRead, t.Prompt)
}

// AverageCost is the cost per call in dollars, nil without calls. The cost
// of records that count no calls (requests 0) is left out.
func AverageCost(t source.Totals) *big.Rat {
	if t.Calls == 0 {
		return nil
	}
	return ratio(int64(t.Cost-t.NoCallsCost), t.Calls*source.NanosPerUSD)
}

// PeakDay is the day with the most calls (the earliest of equals), or false
// when no day had any.
func (s *Stats) PeakDay() (Day, bool) {
	best, ok := Day{}, false
	for _, d := range s.Daily {
		if d.Calls > 0 && (!ok || d.Calls > best.Calls) {
			best, ok = d, true
		}
	}
	return best, ok
}

// Label names the window for a header: "last 7 days", "today", "Nov 1 – Nov 30".
func (s Span) Label() string {
	switch s.Period {
	case Today:
		return "today"
	case Custom:
		return "custom range"
	}
	return "last " + strconv.Itoa(s.Period.Days()) + " days"
}

// DateRange is "Nov 14 – Nov 20, 2026" for the days of the window.
func (s Span) DateRange() string {
	if len(s.Days) == 0 {
		return ""
	}
	a, b := s.Days[0], s.Days[len(s.Days)-1]
	if a == b {
		return a.Format("Mon Jan 2, 2006")
	}
	if a.Year == b.Year {
		return a.Format("Jan 2") + " – " + b.Format("Jan 2, 2006")
	}
	return a.Format("Jan 2, 2006") + " – " + b.Format("Jan 2, 2006")
}

// ZoneName is the IANA name of the report's zone.
func (s Span) ZoneName() string { return s.Location.String() }

// Elapsed is how long the current window has run, for rates.
func (s Span) Elapsed() time.Duration { return s.Current.End.Sub(s.Current.Start) }

// Baseline is a saved report to compare with (--compare-to).
type Baseline struct {
	Label      string // where it came from, e.g. the file name
	Period     string
	AsOf       string
	Calls      int64
	Successful int64
	Tokens     int64
	Cost       source.USD
}

// SpendIncrease is the change in cost against the baseline when there is
// one, else against the previous window; null when that spent nothing.
func (s *Stats) SpendIncrease() (Number, string) {
	if b := s.Baseline; b != nil {
		return Change(int64(s.Current.Cost), int64(b.Cost)), b.Label
	}
	return Change(int64(s.Current.Cost), int64(s.Previous.Cost)), "the previous period"
}

// GroupBaseline is a saved report's groups (models, or a breakdown's rows)
// to compare a report with (--compare-to).
type GroupBaseline struct {
	Label  string
	Groups map[string]BaselineGroup // by the group's name (a breakdown's keys joined by source.PivotSep)
}

// BaselineGroup is one saved group's calls and cost.
type BaselineGroup struct {
	Calls int64
	Cost  source.USD
}
