package report

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nextcore-ai/nextcore/pkg/source"
)

// Anomaly detection: each day (or hour) of a window is judged against the
// same weekday (and hour) of the weeks before it, so that a weekend is
// judged against weekends and a Monday against Mondays. Over those samples
// a straight line is fitted robustly (Theil–Sen: the median of the slopes
// between every two samples, and the median intercept), so that steady
// growth is expected rather than flagged; the spread is the median of the
// samples' distances from the line (× 1.4826, which makes it the standard
// deviation for normal noise), so that one past spike does not widen the
// range as a mean and standard deviation would. The expected range is the
// line's value now ± 4 spreads (eight samples estimate a spread loosely),
// and never narrower than ± a quarter of the expected value, a small
// absolute floor ($1 of cost, 10 calls) and, for calls, 4 square roots of
// the expected count (the noise of a count): a flat history has no spread
// at all. A day above the range is an anomaly; its excess is what was not
// expected (actual − expected). Drops are not.

// AnomalyOptions are how anomalies are looked for.
type AnomalyOptions struct {
	Weeks    int          // samples: the same weekday of this many weeks before (default 8)
	MinWeeks int          // the fewest samples a judgement needs (default 4)
	Hourly   bool         // judge each hour, not each day
	Dims     []source.Dim // groups judged besides the total
	// DriverDims are searched for an anomaly's drivers (default model,
	// key, user, project, provider).
	DriverDims []source.Dim
	Metrics    []string // cost and/or calls (default both)
}

// The metrics judged.
const (
	MetricCost  = "cost"
	MetricCalls = "calls"
)

// DefaultDriverDims are the dimensions searched for drivers.
func DefaultDriverDims() []source.Dim {
	return []source.Dim{source.DimModel, source.DimKey, source.DimUser, source.DimProject, source.DimProvider}
}

// Anomaly is an interval whose use was above its expected range.
type Anomaly struct {
	ID     string
	Start  time.Time // the interval's start, in the report's zone
	Date   Date
	Hour   int // the interval's hour of the day, -1 for a day
	Metric string
	Dim    source.Dim // source.DimAll: the total
	Group  string
	// Actual, Expected, Low, High and Excess are nano-USD for cost.
	Actual, Expected, Low, High, Excess int64
	Drivers                             []Driver
	// Episode is the ID of the first of the run of anomalies of the same
	// group (either metric) on consecutive days (hours) this one is part
	// of: an anomaly that goes on is one episode, alerted once.
	Episode   string
	Dismissed bool // by usage anomalies dismiss (of its episode)
}

// Driver is a member whose use accounts for part of an anomaly's excess.
type Driver struct {
	Dim    source.Dim
	Name   string
	Excess int64 // actual − expected of the member
	New    bool  // no use in the samples: new in the interval
}

// AnomalyReport is usage anomalies: a window's anomalies, by excess.
type AnomalyReport struct {
	Tenant    string
	Clock     Clock
	Span      Span
	Options   AnomalyOptions
	Anomalies []Anomaly
	Intervals int  // days (or hours) judged
	Judged    int  // intervals judged, by group and metric
	Short     int  // intervals not judged: too little history before them
	NeedsFrom Date // the first day with history enough, when some were short
	CostMode  CostMode
}

// maxGroupDrivers is how many group anomalies (--by) have their drivers
// searched: the largest.
const maxGroupDrivers = 20

// anomalyFloor is the narrowest half-range: a fifth of the expected value,
// and at least this much (nano-USD for cost, calls).
var anomalyFloor = map[string]int64{MetricCost: source.NanosPerUSD, MetricCalls: 10}

// interval is a judged interval: where it starts, and its samples' starts
// (the same weekday and wall-clock hour, 1…Weeks weeks before).
type interval struct {
	date    Date
	hour    int
	start   time.Time
	samples []time.Time
}

// BuildAnomalies looks for anomalies in the span's complete days (or
// hours).
func BuildAnomalies(ctx context.Context, src source.Source, tenant string, clock Clock, span Span, opts AnomalyOptions, money *Money) (*AnomalyReport, error) {
	opts.Weeks = cmp.Or(opts.Weeks, 8)
	opts.MinWeeks = min(cmp.Or(opts.MinWeeks, 4), opts.Weeks)
	if len(opts.DriverDims) == 0 {
		opts.DriverDims = DefaultDriverDims()
	}
	if len(opts.Metrics) == 0 {
		opts.Metrics = []string{MetricCost, MetricCalls}
	}
	r := &AnomalyReport{Tenant: tenant, Clock: clock, Span: span, Options: opts, CostMode: CostMode(money.ModeName())}
	loc := span.Location
	// The intervals: every day, or every hour (23 or 25 on a day of a DST
	// change), of the span that has ended by now; each sampled at the same
	// weekday and wall-clock hour of the weeks before.
	var ivs []interval
	over := func(end time.Time) bool { return end.After(clock.Now) || end.After(span.Current.End) }
	sample := func(d Date, hour int) []time.Time {
		var out []time.Time
		for k := 1; k <= opts.Weeks; k++ {
			s := d.AddDays(-7 * k).Start(loc)
			if hour >= 0 {
				s = WallTime(d.AddDays(-7*k), time.Duration(hour)*time.Hour, loc)
			}
			out = append(out, s)
		}
		return out
	}
days:
	for _, d := range span.Days {
		next := d.AddDays(1).Start(loc)
		if !opts.Hourly {
			if over(next) {
				break
			}
			ivs = append(ivs, interval{date: d, hour: -1, start: d.Start(loc), samples: sample(d, -1)})
			continue
		}
		for t := d.Start(loc); t.Before(next); t = t.Add(time.Hour) {
			if over(t.Add(time.Hour)) {
				break days
			}
			h := t.In(loc).Hour()
			ivs = append(ivs, interval{date: d, hour: h, start: t, samples: sample(d, h)})
		}
	}
	if len(ivs) == 0 {
		return r, nil
	}
	// One series over every interval judged or sampled: the bounds are
	// their starts and ends (a day, or an hour, as the zone has it); the
	// gaps between are counted but never read.
	var bounds []int64
	for _, iv := range ivs {
		for _, t := range append([]time.Time{iv.start}, iv.samples...) {
			e := DateOf(t.In(loc)).AddDays(1).Start(loc)
			if opts.Hourly {
				e = t.Add(time.Hour)
			}
			bounds = append(bounds, t.UnixNano(), e.UnixNano())
		}
	}
	slices.Sort(bounds)
	bounds = slices.Compact(bounds)
	index := make(map[int64]int, len(bounds))
	for i, b := range bounds {
		index[b] = i
	}
	judge := append([]source.Dim{source.DimAll}, opts.Dims...)
	dims := slices.Clone(judge)
	for _, d := range opts.DriverDims {
		if !slices.Contains(dims, d) {
			dims = append(dims, d)
		}
	}
	qs := make([]source.Query, len(dims))
	for i, d := range dims {
		qs[i] = source.Query{Dim: d, Bounds: bounds}
	}
	res, _, err := money.Aggregate(ctx, src, tenant, qs)
	if err != nil {
		return nil, err
	}
	byDim := map[source.Dim][]source.Groups{}
	for i, d := range dims {
		byDim[d] = res[i]
	}
	// History starts at the first interval of any use: samples before it
	// are not history, they are before the tenant's records.
	first := int64(math.MaxInt64)
	for i, g := range byDim[source.DimAll] {
		if t := g[""]; t.Calls != 0 || t.Cost != 0 {
			first = bounds[i]
			break
		}
	}
	// series is a member's value in an interval starting at s.
	series := func(d source.Dim, name string, s time.Time, metric string) int64 {
		return metricOf(byDim[d][index[s.UnixNano()]][name], metric)
	}
	for _, iv := range ivs {
		var samples []time.Time
		for _, s := range iv.samples {
			if s.UnixNano() >= first {
				samples = append(samples, s)
			}
		}
		if len(samples) < opts.MinWeeks {
			r.Short++
			continue
		}
		r.Intervals++
		for _, d := range judge {
			for name := range byDim[d][index[iv.start.UnixNano()]] {
				for _, metric := range opts.Metrics {
					r.Judged++
					xs := make([]int64, len(samples))
					for i, s := range samples {
						xs[i] = series(d, name, s, metric)
					}
					actual := series(d, name, iv.start, metric)
					exp, lo, hi := expectedRange(xs, anomalyFloor[metric], metric == MetricCalls)
					if actual <= hi {
						continue
					}
					a := Anomaly{Start: iv.start, Date: iv.date, Hour: iv.hour, Metric: metric, Dim: d, Group: name,
						Actual: actual, Expected: exp, Low: lo, High: hi, Excess: actual - exp}
					a.ID = anomalyID(a)
					if d == source.DimAll {
						a.Drivers = drivers(opts.DriverDims, byDim, index, iv.start, samples, metric, a.Expected, a.Excess)
					}
					r.Anomalies = append(r.Anomalies, a)
				}
			}
		}
	}
	if r.Short > 0 && first != math.MaxInt64 {
		r.NeedsFrom = DateOf(time.Unix(0, first).In(loc)).AddDays(7 * opts.MinWeeks)
	}
	// A group's drivers: the members of the other dimensions, searched
	// within the group, over its interval and samples only; the queries of
	// every group anomaly asked at once (one pass).
	type groupAsk struct {
		at      int // the anomaly
		dims    []source.Dim
		first   int // its first query
		samples []time.Time
		index   map[int64]int
	}
	var asks []groupAsk
	var gq []source.Query
	// The largest group anomalies have their drivers searched (the
	// queries of many would fill the memory; the rest are listed without).
	var groups []int
	for i := range r.Anomalies {
		if r.Anomalies[i].Dim != source.DimAll {
			groups = append(groups, i)
		}
	}
	slices.SortStableFunc(groups, func(x, y int) int { return cmp.Compare(r.Anomalies[y].Excess, r.Anomalies[x].Excess) })
	for _, i := range groups[:min(len(groups), maxGroupDrivers)] {
		a := &r.Anomalies[i]
		ask := groupAsk{at: i, first: len(gq)}
		for _, d := range opts.DriverDims {
			if d != a.Dim {
				ask.dims = append(ask.dims, d)
			}
		}
		if len(ask.dims) == 0 {
			continue
		}
		for _, s := range samplesOf(ivs, a) {
			if s.UnixNano() >= first {
				ask.samples = append(ask.samples, s)
			}
		}
		var gb []int64
		for _, t := range append([]time.Time{a.Start}, ask.samples...) {
			gb = append(gb, t.UnixNano(), bounds[index[t.UnixNano()]+1])
		}
		slices.Sort(gb)
		gb = slices.Compact(gb)
		ask.index = make(map[int64]int, len(gb))
		for j, b := range gb {
			ask.index[b] = j
		}
		for _, d := range ask.dims {
			gq = append(gq, source.Query{Dim: d, Bounds: gb, Filter: source.Filter{a.Dim: {a.Group}}})
		}
		asks = append(asks, ask)
	}
	if len(gq) > 0 {
		gres, _, err := money.Aggregate(ctx, src, tenant, gq)
		if err != nil {
			return nil, err
		}
		for _, ask := range asks {
			a := &r.Anomalies[ask.at]
			gby := map[source.Dim][]source.Groups{}
			for j, d := range ask.dims {
				gby[d] = gres[ask.first+j]
			}
			a.Drivers = drivers(ask.dims, gby, ask.index, a.Start, ask.samples, a.Metric, a.Expected, a.Excess)
		}
	}
	episodes(r.Anomalies, opts.Hourly)
	slices.SortStableFunc(r.Anomalies, func(x, y Anomaly) int {
		if c := cmp.Compare(y.Excess, x.Excess); c != 0 {
			return c
		}
		return cmp.Or(x.Start.Compare(y.Start), cmp.Compare(x.Metric, y.Metric), cmp.Compare(x.Dim, y.Dim), cmp.Compare(x.Group, y.Group))
	})
	return r, nil
}

// episodes sets each anomaly's episode: the anomalies of the same group
// (of either metric) on the same or consecutive days (hours) are one; its
// ID is that of the first, cost before calls.
func episodes(as []Anomaly, hourly bool) {
	type key struct {
		dim   source.Dim
		group string
	}
	last := map[key]*Anomaly{}
	order := make([]int, len(as))
	for i := range order {
		order[i] = i
	}
	metricRank := func(m string) int {
		if m == MetricCost {
			return 0
		}
		return 1
	}
	slices.SortStableFunc(order, func(i, j int) int {
		return cmp.Or(as[i].Start.Compare(as[j].Start), cmp.Compare(metricRank(as[i].Metric), metricRank(as[j].Metric)))
	})
	for _, i := range order {
		a := &as[i]
		k := key{a.Dim, a.Group}
		a.Episode = a.ID
		if p := last[k]; p != nil {
			next := p.Start.Equal(a.Start) || p.Date.AddDays(1) == a.Date
			if hourly {
				next = p.Start.Equal(a.Start) || p.Start.Add(time.Hour).Equal(a.Start)
			}
			if next {
				a.Episode = p.Episode
			}
		}
		last[k] = a
	}
}

func samplesOf(ivs []interval, a *Anomaly) []time.Time {
	for _, iv := range ivs {
		if iv.start.Equal(a.Start) {
			return iv.samples
		}
	}
	return nil
}

// drivers are the members of dims that account for most of an excess:
// each dimension's member that explains the most of it, weighed by how
// small a part of the expected use the member was (a member that was all
// of it, such as the project of a tenant with one, explains nothing; a
// new one is weighed fully), when that is at least a fifth of the excess;
// largest first, at most five.
func drivers(dims []source.Dim, byDim map[source.Dim][]source.Groups, index map[int64]int, start time.Time, samples []time.Time, metric string, expected, excess int64) []Driver {
	type scored struct {
		Driver
		score float64
	}
	var out []scored
	for _, d := range dims {
		now := byDim[d][index[start.UnixNano()]]
		var best *scored
		for name, t := range now {
			actual := metricOf(t, metric)
			xs := make([]int64, len(samples))
			used := false
			for i, s := range samples {
				xs[i] = metricOf(byDim[d][index[s.UnixNano()]][name], metric)
				used = used || xs[i] != 0
			}
			exp, _, _ := expectedRange(xs, 0, false)
			e := actual - exp
			share := min(float64(exp)/math.Max(float64(expected), 1), 1)
			score := float64(e) * (1 - share)
			if e <= 0 || 5*score < float64(excess) {
				continue
			}
			if best == nil || score > best.score || score == best.score && name < best.Name {
				best = &scored{Driver{Dim: d, Name: name, Excess: e, New: !used}, score}
			}
		}
		if best != nil {
			out = append(out, *best)
		}
	}
	slices.SortStableFunc(out, func(x, y scored) int { return cmp.Compare(y.score, x.score) })
	var ds []Driver
	for _, o := range out[:min(len(out), 5)] {
		ds = append(ds, o.Driver)
	}
	return ds
}

func metricOf(t source.Totals, metric string) int64 {
	if metric == MetricCost {
		return int64(t.Cost)
	}
	return t.Calls
}

// expectedRange is the value expected after samples xs (xs[0] a week
// before, xs[1] two, …) and the range around it: a Theil–Sen line's value
// now ± max(4 spreads, a quarter of it, floor, and for counts 4 square
// roots of it); the low end is not below 0.
func expectedRange(xs []int64, floor int64, counts bool) (exp, lo, hi int64) {
	n := len(xs)
	if n == 0 {
		return 0, 0, floor
	}
	// x as a line in τ = −k weeks: slope by the median of pairwise slopes.
	var slopes []float64
	for i := range n {
		for j := i + 1; j < n; j++ {
			// τi − τj = (−(i+1)) − (−(j+1)) = j − i
			slopes = append(slopes, float64(xs[i]-xs[j])/float64(j-i))
		}
	}
	b := 0.0
	if len(slopes) > 0 {
		b = median(slopes)
	}
	icpt := make([]float64, n)
	for i, x := range xs {
		icpt[i] = float64(x) + b*float64(i+1) // x − b·τ, τ = −(i+1)
	}
	a := median(icpt)
	res := make([]float64, n)
	for i, x := range xs {
		res[i] = math.Abs(float64(x) - (a - b*float64(i+1)))
	}
	spread := 1.4826 * median(res)
	w := max(4*spread, math.Abs(a)/4, float64(floor))
	if counts {
		w = max(w, 4*math.Sqrt(math.Max(a, 0))) // calls vary as a count does
	}
	exp = int64(math.Round(a))
	lo, hi = max(int64(math.Round(a-w)), 0), int64(math.Round(a+w))
	return max(exp, 0), lo, hi
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	m := len(s) / 2
	if len(s)%2 == 1 {
		return s[m]
	}
	return (s[m-1] + s[m]) / 2
}

// IsAnomalyID reports whether s is the form of an anomaly's ID.
func IsAnomalyID(s string) bool {
	if len(s) != 10 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil && strings.ToLower(s) == s
}

// anomalyID names an anomaly the same in every run: its interval, metric
// and group.
func anomalyID(a Anomaly) string {
	key := a.Date.String() + "|" + strconv.Itoa(a.Hour) + "|" + a.Metric + "|" + strconv.Itoa(int(a.Dim)) + "|" + a.Group
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])[:10]
}
