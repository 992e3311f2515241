// Saved reports read back for --compare-to, and their columns.

package render

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"strings"

	"github.com/nextcore-ai/nextcore/pkg/report"
	"github.com/nextcore-ai/nextcore/pkg/source"
)

// ReadGroupBaseline reads a saved `top-models --format json` (keyed by
// model) or `breakdown --format json` (keyed by the rows' values along by)
// report to compare with.
func ReadGroupBaseline(r io.Reader, label string, by []string) (*report.GroupBaseline, error) {
	var raw struct {
		Models []struct {
			Model string     `json:"model"`
			Calls int64      `json:"calls"`
			Cost  source.USD `json:"cost"`
		} `json:"models"`
		By   json.RawMessage              `json:"by"` // a ranking's is a word, a breakdown's a list
		Rows []map[string]json.RawMessage `json:"rows"`
	}
	if err := json.NewDecoder(r).Decode(&raw); err != nil {
		return nil, fmt.Errorf("%s is not a JSON report: %v", label, err)
	}
	b := &report.GroupBaseline{Label: label, Groups: map[string]report.BaselineGroup{}}
	switch {
	case by == nil && raw.Models != nil:
		for _, m := range raw.Models {
			b.Groups[m.Model] = report.BaselineGroup{Calls: m.Calls, Cost: m.Cost}
		}
	case by != nil && raw.Rows != nil:
		var savedBy []string
		if err := json.Unmarshal(raw.By, &savedBy); err != nil {
			return nil, fmt.Errorf("%s is not a breakdown JSON report: \"by\": %v", label, err)
		}
		if strings.Join(savedBy, ",") != strings.Join(by, ",") {
			return nil, fmt.Errorf("%s is a breakdown by %s, not by %s", label, strings.Join(savedBy, " × "), strings.Join(by, " × "))
		}
		for i, row := range raw.Rows {
			var keys []string
			var g report.BaselineGroup
			field := func(name string, into any) error {
				if err := json.Unmarshal(row[name], into); err != nil {
					return fmt.Errorf("%s is not a breakdown JSON report: row %d, %q: %v", label, i+1, name, err)
				}
				return nil
			}
			for _, d := range by {
				var v string
				if err := field(d, &v); err != nil {
					return nil, err
				}
				keys = append(keys, v)
			}
			if err := field("calls", &g.Calls); err != nil {
				return nil, err
			}
			if err := field("cost", &g.Cost); err != nil {
				return nil, err
			}
			b.Groups[strings.Join(keys, source.PivotSep)] = g
		}
	default:
		what := "usage top-models --format json"
		if by != nil {
			what = "usage breakdown --format json with the same --by"
		}
		return nil, fmt.Errorf("%s is not a report of this kind; save one with %s", label, what)
	}
	return b, nil
}

// ReadQuotaBaseline reads a saved `usage quota --format json` report.
func ReadQuotaBaseline(r io.Reader, label string) (*report.QuotaBaseline, error) {
	var raw QuotaJSON
	if err := json.NewDecoder(r).Decode(&raw); err != nil {
		return nil, fmt.Errorf("%s is not a JSON report: %v", label, err)
	}
	if len(raw.Metrics) == 0 {
		return nil, fmt.Errorf("%s is not a quota report; save one with usage quota --format json", label)
	}
	b := &report.QuotaBaseline{Label: label, AsOf: raw.AsOf, Used: map[string]*big.Rat{}}
	for k, m := range raw.Metrics {
		if r := m.Used.Rat(); r != nil {
			b.Used[k] = r
		}
	}
	return b, nil
}

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
