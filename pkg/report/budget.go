package report

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nextcore-ai/nextcore/pkg/source"
)

// Budget is a limit on the usage of part of a tenant (its scope: any
// filter) over a period.
type Budget struct {
	Name   string
	Scope  source.Filter // nil: the whole tenant
	Metric string        // spend, calls or tokens
	Limit  int64         // nano-USD for spend; above 0
	Period BudgetPeriod
	// Thresholds are percents of the limit, ascending: each is alerted
	// once a period; the highest below 100 is the warning level.
	Thresholds []*big.Rat
}

// The metrics a budget limits.
const (
	BudgetSpend  = "spend"
	BudgetCalls  = "calls"
	BudgetTokens = "tokens"
)

// DefaultBudgetThresholds are a budget's thresholds unless it names some.
func DefaultBudgetThresholds() []*big.Rat {
	return []*big.Rat{big.NewRat(50, 1), big.NewRat(80, 1), big.NewRat(100, 1)}
}

// BudgetPeriod is day, week, month (calendar, in the report's zone), or
// the rolling N days that end with today.
type BudgetPeriod struct {
	Kind string // day, week, month, rolling
	Days int    // of a rolling period
}

// maxRollingDays bounds a rolling period.
const maxRollingDays = 366

// ParseBudgetPeriod reads day, week, month or rolling-Nd.
func ParseBudgetPeriod(s string) (BudgetPeriod, error) {
	switch s {
	case "day", "week", "month":
		return BudgetPeriod{Kind: s}, nil
	}
	if n, ok := strings.CutPrefix(s, "rolling-"); ok {
		if d, ok := strings.CutSuffix(n, "d"); ok {
			if days, err := strconv.Atoi(d); err == nil && days >= 1 && days <= maxRollingDays && d[0] != '0' && d[0] != '+' {
				return BudgetPeriod{Kind: "rolling", Days: days}, nil
			}
		}
	}
	return BudgetPeriod{}, fmt.Errorf("unknown budget period %q (use day, week, month or rolling-Nd, such as rolling-7d; N from 1 to %d)", s, maxRollingDays)
}

func (p BudgetPeriod) String() string {
	if p.Kind == "rolling" {
		return fmt.Sprintf("rolling-%dd", p.Days)
	}
	return p.Kind
}

// Window is the period that holds the clock's today, in its zone: the day;
// the week from Monday; the calendar month; or the N days that end with
// today.
func (p BudgetPeriod) Window(clock Clock) Window {
	loc := clock.Now.Location()
	first, next := clock.Today, clock.Today.AddDays(1)
	switch p.Kind {
	case "week":
		first = clock.Today.AddDays(-((int(clock.Today.Weekday()) + 6) % 7))
		next = first.AddDays(7)
	case "month":
		return BillingMonth(clock)
	case "rolling":
		first = clock.Today.AddDays(1 - p.Days)
	}
	return Window{first.Start(loc), next.Start(loc)}
}

// BudgetStatus is a budget measured at the clock's now.
type BudgetStatus struct {
	Budget
	Window  Window
	Used    int64    // calls, tokens, or nano-USD, from the window's start to now
	Percent *big.Rat // used / limit × 100
	Level   Level
	// Projected is the use at the window's end at its run-rate so far
	// (used / elapsed × length, in real time), as the quota's.
	Projected      *big.Rat
	ProjectedLevel Level
	// Overrun is the day the limit is reached: the day the use so far
	// reached it, or the day the run-rate reaches it before the window
	// ends; zero when neither.
	Overrun Date
	// Crossed are the thresholds the use has reached.
	Crossed []*big.Rat
}

// WarnAt is the percent from which a budget is at the warning level: its
// highest threshold below 100 (none: only exceeded).
func (b Budget) WarnAt() *big.Rat {
	var at *big.Rat
	for _, t := range b.Thresholds {
		if t.Cmp(big.NewRat(100, 1)) < 0 {
			at = t
		}
	}
	return at
}

// Budgets measures each budget at the clock's now, with what Money says
// of each (its usage without a price). The use of each period is counted
// by day, in one pass for all of them.
func Budgets(ctx context.Context, src source.Source, tenant string, clock Clock, budgets []Budget, money *Money) ([]BudgetStatus, []Summary, error) {
	out := make([]BudgetStatus, len(budgets))
	var qs []source.Query
	for i, b := range budgets {
		w := b.Period.Window(clock)
		out[i] = BudgetStatus{Budget: b, Window: w}
		// By day, from the window's start to now.
		bounds := []int64{w.Start.UnixNano()}
		loc := clock.Now.Location()
		for d := DateOf(w.Start.In(loc)).AddDays(1); d.Start(loc).Before(clock.Now) && d.Start(loc).Before(w.End); d = d.AddDays(1) {
			bounds = append(bounds, d.Start(loc).UnixNano())
		}
		end := clock.Now
		if w.End.Before(end) {
			end = w.End
		}
		if !end.After(w.Start) {
			end = w.Start
		}
		bounds = append(bounds, end.UnixNano())
		qs = append(qs, source.Query{Dim: source.DimAll, Bounds: bounds, Filter: b.Scope})
	}
	res, sums, err := money.Aggregate(ctx, src, tenant, qs)
	if err != nil {
		return nil, nil, err
	}
	for i := range out {
		out[i].measure(clock, res[i], sums[i])
	}
	return out, sums, nil
}

// measure fills s in from its window's use by day, and the sum of its cost
// (rounded once: the days' costs may each be a fraction of a nano-dollar
// off).
func (s *BudgetStatus) measure(clock Clock, days []source.Groups, sum Summary) {
	amount := func(t source.Totals) int64 {
		switch s.Metric {
		case BudgetSpend:
			return int64(t.Cost)
		case BudgetCalls:
			return t.Calls
		}
		return t.Tokens()
	}
	loc := clock.Now.Location()
	first := DateOf(s.Window.Start.In(loc))
	for k, g := range days {
		s.Used += amount(g[""])
		if s.Used >= s.Limit && s.Overrun == (Date{}) {
			s.Overrun = first.AddDays(k)
		}
	}
	if s.Metric == BudgetSpend {
		s.Used = int64(sum.Cost)
	}
	s.Percent = Percent(s.Used, s.Limit)
	s.Level = s.level(s.Percent)
	elapsed := clock.Now.Sub(s.Window.Start).Nanoseconds()
	length := s.Window.End.Sub(s.Window.Start).Nanoseconds()
	s.Projected = new(big.Rat).SetInt64(s.Used)
	if elapsed > 0 && elapsed < length {
		s.Projected.Mul(s.Projected, ratio(length, elapsed))
	}
	s.ProjectedLevel = s.level(s.ProjectedPercent())
	if s.Overrun == (Date{}) && s.Used > 0 && elapsed > 0 && elapsed < length && s.ProjectedLevel == LevelExceeded {
		// At the run-rate so far the limit is reached after elapsed × limit / used.
		at := new(big.Int).Mul(big.NewInt(elapsed), big.NewInt(s.Limit))
		at.Quo(at, big.NewInt(s.Used))
		if at.IsInt64() && at.Int64() < length {
			s.Overrun = DateOf(s.Window.Start.Add(time.Duration(at.Int64())).In(loc))
		}
	}
	for _, t := range s.Thresholds {
		if s.Percent != nil && s.Percent.Cmp(t) >= 0 {
			s.Crossed = append(s.Crossed, t)
		}
	}
}

// ProjectedPercent is the projection as a percent of the limit.
func (s *BudgetStatus) ProjectedPercent() *big.Rat {
	pp := new(big.Rat).Quo(s.Projected, new(big.Rat).SetInt64(s.Limit))
	return pp.Mul(pp, big.NewRat(100, 1))
}

func (s *BudgetStatus) level(percent *big.Rat) Level {
	switch {
	case percent == nil:
		return ""
	case percent.Cmp(big.NewRat(100, 1)) >= 0:
		return LevelExceeded
	case s.WarnAt() != nil && percent.Cmp(s.WarnAt()) >= 0:
		return LevelWarning
	}
	return LevelOK
}

// BudgetsFail reports whether any budget fails a --fail-on check: warning,
// exceeded, or projected (exceeded now or at the period's end).
func BudgetsFail(st []BudgetStatus, failOn string) bool {
	for _, s := range st {
		switch {
		case failOn == "warning" && s.Level.AtLeast(LevelWarning),
			failOn == "exceeded" && s.Level.AtLeast(LevelExceeded),
			failOn == "projected" && (s.Level.AtLeast(LevelExceeded) || s.ProjectedLevel.AtLeast(LevelExceeded)):
			return true
		}
	}
	return false
}

// SortBudgets orders budgets by name.
func SortBudgets(bs []Budget) {
	slices.SortFunc(bs, func(a, b Budget) int { return cmp.Compare(a.Name, b.Name) })
}

// BudgetReport is usage budgets: every budget at the clock's now.
type BudgetReport struct {
	Tenant   string
	Clock    Clock
	Budgets  []BudgetStatus
	Unpriced Unpriced // the usage without a price in any budget's scope
	CostMode CostMode
}

// BuildBudgets measures budgets (sorted by name) at the clock's now.
func BuildBudgets(ctx context.Context, src source.Source, tenant string, clock Clock, budgets []Budget, money *Money) (*BudgetReport, error) {
	budgets = slices.Clone(budgets)
	SortBudgets(budgets)
	st, sums, err := Budgets(ctx, src, tenant, clock, budgets, money)
	if err != nil {
		return nil, err
	}
	r := &BudgetReport{Tenant: tenant, Clock: clock, Budgets: st, CostMode: CostMode(money.ModeName())}
	for i, s := range st {
		if s.Metric == BudgetSpend {
			r.Unpriced.Add(sums[i].Unpriced)
		}
	}
	return r, nil
}

// Level is the worst of the budgets' levels, and of their projections.
func (r *BudgetReport) Level() (now, projected Level) {
	now, projected = LevelOK, LevelOK
	for _, s := range r.Budgets {
		now, projected = Worse(now, s.Level), Worse(projected, s.ProjectedLevel)
	}
	return now, projected
}

// ScopeString is a scope as its filter reads: "project=search,model=gpt-4o"
// (dimensions in their order, values as given), "all" for none.
func ScopeString(f source.Filter) string {
	var parts []string
	for _, d := range slices.Sorted(maps.Keys(f)) {
		for _, v := range f[d] {
			if v == "" {
				v = None
			}
			parts = append(parts, DimName(d)+"="+v)
		}
	}
	if len(parts) == 0 {
		return "all"
	}
	return strings.Join(parts, ",")
}
