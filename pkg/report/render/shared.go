// What several formats share: headers, rows and values computed once.

package render

import (
	"fmt"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nextcore-ai/nextcore/pkg/report"
	"github.com/nextcore-ai/nextcore/pkg/source"
)

var breakdownNumbers = []string{"calls", "success", "tokens", "cost", "share", "change", "p50 ms", "p95 ms", "p99 ms"}

func breakdownCells(t, prev, total source.Totals) []string {
	p50, p95, p99 := "–", "–", "–"
	if p, ok := report.LatencyOf(t); ok {
		p50, p95, p99 = ms(p.P50), ms(p.P95), ms(p.P99)
	}
	return []string{report.Count(t.Calls), report.Pct(report.SuccessRate(t)), report.Count(t.Tokens()), report.USD2(t.Cost),
		report.Pct(report.Percent(int64(t.Cost), int64(total.Cost))), report.ChangeText(report.Change(int64(t.Cost), int64(prev.Cost))),
		p50, p95, p99}
}

func breakdownTitle(b *report.Breakdown) []string {
	by := make([]string, len(b.By))
	for i, d := range b.By {
		by[i] = string(d)
	}
	return withCost(withFilter([]string{Safe(b.Tenant), "by " + strings.Join(by, " × "), b.Span.Label(), b.Span.DateRange() + " (" + b.Span.ZoneName() + ")"}, b.Filter), b.CostMode)
}

// withFilter adds "where model=gpt-4o, region=eu-west|us-east" to a
// header's parts when the report is filtered.
func withFilter(parts []string, f source.Filter) []string {
	if len(f) == 0 {
		return parts
	}
	var where []string
	for k, vals := range filterData(f) {
		where = append(where, k+"="+strings.Join(vals, "|"))
	}
	slices.Sort(where)
	return append(parts, "where "+Safe(strings.Join(where, ", ")))
}

// withNote adds what the report says of its source ("cache synced 4 min
// ago") to a header's parts.
func withNote(parts []string, meta Meta) []string {
	if meta.Note == "" {
		return parts
	}
	return append(parts, meta.Note)
}

// comparisonRows are the rows of the comparison table.
func comparisonRows(s *report.Stats) [][]string {
	b, cur := s.Baseline, s.Current
	rate := func(ok, n int64) string { return report.Pct(report.Percent(ok, n)) }
	return [][]string{
		{"API calls", report.Count(b.Calls), report.Count(cur.Calls), report.ChangeText(report.Change(cur.Calls, b.Calls))},
		{"Tokens", report.Count(b.Tokens), report.Count(cur.Tokens()), report.ChangeText(report.Change(cur.Tokens(), b.Tokens))},
		{"Total cost", report.USD2(b.Cost), report.USD2(cur.Cost), report.ChangeText(report.Change(int64(cur.Cost), int64(b.Cost)))},
		{"Success rate", rate(b.Successful, b.Calls), rate(cur.Successful, cur.Calls), ""},
	}
}

var rankingHeaders = []string{"model", "calls", "success", "prompt", "completion", "tokens", "cost", "% cost", "per call"}

func rankingRows(r *report.ModelRanking, compare bool) [][]string {
	var rows [][]string
	for _, m := range r.Models {
		row := []string{m.Name, report.Count(m.Calls), report.Pct(report.SuccessRate(m.Totals)),
			report.Count(m.Prompt), report.Count(m.Completion), report.Count(m.Tokens()), report.USD2(m.Cost),
			report.Pct(report.Percent(int64(m.Cost), int64(r.Total.Cost))), report.USDPerCall(report.AverageCost(m.Totals))}
		if compare {
			prev := r.Previous[m.Name]
			row = append(row, report.Count(prev.Calls), report.USD2(prev.Cost), report.ChangeText(report.Change(int64(m.Cost), int64(prev.Cost))))
		}
		if r.Baseline != nil {
			row = append(row, baselineCells(r.Baseline, m.Name, m.Cost)...)
		}
		rows = append(rows, row)
	}
	return rows
}

func rankingHead(r *report.ModelRanking, compare bool) ([]string, []align) {
	h := append([]string{}, rankingHeaders...)
	a := []align{left, right, right, right, right, right, right, right, right}
	if compare {
		change := "cost change"
		if report.PartlyCovered(r.Span, r.DataStart) {
			change += "*"
		}
		h = append(h, "prev calls", "prev cost", change)
		a = append(a, right, right, right)
	}
	if r.Baseline != nil {
		h = append(h, baselineHeads(r.Baseline)...)
		a = append(a, right, right)
	}
	return h, a
}

func rankingTitle(r *report.ModelRanking) []string {
	return withCost(withFilter([]string{Safe(r.Tenant), "models by " + string(r.By), r.Span.Label(), r.Span.DateRange() + " (" + r.Span.ZoneName() + ")"}, r.Filter), r.CostMode)
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
	return withNote(withCost([]string{Safe(q.Tenant), q.Period.Start.Format("January 2006"),
		strconv.Itoa(q.DaysElapsed()) + " of " + strconv.Itoa(q.DaysInMonth) + " days elapsed (" + q.Period.Start.Location().String() + ")"}, q.CostMode), meta)
}

// Meta is what a report's header says besides the numbers: where they came
// from and how fresh they are ("cache updated 4 min ago", "demo data").
type Meta struct {
	Source string // cache, api, demo
	Note   string
}

// header is the parts of the dashboard's first line: "acme", "last 7
// days", "Nov 14 – Nov 20, 2026 (Europe/Berlin)", a filter, the note.
func header(s *report.Stats, meta Meta) []string {
	return withNote(withCost(withFilter([]string{Safe(s.Tenant), s.Span.Label(), s.Span.DateRange() + " (" + s.Span.ZoneName() + ")"}, s.Filter), s.CostMode), meta)
}

// partialNote says why the changes are marked: the previous window starts
// before the data does.
// UnpricedNote warns of usage that no price covered and that so adds $0
// to the cost ("" when there is none): never a silent $0.
func UnpricedNote(u report.Unpriced) string {
	if u.Empty() {
		return ""
	}
	return "⚠ " + Safe(u.Sentence())
}

// withCost says in a header's parts when costs are priced from the book
// rather than reported (docs/ledger.md §4).
func withCost(parts []string, mode report.CostMode) []string {
	if mode == report.CostPriced {
		return append(parts, "priced at list prices")
	}
	return parts
}

// noteLines writes a warning under a terminal report, wrapped and yellow.
func noteLines(p *printer, st Style, note string, W int) {
	if note == "" {
		return
	}
	p.line("")
	for _, l := range wrap(note, W-4, "  ") {
		p.line("  " + st.paint(yellow, l))
	}
}

// overlapNote says that tag groups overlap (a call with two tags is in
// two rows), short enough for 60 columns.
const overlapNote = "Tags overlap: rows add up to more than the total."

func partialNote(span report.Span, dataStart time.Time) string {
	return "* The previous period (from " + span.Previous.Start.Format("Jan 2, 2006") + ") is only partly covered: the data starts " +
		dataStart.In(span.Current.Start.Location()).Format("Jan 2, 2006") + "."
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

// baselineCells are "then cost" and the change, for tables.
func baselineCells(b *report.GroupBaseline, name string, cost source.USD) []string {
	g := b.Groups[name]
	return []string{report.USD2(g.Cost), report.ChangeText(report.Change(int64(cost), int64(g.Cost)))}
}

func baselineHeads(b *report.GroupBaseline) []string {
	return []string{"cost in " + Safe(b.Label), "since"}
}

// quotaBaselineLine is "Compared with q.json (as of …): API calls 700 → 708 (+1.1%), …".
func quotaBaselineLine(q *report.Quota) string {
	b := q.Baseline
	var parts []string
	for _, m := range q.Metrics {
		then, ok := b.Used[m.Key]
		if !ok {
			continue
		}
		now := new(big.Rat).SetInt64(m.Used)
		thenV := then
		if m.Money {
			now.Quo(now, big.NewRat(source.NanosPerUSD, 1))
		}
		change := "new"
		if thenV.Sign() != 0 {
			c := new(big.Rat).Sub(now, thenV)
			c.Quo(c, thenV).Mul(c, big.NewRat(100, 1))
			change = report.ChangeText(report.Fixed(c, 1))
		}
		nowText := quotaValue(m, m.Used)
		thenText := quotaRat(m, thenV)
		if m.Money {
			thenText = report.USDRat(thenV)
		}
		parts = append(parts, fmt.Sprintf("%s %s → %s (%s)", m.Noun(), thenText, nowText, change))
	}
	return "Compared with " + Safe(b.Label) + " (as of " + b.AsOf + "): " + strings.Join(parts, ", ")
}

// comparisonSentence is "Cost went up 23.0% since baseline.json ($1.00 → $1.23)".
func comparisonSentence(s *report.Stats) string {
	b := s.Baseline
	c := report.Change(int64(s.Current.Cost), int64(b.Cost))
	var dir string
	switch {
	case c.Null():
		return fmt.Sprintf("Cost is %s; %s had none", report.USD2(s.Current.Cost), b.Label)
	case c.Rat().Sign() > 0:
		dir = "went up " + strings.TrimPrefix(report.ChangeText(c), "+")
	case c.Rat().Sign() < 0:
		dir = "went down " + strings.TrimPrefix(report.ChangeText(c), "-")
	default:
		dir = "stayed the same"
	}
	return fmt.Sprintf("Cost %s since %s (%s → %s)", dir, b.Label, report.USD2(b.Cost), report.USD2(s.Current.Cost))
}

// tokenMix says what of the tokens a prompt cache served or stored and
// what was reasoning (records v2): "1.2M cached (43%), 50K to cache, 20K
// reasoning"; "" when there was none.
func tokenMix(t source.Totals) string {
	var parts []string
	if t.CacheRead > 0 {
		parts = append(parts, report.Compact(t.CacheRead)+" cached ("+report.Pct(report.Percent(t.CacheRead, t.Prompt))+")")
	}
	if w := t.CacheWrite + t.CacheWrite1h; w > 0 {
		parts = append(parts, report.Compact(w)+" to cache")
	}
	if t.Reasoning > 0 {
		parts = append(parts, report.Compact(t.Reasoning)+" reasoning")
	}
	return strings.Join(parts, ", ")
}
