package render

import (
	"encoding/json"
	"io"
	"strconv"
	"time"

	"github.com/nextcore-ai/nextcore/pkg/report"
	"github.com/nextcore-ai/nextcore/pkg/source"
)

// StatsJSON is the dashboard's UsageStats object (docs/numbers.md), with extra
// fields after the required ones.
type StatsJSON struct {
	Period     string           `json:"period"`
	APICalls   CallsJSON        `json:"apiCalls"`
	Tokens     TokensJSON       `json:"tokens"`
	Costs      CostsJSON        `json:"costs"`
	TopModels  []TopModelJSON   `json:"topModels"`
	DailyUsage []DailyJSON      `json:"dailyUsage"`
	Tenant     string           `json:"tenant"`
	Source     string           `json:"source"`
	TimeZone   string           `json:"timeZone"`
	AsOf       string           `json:"asOf"`
	Window     WindowJSON       `json:"window"`
	Previous   PreviousJSON     `json:"previous"`
	Insights   []report.Insight `json:"insights"`
	Comparison *ComparisonJSON  `json:"comparison,omitempty"`
	Latency    *LatencyJSON     `json:"latency"`
}

// CallsJSON is apiCalls.
type CallsJSON struct {
	Total       int64         `json:"total"`
	Successful  int64         `json:"successful"`
	Failed      int64         `json:"failed"`
	Change      report.Number `json:"change"`
	SuccessRate report.Number `json:"successRate"`
}

// TokensJSON is tokens.
type TokensJSON struct {
	Total      int64         `json:"total"`
	Prompt     int64         `json:"prompt"`
	Completion int64         `json:"completion"`
	Change     report.Number `json:"change"`
}

// CostsJSON is costs.
type CostsJSON struct {
	Total          source.USD      `json:"total"`
	Breakdown      []BreakdownJSON `json:"breakdown"`
	Change         report.Number   `json:"change"`
	AveragePerCall report.Number   `json:"averagePerCall"`
}

// BreakdownJSON is one model of costs.breakdown.
type BreakdownJSON struct {
	Model string        `json:"model"`
	Cost  source.USD    `json:"cost"`
	Calls int64         `json:"calls"`
	Share report.Number `json:"share"`
}

// TopModelJSON is one entry of topModels.
type TopModelJSON struct {
	Model  string     `json:"model"`
	Calls  int64      `json:"calls"`
	Tokens int64      `json:"tokens"`
	Cost   source.USD `json:"cost"`
}

// DailyJSON is one day of dailyUsage.
type DailyJSON struct {
	Date   string     `json:"date"`
	Calls  int64      `json:"calls"`
	Tokens int64      `json:"tokens"`
	Cost   source.USD `json:"cost"`
}

// WindowJSON is a window's bounds; the previous one is compared against.
type WindowJSON struct {
	Start         string `json:"start"`
	End           string `json:"end"`
	PreviousStart string `json:"previousStart"`
	PreviousEnd   string `json:"previousEnd"`
}

// PreviousJSON is the previous window's totals.
type PreviousJSON struct {
	APICalls int64      `json:"apiCalls"`
	Tokens   int64      `json:"tokens"`
	Cost     source.USD `json:"cost"`
	// Partial: the data begins (dataStart) after the previous window does,
	// so the changes compare with a window only partly covered.
	Partial   bool    `json:"partial"`
	DataStart *string `json:"dataStart,omitempty"`
}

// Timestamp is how reports write instants: RFC 3339 in the report's zone.
func Timestamp(t time.Time) string { return t.Format(time.RFC3339Nano) }

// StatsData is the JSON model of the dashboard.
func StatsData(s *report.Stats, meta Meta) StatsJSON {
	cur, prev := s.Current, s.Previous
	out := StatsJSON{
		Period: string(s.Span.Period),
		APICalls: CallsJSON{Total: cur.Calls, Successful: cur.Successful, Failed: cur.Failed(),
			Change: report.Change(cur.Calls, prev.Calls)},
		Tokens: TokensJSON{Total: cur.Tokens(), Prompt: cur.Prompt, Completion: cur.Completion,
			Change: report.Change(cur.Tokens(), prev.Tokens())},
		Costs:     CostsJSON{Total: cur.Cost, Breakdown: []BreakdownJSON{}, Change: report.Change(int64(cur.Cost), int64(prev.Cost))},
		TopModels: []TopModelJSON{}, DailyUsage: []DailyJSON{},
		Tenant: s.Tenant, Source: meta.Source, TimeZone: s.Span.ZoneName(), AsOf: Timestamp(s.Clock.Now),
		Window: WindowJSON{Timestamp(s.Span.Current.Start), Timestamp(s.Span.Current.End),
			Timestamp(s.Span.Previous.Start), Timestamp(s.Span.Previous.End)},
		Previous: PreviousJSON{APICalls: prev.Calls, Tokens: prev.Tokens(), Cost: prev.Cost, Partial: s.PreviousPartial()},
		Insights: s.Insights,
	}
	out.Previous.DataStart = dataStartJSON(s.Span, s.DataStart)
	if r := report.SuccessRate(cur); r != nil {
		out.APICalls.SuccessRate = report.Nearest(r)
	}
	if r := report.AverageCost(cur); r != nil {
		out.Costs.AveragePerCall = report.Fixed(r, 9)
	}
	for _, g := range s.Models {
		b := BreakdownJSON{Model: g.Name, Cost: g.Cost, Calls: g.Calls}
		if r := report.Percent(int64(g.Cost), int64(cur.Cost)); r != nil {
			b.Share = report.Nearest(r)
		}
		out.Costs.Breakdown = append(out.Costs.Breakdown, b)
	}
	for _, g := range s.TopModels() {
		out.TopModels = append(out.TopModels, TopModelJSON{g.Name, g.Calls, g.Tokens(), g.Cost})
	}
	for _, d := range s.Daily {
		out.DailyUsage = append(out.DailyUsage, DailyJSON{d.Date.String(), d.Calls, d.Tokens(), d.Cost})
	}
	if out.Insights == nil {
		out.Insights = []report.Insight{}
	}
	out.Comparison = comparisonData(s)
	out.Latency = latencyData(cur)
	return out
}

// WriteJSON writes v as indented JSON, names and all, unescaped.
func WriteJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// StatsCSV writes the totals of both windows, one metric a row.
func StatsCSV(w io.Writer, s *report.Stats, _ Options) error {
	cur, prev := s.Current, s.Previous
	rows := [][]string{{"metric", "current", "previous", "change"}}
	count := func(name string, c, p int64) {
		rows = append(rows, []string{name, strconv.FormatInt(c, 10), strconv.FormatInt(p, 10), report.Change(c, p).String()})
	}
	count("apiCalls", cur.Calls, prev.Calls)
	count("successful", cur.Successful, prev.Successful)
	count("failed", cur.Failed(), prev.Failed())
	count("promptTokens", cur.Prompt, prev.Prompt)
	count("completionTokens", cur.Completion, prev.Completion)
	count("tokens", cur.Tokens(), prev.Tokens())
	rows = append(rows, []string{"cost", cur.Cost.Decimal(), prev.Cost.Decimal(), report.Change(int64(cur.Cost), int64(prev.Cost)).String()})
	for i := range rows {
		for j := range rows[i] {
			if rows[i][j] == "null" {
				rows[i][j] = ""
			}
		}
	}
	return writeCSV(w, 1, rows)
}
