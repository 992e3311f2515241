package render

import (
	"encoding/csv"
	"io"

	"github.com/nextcore-ai/nextcore/pkg/report"
	"github.com/nextcore-ai/nextcore/pkg/source"
	"github.com/nextcore-ai/nextcore/pkg/source/file"
	"github.com/nextcore-ai/nextcore/pkg/source/wire"
)

// DailyCSV writes one row per day of the window: raw numbers, ISO dates.
func DailyCSV(w io.Writer, s *report.Stats) error {
	rows := [][]string{{"date", "calls", "successful", "failed", "prompt_tokens", "completion_tokens", "tokens", "cost"}}
	for _, d := range s.Daily {
		rows = append(rows, []string{d.Date.String(), i64(d.Calls), i64(d.Successful), i64(d.Failed()),
			i64(d.Prompt), i64(d.Completion), i64(d.Tokens()), d.Cost.Decimal()})
	}
	return writeCSV(w, 1, rows)
}

// GroupsCSV writes one row per group of a dimension (model, key…), cost
// descending, with each group's share of the cost.
func GroupsCSV(w io.Writer, column string, groups []report.Group, total source.Totals) error {
	rows := [][]string{{column, "calls", "successful", "failed", "success_rate", "prompt_tokens", "completion_tokens", "tokens", "cost", "cost_share", "avg_cost_per_call"}}
	for _, g := range groups {
		m := modelData(g.Name, g.Totals, total)
		rows = append(rows, []string{g.Name, i64(m.Calls), i64(m.Successful), i64(m.Failed), num(m.SuccessRate),
			i64(m.PromptTokens), i64(m.CompletionTokens), i64(m.Tokens), m.Cost.Decimal(), num(m.CostShare), num(m.AverageCost)})
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
