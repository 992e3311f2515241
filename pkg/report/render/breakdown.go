package render

import (
	"bytes"
	"encoding/json"
	"io"
	"maps"
	"math"
	"math/big"
	"slices"
	"strconv"
	"strings"

	"github.com/nextcore-ai/nextcore/pkg/report"
	"github.com/nextcore-ai/nextcore/pkg/source"
)

// LatencyJSON is a group's response times in ms: nearest-rank percentiles
// within 1 % and the exact mean, over the calls that reported one.
type LatencyJSON struct {
	Calls int64   `json:"calls"`
	P50   float64 `json:"p50"`
	P90   float64 `json:"p90"`
	P95   float64 `json:"p95"`
	P99   float64 `json:"p99"`
	Mean  float64 `json:"mean"`
}

func latencyData(t source.Totals) *LatencyJSON {
	p, ok := report.LatencyOf(t)
	if !ok {
		return nil
	}
	r := func(v float64) float64 { return math.Round(v*10) / 10 }
	return &LatencyJSON{p.Calls, r(p.P50), r(p.P90), r(p.P95), r(p.P99), r(p.Mean)}
}

// GroupMetricsJSON are a group's numbers (a row's, or the total's).
type GroupMetricsJSON struct {
	Calls            int64              `json:"calls"`
	Successful       int64              `json:"successful"`
	Failed           int64              `json:"failed"`
	SuccessRate      *report.Number     `json:"successRate,omitempty"` // absent without calls
	PromptTokens     int64              `json:"promptTokens"`
	CompletionTokens int64              `json:"completionTokens"`
	Tokens           int64              `json:"tokens"`
	Cost             source.USD         `json:"cost"`
	Share            report.Number      `json:"share"`  // of the window's cost, in %
	Change           report.Number      `json:"change"` // of the cost, against the previous window
	Previous         PrevJSON           `json:"previous"`
	Latency          *LatencyJSON       `json:"latency"`
	Baseline         *groupBaselineJSON `json:"baseline,omitempty"`
}

func breakdownMetrics(t, prev, total source.Totals) GroupMetricsJSON {
	m := GroupMetricsJSON{Calls: t.Calls, Successful: t.Successful, Failed: t.Failed(), PromptTokens: t.Prompt,
		CompletionTokens: t.Completion, Tokens: t.Tokens(), Cost: t.Cost,
		Change: report.Change(int64(t.Cost), int64(prev.Cost)), Previous: PrevJSON{prev.Calls, prev.Cost}, Latency: latencyData(t)}
	if r := report.SuccessRate(t); r != nil {
		n := report.Nearest(r)
		m.SuccessRate = &n
	}
	if r := report.Percent(int64(t.Cost), int64(total.Cost)); r != nil {
		m.Share = report.Nearest(r)
	}
	return m
}

// GroupRowJSON is a group: its name under each dimension's key
// ("model": "gpt-4o", "region": "eu-west"), then its numbers.
type GroupRowJSON struct {
	Names map[string]string
	GroupMetricsJSON
}

// MarshalJSON writes the names and the numbers as one object.
func (r GroupRowJSON) MarshalJSON() ([]byte, error) {
	metrics, err := json.Marshal(r.GroupMetricsJSON)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.WriteByte('{')
	for _, k := range slices.Sorted(maps.Keys(r.Names)) {
		kj, _ := json.Marshal(k)
		vj, err := jsonText(r.Names[k])
		if err != nil {
			return nil, err
		}
		b.Write(kj)
		b.WriteByte(':')
		b.Write(vj)
		b.WriteByte(',')
	}
	b.Write(metrics[1:])
	return b.Bytes(), nil
}

// jsonText is a string as JSON without HTML escaping: names round-trip
// byte for byte.
func jsonText(s string) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// GroupsJSON is the JSON of a breakdown: {"by": [...], "rows": [...],
// "total": {...}}.
type GroupsJSON struct {
	By              []string            `json:"by"`
	Rows            []GroupRowJSON      `json:"rows"`
	Total           GroupMetricsJSON    `json:"total"`
	Groups          int                 `json:"groups"` // rows before --limit
	Tenant          string              `json:"tenant"`
	Period          string              `json:"period"`
	TimeZone        string              `json:"timeZone"`
	AsOf            string              `json:"asOf"`
	Window          WindowJSON          `json:"window"`
	Filter          map[string][]string `json:"filter"`
	PreviousPartial bool                `json:"previousPartial"`
	DataStart       *string             `json:"dataStart"`
}

// BreakdownData is the JSON model of a breakdown.
func BreakdownData(b *report.Breakdown) GroupsJSON {
	out := GroupsJSON{By: make([]string, len(b.By)), Rows: make([]GroupRowJSON, 0, len(b.Rows)),
		Total: breakdownMetrics(b.Total, b.Previous, b.Total), Groups: b.Count,
		Tenant: b.Tenant, Period: string(b.Span.Period), TimeZone: b.Span.ZoneName(), AsOf: Timestamp(b.Clock.Now),
		Window:          WindowJSON{Timestamp(b.Span.Current.Start), Timestamp(b.Span.Current.End), Timestamp(b.Span.Previous.Start), Timestamp(b.Span.Previous.End)},
		Filter:          filterData(b.Filter),
		PreviousPartial: report.PartlyCovered(b.Span, b.DataStart), DataStart: dataStartJSON(b.Span, b.DataStart)}
	for i, d := range b.By {
		out.By[i] = string(d)
	}
	for _, r := range b.Rows {
		row := GroupRowJSON{Names: map[string]string{}, GroupMetricsJSON: breakdownMetrics(r.Current, r.Previous, b.Total)}
		for i, d := range b.By {
			row.Names[string(d)] = r.Keys[i]
		}
		row.Baseline = baselineOf(b.Baseline, strings.Join(r.Keys, source.PivotSep), r.Current.Cost)
		out.Rows = append(out.Rows, row)
	}
	return out
}

func filterData(f source.Filter) map[string][]string {
	out := map[string][]string{}
	for d, vals := range f {
		for _, v := range vals {
			if v == "" {
				v = report.None
			}
			out[d.String()] = append(out[d.String()], v)
		}
	}
	return out
}

var breakdownNumbers = []string{"calls", "success", "tokens", "cost", "share", "change", "p50 ms", "p95 ms", "p99 ms"}

func ms(v float64) string {
	if v < 0 {
		return "–"
	}
	if v < 100 {
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	return report.Count(int64(math.Round(v)))
}

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
	return withFilter([]string{Safe(b.Tenant), "by " + strings.Join(by, " × "), b.Span.Label(), b.Span.DateRange() + " (" + b.Span.ZoneName() + ")"}, b.Filter)
}

// BreakdownTable writes the breakdown for a terminal; a breakdown by one
// member dimension (a region, say) gets a bar of each row's calls.
func BreakdownTable(w io.Writer, b *report.Breakdown, o Options) error {
	meta, st, compare := o.Meta, o.Style, o.Compare
	W := st.width()
	p := &printer{w: w, limit: W}
	p.title(st, withNote(breakdownTitle(b), meta), W)
	p.line("")
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
	if partial && !slices.Contains(left, "change*") {
		partialLines(p, st, b.Span, b.DataStart, W)
	}
	leftOut(p, st, left, W)
	return p.err
}

// cells are plain cells of texts.
func cells(texts []string) []tcell {
	out := make([]tcell, len(texts))
	for i, t := range texts {
		out[i] = tcell{text: t}
	}
	return out
}

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
	if partial {
		p.line("")
		p.line(mdText(partialNote(b.Span, b.DataStart)))
	}
	return p.err
}

// BreakdownCSV writes one row per group with raw numbers.
func BreakdownCSV(w io.Writer, b *report.Breakdown, _ Options) error {
	var header []string
	for _, d := range b.By {
		header = append(header, string(d))
	}
	header = append(header, "calls", "successful", "failed", "success_rate", "prompt_tokens", "completion_tokens", "tokens", "cost",
		"cost_share", "cost_change", "previous_calls", "previous_cost", "latency_calls", "p50_ms", "p90_ms", "p95_ms", "p99_ms", "mean_ms")
	rows := [][]string{header}
	for _, r := range b.Rows {
		t, prev := r.Current, r.Previous
		row := append([]string{}, r.Keys...)
		row = append(row, i64(t.Calls), i64(t.Successful), i64(t.Failed()), ratNum(report.SuccessRate(t)), i64(t.Prompt), i64(t.Completion),
			i64(t.Tokens()), t.Cost.Decimal(), ratNum(report.Percent(int64(t.Cost), int64(b.Total.Cost))),
			num(report.Change(int64(t.Cost), int64(prev.Cost))), i64(prev.Calls), prev.Cost.Decimal())
		if l := latencyData(t); l != nil {
			row = append(row, i64(l.Calls), fnum(l.P50), fnum(l.P90), fnum(l.P95), fnum(l.P99), fnum(l.Mean))
		} else {
			row = append(row, "0", "", "", "", "", "")
		}
		rows = append(rows, row)
	}
	return writeCSV(w, len(b.By), rows)
}

func fnum(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

func ratNum(r *big.Rat) string {
	if r == nil {
		return ""
	}
	return report.Nearest(r).String()
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
