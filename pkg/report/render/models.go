package render

import (
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/nextcore-ai/nextcore/pkg/report"
	"github.com/nextcore-ai/nextcore/pkg/source"
)

// ModelJSON is one model of a ranking.
type ModelJSON struct {
	Model            string             `json:"model"`
	Calls            int64              `json:"calls"`
	Successful       int64              `json:"successful"`
	Failed           int64              `json:"failed"`
	SuccessRate      report.Number      `json:"successRate"`
	PromptTokens     int64              `json:"promptTokens"`
	CompletionTokens int64              `json:"completionTokens"`
	Tokens           int64              `json:"tokens"`
	Cost             source.USD         `json:"cost"`
	CostShare        report.Number      `json:"costShare"`
	AverageCost      report.Number      `json:"averageCostPerCall"`
	Previous         *PrevJSON          `json:"previous,omitempty"`
	Change           report.Number      `json:"change"`
	Latency          *LatencyJSON       `json:"latency"`
	Baseline         *groupBaselineJSON `json:"baseline,omitempty"`
}

// PrevJSON is a group's calls and cost in the previous window.
type PrevJSON struct {
	Calls int64      `json:"calls"`
	Cost  source.USD `json:"cost"`
}

// RankingJSON is the top-models report.
type RankingJSON struct {
	Tenant   string              `json:"tenant"`
	Period   string              `json:"period"`
	TimeZone string              `json:"timeZone"`
	AsOf     string              `json:"asOf"`
	Window   WindowJSON          `json:"window"`
	By       string              `json:"by"`
	Models   []ModelJSON         `json:"models"`
	Total    ModelJSON           `json:"total"`
	Filter   map[string][]string `json:"filter"`
	// PreviousPartial: the data begins (dataStart) after the previous
	// window does, so the changes compare with a window only partly covered.
	PreviousPartial bool    `json:"previousPartial"`
	DataStart       *string `json:"dataStart,omitempty"`
}

func modelData(name string, t, total source.Totals) ModelJSON {
	m := ModelJSON{Model: name, Calls: t.Calls, Successful: t.Successful, Failed: t.Failed(),
		PromptTokens: t.Prompt, CompletionTokens: t.Completion, Tokens: t.Tokens(), Cost: t.Cost}
	if r := report.SuccessRate(t); r != nil {
		m.SuccessRate = report.Nearest(r)
	}
	if r := report.Percent(int64(t.Cost), int64(total.Cost)); r != nil {
		m.CostShare = report.Nearest(r)
	}
	if r := report.AverageCost(t); r != nil {
		m.AverageCost = report.Fixed(r, 9).Trim()
	}
	m.Latency = latencyData(t)
	return m
}

// RankingData is the JSON model of a ranking.
func RankingData(r *report.ModelRanking) RankingJSON {
	out := RankingJSON{Tenant: r.Tenant, Period: string(r.Span.Period), TimeZone: r.Span.ZoneName(), AsOf: Timestamp(r.Clock.Now),
		Window: WindowJSON{Timestamp(r.Span.Current.Start), Timestamp(r.Span.Current.End), Timestamp(r.Span.Previous.Start), Timestamp(r.Span.Previous.End)},
		By:     string(r.By), Models: []ModelJSON{}, Total: modelData("total", r.Total, r.Total)}
	for _, m := range r.Models {
		d := modelData(m.Name, m.Totals, r.Total)
		prev := r.Previous[m.Name]
		d.Previous = &PrevJSON{prev.Calls, prev.Cost}
		d.Change = report.Change(int64(m.Cost), int64(prev.Cost))
		d.Baseline = baselineOf(r.Baseline, m.Name, m.Cost)
		out.Models = append(out.Models, d)
	}
	out.Filter = filterData(r.Filter)
	out.PreviousPartial, out.DataStart = report.PartlyCovered(r.Span, r.DataStart), dataStartJSON(r.Span, r.DataStart)
	return out
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
	return withFilter([]string{Safe(r.Tenant), "models by " + string(r.By), r.Span.Label(), r.Span.DateRange() + " (" + r.Span.ZoneName() + ")"}, r.Filter)
}

// RankingTable writes the ranking for a terminal.
func RankingTable(w io.Writer, r *report.ModelRanking, o Options) error {
	meta, st, compare := o.Meta, o.Style, o.Compare
	W := st.width()
	p := &printer{w: w, limit: W}
	p.title(st, withNote(rankingTitle(r), meta), W)
	p.line("")
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
	leftOut(p, st, left, W)
	return p.err
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
		p.line("")
		p.line(mdText(partialNote(r.Span, r.DataStart)))
	}
	return p.err
}

// RankingCSV writes one row per model with raw numbers.
func RankingCSV(w io.Writer, r *report.ModelRanking, _ Options) error {
	rows := [][]string{{"model", "calls", "successful", "failed", "success_rate", "prompt_tokens", "completion_tokens", "tokens", "cost", "cost_share", "avg_cost_per_call"}}
	for _, m := range RankingData(r).Models {
		rows = append(rows, []string{m.Model, i64(m.Calls), i64(m.Successful), i64(m.Failed), num(m.SuccessRate),
			i64(m.PromptTokens), i64(m.CompletionTokens), i64(m.Tokens), m.Cost.Decimal(), num(m.CostShare), num(m.AverageCost)})
	}
	return writeCSV(w, 1, rows)
}

func i64(n int64) string { return strconv.FormatInt(n, 10) }

func num(n report.Number) string {
	if n.Null() {
		return ""
	}
	return n.String()
}
