package render

import (
	"io"
	"math/big"
	"slices"
	"strconv"
	"strings"

	"github.com/nextcore-ai/nextcore/pkg/report"
	"github.com/nextcore-ai/nextcore/pkg/source"
)

// QuotaJSON is the quota object of docs/numbers.md.
type QuotaJSON struct {
	PeriodStart string                     `json:"periodStart"`
	PeriodEnd   string                     `json:"periodEnd"`
	AsOf        string                     `json:"asOf"`
	Level       string                     `json:"level"`
	Metrics     map[string]QuotaMetricJSON `json:"metrics"`
	Tenant      string                     `json:"tenant"`
	TimeZone    string                     `json:"timeZone"`
	WarnAt      report.Number              `json:"warnAt"`
	Projected   string                     `json:"projectedLevel"`
	Baseline    *QuotaBaselineJSON         `json:"baseline,omitempty"`
}

// QuotaBaselineJSON is a saved quota report's use, by metric.
type QuotaBaselineJSON struct {
	With string                   `json:"with"`
	AsOf string                   `json:"asOf"`
	Used map[string]report.Number `json:"used"`
}

// QuotaMetricJSON is one metric of the quota object.
type QuotaMetricJSON struct {
	Used           report.Number `json:"used"`
	Limit          report.Number `json:"limit"`
	Percent        report.Number `json:"percent"`
	Level          *string       `json:"level"`
	Projected      report.Number `json:"projected"`
	ProjectedLevel *string       `json:"projectedLevel"`
	LimitReachedAt *string       `json:"limitReachedAt,omitempty"`
	// At the last 7 days' run-rate: the month-end projection, and when the
	// limit is reached at that pace.
	Projected7d        report.Number `json:"projected7d"`
	LimitReachedAround *string       `json:"limitReachedAround7d,omitempty"`
}

// QuotaData is the JSON model of the billing month.
func QuotaData(q *report.Quota) QuotaJSON {
	out := QuotaJSON{
		PeriodStart: Timestamp(q.Period.Start), PeriodEnd: Timestamp(q.Period.End), AsOf: Timestamp(q.Clock.Now),
		Level: string(q.Level), Metrics: map[string]QuotaMetricJSON{}, Tenant: q.Tenant,
		TimeZone: q.Period.Start.Location().String(), WarnAt: report.Nearest(q.WarnAt), Projected: string(q.Projected),
	}
	for _, m := range q.Metrics {
		j := QuotaMetricJSON{Used: QuotaAmount(m, big.NewRat(m.Used, 1)), Projected: QuotaAmount(m, m.Projected), Projected7d: QuotaAmount(m, m.Pace7)}
		if !m.Reached7.IsZero() {
			at := Timestamp(m.Reached7)
			j.LimitReachedAround = &at
		}
		if m.Limit != nil {
			j.Limit = QuotaAmount(m, big.NewRat(*m.Limit, 1))
			j.Percent = report.Nearest(m.Percent)
			l, pl := string(m.Level), string(m.ProjectedLevel)
			j.Level, j.ProjectedLevel = &l, &pl
			if !m.ReachedAt.IsZero() {
				at := Timestamp(m.ReachedAt)
				j.LimitReachedAt = &at
			}
		}
		out.Metrics[m.Key] = j
	}
	if b := q.Baseline; b != nil {
		out.Baseline = &QuotaBaselineJSON{With: b.Label, AsOf: b.AsOf, Used: map[string]report.Number{}}
		for k, v := range b.Used {
			out.Baseline.Used[k] = report.Fixed(v, 9).Trim()
		}
	}
	return out
}

// QuotaAmount writes a metric's value: dollars to the nano-dollar for spend,
// counts as they are (a projection keeps its fraction).
func QuotaAmount(m report.QuotaMetric, v *big.Rat) report.Number {
	if m.Money {
		return report.Fixed(new(big.Rat).Quo(v, big.NewRat(source.NanosPerUSD, 1)), 9).Trim()
	}
	if v.IsInt() {
		return report.Int(v.Num().Int64())
	}
	return report.Nearest(v)
}

func quotaValue(m report.QuotaMetric, v int64) string {
	if m.Money {
		return report.USD2(source.USD(v))
	}
	if m.Key == "tokens" {
		return report.Compact(v)
	}
	return report.Count(v)
}

func quotaRat(m report.QuotaMetric, v *big.Rat) string {
	if m.Money {
		return report.USDRat(new(big.Rat).Quo(v, big.NewRat(source.NanosPerUSD, 1)))
	}
	return quotaValue(m, report.RoundRat(v))
}

// quotaHeader is "acme · November 2026 · 20 of 30 days elapsed (Europe/Berlin)".
func quotaHeader(q *report.Quota, meta Meta) []string {
	return withNote([]string{Safe(q.Tenant), q.Period.Start.Format("January 2006"),
		strconv.Itoa(q.DaysElapsed()) + " of " + strconv.Itoa(q.DaysInMonth) + " days elapsed (" + q.Period.Start.Location().String() + ")"}, meta)
}

// QuotaTable writes the billing month with a bar per metric.
func QuotaTable(w io.Writer, q *report.Quota, o Options) error {
	meta, st := o.Meta, o.Style
	W := st.width()
	p := &printer{w: w, limit: W}
	p.title(st, quotaHeader(q, meta), W)
	p.line("")
	lastDay := report.DateOf(q.Period.End.Add(-1)).Format("Jan 2")
	// When narrow, the forecast column goes first, then the gauge; the
	// level note stays.
	t := &ttable{gap: 3, indent: 2, noHead: true, cols: []column{
		{}, {bar: true, track: true, barWidth: 24, drop: 1, what: "bars"}, {align: right}, {align: right},
		{what: "month-end forecast", drop: 2}, {},
	}}
	for _, m := range q.Metrics {
		proj := tcell{text: "→ " + quotaRat(m, m.Projected)}
		if m.Limit == nil {
			t.rows = append(t.rows, []tcell{{text: m.Label}, {text: "no limit", color: dim}, {text: quotaValue(m, m.Used)}, {}, proj, {}})
			continue
		}
		pct := report.RatFloat(m.Percent)
		color := blue
		switch {
		case pct >= 90:
			color = red
		case pct >= 75:
			color = purple
		}
		note := tcell{}
		switch {
		case m.Level == report.LevelExceeded:
			note = tcell{text: "✗ limit exceeded", color: red}
		case m.ProjectedLevel == report.LevelExceeded && !m.ReachedAt.IsZero():
			note = tcell{text: "✗ over by " + m.ReachedAt.Format("Jan 2"), color: red}
		case m.ProjectedLevel == report.LevelExceeded:
			note = tcell{text: "✗ projected over", color: red}
		case m.Level == report.LevelWarning:
			note = tcell{text: "⚠ warning", color: yellow}
		}
		t.rows = append(t.rows, []tcell{{text: m.Label}, {color: color, frac: min(pct, 100) / 100},
			{text: quotaValue(m, m.Used) + " / " + quotaValue(m, *m.Limit)}, {text: report.Pct(m.Percent)}, proj, note})
	}
	left := t.render(p, st, W)
	var warn, over []string
	unlimited := true
	for _, m := range q.Metrics {
		if m.Limit == nil {
			continue
		}
		unlimited = false
		what := m.Noun() + " at " + report.Pct(m.Percent)
		switch m.Level {
		case report.LevelExceeded:
			over = append(over, what)
		case report.LevelWarning:
			warn = append(warn, what)
		}
	}
	para := func(color, text string) {
		for i, l := range wrap(text, W-4, "") {
			if i > 0 {
				l = "  " + l
			}
			p.line("  " + st.paint(color, l))
		}
	}
	if q.Baseline != nil {
		p.line("")
		para("", quotaBaselineLine(q))
	}
	if pace := paceSentence(q, lastDay, len(left) == 0 || !slices.Contains(left, "month-end forecast")); pace != "" {
		p.line("")
		para("", pace)
	}
	if len(left) > 0 {
		p.line("")
		leftOut(p, st, left, W)
	}
	if len(over) > 0 || len(warn) > 0 || unlimited {
		p.line("")
	}
	if len(over) > 0 {
		para(red, "✗ Over your monthly limits: "+strings.Join(over, ", ")+".")
	}
	if len(warn) > 0 {
		para(yellow, "⚠ Approaching your monthly limits: "+strings.Join(warn, ", ")+".")
	}
	if unlimited {
		para("", "No limits set"+o.NoLimitsHint+".")
	}
	return p.err
}

// paceSentence says what the two forecasts are: the bars' "→" is the
// month's pace so far (said in full when the table had no room for it);
// then the month end and the day a limit is reached at the last 7 days'
// pace. "" when no metric has a limit.
func paceSentence(q *report.Quota, lastDay string, shown bool) string {
	month := q.Period.Start.Format("January")
	first := "→ is the forecast for " + lastDay + " at " + month + "'s pace so far."
	if !shown {
		var at []string
		for _, m := range q.Metrics {
			at = append(at, m.Noun()+" "+quotaRat(m, m.Projected))
		}
		first = "At " + month + "'s pace so far, by " + lastDay + ": " + strings.Join(at, ", ") + "."
	}
	var pace []string
	for _, m := range q.Metrics {
		if m.Limit == nil {
			continue
		}
		part := m.Noun() + " " + quotaRat(m, m.Pace7)
		if !m.Reached7.IsZero() {
			part += " (limit reached around " + m.Reached7.Format("Jan 2") + ")"
		}
		pace = append(pace, part)
	}
	if len(pace) == 0 {
		return ""
	}
	return first + " At the last 7 days' pace, by " + lastDay + ": " + strings.Join(pace, ", ") + "."
}

// QuotaMarkdown writes the billing month as a Markdown table.
func QuotaMarkdown(w io.Writer, q *report.Quota, o Options) error {
	meta := o.Meta
	p := &printer{w: w}
	p.linef("### NextCore quota · %s", mdText(strings.Join(quotaHeader(q, meta), " · ")))
	p.line("")
	var rows [][]string
	for _, m := range q.Metrics {
		limit, pct, level, plevel := "no limit", "", "", ""
		if m.Limit != nil {
			limit, pct, level, plevel = quotaValue(m, *m.Limit), report.Pct(m.Percent), levelText(m.Level), levelText(m.ProjectedLevel)
		}
		rows = append(rows, []string{m.Label, quotaValue(m, m.Used), limit, pct, level, quotaRat(m, m.Projected), plevel})
	}
	if p.err == nil {
		p.err = markdownTable(w, []string{"Metric", "Used", "Limit", "Used %", "Level", "Projected", "Projected level"},
			[]align{left, right, right, right, left, right, left}, rows)
	}
	if q.Baseline != nil {
		p.line("")
		p.line(mdText(quotaBaselineLine(q)))
	}
	return p.err
}

func levelText(l report.Level) string {
	switch l {
	case report.LevelExceeded:
		return "✗ exceeded"
	case report.LevelWarning:
		return "⚠ warning"
	case report.LevelOK:
		return "✓ ok"
	}
	return ""
}

// QuotaCSV writes one row per metric.
func QuotaCSV(w io.Writer, q *report.Quota, _ Options) error {
	rows := [][]string{{"metric", "used", "limit", "percent", "level", "projected", "projectedLevel"}}
	for _, m := range q.Metrics {
		j := QuotaData(&report.Quota{Period: q.Period, Clock: q.Clock, WarnAt: q.WarnAt, Metrics: []report.QuotaMetric{m}}).Metrics[m.Key]
		row := []string{m.Key, j.Used.String(), j.Limit.String(), j.Percent.String(), deref(j.Level), j.Projected.String(), deref(j.ProjectedLevel)}
		for i := range row {
			if row[i] == "null" {
				row[i] = ""
			}
		}
		rows = append(rows, row)
	}
	// metric, level and projectedLevel are words; the rest numbers.
	return writeCSVCols(w, func(col int) bool { return col == 0 || col == 4 || col == 6 }, rows)
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
