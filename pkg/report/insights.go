package report

import (
	"fmt"
	"math/big"
	"slices"
	"unicode/utf8"

	"github.com/nextcore-ai/nextcore/pkg/source"
)

// Tone says how an insight reads: good news, bad news, a warning, or neutral.
type Tone string

// Tones of insights.
const (
	Info Tone = "info"
	Good Tone = "good"
	Warn Tone = "warning"
	Bad  Tone = "bad"
)

// Insight is one finding with its rule's name.
type Insight struct {
	Kind string `json:"kind"`
	Tone Tone   `json:"tone"`
	Text string `json:"message"`
}

// Thresholds of the insight rules.
const (
	dominantShare       = 50 // % of spend
	failedToInvestigate = 100
	failureRiseMinPts   = 1  // percentage points
	spendGrowthMin      = 20 // %
	smallCallsMin       = 20 // calls, on both sides of a comparison
)

// ComputeInsights applies the insight rules to s and fills s.Insights.
func (s *Stats) ComputeInsights() {
	var out []Insight
	add := func(kind string, tone Tone, format string, args ...any) {
		out = append(out, Insight{kind, tone, fmt.Sprintf(format, args...)})
	}
	cur := s.Current
	if cur.Calls == 0 {
		s.Insights = []Insight{{"no-usage", Info, "No calls in this window."}}
		return
	}
	// 0. Usage no price covers: its $0 would mislead every rule on cost.
	if !s.Unpriced.Empty() {
		add("unpriced", Warn, "%s", s.Unpriced.Sentence())
	}
	priced := s.pricedModels()
	// 1. The most cost-effective model: the lowest cost per call.
	if best, ok := cheapestPerCall(priced); ok {
		add("cost-effective-model", Good, "%s is the most cost-effective model at %s per call.",
			clipName(best.Name), USDPerCall(AverageCost(best.Totals)))
	}
	// 1b. What prompt caching saved, when it is worth saying (a cent).
	if s.CacheSaved >= source.NanosPerUSD/100 {
		add("cache-savings", Good, "Prompt caching saved %s: %s input tokens read from the cache (%s of input) at cache prices.",
			USD2(s.CacheSaved), Compact(cur.CacheRead), Pct(Percent(cur.CacheRead, cur.Prompt)))
	}
	// 2. Success rate, with a prompt to investigate many failures.
	rate := SuccessRate(cur)
	switch {
	case cur.Failed() > failedToInvestigate:
		add("success-rate", Bad, "Success rate %s: %s calls failed — investigate the failed calls.", Pct(rate), Count(cur.Failed()))
	case cur.Failed() > 0:
		add("success-rate", Info, "Success rate %s: %s calls failed.", Pct(rate), Count(cur.Failed()))
	default:
		add("success-rate", Good, "Success rate 100%%: no call failed.")
	}
	// 3. The peak day.
	if peak, ok := s.PeakDay(); ok && len(s.Daily) > 1 {
		avg := ratio(cur.Calls, int64(len(s.Daily)))
		above := new(big.Rat).Quo(new(big.Rat).SetInt64(peak.Calls), avg)
		above.Sub(above, big.NewRat(1, 1)).Mul(above, big.NewRat(100, 1))
		add("peak-day", Info, "Peak day %s with %s calls, %s above the daily average.",
			peak.Date.Format("Mon Jan 2"), Count(peak.Calls), PctWhole(above))
	}
	// 4. A model that dominates spend.
	if len(s.Models) > 1 && cur.Cost > 0 {
		top := s.Models[0]
		share := Percent(int64(top.Cost), int64(cur.Cost))
		if share.Cmp(big.NewRat(dominantShare, 1)) >= 0 {
			add("dominant-model", Warn, "%s is %s of spend but %s of calls.",
				clipName(top.Name), PctWhole(share), PctWhole(Percent(top.Calls, cur.Calls)))
		}
	}
	// 5. A failure rate that rose.
	prev := s.Previous
	if prev.Calls > 0 && cur.Failed() > 0 {
		now, before := Percent(cur.Failed(), cur.Calls), Percent(prev.Failed(), prev.Calls)
		rise := new(big.Rat).Sub(now, before)
		if rise.Cmp(big.NewRat(failureRiseMinPts, 1)) >= 0 {
			add("failure-rate-rising", Bad, "Failure rate rose to %s from %s in the previous period (%s failed calls, up from %s).",
				Pct(now), Pct(before), Count(cur.Failed()), Count(prev.Failed()))
		}
	}
	// 6. Spend growth against the previous period, unless the data covers
	// that period only in part (the growth would be the data's start).
	if c := Change(int64(cur.Cost), int64(prev.Cost)); !c.Null() && !s.PreviousPartial() {
		r := c.Rat()
		if r.Cmp(big.NewRat(spendGrowthMin, 1)) >= 0 {
			add("spend-growth", Warn, "Spend is up %s on the previous period (%s, was %s).", ChangeText(c)[1:], USD2(cur.Cost), USD2(prev.Cost))
		} else if r.Cmp(big.NewRat(-spendGrowthMin, 1)) <= 0 {
			add("spend-growth", Good, "Spend is down %s on the previous period (%s, was %s).", ChangeText(c)[1:], USD2(cur.Cost), USD2(prev.Cost))
		}
	}
	// 7. A cheaper model for a model's small calls.
	if sw, ok := cheaperForSmallCalls(priced); ok {
		add("cheaper-model", Info, "%s of %s's calls use under %d tokens — %s would have cost about %s less for them.",
			PctWhole(Percent(sw.from.SmallCalls, sw.from.Calls)), clipName(sw.from.Name), source.SmallCallTokens, clipName(sw.to.Name), USDRat(sw.saving))
	}
	// 8. Projected overspend this billing month.
	if q := s.Quota; q != nil {
		for _, m := range q.Metrics {
			if m.Limit == nil || m.ProjectedLevel != LevelExceeded {
				continue
			}
			over := new(big.Rat).Quo(m.Projected, new(big.Rat).SetInt64(*m.Limit))
			over.Sub(over, big.NewRat(1, 1)).Mul(over, big.NewRat(100, 1))
			// One sentence for both forecasts: the month's pace so far, and
			// the last 7 days' pace when it reaches the limit too.
			month := q.Period.Start.Format("January")
			end, limit, verb := Count(RoundRat(m.Projected)), "limit of "+Count(*m.Limit), "end"
			if m.Money {
				end, limit, verb = USDRat(new(big.Rat).Quo(m.Projected, big.NewRat(source.NanosPerUSD, 1))), USD2(source.USD(*m.Limit))+" limit", "ends"
			}
			text := fmt.Sprintf("At %s's pace so far, %s %s the month near %s, %s over the %s", month, m.Noun(), verb, end, PctWhole(over), limit)
			if m.ReachedAt.After(q.Clock.Now) {
				text += " (reached around " + m.ReachedAt.Format("Jan 2") + ")"
			}
			switch {
			case m.Level == LevelExceeded:
			case !m.Reached7.IsZero():
				text += "; at the last 7 days' pace, around " + m.Reached7.Format("Jan 2")
			default:
				text += "; at the last 7 days' pace it stays within the limit"
			}
			add("projected-overspend", Bad, "%s.", text)
		}
	}
	out = append(out, s.moreInsights()...)
	s.Insights = out
}

// insightName is the longest a name is quoted in an insight, in
// characters; a longer one ends in "…" (the report's tables name it whole).
const insightName = 120

func clipName(name string) string {
	if utf8.RuneCountInString(name) <= insightName {
		return name
	}
	return string([]rune(name)[:insightName-1]) + "…"
}

// RoundRat is r rounded to the nearest whole number, halves away from zero.
func RoundRat(r *big.Rat) int64 {
	n, _ := new(big.Int).SetString(r.FloatString(0), 10)
	return n.Int64()
}

func cheapestPerCall(models []Group) (Group, bool) {
	var best Group
	found := false
	for _, g := range models {
		if g.Calls == 0 {
			continue
		}
		// a/b < c/d  ⇔  a·d < c·b
		if !found || ratio(int64(g.Cost), g.Calls).Cmp(ratio(int64(best.Cost), best.Calls)) < 0 ||
			(ratio(int64(g.Cost), g.Calls).Cmp(ratio(int64(best.Cost), best.Calls)) == 0 && g.Name < best.Name) {
			best, found = g, true
		}
	}
	return best, found
}

type switchSuggestion struct {
	from, to Group
	saving   *big.Rat // dollars
}

// cheaperForSmallCalls finds the model whose small calls (under
// SmallCallTokens tokens) are most of its calls and would cost the most less
// at another model's price per token for small calls. Models that produce no
// completions (embeddings) are only compared with their like.
func cheaperForSmallCalls(models []Group) (switchSuggestion, bool) {
	var best switchSuggestion
	found := false
	for _, m := range models {
		if m.SmallCalls < smallCallsMin || 2*m.SmallCalls <= m.Calls || m.SmallTokens == 0 {
			continue
		}
		for _, c := range models {
			if c.Name == m.Name || c.SmallCalls < smallCallsMin || c.SmallTokens == 0 || (c.Completion == 0) != (m.Completion == 0) {
				continue
			}
			// saving = m.SmallCost − m.SmallTokens × c.SmallCost / c.SmallTokens (nano-USD)
			atC := ratio(m.SmallTokens, c.SmallTokens)
			atC.Mul(atC, new(big.Rat).SetInt64(int64(c.SmallCost)))
			saving := new(big.Rat).Sub(new(big.Rat).SetInt64(int64(m.SmallCost)), atC)
			saving.Quo(saving, big.NewRat(source.NanosPerUSD, 1))
			// Worth saying: at least a dollar and a fifth of those calls' cost.
			fifth := new(big.Rat).Quo(m.SmallCost.Rat(), big.NewRat(5, 1))
			if saving.Cmp(big.NewRat(1, 1)) < 0 || saving.Cmp(fifth) < 0 {
				continue
			}
			if !found || saving.Cmp(best.saving) > 0 {
				best, found = switchSuggestion{m, c, saving}, true
			}
		}
	}
	return best, found
}

// Thresholds of the second set of rules.
const (
	anomalyMinDays     = 8   // a day needs 7 before it in the window
	anomalyFactor      = 0.5 // at least 50 % off the trailing mean
	dominateNow        = 50  // % of calls now
	dominateBefore     = 25  // % of calls before, at most
	latencyRegression  = 25  // % slower p95
	latencyMinCalls    = 50  // calls with a latency, in both windows
	modelFailureMinPts = 5   // percentage points
	modelFailureMin    = 20  // failed calls now
)

// dominanceCounts says whether windows of now and then calls are enough
// for the "suddenly dominates" rule: 100 calls now, some before.
func dominanceCounts(now, then int64) bool { return now >= 100 && then > 0 }

// moreInsights are the rules that grow with the data: an anomalous day, a
// key or user that suddenly dominates, a model's latency regression, a
// model's rising failure rate, and the budget at the last 7 days' pace.
func (s *Stats) moreInsights() []Insight {
	var out []Insight
	add := func(kind string, tone Tone, format string, args ...any) {
		out = append(out, Insight{kind, tone, fmt.Sprintf(format, args...)})
	}
	// An anomalous day: the farthest from the mean of the 7 days before it.
	days := s.Daily
	if s.Span.Period != Custom && !s.Clock.EndOfDay && len(days) > 0 {
		days = days[:len(days)-1] // today is not over: not an anomaly
	}
	if len(days) >= anomalyMinDays {
		var best Day
		var bestOff, bestMean float64
		for i := 7; i < len(days); i++ {
			var sum int64
			for _, d := range days[i-7 : i] {
				sum += d.Calls
			}
			mean := float64(sum) / 7
			if mean < 10 {
				continue
			}
			off := (float64(days[i].Calls) - mean) / mean
			if off < 0 {
				off = -off
			}
			if off > bestOff {
				best, bestOff, bestMean = days[i], off, mean
			}
		}
		if bestOff >= anomalyFactor {
			dir := "above"
			if float64(best.Calls) < bestMean {
				dir = "below"
			}
			add("anomalous-day", Warn, "%s had %s calls, %s %s the mean of the 7 days before it (%s).",
				best.Date.Format("Mon Jan 2"), Count(best.Calls), PctWhole(big.NewRat(int64(bestOff*1000+0.5), 10)), dir, Count(int64(bestMean+0.5)))
		}
	}
	// A key or user that suddenly dominates.
	for _, g := range []struct {
		what      string
		now, then source.Groups
	}{{"key", s.Keys, s.PreviousKeys}, {"user", s.Users, s.PreviousUsers}} {
		total, prevTotal := g.now.Sum().Calls, g.then.Sum().Calls
		if !dominanceCounts(total, prevTotal) {
			continue
		}
		for _, top := range SortGroups(g.now, ByCalls) {
			if top.Name == "" {
				continue
			}
			share := Percent(top.Calls, total)
			before := Percent(g.then[top.Name].Calls, prevTotal)
			if share.Cmp(big.NewRat(dominateNow, 1)) >= 0 && before.Cmp(big.NewRat(dominateBefore, 1)) <= 0 {
				add("dominant-"+g.what, Warn, "The %s %s now makes %s of calls, up from %s in the previous period.", g.what, clipName(top.Name), PctWhole(share), PctWhole(before))
			}
			break
		}
	}
	// A model's latency regression and rising failure rate.
	for _, m := range s.Models {
		prev, ok := s.PreviousModels[m.Name]
		if !ok {
			continue
		}
		if m.LatencyN >= latencyMinCalls && prev.LatencyN >= latencyMinCalls && m.Latency != nil && prev.Latency != nil {
			now, before := m.Latency.Quantile(0.95), prev.Latency.Quantile(0.95)
			if before > 0 && now > before*(1+latencyRegression/100.0) {
				add("latency-regression", Bad, "%s got slower: p95 %s ms, up from %s ms in the previous period.",
					clipName(m.Name), Count(int64(now+0.5)), Count(int64(before+0.5)))
			}
		}
		if m.Failed() >= modelFailureMin && prev.Calls > 0 {
			rise := new(big.Rat).Sub(Percent(m.Failed(), m.Calls), Percent(prev.Failed(), prev.Calls))
			if rise.Cmp(big.NewRat(modelFailureMinPts, 1)) >= 0 {
				add("model-failure-rate", Bad, "%s fails more: %s of its calls failed, up from %s.",
					clipName(m.Name), Pct(Percent(m.Failed(), m.Calls)), Pct(Percent(prev.Failed(), prev.Calls)))
			}
		}
	}
	// The budget at the last 7 days' pace.
	if q := s.Quota; q != nil {
		for _, m := range q.Metrics {
			// Said with the month's forecast when that one is over too.
			if m.Limit != nil && !m.Reached7.IsZero() && m.ProjectedLevel != LevelExceeded {
				limit := Count(*m.Limit)
				if m.Money {
					limit = USD2(source.USD(*m.Limit))
				}
				add("limit-at-7-day-pace", Warn, "At the last 7 days' pace, %s reaches its %s limit around %s.",
					m.Noun(), limit, m.Reached7.Format("Jan 2"))
			}
		}
	}
	return out
}

// pricedModels are the window's models but those with usage that no price
// covered: their cost is short by it, so no rule compares it.
func (s *Stats) pricedModels() []Group {
	var out []Group
	for _, g := range s.Models {
		if !slices.Contains(s.Unpriced.Models, g.Name) {
			out = append(out, g)
		}
	}
	return out
}
