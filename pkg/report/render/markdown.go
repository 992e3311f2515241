package render

import (
	"io"
	"strings"

	"github.com/nextcore-ai/nextcore/pkg/report"
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
			"↑ " + report.Count(cur.Prompt) + " prompt, ↓ " + report.Count(cur.Completion) + " completion"},
		{"Total cost", report.USD2(cur.Cost), report.ChangeText(report.Change(int64(cur.Cost), int64(prev.Cost))) + mark,
			report.USDPerCall(report.AverageCost(cur)) + " per call"},
		{"Success rate", report.Pct(rate), rateChange, ""},
	})
	if mark != "" {
		p.line("")
		p.line(mdText(partialNote(s.Span, s.DataStart)))
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
