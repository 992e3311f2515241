package render

import (
	"fmt"
	"io"
	"math/big"
	"strconv"
	"strings"

	"github.com/nextcore-ai/nextcore/pkg/report"
	"github.com/nextcore-ai/nextcore/pkg/source"
)

// AnomaliesReport is usage anomalies.
func AnomaliesReport() Report[*report.AnomalyReport] {
	return Report[*report.AnomalyReport]{"the anomalies", []entry[*report.AnomalyReport]{
		{Table, AnomaliesTable}, {JSON, anomaliesJSON}, {CSV, AnomaliesCSV}, {Markdown, AnomaliesMarkdown},
	}}
}

// AnomaliesJSON is usage anomalies --format json.
type AnomaliesJSON struct {
	Anomalies []AnomalyJSON `json:"anomalies"`
	Tenant    string        `json:"tenant"`
	TimeZone  string        `json:"timeZone"`
	From      string        `json:"from"`
	To        string        `json:"to"`
	Weeks     int           `json:"weeks"`
	Judged    int           `json:"judged"`
	NotJudged int           `json:"notJudged"` // too little history before them
	// HistoryFrom is the first day history enough allows judging, when
	// some were not judged for want of it.
	HistoryFrom *string `json:"historyFrom"`
}

// AnomalyJSON is one anomaly: the pinned fields first.
type AnomalyJSON struct {
	ID           string        `json:"id"`
	Date         string        `json:"date"`
	Metric       string        `json:"metric"`
	Actual       report.Number `json:"actual"`
	ExpectedLow  report.Number `json:"expectedLow"`
	ExpectedHigh report.Number `json:"expectedHigh"`
	Excess       report.Number `json:"excess"`
	Drivers      []DriverJSON  `json:"drivers"`
	Expected     report.Number `json:"expected"`
	Hour         *int          `json:"hour"` // of the day, for --by hour
	Start        string        `json:"start"`
	Dimension    string        `json:"dimension"` // "all", or the dimension of a member judged
	Group        string        `json:"group"`
	Episode      string        `json:"episode"` // the id of the first day of a run of anomalies
	Dismissed    bool          `json:"dismissed"`
}

// DriverJSON is a driver of an anomaly.
type DriverJSON struct {
	Dimension string        `json:"dimension"`
	Name      string        `json:"name"`
	Excess    report.Number `json:"excess"`
	New       bool          `json:"new"`
}

// AnomaliesData is the JSON model of usage anomalies.
func AnomaliesData(r *report.AnomalyReport) AnomaliesJSON {
	out := AnomaliesJSON{Anomalies: []AnomalyJSON{}, Tenant: r.Tenant, TimeZone: r.Span.ZoneName(),
		From: r.Span.Days[0].String(), To: r.Span.Days[len(r.Span.Days)-1].String(), Weeks: r.Options.Weeks,
		Judged: r.Judged, NotJudged: r.Short}
	if r.Short > 0 && r.NeedsFrom != (report.Date{}) {
		d := r.NeedsFrom.String()
		out.HistoryFrom = &d
	}
	for _, a := range r.Anomalies {
		v := func(n int64) report.Number { return anomalyAmount(a.Metric, n) }
		j := AnomalyJSON{ID: a.ID, Date: a.Date.String(), Metric: a.Metric, Actual: v(a.Actual), ExpectedLow: v(a.Low),
			ExpectedHigh: v(a.High), Excess: v(a.Excess), Drivers: []DriverJSON{}, Expected: v(a.Expected),
			Start: Timestamp(a.Start), Dimension: "all", Group: a.Group, Episode: a.Episode, Dismissed: a.Dismissed}
		if a.Hour >= 0 {
			h := a.Hour
			j.Hour = &h
		}
		if a.Dim != source.DimAll {
			j.Dimension = report.DimName(a.Dim)
		}
		for _, d := range a.Drivers {
			j.Drivers = append(j.Drivers, DriverJSON{Dimension: report.DimName(d.Dim), Name: d.Name, Excess: v(d.Excess), New: d.New})
		}
		out.Anomalies = append(out.Anomalies, j)
	}
	return out
}

func anomaliesJSON(w io.Writer, r *report.AnomalyReport, _ Options) error {
	return WriteJSON(w, AnomaliesData(r))
}

// anomalyAmount is a cost in exact dollars, or a count.
func anomalyAmount(metric string, n int64) report.Number {
	if metric == report.MetricCost {
		return report.Fixed(new(big.Rat).SetFrac64(n, source.NanosPerUSD), 9).Trim()
	}
	return report.Int(n)
}

// anomalyValue is an amount for people: $412.30, 1,204 calls.
func anomalyValue(metric string, n int64) string {
	if metric == report.MetricCost {
		return report.USD2(source.USD(n))
	}
	return report.Count(n) + " calls"
}

// anomalyWhen is "Fri Nov 20", or "Fri Nov 20 14:00" for an hour.
func anomalyWhen(a report.Anomaly) string {
	if a.Hour >= 0 {
		return a.Start.Format("Mon Jan 2 15:04")
	}
	return a.Date.Format("Mon Jan 2")
}

// anomalyWhat is what was judged: "cost", "calls of model gpt-5".
func anomalyWhat(a report.Anomaly) string {
	if a.Dim == source.DimAll {
		return a.Metric
	}
	name := a.Group
	if name == "" {
		name = report.None
	}
	return a.Metric + " of " + report.DimName(a.Dim) + " " + name
}

// driverText is "key ci-nightly +$290.10 (new)".
func driverText(metric string, d report.Driver) string {
	name := d.Name
	if name == "" {
		name = report.None
	}
	t := report.DimName(d.Dim) + " " + name + " +" + anomalyValue(metric, d.Excess)
	if d.New {
		t += " (new)"
	}
	return t
}

// historyNote says what was not judged for want of history.
func historyNote(r *report.AnomalyReport) string {
	if r.Short == 0 {
		return ""
	}
	unit := "days"
	if r.Options.Hourly {
		unit = "hours"
	}
	s := fmt.Sprintf("%d %s not judged: each needs %d weeks of history before it (%d samples of the same weekday)", r.Short, unit, r.Options.MinWeeks, r.Options.MinWeeks)
	if r.NeedsFrom != (report.Date{}) {
		s += "; the records allow judging from " + r.NeedsFrom.Format("Jan 2, 2006")
	}
	return s + "."
}

// AnomaliesTable writes the anomalies, the largest excess first, each with
// its range and drivers.
func AnomaliesTable(w io.Writer, r *report.AnomalyReport, o Options) error {
	st := o.Style
	head := withNote(withCost([]string{Safe(r.Tenant), "anomalies", r.Span.Label(), r.Span.DateRange() + " (" + r.Span.ZoneName() + ")"}, r.CostMode), o.Meta)
	p, W := opening(w, st, head)
	para := func(color, indent, text string) {
		for i, l := range wrap(text, W-len(indent)-2, "") {
			if i > 0 {
				l = "  " + l
			}
			p.line(indent + st.paint(color, l))
		}
	}
	if len(r.Anomalies) == 0 {
		unit := "days"
		if r.Options.Hourly {
			unit = "hours"
		}
		para("", "  ", fmt.Sprintf("✓ No anomalies: %s %s judged, each within its expected range.", report.Count(int64(r.Intervals)), unit))
	}
	for i, a := range r.Anomalies {
		if i > 0 {
			p.line("")
		}
		state := st.paint(red, "+"+anomalyValue(a.Metric, a.Excess)+" unexpected")
		if a.Dismissed {
			state = st.paint(dim, "+"+anomalyValue(a.Metric, a.Excess)+" unexpected, dismissed")
		}
		p.line("  " + st.paint(bold, anomalyWhen(a)+"  "+Safe(anomalyWhat(a))) + "  " + state + st.paint(dim, "  "+a.ID))
		para(dim, "    ", fmt.Sprintf("%s against %s expected (%s – %s)", anomalyValue(a.Metric, a.Actual), anomalyValue(a.Metric, a.Expected),
			anomalyValue(a.Metric, a.Low), anomalyValue(a.Metric, a.High)))
		if len(a.Drivers) > 0 {
			var ds []string
			for _, d := range a.Drivers {
				ds = append(ds, Safe(driverText(a.Metric, d)))
			}
			para("", "    ", "drivers: "+strings.Join(ds, ", "))
		}
	}
	if n := historyNote(r); n != "" {
		p.line("")
		para(yellow, "  ", "⚠ "+n)
	}
	return p.err
}

// AnomaliesCSV writes a row an anomaly; its drivers in one column.
func AnomaliesCSV(w io.Writer, r *report.AnomalyReport, _ Options) error {
	rows := [][]string{{"id", "date", "hour", "metric", "dimension", "group", "actual", "expected", "expectedLow", "expectedHigh", "excess", "drivers"}}
	for _, j := range AnomaliesData(r).Anomalies {
		hour := ""
		if j.Hour != nil {
			hour = strconv.Itoa(*j.Hour)
		}
		var ds []string
		for _, d := range j.Drivers {
			ds = append(ds, d.Dimension+"="+d.Name+":"+d.Excess.String())
		}
		rows = append(rows, []string{j.ID, j.Date, hour, j.Metric, j.Dimension, j.Group, j.Actual.String(), j.Expected.String(),
			j.ExpectedLow.String(), j.ExpectedHigh.String(), j.Excess.String(), strings.Join(ds, ";")})
	}
	numeric := map[int]bool{2: true, 6: true, 7: true, 8: true, 9: true, 10: true}
	return writeCSVCols(w, func(col int) bool { return !numeric[col] }, rows)
}

// AnomaliesMarkdown writes the anomalies as a Markdown table.
func AnomaliesMarkdown(w io.Writer, r *report.AnomalyReport, o Options) error {
	p := &printer{w: w}
	p.linef("### NextCore anomalies · %s", mdText(strings.Join(withNote(withCost([]string{Safe(r.Tenant), r.Span.Label(), r.Span.DateRange() + " (" + r.Span.ZoneName() + ")"}, r.CostMode), o.Meta), " · ")))
	p.line("")
	var rows [][]string
	for _, a := range r.Anomalies {
		var ds []string
		for _, d := range a.Drivers {
			ds = append(ds, driverText(a.Metric, d))
		}
		rows = append(rows, []string{anomalyWhen(a), mdText(anomalyWhat(a)), anomalyValue(a.Metric, a.Actual),
			anomalyValue(a.Metric, a.Low) + " – " + anomalyValue(a.Metric, a.High), "+" + anomalyValue(a.Metric, a.Excess), mdText(strings.Join(ds, ", "))})
	}
	if len(rows) == 0 {
		p.line("No anomalies.")
	} else if p.err == nil {
		p.err = markdownTable(w, []string{"When", "What", "Actual", "Expected", "Excess", "Drivers"}, []align{left, left, right, right, right, left}, rows)
	}
	mdNote(p, historyNote(r))
	return p.err
}

// AnomalyText says an anomaly in a line: "Anomaly: cost $15.14 on Fri Nov
// 20, $15.01 above the expected $0.13 (key key_leaked +$15.00 (new))".
func AnomalyText(a report.Anomaly) string {
	t := fmt.Sprintf("Anomaly: %s %s on %s, %s above the expected %s", anomalyWhat(a), anomalyValue(a.Metric, a.Actual), anomalyWhen(a),
		anomalyValue(a.Metric, a.Excess), anomalyValue(a.Metric, a.Expected))
	if len(a.Drivers) > 0 {
		var ds []string
		for _, d := range a.Drivers[:min(len(a.Drivers), 2)] {
			ds = append(ds, driverText(a.Metric, d))
		}
		t += " (" + strings.Join(ds, ", ") + ")"
	}
	return t
}

// AnomalyAlertMail is the text and HTML parts of an anomaly's alert mail.
func AnomalyAlertMail(r *report.AnomalyReport) (text, html string, err error) {
	return alertMail(r.Tenant, []string{AnomalyText(r.Anomalies[0])}, func(w io.Writer) error { return AnomaliesTable(w, r, Options{Style: Style{Width: 78}}) },
		"Each anomaly is sent once, a run of anomalous days once; usage anomalies dismiss ID silences one.")
}
