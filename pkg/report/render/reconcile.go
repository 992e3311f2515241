// usage reconcile in every format: the reported cost against the priced
// cost, per day and model.

package render

import (
	"cmp"
	"io"
	"math/big"
	"slices"
	"strconv"
	"strings"

	"github.com/nextcore-ai/nextcore/pkg/report"
	"github.com/nextcore-ai/nextcore/pkg/source"
)

func reconTitle(r *report.Reconciliation) []string {
	what := "reported against priced cost"
	if r.Against != "" {
		what = Safe(r.Against) + "'s bill against its usage at list prices"
	}
	return []string{Safe(r.Tenant), what, r.Span.Label(), r.Span.DateRange() + " (" + r.Span.ZoneName() + ")",
		"price book of " + r.Book.Snapshot + priceFiles(r)}
}

// reconHeadsOf are the columns: against a bill, "reported" is what was
// billed and "model" what the bill groups by.
func reconHeadsOf(r *report.Reconciliation) []string {
	heads := slices.Clone(reconHeads)
	if r.Against != "" {
		heads[1], heads[3] = cmp.Or(r.GroupBy, "bill"), "billed"
	}
	return heads
}

func priceFiles(r *report.Reconciliation) string {
	if len(r.Book.Files) == 0 {
		return ""
	}
	return " + " + strings.Join(r.Book.Files, " + ")
}

func reconRatio(row report.ReconRow) string {
	ratio := row.Ratio()
	if ratio == nil {
		return "–"
	}
	return report.Pct(new(big.Rat).Mul(ratio, big.NewRat(100, 1)))
}

func reconCells(row report.ReconRow) []string {
	priced, diff := report.USD2(row.Priced), signedUSD(row.Difference())
	if row.Unpriced {
		priced, diff = "–", "–"
	}
	flag := ""
	if row.Flagged {
		flag = "✗"
	}
	return []string{row.Date.String(), row.Model, report.Count(row.Calls), report.USD2(row.Reported), priced, diff, reconRatio(row), flag,
		strings.Join(row.Explanations, "; ")}
}

// signedUSD is a difference: +$1.25, -$0.30, $0.00.
func signedUSD(u source.USD) string {
	switch {
	case u > 0:
		return "+" + report.USD2(u)
	case u < 0:
		return "-" + report.USD2(-u)
	}
	return report.USD2(0)
}

func reconSummary(r *report.Reconciliation) []string {
	rows, reported := "day × model rows", "Reported "
	if r.Against != "" {
		rows, reported = "day rows", "Billed "
		if r.GroupBy != "" {
			rows = "day × " + r.GroupBy + " rows"
		}
	}
	lines := []string{strconv.Itoa(r.Flagged) + " of " + strconv.Itoa(len(r.Rows)) + " " + rows + " differ by more than " +
		report.Fixed(r.Tolerance, 1).Trim().String() + "% and $0.01. " + reported + report.USD2(r.Reported) + ", priced " +
		report.USD2(r.Priced) + " (" + signedUSD(r.Reported-r.Priced) + ")."}
	if r.Against != "" {
		if len(r.Unpriced) > 0 {
			lines = append(lines, "No price for "+Safe(strings.Join(r.Unpriced, ", "))+": its usage counts $0 (nextcore pricing check; a price file adds them).")
		}
		return lines
	}
	if len(r.Unpriced) > 0 {
		lines = append(lines, "No price for "+Safe(strings.Join(r.Unpriced, ", "))+": "+report.USD2(r.UnpricedReported)+
			" reported, not compared (nextcore pricing check; a price file adds them).")
	}
	return lines
}

var reconHeads = []string{"date", "model", "calls", "reported", "priced", "difference", "ratio", "flag", "note"}

// ReconcileTable writes the reconciliation for a terminal.
func ReconcileTable(w io.Writer, r *report.Reconciliation, o Options) error {
	st := o.Style
	p, W := opening(w, st, withNote(reconTitle(r), o.Meta))
	if len(r.Rows) == 0 {
		p.line("  No calls in this window.")
		return p.err
	}
	t := &ttable{gap: 2, lead: " "}
	for i, h := range reconHeadsOf(r) {
		c := column{head: h, align: right}
		switch {
		case h == "date" || h == "flag" || h == "note":
			c.align = left
		case i == 1:
			c.align, c.name, c.min = left, true, 8
		}
		c.drop = map[string]int{"note": 5, "ratio": 3, "calls": 4}[h]
		t.cols = append(t.cols, c)
	}
	for _, row := range r.Rows {
		cs := cells(reconCells(row))
		cs[1].text = Safe(cs[1].text)
		if row.Flagged {
			cs[7].color = red
		}
		t.rows = append(t.rows, cs)
	}
	leftOut(p, st, t.render(p, st, W), W)
	p.line("")
	for i, l := range reconSummary(r) {
		color := ""
		if i > 0 || r.Flagged > 0 {
			color = yellow
		}
		for _, wl := range wrap(l, W-4, "  ") {
			p.line("  " + st.paint(color, wl))
		}
	}
	return p.err
}

// ReconcileMarkdown writes the reconciliation as a Markdown table.
func ReconcileMarkdown(w io.Writer, r *report.Reconciliation, _ Options) error {
	p := &printer{w: w}
	p.linef("### NextCore %s", mdText(strings.Join(reconTitle(r), " · ")))
	p.line("")
	var rows [][]string
	for _, row := range r.Rows {
		rows = append(rows, reconCells(row))
	}
	if p.err == nil {
		p.err = markdownTable(w, reconHeadsOf(r), []align{left, left, right, right, right, right, right, left, left}, rows)
	}
	p.line("")
	for _, l := range reconSummary(r) {
		p.line(mdText(l))
	}
	return p.err
}

// ReconRowJSON is one row.
type ReconRowJSON struct {
	Date         string        `json:"date"`
	Model        string        `json:"model"`
	Calls        int64         `json:"calls"`
	Reported     source.USD    `json:"reported"`
	Priced       *source.USD   `json:"priced"`     // null: no price
	Difference   *source.USD   `json:"difference"` // reported − priced
	Ratio        report.Number `json:"ratio"`      // reported ÷ priced
	Flagged      bool          `json:"flagged"`
	Explanations []string      `json:"explanations"`
}

// ReconcileJSON is usage reconcile --format json.
type ReconcileJSON struct {
	Tenant           string         `json:"tenant"`
	Period           string         `json:"period"`
	TimeZone         string         `json:"timeZone"`
	AsOf             string         `json:"asOf"`
	Window           WindowJSON     `json:"window"`
	Tolerance        report.Number  `json:"tolerance"` // percent
	PriceBook        string         `json:"priceBook"`
	Rows             []ReconRowJSON `json:"rows"`
	Reported         source.USD     `json:"reported"`
	Priced           source.USD     `json:"priced"`
	Flagged          int            `json:"flagged"`
	Unpriced         []string       `json:"unpriced"`
	UnpricedReported source.USD     `json:"unpricedReported"`
	// Against a bill: the provider, and what a row's "model" names
	// ("project", "model", or "" for the day's whole bill); "reported" is
	// then what the provider billed.
	Against string `json:"against,omitempty"`
	GroupBy string `json:"groupBy,omitempty"`
}

// ReconcileData is the JSON model.
func ReconcileData(r *report.Reconciliation) ReconcileJSON {
	out := ReconcileJSON{Tenant: r.Tenant, Period: string(r.Span.Period), TimeZone: r.Span.ZoneName(), AsOf: Timestamp(r.Clock.Now),
		Window:    WindowJSON{Timestamp(r.Span.Current.Start), Timestamp(r.Span.Current.End), Timestamp(r.Span.Previous.Start), Timestamp(r.Span.Previous.End)},
		Tolerance: report.Nearest(r.Tolerance), PriceBook: "snapshot of " + r.Book.Snapshot + priceFiles(r), Rows: []ReconRowJSON{},
		Reported: r.Reported, Priced: r.Priced, Flagged: r.Flagged, Unpriced: append([]string{}, r.Unpriced...), UnpricedReported: r.UnpricedReported,
		Against: r.Against, GroupBy: r.GroupBy}
	for _, row := range r.Rows {
		j := ReconRowJSON{Date: row.Date.String(), Model: row.Model, Calls: row.Calls, Reported: row.Reported, Flagged: row.Flagged,
			Explanations: append([]string{}, row.Explanations...)}
		if !row.Unpriced {
			priced, diff := row.Priced, row.Difference()
			j.Priced, j.Difference = &priced, &diff
			if ratio := row.Ratio(); ratio != nil {
				j.Ratio = report.Nearest(ratio)
			}
		}
		out.Rows = append(out.Rows, j)
	}
	return out
}

// ReconcileCSV writes one row per day and model.
func ReconcileCSV(w io.Writer, r *report.Reconciliation, _ Options) error {
	heads := reconHeadsOf(r)
	rows := [][]string{{"date", heads[1], "calls", heads[3], "priced", "difference", "ratio", "flagged", "explanations"}}
	for _, j := range ReconcileData(r).Rows {
		priced, diff := "", ""
		if j.Priced != nil {
			priced, diff = j.Priced.Decimal(), j.Difference.Decimal()
		}
		rows = append(rows, []string{j.Date, j.Model, i64(j.Calls), j.Reported.Decimal(), priced, diff, num(j.Ratio),
			strconv.FormatBool(j.Flagged), strings.Join(j.Explanations, "; ")})
	}
	return writeCSVCols(w, func(col int) bool { return col < 2 || col >= 7 }, rows)
}

func reconcileJSON(w io.Writer, r *report.Reconciliation, _ Options) error {
	return WriteJSON(w, ReconcileData(r))
}

// ReconcileReport is usage reconcile.
func ReconcileReport() Report[*report.Reconciliation] {
	return Report[*report.Reconciliation]{"the reconciliation", []entry[*report.Reconciliation]{
		{Table, ReconcileTable}, {JSON, reconcileJSON}, {CSV, ReconcileCSV}, {Markdown, ReconcileMarkdown},
	}}
}
