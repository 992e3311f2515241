package render

import (
	"bytes"
	"fmt"
	"io"
	"maps"
	"math/big"
	"slices"
	"strconv"
	"strings"

	"github.com/nextcore-ai/nextcore/pkg/report"
	"github.com/nextcore-ai/nextcore/pkg/source"
)

// BudgetsReport is usage budgets.
func BudgetsReport() Report[*report.BudgetReport] {
	return Report[*report.BudgetReport]{"the budgets", []entry[*report.BudgetReport]{
		{Table, BudgetsTable}, {JSON, budgetsJSON}, {CSV, BudgetsCSV}, {Markdown, BudgetsMarkdown}, {GitHub, BudgetsGitHub},
	}}
}

// BudgetsJSON is usage budgets --format json.
type BudgetsJSON struct {
	Budgets  []BudgetJSON `json:"budgets"`
	AsOf     string       `json:"asOf"`
	Tenant   string       `json:"tenant"`
	TimeZone string       `json:"timeZone"`
	MoneyJSON
}

// BudgetJSON is one budget: the pinned fields first.
type BudgetJSON struct {
	Name           string              `json:"name"`
	Used           report.Number       `json:"used"`
	Limit          report.Number       `json:"limit"`
	Percent        report.Number       `json:"percent"`
	Level          string              `json:"level"`
	Projected      report.Number       `json:"projected"`
	ProjectedLevel string              `json:"projectedLevel"`
	OverrunDate    *string             `json:"overrunDate"`
	Metric         string              `json:"metric"`
	Scope          map[string][]string `json:"scope"`
	Period         string              `json:"period"`
	PeriodStart    string              `json:"periodStart"`
	PeriodEnd      string              `json:"periodEnd"`
	Thresholds     []report.Number     `json:"thresholds"`
	Crossed        []report.Number     `json:"crossed"`
}

// BudgetsData is the JSON model of usage budgets.
func BudgetsData(r *report.BudgetReport) BudgetsJSON {
	out := BudgetsJSON{Budgets: []BudgetJSON{}, AsOf: Timestamp(r.Clock.Now), Tenant: r.Tenant,
		TimeZone: r.Clock.Now.Location().String(), MoneyJSON: moneyData(r.Unpriced, r.CostMode)}
	for _, s := range r.Budgets {
		j := BudgetJSON{Name: s.Name, Used: budgetAmount(s, big.NewRat(s.Used, 1)), Limit: budgetAmount(s, big.NewRat(s.Limit, 1)),
			Percent: report.Nearest(s.Percent), Level: string(s.Level), Projected: budgetAmount(s, s.Projected),
			ProjectedLevel: string(s.ProjectedLevel), Metric: s.Metric, Scope: map[string][]string{}, Period: s.Period.String(),
			PeriodStart: Timestamp(s.Window.Start), PeriodEnd: Timestamp(s.Window.End), Thresholds: []report.Number{}, Crossed: []report.Number{}}
		if s.Overrun != (report.Date{}) {
			d := s.Overrun.String()
			j.OverrunDate = &d
		}
		for d, vals := range s.Scope {
			j.Scope[report.DimName(d)] = vals
		}
		for _, t := range s.Thresholds {
			j.Thresholds = append(j.Thresholds, report.Nearest(t))
		}
		for _, t := range s.Crossed {
			j.Crossed = append(j.Crossed, report.Nearest(t))
		}
		out.Budgets = append(out.Budgets, j)
	}
	return out
}

func budgetsJSON(w io.Writer, r *report.BudgetReport, _ Options) error {
	return WriteJSON(w, BudgetsData(r))
}

// BudgetAmount is a budget's limit or use as JSON and the config file
// write it: dollars for spend, else a count.
func BudgetAmount(b report.Budget, v int64) report.Number {
	return budgetAmount(report.BudgetStatus{Budget: b}, big.NewRat(v, 1))
}

// budgetAmount writes a budget's value: dollars to the nano-dollar for
// spend, counts as they are (a projection keeps its fraction).
func budgetAmount(s report.BudgetStatus, v *big.Rat) report.Number {
	return QuotaAmount(report.QuotaMetric{Money: s.Metric == report.BudgetSpend}, v)
}

// budgetValue is a budget's amount for people: $12.34, 1,234 calls, 1.2M tokens.
func budgetValue(s report.BudgetStatus, v int64) string {
	switch s.Metric {
	case report.BudgetSpend:
		return report.USD2(source.USD(v))
	case report.BudgetTokens:
		return report.Compact(v) + " tokens"
	}
	return report.Count(v) + " calls"
}

func budgetRat(s report.BudgetStatus, v *big.Rat) string {
	if s.Metric == report.BudgetSpend {
		return report.USDRat(new(big.Rat).Quo(v, big.NewRat(source.NanosPerUSD, 1)))
	}
	return budgetValue(s, report.RoundRat(v))
}

// budgetWindow is "Nov 1 – Nov 30" (the period's days), or "Nov 25" for one.
func budgetWindow(s report.BudgetStatus) string {
	loc := s.Window.Start.Location()
	first, last := report.DateOf(s.Window.Start.In(loc)), report.DateOf(s.Window.End.In(loc).Add(-1))
	if first == last {
		return first.Format("Jan 2")
	}
	return first.Format("Jan 2") + " – " + last.Format("Jan 2")
}

// budgetNote is a budget's state in a few words.
func budgetNote(s report.BudgetStatus) (string, string) {
	switch {
	case s.Level == report.LevelExceeded:
		return "✗ exceeded " + s.Overrun.Format("Jan 2"), red
	case s.ProjectedLevel == report.LevelExceeded && s.Overrun != (report.Date{}):
		return "✗ over by " + s.Overrun.Format("Jan 2"), red
	case s.ProjectedLevel == report.LevelExceeded:
		return "✗ projected over", red
	case s.Level == report.LevelWarning:
		return "⚠ warning", yellow
	}
	return "", ""
}

// BudgetsTable writes each budget: its name, scope and period, and under
// them a gauge with its use, forecast and state (the gauges aligned).
func BudgetsTable(w io.Writer, r *report.BudgetReport, o Options) error {
	st := o.Style
	head := withNote(withCost([]string{Safe(r.Tenant), "budgets", asOfText(r.Clock)}, r.CostMode), o.Meta)
	p, W := opening(w, st, head)
	if len(r.Budgets) == 0 {
		p.line("  No budgets. Set one: nextcore budget set NAME --spend 50 --period month [--scope project=search]")
		return p.err
	}
	t := &ttable{gap: 2, lead: "    ", noHead: true, cols: []column{
		{bar: true, track: true, barWidth: 20, drop: 2, what: "bars"},
		{align: right}, {align: right}, {what: "forecasts", drop: 1}, {},
	}}
	for _, s := range r.Budgets {
		pct := report.RatFloat(s.Percent)
		note, nc := budgetNote(s)
		t.rows = append(t.rows, []tcell{{color: gaugeColor(pct), frac: min(max(pct, 0), 100) / 100},
			{text: budgetValue(s, s.Used) + " / " + budgetValue(s, s.Limit)}, {text: report.Pct(s.Percent)},
			{text: "→ " + budgetRat(s, s.Projected)}, {text: note, color: nc}})
	}
	var gauges bytes.Buffer
	left := t.render(&printer{w: &gauges, limit: p.limit}, st, W)
	lines := strings.Split(strings.TrimSuffix(gauges.String(), "\n"), "\n")
	for i, s := range r.Budgets {
		if i > 0 {
			p.line("")
		}
		p.line("  " + st.paint(bold, Safe(s.Name)) + st.paint(dim, " · "+Safe(budgetScope(s.Scope))+" · "+s.Period.String()+" ("+budgetWindow(s)+")"))
		if i < len(lines) {
			p.line(lines[i])
		}
	}
	noteLines(p, st, UnpricedNote(r.Unpriced), W)
	if len(left) > 0 {
		p.line("")
		leftOut(p, st, left, W)
	}
	return p.err
}

// asOfText is "as of Nov 20, 2026 14:05 (Europe/Berlin)", or "as of the
// end of Nov 20, 2026 (…)" for --as-of a date.
func asOfText(c report.Clock) string {
	at := c.Now.Format("Jan 2, 2006 15:04")
	if c.EndOfDay {
		at = "the end of " + c.Today.Format("Jan 2, 2006")
	}
	return "as of " + at + " (" + c.Now.Location().String() + ")"
}

// budgetScope is a scope for people: "model=gpt-4o,gpt-4o-mini key=ci",
// "whole tenant" for none.
func budgetScope(f source.Filter) string {
	if len(f) == 0 {
		return "whole tenant"
	}
	var parts []string
	for _, d := range slices.Sorted(maps.Keys(f)) {
		vals := slices.Clone(f[d])
		for i, v := range vals {
			if v == "" {
				vals[i] = report.None
			}
		}
		parts = append(parts, report.DimName(d)+"="+strings.Join(vals, ","))
	}
	return strings.Join(parts, " ")
}

// BudgetsCSV writes a row a budget.
func BudgetsCSV(w io.Writer, r *report.BudgetReport, _ Options) error {
	rows := [][]string{{"name", "metric", "scope", "period", "periodStart", "periodEnd", "used", "limit", "percent", "level", "projected", "projectedLevel", "overrunDate"}}
	for i, j := range BudgetsData(r).Budgets {
		s := ""
		if j.OverrunDate != nil {
			s = *j.OverrunDate
		}
		rows = append(rows, []string{j.Name, j.Metric, report.ScopeString(r.Budgets[i].Scope), j.Period, j.PeriodStart, j.PeriodEnd, j.Used.String(), j.Limit.String(),
			j.Percent.String(), j.Level, j.Projected.String(), j.ProjectedLevel, s})
	}
	numeric := map[int]bool{6: true, 7: true, 8: true, 10: true}
	return writeCSVCols(w, func(col int) bool { return !numeric[col] }, rows)
}

// BudgetsMarkdown writes the budgets as a Markdown table (a CI step summary).
func BudgetsMarkdown(w io.Writer, r *report.BudgetReport, o Options) error {
	p := &printer{w: w}
	p.linef("### NextCore budgets · %s", mdText(strings.Join(withNote(withCost([]string{Safe(r.Tenant), asOfText(r.Clock)}, r.CostMode), o.Meta), " · ")))
	p.line("")
	var rows [][]string
	for _, s := range r.Budgets {
		over := ""
		if s.Overrun != (report.Date{}) {
			over = s.Overrun.String()
		}
		rows = append(rows, []string{mdText(s.Name), mdText(report.ScopeString(s.Scope)), s.Period.String() + " " + budgetWindow(s),
			budgetValue(s, s.Used), budgetValue(s, s.Limit), report.Pct(s.Percent), levelText(s.Level), budgetRat(s, s.Projected), levelText(s.ProjectedLevel), over})
	}
	if p.err == nil {
		p.err = markdownTable(w, []string{"Budget", "Scope", "Period", "Used", "Limit", "Used %", "Level", "Projected", "Projected level", "Overrun"},
			[]align{left, left, left, right, right, right, left, right, left, left}, rows)
	}
	mdNote(p, UnpricedNote(r.Unpriced))
	return p.err
}

// BudgetListJSON is budget list --format json: the budgets as set.
type BudgetListJSON struct {
	Budgets []BudgetSpecJSON `json:"budgets"`
}

// BudgetSpecJSON is a budget as set.
type BudgetSpecJSON struct {
	Name       string              `json:"name"`
	Scope      map[string][]string `json:"scope"`
	Metric     string              `json:"metric"`
	Limit      report.Number       `json:"limit"`
	Period     string              `json:"period"`
	Thresholds []report.Number     `json:"thresholds"`
}

// BudgetListData is the JSON model of the budgets as set.
func BudgetListData(bs []report.Budget) BudgetListJSON {
	out := BudgetListJSON{Budgets: []BudgetSpecJSON{}}
	for _, b := range bs {
		j := BudgetSpecJSON{Name: b.Name, Scope: map[string][]string{}, Metric: b.Metric, Period: b.Period.String(),
			Limit: budgetAmount(report.BudgetStatus{Budget: b}, big.NewRat(b.Limit, 1)), Thresholds: []report.Number{}}
		for d, v := range b.Scope {
			j.Scope[report.DimName(d)] = v
		}
		for _, t := range b.Thresholds {
			j.Thresholds = append(j.Thresholds, report.Nearest(t))
		}
		out.Budgets = append(out.Budgets, j)
	}
	return out
}

// BudgetListTable writes the budgets as set.
func BudgetListTable(w io.Writer, bs []report.Budget, o Options) error {
	p, W := opening(w, o.Style, []string{"budgets", strconv.Itoa(len(bs)) + " set"})
	if len(bs) == 0 {
		p.line("  No budgets. Set one: nextcore budget set NAME --spend 50 [--scope project=search] [--period month]")
		return p.err
	}
	t := &ttable{gap: 2, lead: " ", cols: []column{{head: "budget", name: true}, {head: "scope", drop: 2},
		{head: "limit", align: right}, {head: "period"}, {head: "thresholds", drop: 1}}}
	for _, b := range bs {
		var th []string
		for _, r := range b.Thresholds {
			th = append(th, report.Nearest(r).String()+"%")
		}
		s := report.BudgetStatus{Budget: b}
		t.rows = append(t.rows, cells([]string{Safe(b.Name), Safe(report.ScopeString(b.Scope)), budgetValue(s, b.Limit), b.Period.String(), strings.Join(th, " ")}))
	}
	left := t.render(p, o.Style, W)
	leftOut(p, o.Style, left, W)
	return p.err
}

// BudgetAlertPayload is what a webhook receives of a budget's alerts: the
// tenant, the budget as usage budgets has it, and the new alerts.
type BudgetAlertPayload struct {
	Tenant string      `json:"tenant"`
	Budget BudgetJSON  `json:"budget"`
	Alerts []AlertJSON `json:"alerts"`
}

// BudgetAlertData is the webhook payload of a budget's alerts (r holds the
// one budget).
func BudgetAlertData(r *report.BudgetReport, alerts []report.BudgetAlert) BudgetAlertPayload {
	b := BudgetsData(r).Budgets[0]
	out := BudgetAlertPayload{Tenant: r.Tenant, Budget: b, Alerts: []AlertJSON{}}
	for _, a := range alerts {
		j := AlertJSON{Key: a.Key, Metric: b.Metric, Kind: a.Kind, Percent: b.Percent, Used: b.Used, Limit: b.Limit,
			Projected: b.Projected, Text: a.Text}
		if a.Threshold != nil {
			j.Threshold = report.Nearest(a.Threshold)
		}
		out.Alerts = append(out.Alerts, j)
	}
	return out
}

// BudgetsGitHub writes the budgets as workflow annotations: an error per
// budget over its limit, a warning per budget at its warning level or
// projected over, and a notice of those within.
func BudgetsGitHub(w io.Writer, r *report.BudgetReport, _ Options) error {
	p := &printer{w: w}
	title := "NextCore budgets (" + r.Tenant + ")"
	var fine []string
	for _, s := range r.Budgets {
		what := fmt.Sprintf("%s (%s, %s %s) at %s of %s (%s used); on course for %s by %s", s.Name, budgetScope(s.Scope), s.Period,
			budgetWindow(s), report.Pct(s.Percent), budgetValue(s, s.Limit), budgetValue(s, s.Used), budgetRat(s, s.Projected),
			report.DateOf(s.Window.End.Add(-1).In(s.Window.Start.Location())).Format("Jan 2"))
		switch {
		case s.Level == report.LevelExceeded:
			annotate(p, "error", title, what)
		case s.Level == report.LevelWarning || s.ProjectedLevel == report.LevelExceeded:
			annotate(p, "warning", title, what)
		default:
			fine = append(fine, s.Name+" "+report.Pct(s.Percent))
		}
	}
	if !r.Unpriced.Empty() {
		annotate(p, "warning", title, r.Unpriced.Sentence())
	}
	switch {
	case len(fine) > 0:
		annotate(p, "notice", title, "Within budget: "+strings.Join(fine, ", "))
	case len(r.Budgets) == 0:
		annotate(p, "notice", title, "No budgets set")
	}
	return p.err
}
