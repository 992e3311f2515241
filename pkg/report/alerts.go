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
func Unsent[A interface{ AlertKey() string }](alerts []A, sent map[string]bool, channel string) []A {
	var out []A
	for _, a := range alerts {
		if !sent[a.AlertKey()+"|"+channel] {
			out = append(out, a)
		}
	}
	return out
}

// AlertKey is what names the alert in the log of alerts sent.
func (a Alert) AlertKey() string { return a.Key }

// AlertText says the alert.
func (a Alert) AlertText() string { return a.Text }

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

// BudgetAlert is one alert of a budget's period: its use past a threshold
// of its limit, or its forecast for the period's end past 100 %.
type BudgetAlert struct {
	Key       string // threshold:N or forecast; the same each run
	Kind      string // threshold or forecast
	Threshold *big.Rat
	Text      string
}

// Alerts lists every alert the budget's period has reached so far:
// thresholds ascending, then the forecast (when the use is not over the
// limit already).
func (s *BudgetStatus) Alerts() []BudgetAlert {
	var out []BudgetAlert
	for _, t := range s.Crossed {
		out = append(out, BudgetAlert{Key: "threshold:" + Nearest(t).String(), Kind: "threshold", Threshold: t,
			Text: fmt.Sprintf("Budget %s passed %s%% of its %s limit: %s", s.Name, Nearest(t), s.Period, Pct(s.Percent))})
	}
	if s.ProjectedLevel == LevelExceeded && s.Level != LevelExceeded {
		text := fmt.Sprintf("Budget %s is on course for %s of its %s limit by the period's end", s.Name, Pct(s.ProjectedPercent()), s.Period)
		if s.Overrun != (Date{}) {
			text += ", reached around " + s.Overrun.Format("Jan 2")
		}
		out = append(out, BudgetAlert{Key: "forecast", Kind: "forecast", Text: text})
	}
	return out
}

// AlertPeriod names the period a budget's alerts are sent once in: its
// name and the day its window starts. A rolling budget has no such
// period: its alerts are sent once each time its use reaches them, and
// are re-armed when it falls back below (Rearmed).
func (s *BudgetStatus) AlertPeriod() string {
	if s.Period.Kind == "rolling" {
		return "budget:" + s.Name + ":" + s.Period.String()
	}
	return "budget:" + s.Name + ":" + DateOf(s.Window.Start).String()
}

// Rearmed are a rolling budget's alerts its use is below now: forgotten,
// they go out again when next reached.
func (s *BudgetStatus) Rearmed() []string {
	if s.Period.Kind != "rolling" {
		return nil
	}
	var out []string
	for _, t := range s.Thresholds {
		if s.Percent.Cmp(t) < 0 {
			out = append(out, "threshold:"+Nearest(t).String())
		}
	}
	if s.ProjectedLevel != LevelExceeded || s.Level == LevelExceeded {
		out = append(out, "forecast")
	}
	return out
}

// AlertKey is what names the alert in the log of alerts sent.
func (a BudgetAlert) AlertKey() string { return a.Key }

// AlertText says the alert.
func (a BudgetAlert) AlertText() string { return a.Text }
