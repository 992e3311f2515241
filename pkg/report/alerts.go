package report

import (
	"fmt"
	"math/big"
)

// Alert is one budget alert of the billing month: a metric past a
// threshold of its limit, or its month-end forecast past 100 %.
type Alert struct {
	Key       string // metric:threshold, or metric:forecast; the same each run
	Kind      string // threshold or forecast
	Metric    QuotaMetric
	Threshold *big.Rat // percent, for a threshold alert
	Text      string
}

// Alerts lists every alert the month has reached so far, metric by metric,
// thresholds in the order given (ascending), then the forecast.
func Alerts(q *Quota, thresholds []*big.Rat) []Alert {
	var out []Alert
	month := q.Period.Start.Format("January")
	for _, m := range q.Metrics {
		if m.Limit == nil {
			continue
		}
		for _, t := range thresholds {
			if m.Percent.Cmp(t) < 0 {
				continue
			}
			key := m.Key + ":" + t.FloatString(0)
			if !t.IsInt() {
				key = m.Key + ":" + Nearest(t).String()
			}
			out = append(out, Alert{Key: key, Kind: "threshold", Metric: m, Threshold: t,
				Text: fmt.Sprintf("%s passed %s%% of the %s limit: %s", m.Label, Nearest(t), month, Pct(m.Percent))})
		}
		if m.ProjectedLevel == LevelExceeded {
			pp := new(big.Rat).Quo(m.Projected, new(big.Rat).SetInt64(*m.Limit))
			out = append(out, Alert{Key: m.Key + ":forecast", Kind: "forecast", Metric: m,
				Text: fmt.Sprintf("%s is on course for %s of the %s limit by month end", m.Label, Pct(pp.Mul(pp, big.NewRat(100, 1))), month)})
		}
	}
	return out
}

// Unsent are the alerts not yet sent on a channel, given what was sent
// ("key|channel").
func Unsent(alerts []Alert, sent map[string]bool, channel string) []Alert {
	var out []Alert
	for _, a := range alerts {
		if !sent[a.Key+"|"+channel] {
			out = append(out, a)
		}
	}
	return out
}

// Headline is the most severe alert: the highest threshold passed, else a
// forecast.
func Headline(alerts []Alert) Alert {
	top := alerts[len(alerts)-1]
	for _, a := range alerts {
		if a.Kind == "threshold" && (top.Kind == "forecast" || a.Threshold.Cmp(top.Threshold) > 0) {
			top = a
		}
	}
	return top
}
