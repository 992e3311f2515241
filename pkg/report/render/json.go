// JSON: every report's model as JSON (typed structs, the names of
// docs/numbers.md), and the webhook payload of alerts.

package render

import (
	"bytes"
	"encoding/json"
	"io"
	"maps"
	"math"
	"math/big"
	"slices"
	"strings"
	"time"

	"github.com/nextcore-ai/nextcore/pkg/report"
	"github.com/nextcore-ai/nextcore/pkg/source"
)

// AlertJSON is one alert as a webhook receives it.
type AlertJSON struct {
	Key       string        `json:"key"` // metric:threshold or metric:forecast
	Metric    string        `json:"metric"`
	Kind      string        `json:"kind"` // threshold or forecast
	Threshold report.Number `json:"threshold"`
	Percent   report.Number `json:"percent"`
	Used      report.Number `json:"used"`
	Limit     report.Number `json:"limit"`
	Projected report.Number `json:"projected"`
	Text      string        `json:"message"`
}

// AlertPayload is what a webhook receives: the tenant, the billing month,
// the new alerts and the month's quota.
type AlertPayload struct {
	Tenant       string      `json:"tenant"`
	BillingMonth string      `json:"billingMonth"`
	Alerts       []AlertJSON `json:"alerts"`
	Quota        QuotaJSON   `json:"quota"`
}

// AlertData is the webhook payload of alerts.
func AlertData(q *report.Quota, alerts []report.Alert) AlertPayload {
	out := AlertPayload{Tenant: q.Tenant, BillingMonth: q.Period.Start.Format("2006-01"), Alerts: []AlertJSON{}, Quota: QuotaData(q)}
	for _, a := range alerts {
		m := a.Metric
		j := AlertJSON{Key: a.Key, Metric: m.Key, Kind: a.Kind, Percent: report.Nearest(m.Percent),
			Used: QuotaAmount(m, new(big.Rat).SetInt64(m.Used)), Limit: QuotaAmount(m, new(big.Rat).SetInt64(*m.Limit)),
			Projected: QuotaAmount(m, m.Projected), Text: a.Text}
		if a.Threshold != nil {
			j.Threshold = report.Nearest(a.Threshold)
		}
		out.Alerts = append(out.Alerts, j)
	}
	return out
}

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
	Calls            int64          `json:"calls"`
	Successful       int64          `json:"successful"`
	Failed           int64          `json:"failed"`
	SuccessRate      *report.Number `json:"successRate,omitempty"` // absent without calls
	PromptTokens     int64          `json:"promptTokens"`
	CompletionTokens int64          `json:"completionTokens"`
	Tokens           int64          `json:"tokens"`
	LedgerJSON
	Cost     source.USD         `json:"cost"`
	Share    report.Number      `json:"share"`  // of the window's cost, in %
	Change   report.Number      `json:"change"` // of the cost, against the previous window
	Previous PrevJSON           `json:"previous"`
	Latency  *LatencyJSON       `json:"latency"`
	Baseline *groupBaselineJSON `json:"baseline,omitempty"`
}

// TokenKindsJSON are tokens by kind (records v2): the prompt split into
// uncached input and cache reads and writes, the output with its reasoning.
type TokenKindsJSON struct {
	Input        int64 `json:"input"`
	CacheRead    int64 `json:"cacheRead"`
	CacheWrite   int64 `json:"cacheWrite"`
	CacheWrite1h int64 `json:"cacheWrite1h"`
	Output       int64 `json:"output"`
	Reasoning    int64 `json:"reasoning"`
}

func tokenKinds(t source.Totals) TokenKindsJSON {
	return TokenKindsJSON{Input: t.Input(), CacheRead: t.CacheRead, CacheWrite: t.CacheWrite,
		CacheWrite1h: t.CacheWrite1h, Output: t.Completion, Reasoning: t.Reasoning}
}

// LedgerJSON is a group's calls of unknown outcome and its tokens by kind
// (records v2), beside the v1 numbers of every group row.
type LedgerJSON struct {
	Unknown int64 `json:"unknown"`
	TokenKindsJSON
}

func ledgerData(t source.Totals) LedgerJSON {
	return LedgerJSON{Unknown: t.Unknown, TokenKindsJSON: tokenKinds(t)}
}

func breakdownMetrics(t, prev, total source.Totals) GroupMetricsJSON {
	m := GroupMetricsJSON{Calls: t.Calls, Successful: t.Successful, Failed: t.Failed(), PromptTokens: t.Prompt,
		CompletionTokens: t.Completion, Tokens: t.Tokens(), LedgerJSON: ledgerData(t), Cost: t.Cost,
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
	// Overlapping: grouped by tag, a call with several tags is in several
	// rows, so the rows add up to more than the total.
	Overlapping bool `json:"overlapping"`
	MoneyJSON
}

// BreakdownData is the JSON model of a breakdown.
func BreakdownData(b *report.Breakdown) GroupsJSON {
	out := GroupsJSON{By: make([]string, len(b.By)), Rows: make([]GroupRowJSON, 0, len(b.Rows)),
		Total: breakdownMetrics(b.Total, b.Previous, b.Total), Groups: b.Count,
		Tenant: b.Tenant, Period: string(b.Span.Period), TimeZone: b.Span.ZoneName(), AsOf: Timestamp(b.Clock.Now),
		Window:          WindowJSON{Timestamp(b.Span.Current.Start), Timestamp(b.Span.Current.End), Timestamp(b.Span.Previous.Start), Timestamp(b.Span.Previous.End)},
		Filter:          filterData(b.Filter),
		PreviousPartial: report.PartlyCovered(b.Span, b.DataStart), DataStart: dataStartJSON(b.Span, b.DataStart),
		Overlapping: b.Overlapping, MoneyJSON: moneyData(b.Unpriced, b.CostMode)}
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

// ComparisonJSON is the stats object's comparison with a saved report.
type ComparisonJSON struct {
	With     string          `json:"with"`
	Period   string          `json:"period"`
	AsOf     string          `json:"asOf"`
	APICalls CompareRowJSON  `json:"apiCalls"`
	Tokens   CompareRowJSON  `json:"tokens"`
	Cost     CompareCostJSON `json:"cost"`
}

// CompareRowJSON is then, now and the change of a count.
type CompareRowJSON struct {
	Then   int64         `json:"then"`
	Now    int64         `json:"now"`
	Change report.Number `json:"change"`
}

// CompareCostJSON is then, now and the change of the cost.
type CompareCostJSON struct {
	Then   source.USD    `json:"then"`
	Now    source.USD    `json:"now"`
	Change report.Number `json:"change"`
}

func comparisonData(s *report.Stats) *ComparisonJSON {
	b := s.Baseline
	if b == nil {
		return nil
	}
	cur := s.Current
	return &ComparisonJSON{With: b.Label, Period: b.Period, AsOf: b.AsOf,
		APICalls: CompareRowJSON{b.Calls, cur.Calls, report.Change(cur.Calls, b.Calls)},
		Tokens:   CompareRowJSON{b.Tokens, cur.Tokens(), report.Change(cur.Tokens(), b.Tokens)},
		Cost:     CompareCostJSON{b.Cost, cur.Cost, report.Change(int64(cur.Cost), int64(b.Cost))},
	}
}

// ModelJSON is one model of a ranking.
type ModelJSON struct {
	Model            string        `json:"model"`
	Calls            int64         `json:"calls"`
	Successful       int64         `json:"successful"`
	Failed           int64         `json:"failed"`
	SuccessRate      report.Number `json:"successRate"`
	PromptTokens     int64         `json:"promptTokens"`
	CompletionTokens int64         `json:"completionTokens"`
	Tokens           int64         `json:"tokens"`
	LedgerJSON
	Cost        source.USD         `json:"cost"`
	CostShare   report.Number      `json:"costShare"`
	AverageCost report.Number      `json:"averageCostPerCall"`
	Previous    *PrevJSON          `json:"previous,omitempty"`
	Change      report.Number      `json:"change"`
	Latency     *LatencyJSON       `json:"latency"`
	Baseline    *groupBaselineJSON `json:"baseline,omitempty"`
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
	MoneyJSON
}

func modelData(name string, t, total source.Totals) ModelJSON {
	m := ModelJSON{Model: name, Calls: t.Calls, Successful: t.Successful, Failed: t.Failed(),
		PromptTokens: t.Prompt, CompletionTokens: t.Completion, Tokens: t.Tokens(), LedgerJSON: ledgerData(t), Cost: t.Cost}
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
		By:     string(r.By), Models: []ModelJSON{}, Total: modelData("total", r.Total, r.Total),
		MoneyJSON: moneyData(r.Unpriced, r.CostMode)}
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

// QuotaJSON is the quota object of docs/numbers.md.
type QuotaJSON struct {
	PeriodStart string                     `json:"periodStart"`
	PeriodEnd   string                     `json:"periodEnd"`
	AsOf        string                     `json:"asOf"`
	Level       string                     `json:"level"`
	Metrics     map[string]QuotaMetricJSON `json:"metrics"`
	Tenant      string                     `json:"tenant"`
	TimeZone    string                     `json:"timeZone"`
	WarnAt      report.Number              `json:"warnAt"`
	Projected   string                     `json:"projectedLevel"`
	MoneyJSON
	Baseline *QuotaBaselineJSON `json:"baseline,omitempty"`
}

// QuotaBaselineJSON is a saved quota report's use, by metric.
type QuotaBaselineJSON struct {
	With string                   `json:"with"`
	AsOf string                   `json:"asOf"`
	Used map[string]report.Number `json:"used"`
}

// QuotaMetricJSON is one metric of the quota object.
type QuotaMetricJSON struct {
	Used           report.Number `json:"used"`
	Limit          report.Number `json:"limit"`
	Percent        report.Number `json:"percent"`
	Level          *string       `json:"level"`
	Projected      report.Number `json:"projected"`
	ProjectedLevel *string       `json:"projectedLevel"`
	LimitReachedAt *string       `json:"limitReachedAt,omitempty"`
	// At the last 7 days' run-rate: the month-end projection, and when the
	// limit is reached at that pace.
	Projected7d        report.Number `json:"projected7d"`
	LimitReachedAround *string       `json:"limitReachedAround7d,omitempty"`
}

// QuotaData is the JSON model of the billing month.
func QuotaData(q *report.Quota) QuotaJSON {
	out := QuotaJSON{
		PeriodStart: Timestamp(q.Period.Start), PeriodEnd: Timestamp(q.Period.End), AsOf: Timestamp(q.Clock.Now),
		Level: string(q.Level), Metrics: map[string]QuotaMetricJSON{}, Tenant: q.Tenant,
		TimeZone: q.Period.Start.Location().String(), WarnAt: report.Nearest(q.WarnAt), Projected: string(q.Projected),
		MoneyJSON: moneyData(q.Unpriced, q.CostMode),
	}
	for _, m := range q.Metrics {
		j := QuotaMetricJSON{Used: QuotaAmount(m, big.NewRat(m.Used, 1)), Projected: QuotaAmount(m, m.Projected), Projected7d: QuotaAmount(m, m.Pace7)}
		if !m.Reached7.IsZero() {
			at := Timestamp(m.Reached7)
			j.LimitReachedAround = &at
		}
		if m.Limit != nil {
			j.Limit = QuotaAmount(m, big.NewRat(*m.Limit, 1))
			j.Percent = report.Nearest(m.Percent)
			l, pl := string(m.Level), string(m.ProjectedLevel)
			j.Level, j.ProjectedLevel = &l, &pl
			if !m.ReachedAt.IsZero() {
				at := Timestamp(m.ReachedAt)
				j.LimitReachedAt = &at
			}
		}
		out.Metrics[m.Key] = j
	}
	if b := q.Baseline; b != nil {
		out.Baseline = &QuotaBaselineJSON{With: b.Label, AsOf: b.AsOf, Used: map[string]report.Number{}}
		for k, v := range b.Used {
			out.Baseline.Used[k] = report.Fixed(v, 9).Trim()
		}
	}
	return out
}

// QuotaAmount writes a metric's value: dollars to the nano-dollar for spend,
// counts as they are (a projection keeps its fraction).
func QuotaAmount(m report.QuotaMetric, v *big.Rat) report.Number {
	if m.Money {
		return report.Fixed(new(big.Rat).Quo(v, big.NewRat(source.NanosPerUSD, 1)), 9).Trim()
	}
	if v.IsInt() {
		return report.Int(v.Num().Int64())
	}
	return report.Nearest(v)
}

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
	MoneyJSON
}

// MoneyJSON says which cost a report shows and what no price covered
// (docs/ledger.md §7).
type MoneyJSON struct {
	Unpriced UnpricedJSON `json:"unpriced"`
	CostMode string       `json:"costMode"` // reported or priced
}

// UnpricedJSON is usage that added nothing to the cost: no price covers it.
type UnpricedJSON struct {
	Calls  int64    `json:"calls"`
	Tokens int64    `json:"tokens"`
	Models []string `json:"models"`
}

func moneyData(u report.Unpriced, mode report.CostMode) MoneyJSON {
	models := u.Models
	if models == nil {
		models = []string{}
	}
	if mode == "" {
		mode = report.CostReported
	}
	return MoneyJSON{Unpriced: UnpricedJSON{Calls: u.Calls, Tokens: u.Tokens, Models: models}, CostMode: string(mode)}
}

// CallsJSON is apiCalls.
type CallsJSON struct {
	Total       int64         `json:"total"`
	Successful  int64         `json:"successful"`
	Failed      int64         `json:"failed"`
	Unknown     int64         `json:"unknown"` // of unknown outcome (records v2)
	Change      report.Number `json:"change"`
	SuccessRate report.Number `json:"successRate"`
}

// TokensJSON is tokens, with the ledger's kinds (records v2).
type TokensJSON struct {
	Total      int64 `json:"total"`
	Prompt     int64 `json:"prompt"`
	Completion int64 `json:"completion"`
	TokenKindsJSON
	CacheHitRate report.Number `json:"cacheHitRate"` // a fraction to 4 places; null without input
	Change       report.Number `json:"change"`
}

// TokensData is the tokens object of t.
func TokensData(t, prev source.Totals) TokensJSON {
	out := TokensJSON{Total: t.Tokens(), Prompt: t.Prompt, Completion: t.Completion, TokenKindsJSON: tokenKinds(t),
		Change: report.Change(t.Tokens(), prev.Tokens())}
	if r := report.CacheHitRate(t); r != nil {
		out.CacheHitRate = report.Fixed(r, 4).Trim()
	}
	return out
}

// CostsJSON is costs.
type CostsJSON struct {
	Total          source.USD      `json:"total"`
	Breakdown      []BreakdownJSON `json:"breakdown"`
	Change         report.Number   `json:"change"`
	AveragePerCall report.Number   `json:"averagePerCall"`
	// CacheSavings is what prompt caching saved, priced from the book.
	CacheSavings source.USD `json:"cacheSavings"`
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
		APICalls: CallsJSON{Total: cur.Calls, Successful: cur.Successful, Failed: cur.Failed(), Unknown: cur.Unknown,
			Change: report.Change(cur.Calls, prev.Calls)},
		Tokens: TokensData(cur, prev),
		Costs: CostsJSON{Total: cur.Cost, Breakdown: []BreakdownJSON{}, Change: report.Change(int64(cur.Cost), int64(prev.Cost)),
			CacheSavings: s.CacheSaved},
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
	out.MoneyJSON = moneyData(s.Unpriced, s.CostMode)
	return out
}

// WriteJSON writes v as indented JSON, names and all, unescaped.
func WriteJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
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

// groupBaselineJSON is a group's values in the saved report and the change
// of its cost since.
type groupBaselineJSON struct {
	Calls  int64         `json:"calls"`
	Cost   source.USD    `json:"cost"`
	Change report.Number `json:"change"`
}

func baselineOf(b *report.GroupBaseline, name string, cost source.USD) *groupBaselineJSON {
	if b == nil {
		return nil
	}
	g := b.Groups[name]
	return &groupBaselineJSON{g.Calls, g.Cost, report.Change(int64(cost), int64(g.Cost))}
}

func statsJSON(w io.Writer, s *report.Stats, o Options) error {
	return WriteJSON(w, StatsData(s, o.Meta))
}

func quotaJSON(w io.Writer, q *report.Quota, _ Options) error { return WriteJSON(w, QuotaData(q)) }

func rankingJSON(w io.Writer, r *report.ModelRanking, _ Options) error {
	return WriteJSON(w, RankingData(r))
}

func breakdownJSON(w io.Writer, b *report.Breakdown, _ Options) error {
	return WriteJSON(w, BreakdownData(b))
}
