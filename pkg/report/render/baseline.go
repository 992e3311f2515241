package render

import (
	"encoding/json"
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
