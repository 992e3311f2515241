package report

import (
	"context"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/nextcore-ai/nextcore/pkg/source"
)

// Limits are a tenant's monthly limits; nil means unlimited.
type Limits struct {
	Calls  *int64
	Tokens *int64
	Spend  *source.USD
}

// Level is how close a metric is to its limit.
type Level string

// The levels, mildest first. Unlimited metrics have no level ("").
const (
	LevelOK       Level = "ok"
	LevelWarning  Level = "warning"
	LevelExceeded Level = "exceeded"
)

func (l Level) rank() int {
	switch l {
	case LevelWarning:
		return 1
	case LevelExceeded:
		return 2
	}
	return 0
}

// Worse is the more severe of two levels.
func Worse(a, b Level) Level {
	if b.rank() > a.rank() || a == "" {
		return b
	}
	return a
}

// AtLeast reports whether l is as severe as m.
func (l Level) AtLeast(m Level) bool { return l != "" && l.rank() >= m.rank() }

// QuotaMetric is one metric of the billing month against its limit.
type QuotaMetric struct {
	Key            string // apiCalls, tokens, spend
	Label          string
	Money          bool  // Used, Limit and Projected are nano-USD
	Used           int64 // calls, tokens, or nano-USD
	Limit          *int64
	Percent        *big.Rat // nil when unlimited
	Level          Level    // "" when unlimited
	Projected      *big.Rat // month-end projection, same unit as Used
	ProjectedLevel Level
	// ReachedAt is when the limit is (or was) reached at the month's
	// run-rate; zero when it is not reached this month.
	ReachedAt time.Time
	// Pace7 is the month-end projection at the last 7 days' run-rate:
	// used + (used in the last 7 × 24 h) / 7 days × the time left.
	Pace7 *big.Rat
	// Reached7 is when the limit is reached at that pace; zero when not
	// this month (or already reached).
	Reached7 time.Time
}

// Quota is the billing month: the calendar month, in the report's zone, that
// holds now.
type Quota struct {
	Tenant      string
	Clock       Clock
	Period      Window // [1st 00:00, 1st of next month 00:00)
	WarnAt      *big.Rat
	Metrics     []QuotaMetric
	Level       Level // the worst of the metrics' levels
	Projected   Level // the worst of the projected levels
	DaysInMonth int
	// Baseline is a saved quota report's use per metric (--compare-to).
	Baseline *QuotaBaseline
	// Unpriced is the month's usage so far that no price covered; CostMode
	// the cost the spend shows.
	Unpriced Unpriced
	CostMode CostMode
}

// QuotaBaseline is what a saved quota report had used, by metric key.
type QuotaBaseline struct {
	Label string
	AsOf  string
	Used  map[string]*big.Rat // calls and tokens, or dollars for spend
}

// Elapsed is the part of the billing month before now.
func (q *Quota) Elapsed() time.Duration { return q.Clock.Now.Sub(q.Period.Start) }

// DaysElapsed is how many days of the month have begun by now (for "20 of
// 30 days elapsed"); the whole month once it is over.
func (q *Quota) DaysElapsed() int {
	first := DateOf(q.Period.Start)
	return first.DaysUntil(q.Clock.Today) + 1
}

// BillingMonth is the month holding the clock's today.
func BillingMonth(clock Clock) Window {
	loc := clock.Now.Location()
	first := Date{clock.Today.Year, clock.Today.Month, 1}
	next := DateOf(first.utc().AddDate(0, 1, 0))
	return Window{first.Start(loc), next.Start(loc)}
}

// DefaultWarnAt is the warning threshold in percent.
const DefaultWarnAt = 80

// BuildQuota measures the billing month against limits. warnAt is the
// warning threshold in percent (nil for DefaultWarnAt).
func BuildQuota(ctx context.Context, src source.Source, tenant string, clock Clock, limits Limits, warnAt *big.Rat, money *Money) (*Quota, error) {
	if warnAt == nil {
		warnAt = big.NewRat(DefaultWarnAt, 1)
	}
	month := BillingMonth(clock)
	q := &Quota{Tenant: tenant, Clock: clock, Period: month, WarnAt: warnAt,
		DaysInMonth: DateOf(month.Start).DaysUntil(DateOf(month.End.In(month.Start.Location()))), CostMode: CostMode(money.ModeName())}
	used, last7 := source.Totals{}, source.Totals{}
	weekAgo := clock.Now.Add(-7 * 24 * time.Hour)
	if clock.Now.After(month.Start) {
		res, sums, err := money.Aggregate(ctx, src, tenant, []source.Query{
			{Dim: source.DimAll, Bounds: []int64{month.Start.UnixNano(), clock.Now.UnixNano()}},
			{Dim: source.DimAll, Bounds: []int64{weekAgo.UnixNano(), clock.Now.UnixNano()}},
		})
		if err != nil {
			return nil, err
		}
		used, last7 = res[0][0][""], res[1][0][""]
		q.Unpriced = sums[0].Unpriced
	}
	var spend *int64
	if limits.Spend != nil {
		v := int64(*limits.Spend)
		spend = &v
	}
	q.Metrics = []QuotaMetric{
		q.metric("apiCalls", "API calls", false, used.Calls, last7.Calls, limits.Calls),
		q.metric("tokens", "Tokens", false, used.Tokens(), last7.Tokens(), limits.Tokens),
		q.metric("spend", "Spend", true, int64(used.Cost), int64(last7.Cost), spend),
	}
	q.Level = LevelOK
	q.Projected = LevelOK
	for _, m := range q.Metrics {
		q.Level = Worse(q.Level, m.Level)
		q.Projected = Worse(q.Projected, m.ProjectedLevel)
	}
	return q, nil
}

func (q *Quota) metric(key, label string, money bool, used, last7 int64, limit *int64) QuotaMetric {
	m := QuotaMetric{Key: key, Label: label, Money: money, Used: used, Limit: limit}
	elapsed := q.Elapsed().Nanoseconds()
	length := q.Period.End.Sub(q.Period.Start).Nanoseconds()
	m.Projected = new(big.Rat).SetInt64(used)
	if elapsed > 0 && elapsed < length {
		m.Projected.Mul(m.Projected, ratio(length, elapsed))
	}
	// The last 7 days' pace over the time left in the month.
	week := (7 * 24 * time.Hour).Nanoseconds()
	left := max(length-elapsed, 0)
	m.Pace7 = new(big.Rat).Add(new(big.Rat).SetInt64(used), new(big.Rat).Mul(ratio(last7, week), new(big.Rat).SetInt64(left)))
	if limit != nil && used < *limit && last7 > 0 {
		// (limit − used) / (last7 / week) from now.
		d := new(big.Int).Mul(big.NewInt(*limit-used), big.NewInt(week))
		d.Quo(d, big.NewInt(last7))
		if d.IsInt64() && d.Int64() <= left {
			m.Reached7 = q.Clock.Now.Add(time.Duration(d.Int64()))
		}
	}
	if limit == nil {
		return m
	}
	m.Percent = Percent(used, *limit)
	m.Level = q.level(m.Percent)
	pp := new(big.Rat).Quo(m.Projected, new(big.Rat).SetInt64(*limit))
	m.ProjectedLevel = q.level(pp.Mul(pp, big.NewRat(100, 1)))
	if used > 0 && used >= *limit {
		m.ReachedAt = q.Clock.Now // already there (the exact crossing is not kept)
	} else if used > 0 && elapsed > 0 {
		// At the run-rate so far, the limit is reached after elapsed × limit/used.
		at := new(big.Int).Mul(big.NewInt(elapsed), big.NewInt(*limit))
		at.Quo(at, big.NewInt(used))
		if at.IsInt64() && at.Int64() < length {
			m.ReachedAt = q.Period.Start.Add(time.Duration(at.Int64()))
		}
	}
	return m
}

// Noun names the metric inside a sentence: "API calls", "tokens", "spend".
func (m QuotaMetric) Noun() string {
	if m.Key == "apiCalls" {
		return m.Label
	}
	return strings.ToLower(m.Label)
}

func (q *Quota) level(percent *big.Rat) Level {
	switch {
	case percent == nil:
		return ""
	case percent.Cmp(big.NewRat(100, 1)) >= 0:
		return LevelExceeded
	case percent.Cmp(q.WarnAt) >= 0:
		return LevelWarning
	}
	return LevelOK
}

// ParseFailOn reads --fail-on.
func ParseFailOn(s string) (string, error) {
	switch s {
	case "warning", "exceeded", "projected", "unpriced":
		return s, nil
	}
	return "", fmt.Errorf("unknown check %q (use warning, exceeded, projected or unpriced)", s)
}

// Fails reports whether the quota fails a --fail-on check: warning (any
// metric at the warning level or over), exceeded (any metric at 100 % or
// over), projected (any metric exceeded now or by the month-end projection),
// unpriced (usage the spend counts as $0 for want of a price).
func (q *Quota) Fails(failOn string) bool {
	switch failOn {
	case "unpriced":
		return !q.Unpriced.Empty()
	case "warning":
		return q.Level.AtLeast(LevelWarning)
	case "exceeded":
		return q.Level.AtLeast(LevelExceeded)
	case "projected":
		return q.Level.AtLeast(LevelExceeded) || q.Projected.AtLeast(LevelExceeded)
	}
	return false
}

// HasLimits reports whether any metric is limited.
func (l Limits) HasLimits() bool { return l.Calls != nil || l.Tokens != nil || l.Spend != nil }
