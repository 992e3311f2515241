package render

import (
	"bytes"
	"fmt"
	"html/template"
	"io"
	"strings"
	"sync"

	"github.com/nextcore-ai/nextcore/pkg/report"
)

// htmlPage is the dashboard as one self-contained HTML file: inline CSS
// and SVG, no script, no external request; readable in a browser and
// printable (A4 or letter). Names are escaped by html/template. Parsed
// when first used: most runs render no HTML, and every run would pay.
var htmlPage = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("page").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="nextcore {{.Version}}">
<title>{{.Title}} · {{.Subtitle}}</title>
<style>
:root { --ink:#111827; --muted:#6b7280; --line:#e5e7eb; --soft:#f9fafb; --blue:#2563eb; --purple:#7c3aed; }
* { box-sizing: border-box; }
body { margin: 0; background: #f3f4f6; color: var(--ink); font: 14px/1.45 -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; }
main { max-width: 960px; margin: 24px auto; background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 24px 28px; }
h1 { font-size: 22px; margin: 0 0 2px; }
h2 { font-size: 15px; margin: 24px 0 8px; }
.sub { color: var(--muted); font-size: 12px; margin-bottom: 18px; }
.cards { display: grid; grid-template-columns: repeat(4, 1fr); gap: 10px; }
.card { background: var(--soft); border: 1px solid var(--line); border-radius: 6px; padding: 10px 12px; }
.card .label { font-size: 10px; font-weight: 700; letter-spacing: .5px; color: var(--muted); }
.card .value { font-size: 22px; font-weight: 700; color: var(--blue); }
.card .change { font-size: 12px; font-weight: 700; }
.card .detail { font-size: 11px; color: var(--muted); }
.note { font-size: 11px; color: #b45309; margin-top: 6px; }
table { width: 100%; border-collapse: collapse; font-size: 12px; }
th { background: #f3f4f6; color: var(--muted); font-weight: 700; text-align: right; padding: 5px 6px; }
td { padding: 5px 6px; text-align: right; border-bottom: 1px solid #f3f4f6; font-variant-numeric: tabular-nums; }
th:first-child, td:first-child { text-align: left; word-break: break-all; }
tr.total td { font-weight: 700; border-top: 1px solid #d1d5db; }
.bar { background: var(--line); height: 8px; border-radius: 2px; min-width: 120px; }
.bar div { height: 8px; border-radius: 2px; }
svg { width: 100%; height: auto; display: block; }
svg text { font: 10px sans-serif; fill: var(--muted); }
ul.insights { margin: 0; padding-left: 18px; }
ul.insights li span { color: var(--ink); }
footer { color: #9ca3af; font-size: 11px; margin-top: 22px; }
@media (max-width: 720px) { .cards { grid-template-columns: repeat(2, 1fr); } main { margin: 0; border-radius: 0; } }
@media print {
  @page { size: {{.Paper}}; margin: 14mm; }
  body { background: #fff; }
  main { margin: 0; border: 0; padding: 0; max-width: none; }
  section, table, .cards { break-inside: avoid; }
}
</style></head>
<body><main>
<h1>{{.Title}}</h1>
<div class="sub">{{.Subtitle}}</div>
{{if .Empty}}<p>No calls in this window.</p>{{else}}
<section class="cards">
{{range .Cards}}<div class="card"><div class="label">{{.Label}}</div><div class="value">{{.Value}}</div>
<div class="change" style="color:{{.ChangeColor}}">{{.Change}}</div><div class="detail">{{.Detail}}</div></div>
{{end}}</section>
{{if .Partial}}<div class="note">{{.Partial}}</div>{{end}}
<section><h2>{{.TrendTitle}}</h2>{{.Chart}}</section>
<section><h2>Top models</h2>
<table><tr>{{range .TopHead}}<th>{{.}}</th>{{end}}</tr>
{{range .Top}}<tr>{{range .Cells}}<td>{{.}}</td>{{end}}</tr>
{{end}}</table></section>
<section><h2>Cost breakdown</h2>
<table><tr><th>model</th><th>cost</th><th></th><th>share</th><th>calls</th></tr>
{{range .Costs}}<tr><td>{{.Name}}</td><td>{{.Cost}}</td><td><div class="bar"><div style="width:{{.Width}}%;background:var(--purple)"></div></div></td><td>{{.Share}}</td><td>{{.Calls}}</td></tr>
{{end}}<tr class="total"><td>total</td><td>{{.Total}}</td><td></td><td></td><td>{{.Calls}}</td></tr>
</table></section>{{end}}
{{if .QuotaHead}}<section><h2>Quota</h2><div class="sub">{{.QuotaHead}}</div>
<table>{{range .Quota}}<tr><td>{{.Label}}</td><td><div class="bar"><div style="width:{{.Width}}%;background:{{.Color}}"></div></div></td>
<td>{{.Used}} {{.Percent}}</td><td>{{.Projected}}</td><td style="color:#dc2626;font-weight:700">{{.Note}}</td></tr>
{{end}}</table></section>{{end}}
{{if .Insights}}<section><h2>Insights</h2><ul class="insights">
{{range .Insights}}<li style="color:{{.Color}}"><span>{{.Text}}</span></li>
{{end}}</ul></section>{{end}}
<footer>{{.Footer}}</footer>
</main></body></html>
`))
})

type htmlCost struct {
	Name, Cost, Share, Calls string
	Width                    int
}

type htmlData struct {
	emailData
	Version, Paper, TrendTitle, Footer, Calls string
	Chart                                     template.HTML
	Costs                                     []htmlCost
}

// StatsHTML writes the dashboard as one self-contained HTML page: metric
// cards with their changes, the daily chart, top models, the cost
// breakdown, the quota bars and the insights.
func StatsHTML(w io.Writer, s *report.Stats, o Options) error {
	d := htmlData{emailData: dashboardData(s, o.Meta), Version: o.PDF.Version, Paper: "A4", Calls: report.Count(s.Current.Calls)}
	if o.PDF.Paper == Letter {
		d.Paper = "letter"
	}
	d.TrendTitle, d.Chart = dailyChart(s)
	maxCost := 0.0
	if len(s.Models) > 0 {
		maxCost = s.Models[0].Cost.Float()
	}
	for _, g := range s.Models {
		width := 0
		if maxCost > 0 {
			width = int(g.Cost.Float()/maxCost*100 + 0.5)
		}
		d.Costs = append(d.Costs, htmlCost{truncate(Safe(g.Name), docNameWidth), report.USD2(g.Cost),
			report.PctWhole(report.Percent(int64(g.Cost), int64(s.Current.Cost))), report.Count(g.Calls), width})
	}
	d.Footer = "Made by nextcore " + o.PDF.Version + " as of " + s.Clock.Now.Format("Jan 2, 2006 15:04 MST") + "."
	var b bytes.Buffer
	if err := htmlPage().Execute(&b, d); err != nil {
		return err
	}
	_, err := w.Write(b.Bytes())
	return err
}

// dailyChart draws the window's calls a day as an SVG bar chart with its
// axes; each bar's title says the day, its calls and cost. The peak day is
// purple.
func dailyChart(s *report.Stats) (string, template.HTML) {
	const W, H, left, bottom, top = 900, 200, 44, 22, 8 // px of the viewBox
	days := s.Daily
	peak, _ := s.PeakDay()
	top1 := int64(1) // the busiest day's calls, at least 1
	for _, d := range days {
		top1 = max(top1, d.Calls)
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg viewBox="0 0 %d %d" role="img" aria-label="calls a day"><g>`, W, H)
	plotW, plotH := float64(W-left-4), float64(H-top-bottom)
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#d1d5db"/>`, left, H-bottom, W-4, H-bottom)
	for _, f := range []float64{0, 0.5, 1} {
		y := float64(H-bottom) - f*plotH
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end">%s</text>`, left-4, y+3, report.Count(int64(float64(top1)*f+0.5)))
		if f > 0 {
			fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#f3f4f6"/>`, left, y, W-4, y)
		}
	}
	n := len(days)
	slot := plotW / float64(max(n, 1))
	every := (n + 9) / 10
	for i, d := range days {
		h := float64(d.Calls) / float64(top1) * plotH
		x := float64(left) + float64(i)*slot
		color := "#2563eb"
		if d.Date == peak.Date && d.Calls > 0 {
			color = "#7c3aed"
		}
		fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s: %s calls, %s</title></rect>`,
			x+slot*0.1, float64(H-bottom)-h, slot*0.8, h, color, d.Date.Format("Mon Jan 2"), report.Count(d.Calls), report.USD2(d.Cost))
		if i%every == 0 || i == n-1 {
			fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">%s</text>`, x+slot/2, H-6, d.Date.Format("Jan 2"))
		}
	}
	b.WriteString(`</g></svg>`)
	return "Daily usage (calls a day; the peak day in purple)", template.HTML(b.String()) // numbers and dates only
}
