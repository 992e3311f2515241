// Markdown: GitHub-flavoured tables for pull requests and CI step
// summaries; names escaped so that they never make a link or a column.

package render

import (
	"io"
	"strings"
	"time"

	"github.com/nextcore-ai/nextcore/pkg/report"
	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/renderer"
	"github.com/olekukonko/tablewriter/tw"
)

// StatsMarkdown writes the dashboard as Markdown, for a pull request comment
// or a CI step summary.
func StatsMarkdown(w io.Writer, s *report.Stats, o Options) error {
	meta := o.Meta
	p := &printer{w: w}
	p.linef("### NextCore usage · %s", mdText(strings.Join(header(s, meta), " · ")))
	p.line("")
	cur, prev := s.Current, s.Previous
	if cur.Calls == 0 {
		p.line("No calls in this window.")
		return p.err
	}
	rate := report.SuccessRate(cur)
	rateChange := ""
	if pr := report.SuccessRate(prev); pr != nil {
		rateChange = Style{}.rateTrend(rate, pr)
	}
	if p.err != nil {
		return p.err
	}
	mark := ""
	if s.PreviousPartial() {
		mark = " *"
	}
	p.err = markdownTable(w, []string{"Metric", "Value", "Change", "Detail"}, []align{left, right, right, left}, [][]string{
		{"API calls", report.Count(cur.Calls), report.ChangeText(report.Change(cur.Calls, prev.Calls)) + mark,
			"✓ " + report.Count(cur.Successful) + " successful, ✗ " + report.Count(cur.Failed()) + " failed"},
		{"Tokens", report.Count(cur.Tokens()), report.ChangeText(report.Change(cur.Tokens(), prev.Tokens())) + mark,
			"↑ " + report.Count(cur.Prompt) + " prompt, ↓ " + report.Count(cur.Completion) + " completion" + withMix(cur)},
		{"Total cost", report.USD2(cur.Cost), report.ChangeText(report.Change(int64(cur.Cost), int64(prev.Cost))) + mark,
			report.USDPerCall(report.AverageCost(cur)) + " per call"},
		{"Success rate", report.Pct(rate), rateChange, ""},
	})
	if mark != "" {
		partialParagraph(p, s.Span, s.DataStart)
	}
	title, rows := trendRows(s)
	p.line("")
	p.linef("#### %s", titleCase(title))
	p.line("")
	var trend [][]string
	for _, r := range rows {
		label := r.label
		if r.peak {
			label += " (peak)"
		}
		trend = append(trend, []string{label, report.Count(r.totals.Calls), report.Count(r.totals.Tokens()), report.USD2(r.totals.Cost)})
	}
	if p.err == nil {
		p.err = markdownTable(w, []string{"Day", "Calls", "Tokens", "Cost"}, []align{left, right, right, right}, trend)
	}
	p.line("")
	p.line("#### Top models")
	p.line("")
	var top [][]string
	for _, g := range s.TopModels() {
		top = append(top, []string{g.Name, report.Count(g.Calls), report.Pct(report.Percent(g.Calls, cur.Calls)),
			report.Count(g.Tokens()), report.Pct(report.Percent(g.Tokens(), cur.Tokens())), report.USD2(g.Cost)})
	}
	if p.err == nil {
		p.err = markdownTable(w, []string{"Model", "Calls", "% calls", "Tokens", "% tokens", "Cost"},
			[]align{left, right, right, right, right, right}, top)
	}
	p.line("")
	p.line("#### Cost breakdown")
	p.line("")
	var bd [][]string
	for _, g := range s.Models {
		bd = append(bd, []string{g.Name, report.USD2(g.Cost), report.PctWhole(report.Percent(int64(g.Cost), int64(cur.Cost))), report.Count(g.Calls)})
	}
	bd = append(bd, []string{"**total**", "**" + report.USD2(cur.Cost) + "**", "", report.Count(cur.Calls)})
	if p.err == nil {
		p.err = markdownTable(w, []string{"Model", "Cost", "Share", "Calls"}, []align{left, right, right, right}, bd)
	}
	if b := s.Baseline; b != nil && p.err == nil {
		p.line("")
		p.line("#### Compared with " + mdText(b.Label))
		p.line("")
		p.line(mdText(comparisonSentence(s)) + ".")
		p.line("")
		if p.err == nil {
			p.err = markdownTable(w, []string{"Metric", "Then (" + b.Period + ", as of " + b.AsOf + ")", "Now", "Change"},
				[]align{left, right, right, right}, comparisonRows(s))
		}
	}
	if len(s.Insights) > 0 {
		p.line("")
		p.line("#### Insights")
		p.line("")
		for _, in := range s.Insights {
			p.line("- " + mdText(in.Text))
		}
	}
	return p.err
}

func titleCase(s string) string {
	s = strings.ToLower(s)
	return strings.ToUpper(s[:1]) + s[1:]
}

// mdText escapes text for Markdown prose and table cells: no column
// breaks, emphasis, code, links or HTML.
func mdText(s string) string { return mdLinks.Replace(mdEscaper.Replace(Safe(s))) }

// mdLinks breaks what GitHub-flavoured Markdown would turn into a link by
// itself (https://…, www.…, an e-mail address): the character that starts
// the link is written as an HTML entity, so a name shows as it is, not as
// a link.
var mdLinks = strings.NewReplacer("://", "&#58;//", "www.", "www&#46;", "WWW.", "WWW&#46;", "@", "&#64;")

var mdEscaper = strings.NewReplacer("\\", "\\\\", "*", "\\*", "_", "\\_", "`", "\\`", "<", "&lt;", ">", "&gt;", "&", "&amp;",
	"|", "\\|", "[", "\\[", "]", "\\]", "~", "\\~", "\n", " ", "\r", " ")

// BreakdownMarkdown writes the breakdown as a Markdown table.
func BreakdownMarkdown(w io.Writer, b *report.Breakdown, _ Options) error {
	p := &printer{w: w}
	p.linef("### NextCore %s", mdText(strings.Join(breakdownTitle(b), " · ")))
	p.line("")
	var headers []string
	var aligns []align
	for _, d := range b.By {
		headers, aligns = append(headers, string(d)), append(aligns, left)
	}
	partial := report.PartlyCovered(b.Span, b.DataStart)
	for _, h := range breakdownNumbers {
		if h == "change" && partial {
			h = "change *"
		}
		headers, aligns = append(headers, h), append(aligns, right)
	}
	var rows [][]string
	for _, r := range b.Rows {
		rows = append(rows, append(append([]string{}, r.Keys...), breakdownCells(r.Current, r.Previous, b.Total)...))
	}
	total := make([]string, len(b.By))
	total[0] = "**total**"
	rows = append(rows, append(total, breakdownCells(b.Total, b.Previous, b.Total)...))
	if p.err != nil {
		return p.err
	}
	if err := markdownTable(w, headers, aligns, rows); err != nil {
		return err
	}
	if b.Overlapping {
		p.line("")
		p.line(overlapNote)
	}
	if partial {
		partialParagraph(p, b.Span, b.DataStart)
	}
	mdNote(p, UnpricedNote(b.Unpriced))
	return p.err
}

// mdNote writes a warning as its own paragraph.
func mdNote(p *printer, note string) {
	if note != "" {
		p.line("")
		p.line(mdText(note))
	}
}

// RankingMarkdown writes the ranking as a Markdown table.
func RankingMarkdown(w io.Writer, r *report.ModelRanking, o Options) error {
	compare := o.Compare
	p := &printer{w: w}
	p.linef("### NextCore %s", mdText(strings.Join(rankingTitle(r), " · ")))
	p.line("")
	if p.err != nil {
		return p.err
	}
	h, al := rankingHead(r, compare)
	if err := markdownTable(w, h, al, rankingRows(r, compare)); err != nil {
		return err
	}
	if compare && report.PartlyCovered(r.Span, r.DataStart) {
		partialParagraph(p, r.Span, r.DataStart)
	}
	mdNote(p, UnpricedNote(r.Unpriced))
	return p.err
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
	mdNote(p, UnpricedNote(q.Unpriced))
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

// align is a column's alignment in a table.
type align = tw.Align

const (
	left  = tw.AlignLeft
	right = tw.AlignRight
)

// markdownTable writes a GitHub-flavoured Markdown table.
func markdownTable(w io.Writer, headers []string, aligns []align, rows [][]string) error {
	esc := func(s string) string {
		// The renderers' own bold (a total row) stays bold.
		if inner, ok := strings.CutPrefix(s, "**"); ok && len(inner) > 2 && strings.HasSuffix(inner, "**") {
			return "**" + truncate(mdText(inner[:len(inner)-2]), docNameWidth) + "**"
		}
		return truncate(mdText(s), docNameWidth)
	}
	t := tablewriter.NewTable(w,
		tablewriter.WithRenderer(renderer.NewMarkdown()),
		tablewriter.WithHeaderAutoFormat(tw.Off),
		tablewriter.WithHeaderAlignmentConfig(tw.CellAlignment{PerColumn: aligns}),
		tablewriter.WithRowAlignmentConfig(tw.CellAlignment{PerColumn: aligns}),
		tablewriter.WithRowAutoWrap(tw.WrapNone),
		tablewriter.WithHeaderAutoWrap(tw.WrapNone),
	)
	hs := make([]string, len(headers))
	for i, h := range headers {
		hs[i] = esc(h)
	}
	t.Header(hs)
	for _, r := range rows {
		cells := make([]string, len(r))
		for i, c := range r {
			cells[i] = esc(c)
		}
		if err := t.Append(cells); err != nil {
			return err
		}
	}
	return t.Render()
}

// partialParagraph says under a table why its changes are marked.
func partialParagraph(p *printer, span report.Span, dataStart time.Time) {
	p.line("")
	p.line(mdText(partialNote(span, dataStart)))
}
