// Mail: the report mail (text and inline-styled HTML) and the alert mail.

package render

import (
	"bytes"
	"html/template"
	"io"
	"math/big"
	"strconv"
	"strings"
	"sync"

	"github.com/nextcore-ai/nextcore/pkg/report"
	"github.com/nextcore-ai/nextcore/pkg/source"
)

// AlertSubject is "NextCore alert · acme · Spend passed 80% of the November
// limit: 87.8%": the most severe alert.
func AlertSubject(q *report.Quota, alerts []report.Alert) string {
	return "NextCore alert · " + Safe(q.Tenant) + " · " + report.Headline(alerts).Text
}

// AlertText is the plain-text part of an alert mail: the alerts, then the
// month's quota as a log would show it.
func AlertText(q *report.Quota, alerts []report.Alert) (string, error) {
	text, _, err := alertMail(q.Tenant, alertTexts(alerts), quotaTableOf(q), "Each alert is sent once per billing month.")
	return text, err
}

// AlertHTML is the HTML part of an alert mail, names escaped by
// html/template.
func AlertHTML(q *report.Quota, alerts []report.Alert) (string, error) {
	_, html, err := alertMail(q.Tenant, alertTexts(alerts), quotaTableOf(q), "Each alert is sent once per billing month.")
	return html, err
}

func quotaTableOf(q *report.Quota) func(io.Writer) error {
	return func(w io.Writer) error { return QuotaTable(w, q, Options{Style: Style{Width: 78}}) }
}

func alertTexts[A interface{ AlertText() string }](alerts []A) []string {
	var out []string
	for _, a := range alerts {
		out = append(out, a.AlertText())
	}
	return out
}

// BudgetAlertSubject is the subject of a budget's alert mail: its most
// severe alert.
func BudgetAlertSubject(tenant string, alerts []report.BudgetAlert) string {
	top := alerts[0]
	for _, a := range alerts {
		if a.Kind == "threshold" && (top.Kind == "forecast" || a.Threshold.Cmp(top.Threshold) > 0) {
			top = a
		}
	}
	return "NextCore alert · " + Safe(tenant) + " · " + top.Text
}

// BudgetAlertMail is the text and HTML parts of a budget's alert mail: the
// alerts, then the budget as usage budgets shows it.
func BudgetAlertMail(r *report.BudgetReport, alerts []report.BudgetAlert) (text, html string, err error) {
	return alertMail(r.Tenant, alertTexts(alerts), func(w io.Writer) error { return BudgetsTable(w, r, Options{Style: Style{Width: 78}}) },
		"Each alert is sent once per budget period (a rolling budget's: once every N days).")
}

// alertHTML is an alert mail's HTML part, parsed when first used.
var alertHTML = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("alert").Parse(`<!DOCTYPE html><html><head><meta charset="utf-8"></head>` +
		`<body style="font-family:Helvetica,Arial,sans-serif;color:#111827">` +
		`<h2 style="font-size:18px;margin:0 0 8px">NextCore budget alert · {{.Tenant}}</h2>` +
		`<ul style="font-size:14px;line-height:1.5;color:#dc2626">{{range .Alerts}}<li>{{.}}</li>{{end}}</ul>` +
		`<pre style="font-size:12px;background:#f3f4f6;padding:10px">{{.Table}}</pre>` +
		`<p style="font-size:11px;color:#9ca3af">Sent by nextcore usage alert. {{.Footer}}</p></body></html>`))
})

// alertMail is an alert mail's text and HTML: the alerts, a report as a
// log would show it, and a footer; names escaped by html/template.
func alertMail(tenant string, alerts []string, table func(io.Writer) error, footer string) (text, html string, err error) {
	var t strings.Builder
	if err := table(&t); err != nil {
		return "", "", err
	}
	var b strings.Builder
	for _, a := range alerts {
		b.WriteString("• " + a + "\n")
	}
	b.WriteString("\n" + t.String() + "\n-- \nSent by nextcore usage alert. " + footer + "\n")
	d := struct {
		Tenant, Table, Footer string
		Alerts                []string
	}{Tenant: tenant, Table: t.String(), Footer: footer, Alerts: alerts}
	var h bytes.Buffer
	if err := alertHTML().Execute(&h, d); err != nil {
		return "", "", err
	}
	return b.String(), h.String(), nil
}

// EmailSubject is "NextCore usage · acme · week to 2026-11-23".
func EmailSubject(s *report.Stats) string {
	last := s.Span.Days[len(s.Span.Days)-1].String()
	what := string(s.Span.Period)
	if s.Span.Period == report.Custom {
		what = s.Span.Days[0].String()
	}
	return "NextCore usage · " + Safe(s.Tenant) + " · " + what + " to " + last
}

// EmailText is the plain-text part: the dashboard as a log would show it,
// and the quota when limits are known.
func EmailText(s *report.Stats, meta Meta) (string, error) {
	var b bytes.Buffer
	if err := StatsTable(&b, s, Options{Meta: meta, Style: Style{Width: 78}}); err != nil {
		return "", err
	}
	if s.Quota != nil {
		b.WriteString("\n")
		if err := QuotaTable(&b, s.Quota, Options{Style: Style{Width: 78}}); err != nil {
			return "", err
		}
	}
	b.WriteString("\n-- \nSent by nextcore. Change what is sent with `nextcore usage report --help`.\n")
	return b.String(), nil
}

type emailCard struct {
	Label, Value, Change, ChangeColor, Detail string
}

type emailRow struct {
	Cells []string
}

type emailQuota struct {
	Label, Used, Percent, Projected, Color, Note string
	Width                                        int // bar width in percent
}

type emailInsight struct {
	Color, Text string
}

type emailData struct {
	Title, Subtitle string
	Empty           bool
	Cards           []emailCard
	TopHead         []string
	Top             []emailRow
	Breakdown       []emailRow
	Total           string
	QuotaHead       string
	Quota           []emailQuota
	Insights        []emailInsight
	// Partial says the changes compare with a period the data covers only
	// in part (the changes carry a *).
	Partial string
}

func css(c rgb) string {
	return "#" + hex2(c.r) + hex2(c.g) + hex2(c.b)
}

func hex2(n int) string {
	const d = "0123456789abcdef"
	return string([]byte{d[n>>4], d[n&15]})
}

// emailHTML is inline-styled, table-based HTML: what mail clients show.
// Parsed when first used.
var emailHTML = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("email").Parse(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{{.Title}}</title></head>
<body style="margin:0;padding:0;background:#f3f4f6;font-family:Helvetica,Arial,sans-serif;color:#111827">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="background:#f3f4f6;padding:16px 0"><tr><td align="center">
<table role="presentation" width="640" cellpadding="0" cellspacing="0" style="background:#ffffff;border:1px solid #e5e7eb;border-radius:6px;padding:20px">
<tr><td style="font-size:20px;font-weight:bold;padding-bottom:2px">{{.Title}}</td></tr>
<tr><td style="font-size:12px;color:#6b7280;padding-bottom:16px">{{.Subtitle}}</td></tr>
{{if .Empty}}<tr><td style="font-size:14px;padding:8px 0">No usage in this window.</td></tr>{{else}}
<tr><td><table role="presentation" width="100%" cellpadding="0" cellspacing="6"><tr>
{{range .Cards}}<td width="25%" valign="top" style="background:#f9fafb;border:1px solid #e5e7eb;border-radius:4px;padding:10px">
<div style="font-size:10px;font-weight:bold;color:#6b7280;letter-spacing:0.5px">{{.Label}}</div>
<div style="font-size:20px;font-weight:bold;color:#2563eb;padding:2px 0">{{.Value}}</div>
<div style="font-size:12px;font-weight:bold;color:{{.ChangeColor}}">{{.Change}}</div>
<div style="font-size:11px;color:#6b7280;padding-top:2px">{{.Detail}}</div></td>
{{end}}</tr></table></td></tr>
{{if .Partial}}<tr><td style="font-size:11px;color:#b45309;padding:4px 6px">{{.Partial}}</td></tr>{{end}}
<tr><td style="font-size:15px;font-weight:bold;padding:16px 0 6px">Top models</td></tr>
<tr><td><table role="presentation" width="100%" cellpadding="4" cellspacing="0" style="font-size:12px;border-collapse:collapse">
<tr style="background:#f3f4f6;color:#6b7280">{{range $i, $h := .TopHead}}<th align="{{if eq $i 0}}left{{else}}right{{end}}" style="font-weight:bold">{{$h}}</th>{{end}}</tr>
{{range .Top}}<tr style="border-bottom:1px solid #f3f4f6">{{range $i, $c := .Cells}}<td align="{{if eq $i 0}}left{{else}}right{{end}}">{{$c}}</td>{{end}}</tr>
{{end}}</table></td></tr>
<tr><td style="font-size:15px;font-weight:bold;padding:16px 0 6px">Cost breakdown</td></tr>
<tr><td><table role="presentation" width="100%" cellpadding="4" cellspacing="0" style="font-size:12px;border-collapse:collapse">
<tr style="background:#f3f4f6;color:#6b7280"><th align="left">model</th><th align="right">cost</th><th align="right">share</th><th align="right">calls</th></tr>
{{range .Breakdown}}<tr>{{range $i, $c := .Cells}}<td align="{{if eq $i 0}}left{{else}}right{{end}}">{{$c}}</td>{{end}}</tr>
{{end}}<tr style="font-weight:bold;border-top:1px solid #d1d5db"><td>total spend</td><td align="right">{{.Total}}</td><td></td><td></td></tr>
</table></td></tr>{{end}}
{{if .QuotaHead}}<tr><td style="font-size:15px;font-weight:bold;padding:16px 0 6px">Quota</td></tr>
<tr><td style="font-size:12px;color:#6b7280;padding-bottom:4px">{{.QuotaHead}}</td></tr>
<tr><td><table role="presentation" width="100%" cellpadding="4" cellspacing="0" style="font-size:12px">
{{range .Quota}}<tr><td width="80" style="font-weight:bold">{{.Label}}</td>
<td width="180"><div style="background:#e5e7eb;height:8px;width:170px"><div style="background:{{.Color}};height:8px;width:{{.Width}}%"></div></div></td>
<td>{{.Used}} {{.Percent}}</td><td style="color:#6b7280">{{.Projected}}</td><td style="color:#dc2626;font-weight:bold">{{.Note}}</td></tr>
{{end}}</table></td></tr>{{end}}
{{if .Insights}}<tr><td style="font-size:15px;font-weight:bold;padding:16px 0 6px">Insights</td></tr>
<tr><td><ul style="margin:0;padding-left:18px;font-size:13px;line-height:1.5">
{{range .Insights}}<li style="color:{{.Color}}"><span style="color:#111827">{{.Text}}</span></li>
{{end}}</ul></td></tr>{{end}}
<tr><td style="font-size:11px;color:#9ca3af;padding-top:18px">Sent by nextcore.</td></tr>
</table></td></tr></table></body></html>
`))
})

// EmailHTML is the HTML part, inline-styled so that mail clients show it.
// Names from outside are escaped by html/template.
func EmailHTML(s *report.Stats, meta Meta) (string, error) {
	var b bytes.Buffer
	if err := emailHTML().Execute(&b, dashboardData(s, meta)); err != nil {
		return "", err
	}
	return b.String(), nil
}

// dashboardData is the dashboard as the HTML of a mail and of a report
// show it: cards, top models, cost breakdown, quota, insights.
func dashboardData(s *report.Stats, meta Meta) emailData {
	cur, prev := s.Current, s.Previous
	d := emailData{Title: "NextCore usage · " + s.Tenant, Subtitle: strings.Join(header(s, meta)[1:], " · "), Empty: cur.Calls == 0}
	mark := ""
	if s.PreviousPartial() {
		mark, d.Partial = "*", partialNote(s.Span, s.DataStart)
	}
	change := func(c report.Number, riseIsGood bool) (string, string) {
		t, col := pdfChange(c, riseIsGood)
		if t != "" {
			t += mark
		}
		return t, css(col)
	}
	c1, k1 := change(report.Change(cur.Calls, prev.Calls), true)
	c2, k2 := change(report.Change(cur.Tokens(), prev.Tokens()), true)
	c3, k3 := change(report.Change(int64(cur.Cost), int64(prev.Cost)), false)
	rate := report.SuccessRate(cur)
	d.Cards = []emailCard{
		{"API CALLS", report.Count(cur.Calls), c1, k1, report.Count(cur.Successful) + " successful · " + report.Count(cur.Failed()) + " failed"},
		{"TOKENS", report.Compact(cur.Tokens()), c2, k2, report.Compact(cur.Prompt) + " prompt · " + report.Compact(cur.Completion) + " completion" + withMix(cur)},
		{"TOTAL COST", report.USD2(cur.Cost), c3, k3, report.USDPerCall(report.AverageCost(cur)) + " per call"},
		{"SUCCESS RATE", report.Pct(rate), "", css(pdfMuted), report.Count(cur.Failed()) + " calls failed"},
	}
	if pr := report.SuccessRate(prev); rate != nil && pr != nil {
		d.Cards[3].Change, d.Cards[3].ChangeColor = pointsChange(rate, pr)
		if d.Cards[3].Change != "" {
			d.Cards[3].Change += mark
		}
	}
	d.TopHead = []string{"model", "calls", "% calls", "tokens", "cost"}
	for _, g := range s.TopModels() {
		d.Top = append(d.Top, emailRow{[]string{truncate(Safe(g.Name), docNameWidth), report.Count(g.Calls), report.Pct(report.Percent(g.Calls, cur.Calls)), report.Count(g.Tokens()), report.USD2(g.Cost)}})
	}
	for _, g := range s.Models {
		d.Breakdown = append(d.Breakdown, emailRow{[]string{truncate(Safe(g.Name), docNameWidth), report.USD2(g.Cost), report.PctWhole(report.Percent(int64(g.Cost), int64(cur.Cost))), report.Count(g.Calls)}})
	}
	d.Total = report.USD2(cur.Cost)
	if q := s.Quota; q != nil {
		d.QuotaHead = q.Period.Start.Format("January 2006") + " · " + strconv.Itoa(q.DaysElapsed()) + " of " + strconv.Itoa(q.DaysInMonth) + " days elapsed"
		last := report.DateOf(q.Period.End.Add(-1)).Format("Jan 2")
		for _, m := range q.Metrics {
			row := emailQuota{Label: m.Label, Projected: "→ " + quotaRat(m, m.Projected) + " by " + last, Color: css(pdfBlue)}
			if m.Limit == nil {
				row.Used = quotaValue(m, m.Used) + " (no limit)"
			} else {
				pct := report.RatFloat(m.Percent)
				row.Used = quotaValue(m, m.Used) + " of " + quotaValue(m, *m.Limit)
				row.Percent = "(" + report.Pct(m.Percent) + ")"
				row.Width = int(min(pct, 100))
				row.Color = css(quotaRGB(pct))
				switch {
				case m.Level == report.LevelExceeded:
					row.Note = "limit exceeded"
				case m.ProjectedLevel == report.LevelExceeded:
					row.Note = "projected over"
				case m.Level == report.LevelWarning:
					row.Note = "warning"
				}
			}
			d.Quota = append(d.Quota, row)
		}
	}
	for _, in := range s.Insights {
		d.Insights = append(d.Insights, emailInsight{css(toneRGB(in.Tone)), Safe(in.Text)})
	}
	return d
}

// pointsChange is a rate's change in points, "▲ 0.4 pt", in green for a
// rise and red for a fall.
func pointsChange(cur, prev *big.Rat) (string, string) {
	n := report.Fixed(new(big.Rat).Sub(cur, prev), 1)
	switch n.Rat().Sign() {
	case 1:
		return "▲ " + n.String() + " pt", css(pdfGreen)
	case -1:
		return "▼ " + strings.TrimPrefix(n.String(), "-") + " pt", css(pdfRed)
	}
	return "= 0.0 pt", css(pdfMuted)
}

// withMix is the token mix after a card's detail, "" without one.
func withMix(t source.Totals) string {
	if m := tokenMix(t); m != "" {
		return " (" + m + ")"
	}
	return ""
}
