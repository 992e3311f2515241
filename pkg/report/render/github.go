package render

import (
	"fmt"
	"io"
	"math/big"
	"strings"

	"github.com/nextcore-ai/nextcore/pkg/report"
)

// GitHub is the format of GitHub Actions workflow commands (annotations).
const GitHub Format = "github"

// ghEscape escapes an annotation's message; ghProp a property value too.
func ghEscape(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(Safe(s))
}

func ghProp(s string) string {
	return strings.NewReplacer(":", "%3A", ",", "%2C").Replace(ghEscape(s))
}

func annotate(p *printer, level, title, msg string) {
	p.line(Annotation(level, title, msg))
}

// Annotation is a GitHub Actions workflow command: "::error title=…::…",
// its title and message escaped so that it stays one line.
func Annotation(level, title, msg string) string {
	return "::" + level + " title=" + ghProp(title) + "::" + ghEscape(msg)
}

// QuotaGitHub writes the billing month as annotations: an error per metric
// over its limit, a warning per metric at the warning level or projected
// over, and a notice when all is well.
func QuotaGitHub(w io.Writer, q *report.Quota, _ Options) error {
	p := &printer{w: w}
	title := "NextCore quota (" + q.Tenant + ", " + q.Period.Start.Format("January 2006") + ")"
	lastDay := report.DateOf(q.Period.End.Add(-1)).Format("Jan 2")
	var fine []string
	for _, m := range q.Metrics {
		if m.Limit == nil {
			continue
		}
		what := fmt.Sprintf("%s at %s of the %s limit (%s used)", m.Label, report.Pct(m.Percent), quotaValue(m, *m.Limit), quotaValue(m, m.Used))
		pp := new(big.Rat).Quo(m.Projected, new(big.Rat).SetInt64(*m.Limit))
		projected := fmt.Sprintf("; on course for %s (%s) by %s", quotaRat(m, m.Projected), report.Pct(pp.Mul(pp, big.NewRat(100, 1))), lastDay)
		switch {
		case m.Level == report.LevelExceeded:
			annotate(p, "error", title, what+projected)
		case m.Level == report.LevelWarning || m.ProjectedLevel == report.LevelExceeded:
			annotate(p, "warning", title, what+projected)
		default:
			fine = append(fine, m.Noun()+" "+report.Pct(m.Percent))
		}
	}
	if !q.Unpriced.Empty() {
		annotate(p, "warning", title, q.Unpriced.Sentence())
	}
	if len(fine) > 0 {
		annotate(p, "notice", title, "Within limits: "+strings.Join(fine, ", "))
	} else if q.Metrics[0].Limit == nil && q.Metrics[1].Limit == nil && q.Metrics[2].Limit == nil {
		annotate(p, "notice", title, "No limits set")
	}
	return p.err
}

// StatsGitHub writes the dashboard's totals as a notice, each bad or
// warning insight as a warning, and the comparison with a saved report.
func StatsGitHub(w io.Writer, s *report.Stats, _ Options) error {
	p := &printer{w: w}
	title := "NextCore usage (" + s.Tenant + ", " + s.Span.Label() + ", " + s.Span.DateRange() + ")"
	cur, prev := s.Current, s.Previous
	annotate(p, "notice", title, fmt.Sprintf("%s calls (%s), %s tokens (%s), %s spent (%s), success rate %s",
		report.Count(cur.Calls), report.ChangeText(report.Change(cur.Calls, prev.Calls)),
		report.Count(cur.Tokens()), report.ChangeText(report.Change(cur.Tokens(), prev.Tokens())),
		report.USD2(cur.Cost), report.ChangeText(report.Change(int64(cur.Cost), int64(prev.Cost))), report.Pct(report.SuccessRate(cur))))
	if b := s.Baseline; b != nil {
		annotate(p, "notice", title, comparisonSentence(s))
	}
	for _, in := range s.Insights {
		if in.Tone == report.Bad || in.Tone == report.Warn {
			annotate(p, "warning", title, in.Text)
		}
	}
	return p.err
}
