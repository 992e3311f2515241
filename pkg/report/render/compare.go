package render

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/nextcore-ai/nextcore/pkg/report"
	"github.com/nextcore-ai/nextcore/pkg/source"
)

// ReadBaseline reads a saved `usage stats --format json` (or `export
// --format json`) report to compare with.
func ReadBaseline(r io.Reader, label string) (*report.Baseline, error) {
	var js StatsJSON
	dec := json.NewDecoder(r)
	if err := dec.Decode(&js); err != nil {
		return nil, fmt.Errorf("%s is not a stats JSON report: %v", label, err)
	}
	if js.Period == "" {
		return nil, errors.New(label + " is not a stats JSON report (no period); save one with usage stats --format json")
	}
	return &report.Baseline{Label: label, Period: js.Period, AsOf: js.AsOf, Calls: js.APICalls.Total,
		Successful: js.APICalls.Successful, Tokens: js.Tokens.Total, Cost: js.Costs.Total}, nil
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
