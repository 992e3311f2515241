// CSV: RFC 4180 rows with raw numbers; text cells that a spreadsheet would
// run as a formula are neutralised.

package render

import (
	"encoding/csv"
	"io"
	"math/big"
	"strconv"

	"github.com/nextcore-ai/nextcore/pkg/report"
	"github.com/nextcore-ai/nextcore/pkg/source"
	"github.com/nextcore-ai/nextcore/pkg/source/file"
	"github.com/nextcore-ai/nextcore/pkg/source/wire"
)

// BreakdownCSV writes one row per group with raw numbers.
func BreakdownCSV(w io.Writer, b *report.Breakdown, _ Options) error {
	var header []string
	for _, d := range b.By {
		header = append(header, string(d))
	}
	header = append(header, "calls", "successful", "failed", "success_rate", "prompt_tokens", "completion_tokens", "tokens")
	header = append(header, ledgerHeader...)
	header = append(header, "cost", "cost_share", "cost_change", "previous_calls", "previous_cost", "latency_calls", "p50_ms", "p90_ms", "p95_ms", "p99_ms", "mean_ms")
	rows := [][]string{header}
	for _, r := range b.Rows {
		t, prev := r.Current, r.Previous
		row := append([]string{}, r.Keys...)
		row = append(row, i64(t.Calls), i64(t.Successful), i64(t.Failed()), ratNum(report.SuccessRate(t)), i64(t.Prompt), i64(t.Completion),
			i64(t.Tokens()))
		row = append(row, ledgerCells(t)...)
		row = append(row, t.Cost.Decimal(), ratNum(report.Percent(int64(t.Cost), int64(b.Total.Cost))),
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

// ledgerHeader are the columns of a group's calls of unknown outcome and
// tokens by kind (records v2), after its tokens.
var ledgerHeader = []string{"unknown", "input_tokens", "cache_read_tokens", "cache_write_tokens", "cache_write_1h_tokens",
	"output_tokens", "reasoning_tokens"}

func ledgerCells(t source.Totals) []string {
	return []string{i64(t.Unknown), i64(t.Input()), i64(t.CacheRead), i64(t.CacheWrite), i64(t.CacheWrite1h),
		i64(t.Completion), i64(t.Reasoning)}
}

// groupsHeader is the header of a ranking of groups, first column named.
func groupsHeader(column string) []string {
	h := []string{column, "calls", "successful", "failed", "success_rate", "prompt_tokens", "completion_tokens", "tokens"}
	h = append(h, ledgerHeader...)
	return append(h, "cost", "cost_share", "avg_cost_per_call")
}

// groupsRow is a group's row under groupsHeader.
func groupsRow(m ModelJSON, t source.Totals) []string {
	row := []string{m.Model, i64(m.Calls), i64(m.Successful), i64(m.Failed), num(m.SuccessRate),
		i64(m.PromptTokens), i64(m.CompletionTokens), i64(m.Tokens)}
	row = append(row, ledgerCells(t)...)
	return append(row, m.Cost.Decimal(), num(m.CostShare), num(m.AverageCost))
}

func fnum(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

func ratNum(r *big.Rat) string {
	if r == nil {
		return ""
	}
	return report.Nearest(r).String()
}

// RankingCSV writes one row per model with raw numbers.
func RankingCSV(w io.Writer, r *report.ModelRanking, _ Options) error {
	rows := [][]string{groupsHeader("model")}
	for i, m := range RankingData(r).Models {
		rows = append(rows, groupsRow(m, r.Models[i].Totals))
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

// QuotaCSV writes one row per metric.
func QuotaCSV(w io.Writer, q *report.Quota, _ Options) error {
	rows := [][]string{{"metric", "used", "limit", "percent", "level", "projected", "projectedLevel"}}
	for _, m := range q.Metrics {
		j := QuotaData(&report.Quota{Period: q.Period, Clock: q.Clock, WarnAt: q.WarnAt, Metrics: []report.QuotaMetric{m}}).Metrics[m.Key]
		row := []string{m.Key, j.Used.String(), j.Limit.String(), j.Percent.String(), deref(j.Level), j.Projected.String(), deref(j.ProjectedLevel)}
		for i := range row {
			if row[i] == "null" {
				row[i] = ""
			}
		}
		rows = append(rows, row)
	}
	// metric, level and projectedLevel are words; the rest numbers.
	return writeCSVCols(w, func(col int) bool { return col == 0 || col == 4 || col == 6 }, rows)
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
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

// writeCSV writes RFC 4180 rows: the first textCols columns hold text
// (names from outside), the rest numbers. A text cell that a spreadsheet
// would run as a formula is neutralised (OWASP); numbers stay as they are,
// negative ones included.
func writeCSV(w io.Writer, textCols int, rows [][]string) error {
	return writeCSVCols(w, func(col int) bool { return col < textCols }, rows)
}

// writeCSVCols is writeCSV with the text columns named by isText.
func writeCSVCols(w io.Writer, isText func(col int) bool, rows [][]string) error {
	cw := csv.NewWriter(w)
	for _, r := range rows {
		for j, v := range r {
			if isText(j) {
				r[j] = Neutralize(v)
			}
		}
		if err := cw.Write(r); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// Neutralize prefixes a text cell that starts like a spreadsheet formula
// (=, +, -, @, tab or carriage return) with a single quote: "+1" and "-1"
// as names too, which a spreadsheet would otherwise read as numbers.
func Neutralize(v string) string {
	if v == "" {
		return v
	}
	switch v[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + v
	}
	return v
}

// DailyCSV writes one row per day of the window: raw numbers, ISO dates.
func DailyCSV(w io.Writer, s *report.Stats) error {
	header := []string{"date", "calls", "successful", "failed", "prompt_tokens", "completion_tokens", "tokens"}
	rows := [][]string{append(append(header, ledgerHeader...), "cost")}
	for _, d := range s.Daily {
		row := []string{d.Date.String(), i64(d.Calls), i64(d.Successful), i64(d.Failed()),
			i64(d.Prompt), i64(d.Completion), i64(d.Tokens())}
		rows = append(rows, append(append(row, ledgerCells(d.Totals)...), d.Cost.Decimal()))
	}
	return writeCSV(w, 1, rows)
}

// GroupsCSV writes one row per group of a dimension (model, key…), cost
// descending, with each group's share of the cost.
func GroupsCSV(w io.Writer, column string, groups []report.Group, total source.Totals) error {
	rows := [][]string{groupsHeader(column)}
	for _, g := range groups {
		rows = append(rows, groupsRow(modelData(g.Name, g.Totals, total), g.Totals))
	}
	return writeCSV(w, 1, rows)
}

// RecordsCSV streams records as CSV rows under the record format's header,
// one at a time: memory does not grow with the number of records. each
// calls its argument for every record, in order.
func RecordsCSV(w io.Writer, each func(func(*source.Record) error) error) error {
	cw := csv.NewWriter(w)
	header := file.CSVHeader()
	if err := cw.Write(header); err != nil {
		return err
	}
	numeric := map[string]bool{wire.FieldStatusCode: true, wire.FieldPrompt: true, wire.FieldCompletion: true, wire.FieldCost: true, wire.FieldLatency: true}
	var row []string
	n := 0
	err := each(func(r *source.Record) error {
		row = file.CSVRow(r, row)
		for i, v := range row {
			if !numeric[header[i]] {
				row[i] = Neutralize(v)
			}
		}
		if n++; n%4096 == 0 {
			cw.Flush()
			if err := cw.Error(); err != nil {
				return err
			}
		}
		return cw.Write(row)
	})
	if err != nil {
		return err
	}
	cw.Flush()
	return cw.Error()
}
