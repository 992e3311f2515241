// The price book as its commands show it (table, JSON, CSV).

package render

import (
	"io"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/nextcore-ai/nextcore/pkg/pricing"
	"github.com/nextcore-ai/nextcore/pkg/report"
	"github.com/nextcore-ai/nextcore/pkg/source"
)

// PriceList is the book's models (those listed) and where its prices come
// from.
type PriceList struct {
	Book   *pricing.Book
	Models []*pricing.Model
}

func bookSource(b *pricing.Book) string {
	return strings.Join(bookParts(b), " + ")
}

// bookParts are where the book's prices come from: the snapshot, then the
// price files.
func bookParts(b *pricing.Book) []string {
	return append([]string{"built-in snapshot of " + b.Snapshot + " (LiteLLM)"}, b.Files...)
}

func decOr(d *pricing.Dec, fallback string) string {
	if d == nil {
		return fallback
	}
	return d.String()
}

// PriceListTable lists the prices in force now: USD per million tokens.
func PriceListTable(w io.Writer, l *PriceList, o Options) error {
	p, W := opening(w, o.Style, append(append([]string{"price book"}, bookParts(l.Book)...), strconv.Itoa(l.Book.Len())+" models", "USD per million tokens"))
	t := &ttable{gap: 2, lead: " ", cols: []column{{head: "model", name: true}, {head: "provider", drop: 3},
		{head: "input", align: right}, {head: "cache read", align: right, drop: 2}, {head: "cache write", align: right, drop: 2},
		{head: "output", align: right}, {head: "batch", align: right, drop: 1}, {head: "since", drop: 4}}}
	for _, m := range l.Models {
		per := m.Periods[len(m.Periods)-1]
		t.rows = append(t.rows, cells([]string{Safe(m.Name), Safe(m.Provider), decOr(per.Input, "–"), decOr(per.CacheRead, "–"),
			decOr(per.CacheWrite, "–"), decOr(per.Output, "–"), decOr(per.BatchFactor, "0.5"), per.From.Format(time.DateOnly)}))
	}
	left := t.render(p, o.Style, W)
	leftOut(p, o.Style, left, W)
	return p.err
}

// PriceFileJSON is the price file shape (docs/ledger.md §7).
type PriceFileJSON struct {
	Source string                    `json:"source"`
	Models map[string]PriceModelJSON `json:"models"`
}

// PriceModelJSON is a model's entry.
type PriceModelJSON struct {
	Provider string            `json:"provider,omitempty"`
	Aliases  []string          `json:"aliases,omitempty"`
	Prices   []PricePeriodJSON `json:"prices"`
}

// PriceComponentsJSON are prices as exact decimals (USD per million).
type PriceComponentsJSON struct {
	Input        *report.Number `json:"input,omitempty"`
	CacheRead    *report.Number `json:"cacheRead,omitempty"`
	CacheWrite   *report.Number `json:"cacheWrite,omitempty"`
	CacheWrite1h *report.Number `json:"cacheWrite1h,omitempty"`
	Output       *report.Number `json:"output,omitempty"`
}

// PricePeriodJSON is a period.
type PricePeriodJSON struct {
	From string `json:"from"`
	PriceComponentsJSON
	BatchFactor *report.Number `json:"batchFactor,omitempty"`
	Above       *struct {
		Tokens int64 `json:"tokens"`
		PriceComponentsJSON
	} `json:"above,omitempty"`
	Tiers map[string]PriceComponentsJSON `json:"tiers,omitempty"`
}

func decNumber(d *pricing.Dec) *report.Number {
	if d == nil {
		return nil
	}
	n := report.Fixed(new(big.Rat).SetFrac64(int64(*d), source.NanosPerUSD), 9).Trim()
	return &n
}

func componentsJSON(c pricing.Components) PriceComponentsJSON {
	return PriceComponentsJSON{decNumber(c.Input), decNumber(c.CacheRead), decNumber(c.CacheWrite), decNumber(c.CacheWrite1h), decNumber(c.Output)}
}

// PriceListData is the listed models in the price file shape.
func PriceListData(l *PriceList) PriceFileJSON {
	out := PriceFileJSON{Source: bookSource(l.Book), Models: map[string]PriceModelJSON{}}
	for _, m := range l.Models {
		e := PriceModelJSON{Provider: m.Provider, Aliases: m.Aliases}
		for _, per := range m.Periods {
			pj := PricePeriodJSON{From: per.From.Format(time.DateOnly), PriceComponentsJSON: componentsJSON(per.Components), BatchFactor: decNumber(per.BatchFactor)}
			if per.Above != nil {
				pj.Above = &struct {
					Tokens int64 `json:"tokens"`
					PriceComponentsJSON
				}{per.Above.Tokens, componentsJSON(per.Above.Components)}
			}
			for tier, c := range per.Tiers {
				if pj.Tiers == nil {
					pj.Tiers = map[string]PriceComponentsJSON{}
				}
				pj.Tiers[tier] = componentsJSON(c)
			}
			e.Prices = append(e.Prices, pj)
		}
		out.Models[m.Name] = e
	}
	return out
}

// PriceListCSV writes one row per model and period.
func PriceListCSV(w io.Writer, l *PriceList, _ Options) error {
	rows := [][]string{{"model", "provider", "from", "input", "cache_read", "cache_write", "cache_write_1h", "output", "batch_factor"}}
	for _, m := range l.Models {
		for _, per := range m.Periods {
			rows = append(rows, []string{m.Name, m.Provider, per.From.Format(time.DateOnly), decOr(per.Input, ""), decOr(per.CacheRead, ""),
				decOr(per.CacheWrite, ""), decOr(per.CacheWrite1h, ""), decOr(per.Output, ""), decOr(per.BatchFactor, "")})
		}
	}
	return writeCSVCols(w, func(col int) bool { return col < 3 }, rows)
}

func priceListJSON(w io.Writer, l *PriceList, _ Options) error { return WriteJSON(w, PriceListData(l)) }

// PriceListReport is nextcore pricing list.
func PriceListReport() Report[*PriceList] {
	return Report[*PriceList]{"the price list", []entry[*PriceList]{{Table, PriceListTable}, {JSON, priceListJSON}, {CSV, PriceListCSV}}}
}
