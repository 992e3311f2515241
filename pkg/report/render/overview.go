package render

import (
	"io"
	"strings"

	"github.com/nextcore-ai/nextcore/pkg/report"
	"github.com/nextcore-ai/nextcore/pkg/source"
)

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
	return p.err
}
