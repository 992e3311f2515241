// Terminal: the dashboard, quota, ranking, breakdown and overview as a
// terminal or a log shows them, fitted to a width (layout.go).

package render

import (
	"fmt"
	"io"
	"math"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nextcore-ai/nextcore/pkg/report"
	"github.com/nextcore-ai/nextcore/pkg/source"
)

func ms(v float64) string {
	if v < 0 {
		return "–"
	}
	if v < 100 {
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	return report.Count(int64(math.Round(v)))
}

// BreakdownTable writes the breakdown for a terminal; a breakdown by one
// member dimension (a region, say) gets a bar of each row's calls.
func BreakdownTable(w io.Writer, b *report.Breakdown, o Options) error {
	meta, st, compare := o.Meta, o.Style, o.Compare
	p, W := opening(w, st, withNote(breakdownTitle(b), meta))
	if len(b.Rows) == 0 {
		p.line("  No calls in this window.")
		return p.err
	}
	partial := report.PartlyCovered(b.Span, b.DataStart)
	t := &ttable{gap: 2, lead: " "}
	for i, d := range b.By {
		// Pivots lose their inner dimensions' names last but one.
		t.cols = append(t.cols, column{head: string(d), name: true, drop: map[bool]int{true: 0, false: 1}[i == 0]})
	}
	chart := len(b.By) == 1 && b.By[0] != report.ByDay && b.By[0] != report.ByHour
	if chart {
		t.cols = append(t.cols, column{bar: true, barWidth: 16, min: 8, drop: 3})
	}
	// The least important columns go first: p99 and p95, prompt and the
	// previous window's columns; calls, cost and share stay.
	for _, c := range []struct {
		head string
		drop int
	}{{"calls", 0}, {"success", 4}, {"tokens", 5}, {"cost", 0}, {"share", 0}, {"change", 2}, {"p50 ms", 6}, {"p95 ms", 7}, {"p99 ms", 8}} {
		if c.head == "change" && partial {
			c.head = "change*"
		}
		t.cols = append(t.cols, column{head: c.head, align: right, drop: c.drop})
	}
	if compare {
		t.cols = append(t.cols, column{head: "prev calls", align: right, drop: 2}, column{head: "prev cost", align: right, drop: 2})
	}
	if b.Baseline != nil {
		for _, h := range baselineHeads(b.Baseline) {
			t.cols = append(t.cols, column{head: h, align: right, drop: 2})
		}
	}
	var maxCalls int64
	for _, r := range b.Rows {
		maxCalls = max(maxCalls, r.Current.Calls)
	}
	for _, r := range b.Rows {
		var row []tcell
		for _, k := range r.Keys {
			row = append(row, tcell{text: Safe(k)})
		}
		if chart {
			row = append(row, tcell{color: blue, frac: float64(r.Current.Calls) / float64(max(maxCalls, 1))})
		}
		row = append(row, cells(breakdownCells(r.Current, r.Previous, b.Total))...)
		if compare {
			row = append(row, cells([]string{report.Count(r.Previous.Calls), report.USD2(r.Previous.Cost)})...)
		}
		if b.Baseline != nil {
			row = append(row, cells(baselineCells(b.Baseline, strings.Join(r.Keys, source.PivotSep), r.Current.Cost))...)
		}
		t.rows = append(t.rows, row)
	}
	total := make([]tcell, len(b.By))
	total[0] = tcell{text: "total", color: bold}
	if chart {
		total = append(total, tcell{})
	}
	total = append(total, cells(breakdownCells(b.Total, b.Previous, b.Total))...)
	if compare {
		total = append(total, cells([]string{report.Count(b.Previous.Calls), report.USD2(b.Previous.Cost)})...)
	}
	if b.Baseline != nil {
		var then source.USD
		for _, g := range b.Baseline.Groups {
			then += g.Cost
		}
		total = append(total, cells([]string{report.USD2(then), report.ChangeText(report.Change(int64(b.Total.Cost), int64(then)))})...)
	}
	t.rows = append(t.rows, total)
	left := t.render(p, st, W)
	if len(b.Rows) < b.Count {
		p.linef(" %d of %d groups; the total is of all.", len(b.Rows), b.Count)
	}
	if b.Overlapping {
		p.line(" " + overlapNote)
	}
	if partial && !slices.Contains(left, "change*") {
		partialLines(p, st, b.Span, b.DataStart, W)
	}
	noteLines(p, st, UnpricedNote(b.Unpriced), W)
	leftOut(p, st, left, W)
	return p.err
}

// tokenCard is the dashboard's TOKENS card: prompt and completion, and of
// them (records v2) what a prompt cache served or stored and what was
// reasoning, when there was any.
func tokenCard(st Style, cur source.Totals, tokens string, change report.Number, mark string) []string {
	card := []string{"TOKENS", st.paint(blue+";1", tokens) + "  " + st.trend(change, true) + mark,
		"↑ " + report.Compact(cur.Prompt) + " prompt"}
	if cur.CacheRead > 0 {
		card = append(card, "  "+report.Compact(cur.CacheRead)+" cached ("+report.Pct(report.Percent(cur.CacheRead, cur.Prompt))+")")
	}
	if w := cur.CacheWrite + cur.CacheWrite1h; w > 0 {
		card = append(card, "  "+report.Compact(w)+" to cache")
	}
	card = append(card, st.paint(purple, "↓ "+report.Compact(cur.Completion)+" completion"))
	if cur.Reasoning > 0 {
		card = append(card, "  "+report.Compact(cur.Reasoning)+" reasoning")
	}
	return card
}

// cells are plain cells of texts.
func cells(texts []string) []tcell {
	out := make([]tcell, len(texts))
	for i, t := range texts {
		out[i] = tcell{text: t}
	}
	return out
}

// RankingTable writes the ranking for a terminal.
func RankingTable(w io.Writer, r *report.ModelRanking, o Options) error {
	meta, st, compare := o.Meta, o.Style, o.Compare
	p, W := opening(w, st, withNote(rankingTitle(r), meta))
	if len(r.Models) == 0 {
		p.line("  No calls in this window.")
		return p.err
	}
	heads, _ := rankingHead(r, compare)
	// Left out first when narrow: prompt and completion (tokens stays),
	// the success rate, the comparison columns, then the per-call average.
	// Columns asked for with --compare or --compare-to stay longest.
	drops := map[string]int{"prompt": 9, "completion": 9, "success": 7, "per call": 5, "% cost": 3, "prev calls": 4, "prev cost": 2}
	t := &ttable{gap: 2, lead: " "}
	for i, h := range heads {
		c := column{head: h, align: right, drop: drops[h]}
		switch {
		case i == 0:
			c.align, c.name = left, true
		case i >= len(rankingHeaders) && c.drop == 0:
			c.drop = 1
		}
		t.cols = append(t.cols, c)
	}
	for _, row := range rankingRows(r, compare) {
		row[0] = Safe(row[0])
		t.rows = append(t.rows, cells(row))
	}
	left := t.render(p, st, W)
	if len(r.Models) < r.Count {
		p.linef(" %d of %d models; total of all: %s calls, %s", len(r.Models), r.Count, report.Count(r.Total.Calls), report.USD2(r.Total.Cost))
	}
	if compare && report.PartlyCovered(r.Span, r.DataStart) && !slices.Contains(left, "cost change*") {
		partialLines(p, st, r.Span, r.DataStart, W)
	}
	noteLines(p, st, UnpricedNote(r.Unpriced), W)
	leftOut(p, st, left, W)
	return p.err
}

// QuotaTable writes the billing month with a bar per metric.
func QuotaTable(w io.Writer, q *report.Quota, o Options) error {
	meta, st := o.Meta, o.Style
	p, W := opening(w, st, quotaHeader(q, meta))
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
		color := gaugeColor(pct)
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
	noteLines(p, st, UnpricedNote(q.Unpriced), W)
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
	p, W := opening(w, st, header(s, meta))
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
		tokenCard(st, cur, tokens, report.Change(cur.Tokens(), prev.Tokens()), mark),
		{"TOTAL COST", st.paint(blue+";1", report.USD2(cur.Cost)) + "  " + st.trend(report.Change(int64(cur.Cost), int64(prev.Cost)), false) + mark,
			report.USDPerCall(report.AverageCost(cur)) + " per call"},
		{"SUCCESS RATE", st.paint(green+";1", report.Pct(report.SuccessRate(cur))) + "  " + withMark(st.rateTrend(report.SuccessRate(cur), report.SuccessRate(prev)), mark)},
	}

	if cur.Unknown > 0 {
		cards[0] = append(cards[0], "? "+report.Count(cur.Unknown)+" unknown") // of unknown outcome
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

// partialLines writes the note under a table whose changes are marked.
func partialLines(p *printer, st Style, span report.Span, dataStart time.Time, W int) {
	for _, l := range wrap(partialNote(span, dataStart), W-4, "  ") {
		p.line("  " + st.paint(yellow, l))
	}
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

// gaugeColor is a quota bar's color at pct percent: blue below 75, purple
// from 75, red from 90.
func gaugeColor(pct float64) string {
	switch {
	case pct >= 90:
		return red
	case pct >= 75:
		return purple
	}
	return blue
}

// opening starts a terminal report: a printer that fits the style's
// width, the header, and a blank line.
func opening(w io.Writer, st Style, header []string) (*printer, int) {
	W := st.width()
	p := &printer{w: w, limit: W}
	p.title(st, header, W)
	p.line("")
	return p, W
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

// shortUSD is a dollar amount for a small space: $127, $45.20, $0.76.
func shortUSD(u source.USD) string {
	if u >= 100*source.NanosPerUSD {
		return "$" + report.Count(int64((u+source.NanosPerUSD/2)/source.NanosPerUSD))
	}
	return report.USD2(u)
}

// shortTrend is "▲12.5%", "▼3.2%", "=0.0%", "new".
func (st Style) shortTrend(c report.Number, riseIsGood bool) string {
	return strings.ReplaceAll(st.trend(c, riseIsGood), " ", "")
}

// Overview writes the dashboard's compact 2×2 widget: calls, tokens, cost
// and success rate with their changes, for a shell prompt, a MOTD or tmux.
func Overview(w io.Writer, s *report.Stats, o Options) error {
	st := o.Style
	p := &printer{w: w}
	cur, prev := s.Current, s.Previous
	cells := [4]string{
		"calls " + st.paint(blue+";1", report.Compact(cur.Calls)) + " " + st.shortTrend(report.Change(cur.Calls, prev.Calls), true),
		"tokens " + st.paint(blue+";1", report.Compact(cur.Tokens())) + " " + st.shortTrend(report.Change(cur.Tokens(), prev.Tokens()), true),
		"cost  " + st.paint(blue+";1", shortUSD(cur.Cost)) + " " + st.shortTrend(report.Change(int64(cur.Cost), int64(prev.Cost)), false),
		"success " + st.paint(green+";1", report.Pct(report.SuccessRate(cur))),
	}
	w0 := max(width(cells[0]), width(cells[2])) + 3
	p.line(padRight(cells[0], w0) + cells[1])
	p.line(padRight(cells[2], w0) + cells[3])
	if s.Baseline != nil {
		p.line(comparisonSentence(s))
	}
	if u := s.Unpriced; !u.Empty() {
		// The widget is small: the count, and where to read more.
		p.line(st.paint(yellow, "⚠ "+report.Compact(u.Calls)+" calls without a price, counted as $0 (nextcore pricing check)"))
	}
	return p.err
}
