package render

import (
	"fmt"
	"io"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/nextcore-ai/nextcore/pkg/report"
	"github.com/nextcore-ai/nextcore/pkg/source"
)

// Meta is what a report's header says besides the numbers: where they came
// from and how fresh they are ("cache updated 4 min ago", "demo data").
type Meta struct {
	Source string // cache, api, demo
	Note   string
}

// header is the parts of the dashboard's first line: "acme", "last 7
// days", "Nov 14 – Nov 20, 2026 (Europe/Berlin)", a filter, the note.
func header(s *report.Stats, meta Meta) []string {
	return withNote(withFilter([]string{Safe(s.Tenant), s.Span.Label(), s.Span.DateRange() + " (" + s.Span.ZoneName() + ")"}, s.Filter), meta)
}

// trend is a change as an arrow and a number: "▲ 12.5%", "▼ 3.2%", "= 0.0%",
// "new". good says whether a rise is good news (green) or bad (red).
func (st Style) trend(c report.Number, riseIsGood bool) string {
	if c.Null() {
		return st.paint(dim, "new")
	}
	r := c.Rat()
	text := report.ChangeText(c)
	switch r.Sign() {
	case 0:
		return "= " + text
	case 1:
		return st.paint(goodOrBad(riseIsGood), "▲ "+strings.TrimPrefix(text, "+"))
	}
	return st.paint(goodOrBad(!riseIsGood), "▼ "+strings.TrimPrefix(text, "-"))
}

func goodOrBad(good bool) string {
	if good {
		return green
	}
	return red
}

// rateTrend is the change of a percentage in points: "▼ 0.4 pt".
func (st Style) rateTrend(cur, prev *big.Rat) string {
	if cur == nil || prev == nil {
		return ""
	}
	d := new(big.Rat).Sub(cur, prev)
	n := report.Fixed(d, 1)
	switch n.Rat().Sign() {
	case 0:
		return "= 0.0 pt"
	case 1:
		return st.paint(green, "▲ "+n.String()+" pt")
	}
	return st.paint(red, "▼ "+strings.TrimPrefix(n.String(), "-")+" pt")
}

// StatsTable writes the dashboard for a terminal or a log.
func StatsTable(w io.Writer, s *report.Stats, o Options) error {
	meta, st := o.Meta, o.Style
	W := st.width()
	p := &printer{w: w, limit: W}
	p.title(st, header(s, meta), W)
	p.line("")
	cur, prev := s.Current, s.Previous
	if cur.Calls == 0 {
		p.line("  No calls in this window.")
		if prev.Calls > 0 {
			p.linef("  The previous period had %s calls costing %s.", report.Count(prev.Calls), report.USD2(prev.Cost))
		}
		return p.err
	}
	tokens := report.Count(cur.Tokens())
	if len(tokens) > 9 {
		tokens = report.Compact(cur.Tokens())
	}
	// A change against a previous window the data covers only in part is
	// marked, and said why under the cards.
	mark := ""
	if s.PreviousPartial() {
		mark = "*"
	}
	cards := [][]string{
		{"API CALLS", st.paint(blue+";1", report.Count(cur.Calls)) + "  " + st.trend(report.Change(cur.Calls, prev.Calls), true) + mark,
			st.paint(green, "✓ "+report.Count(cur.Successful)) + "  " + st.paint(red, "✗ "+report.Count(cur.Failed()))},
		{"TOKENS", st.paint(blue+";1", tokens) + "  " + st.trend(report.Change(cur.Tokens(), prev.Tokens()), true) + mark,
			"↑ " + report.Compact(cur.Prompt) + " prompt", st.paint(purple, "↓ "+report.Compact(cur.Completion)+" completion")},
		{"TOTAL COST", st.paint(blue+";1", report.USD2(cur.Cost)) + "  " + st.trend(report.Change(int64(cur.Cost), int64(prev.Cost)), false) + mark,
			report.USDPerCall(report.AverageCost(cur)) + " per call"},
		{"SUCCESS RATE", st.paint(green+";1", report.Pct(report.SuccessRate(cur))) + "  " + withMark(st.rateTrend(report.SuccessRate(cur), report.SuccessRate(prev)), mark)},
	}

	// Each card is as wide as its widest line; two rows of two when four
	// do not fit.
	colW := make([]int, len(cards))
	all := 2
	for i, c := range cards {
		for _, l := range c {
			colW[i] = max(colW[i], width(l)+3)
		}
		all += colW[i]
	}
	perRow := 4
	if all > W {
		perRow = 2
		for i := range 2 {
			colW[i] = max(colW[i], colW[i+2])
			colW[i+2] = colW[i]
		}
		if 2+colW[0]+colW[1] > W {
			perRow = 1
		}
	}
	for start := 0; start < len(cards); start += perRow {
		group := cards[start:min(start+perRow, len(cards))]
		for ln := 0; ; ln++ {
			any := false
			var b strings.Builder
			b.WriteString("  ")
			for k, c := range group {
				cell := ""
				if ln < len(c) {
					cell, any = c[ln], true
				}
				if ln == 0 {
					cell = st.paint(dim, cell)
				}
				b.WriteString(padRight(cell, colW[start+k]))
			}
			if !any {
				break
			}
			p.line(strings.TrimRight(b.String(), " "))
		}
		if start+perRow < len(cards) {
			p.line("")
		}
	}
	if mark != "" {
		p.line("")
		partialLines(p, st, s.Span, s.DataStart, W)
	}
	if l, ok := report.LatencyOf(cur); ok {
		p.line("")
		label := "  RESPONSE TIMES  "
		for i, l := range fitParts([]string{"p50 " + seconds(l.P50), "p95 " + seconds(l.P95), "p99 " + seconds(l.P99), "mean " + seconds(l.Mean)}, W-width(label)) {
			if i == 0 {
				p.line("  " + st.paint(dim, "RESPONSE TIMES") + "  " + l)
			} else {
				p.line(strings.Repeat(" ", width(label)) + l)
			}
		}
	}
	p.line("")
	dailyTable(p, s, st, W)
	p.line("")
	topModelsSection(p, s, st, W)
	p.line("")
	breakdownSection(p, s, st, W)
	if s.Baseline != nil {
		p.line("")
		b := s.Baseline
		columns(p, st, "COMPARED WITH "+Safe(b.Label), []string{b.Period + " as of " + b.AsOf, "now", "change"}, comparisonRows(s), nil, W)
	}
	if len(s.Insights) > 0 {
		p.line("")
		p.line(st.paint(bold, "INSIGHTS"))
		for _, in := range s.Insights {
			for i, l := range wrap(Safe(in.Text), W-4, "    ") {
				if i == 0 {
					l = "  " + st.paint(toneColor(in.Tone), "•") + " " + l
				}
				p.line(l)
			}
		}
	}
	return p.err
}

func withMark(trend, mark string) string {
	if trend == "" {
		return ""
	}
	return trend + mark
}

// partialNote says why the changes are marked: the previous window starts
// before the data does.
func partialNote(span report.Span, dataStart time.Time) string {
	return "* The previous period (from " + span.Previous.Start.Format("Jan 2, 2006") + ") is only partly covered: the data starts " +
		dataStart.In(span.Current.Start.Location()).Format("Jan 2, 2006") + "."
}

// partialLines writes the note under a table whose changes are marked.
func partialLines(p *printer, st Style, span report.Span, dataStart time.Time, W int) {
	for _, l := range wrap(partialNote(span, dataStart), W-4, "  ") {
		p.line("  " + st.paint(yellow, l))
	}
}

// dataStartJSON is where the data begins, in the report's zone; nil when
// unknown.
func dataStartJSON(span report.Span, dataStart time.Time) *string {
	if dataStart.IsZero() {
		return nil
	}
	t := Timestamp(dataStart.In(span.Current.Start.Location()))
	return &t
}

func toneColor(t report.Tone) string {
	switch t {
	case report.Good:
		return green
	case report.Bad:
		return red
	case report.Warn:
		return yellow
	}
	return blue
}

// bucket is a row of the trend chart: a day, or a week or month of a long window.
type bucket struct {
	label  string
	totals source.Totals
	peak   bool
}

// trendRows are the rows of the trend chart: every day up to 62 days, each
// month beyond (the calendar above them still shows every day).
func trendRows(s *report.Stats) (string, []bucket) {
	days := s.Daily
	var rows []bucket
	if len(days) <= 62 {
		peak, _ := s.PeakDay()
		for _, d := range days {
			rows = append(rows, bucket{d.Date.Format("Mon Jan 02"), d.Totals, d.Date == peak.Date && d.Calls > 0})
		}
		return "DAILY USAGE", rows
	}
	for _, d := range days {
		label := d.Date.Format("Jan 2006")
		if len(rows) == 0 || rows[len(rows)-1].label != label {
			rows = append(rows, bucket{label: label})
		}
		rows[len(rows)-1].totals.Add(d.Totals)
	}
	return "MONTHLY USAGE", rows
}

// calendar draws one cell per day, a row per weekday and a column per week,
// shaded by the day's calls against the busiest day's: the daily trend of a
// long window in a few lines.
func calendar(p *printer, s *report.Stats, st Style, W int) {
	days := s.Daily
	peak, _ := s.PeakDay()
	offset := (int(days[0].Date.Weekday()) + 6) % 7 // Monday first
	weeks := (offset + len(days) + 6) / 7
	grid := make([][]string, 7)
	for r := range grid {
		grid[r] = make([]string, weeks)
		for c := range grid[r] {
			grid[r][c] = " "
		}
	}
	labels := []byte(strings.Repeat(" ", weeks+4)) // month names over their first week
	for i, d := range days {
		cell := offset + i
		col, row := cell/7, cell%7
		shade := "·"
		if d.Calls > 0 && peak.Calls > 0 {
			q := (4*d.Calls + peak.Calls - 1) / peak.Calls // 1..4
			shade = []string{"░", "▒", "▓", "█"}[q-1]
			shade = st.paint(blue, shade)
		}
		grid[row][col] = shade
		if d.Date.Day == 1 || i == 0 {
			name := d.Date.Format("Jan")
			if i == 0 && d.Date.Day > 21 {
				continue // a month that has all but ended
			}
			if col == 0 || labels[col-1] == ' ' {
				copy(labels[col:], name)
			}
		}
	}
	p.line(st.paint(bold, "DAILY USAGE"))
	monthLine := strings.TrimRight(string(labels), " ")
	if len(monthLine) > W-7 { // ASCII: a month name that would not fit goes
		monthLine = strings.TrimRight(monthLine[:strings.LastIndexByte(monthLine[:W-7], ' ')+1], " ")
	}
	p.line("       " + monthLine)
	for r, name := range []string{"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"} {
		p.line(strings.TrimRight("  "+name+"  "+strings.Join(grid[r], ""), " "))
	}
	for _, l := range wrap("calls: · none ░ ≤25% ▒ ≤50% ▓ ≤75% █ >75% of the busiest day, "+
		peak.Date.Format("Mon Jan 2")+" ("+report.Count(peak.Calls)+")", W-2, "") {
		p.line("  " + st.paint(dim, l))
	}
}

func dailyTable(p *printer, s *report.Stats, st Style, W int) {
	title, rows := trendRows(s)
	if len(s.Daily) > 62 {
		if _, ok := s.PeakDay(); ok {
			calendar(p, s, st, W)
			p.line("")
		}
	}
	maxCalls := int64(0)
	for _, r := range rows {
		maxCalls = max(maxCalls, r.totals.Calls)
	}
	t := &ttable{gap: 2, indent: 2, cols: []column{
		{head: title, headColor: bold},
		{bar: true, fill: true, barWidth: W},
		{head: "calls", align: right},
		{head: "cost", align: right},
		{drop: 1},
	}}
	for _, r := range rows {
		peak := tcell{}
		if r.peak {
			peak = tcell{text: "← peak", color: yellow}
		}
		t.rows = append(t.rows, []tcell{{text: r.label}, {color: blue, frac: float64(r.totals.Calls) / float64(max(maxCalls, 1))},
			{text: report.Count(r.totals.Calls)}, {text: report.USD2(r.totals.Cost)}, peak})
	}
	t.render(p, st, W)
}

func topModelsSection(p *printer, s *report.Stats, st Style, W int) {
	top := s.TopModels()
	rows := make([][]string, len(top))
	for i, g := range top {
		rows[i] = []string{g.Name, report.Count(g.Calls), report.Pct(report.Percent(g.Calls, s.Current.Calls)),
			report.Count(g.Tokens()), report.Pct(report.Percent(g.Tokens(), s.Current.Tokens())), report.USD2(g.Cost)}
	}
	columns(p, st, "TOP MODELS", []string{"calls", "% calls", "tokens", "% tokens", "cost"}, rows, map[string]int{"% tokens": 2, "% calls": 1}, W)
}

// columns prints a titled table: a name column, then right-aligned
// numbers; drop names the columns that may be left out when narrow.
func columns(p *printer, st Style, title string, cols []string, rows [][]string, drop map[string]int, W int) {
	t := &ttable{gap: 3, indent: 2, cols: []column{{head: title, headColor: bold, name: true}}}
	for _, c := range cols {
		t.cols = append(t.cols, column{head: c, align: right, drop: drop[c]})
	}
	for _, r := range rows {
		row := cells(r)
		row[0].text = Safe(row[0].text)
		t.rows = append(t.rows, row)
	}
	leftOut(p, st, t.render(p, st, W), W)
}

func breakdownSection(p *printer, s *report.Stats, st Style, W int) {
	t := &ttable{gap: 2, indent: 2, cols: []column{
		{head: "COST BREAKDOWN", headColor: bold, name: true},
		{align: right},
		{bar: true, fill: true, barWidth: W},
		{head: "share", align: right},
		{head: "calls", align: right, drop: 1},
	}}
	maxCost := 0.0
	if len(s.Models) > 0 {
		maxCost = s.Models[0].Cost.Float()
	}
	for _, g := range s.Models {
		t.rows = append(t.rows, []tcell{{text: Safe(g.Name)}, {text: report.USD2(g.Cost)}, {color: purple, frac: g.Cost.Float() / max(maxCost, 1e-18)},
			{text: report.PctWhole(report.Percent(int64(g.Cost), int64(s.Current.Cost)))}, {text: report.Count(g.Calls)}})
	}
	t.rows = append(t.rows, []tcell{{text: "total"}, {text: report.USD2(s.Current.Cost), color: bold}, {}, {}, {}})
	t.render(p, st, W)
}

// printer writes lines and keeps the first error. With a limit (a
// terminal's width) a line that would still wrap is clipped.
type printer struct {
	w     io.Writer
	err   error
	limit int
}

func (p *printer) line(s string) {
	if p.err == nil {
		_, p.err = io.WriteString(p.w, clipLine(s, p.limit)+"\n")
	}
}

// title writes a report's header, its parts on as few lines as fit.
func (p *printer) title(st Style, parts []string, W int) {
	for _, l := range fitParts(parts, W) {
		p.line(st.paint(bold, l))
	}
}

func (p *printer) linef(format string, args ...any) { p.line(fmt.Sprintf(format, args...)) }

// seconds is a response time for people: 842 ms, 1.9 s, 20.1 s.
func seconds(v float64) string {
	if v < 1000 {
		return ms(v) + " ms"
	}
	return strconv.FormatFloat(v/1000, 'f', 1, 64) + " s"
}
