package render

import (
	"encoding/csv"
	"io"
	"strings"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/renderer"
	"github.com/olekukonko/tablewriter/tw"
)

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

// align is a column's alignment in a table.
type align = tw.Align

const (
	left  = tw.AlignLeft
	right = tw.AlignRight
)

// markdownTable writes a GitHub-flavoured Markdown table.
func markdownTable(w io.Writer, headers []string, aligns []align, rows [][]string) error {
	esc := func(s string) string {
		// The renderers' own bold (a total row) stays bold.
		if inner, ok := strings.CutPrefix(s, "**"); ok && len(inner) > 2 && strings.HasSuffix(inner, "**") {
			return "**" + truncate(mdText(inner[:len(inner)-2]), docNameWidth) + "**"
		}
		return truncate(mdText(s), docNameWidth)
	}
	t := tablewriter.NewTable(w,
		tablewriter.WithRenderer(renderer.NewMarkdown()),
		tablewriter.WithHeaderAutoFormat(tw.Off),
		tablewriter.WithHeaderAlignmentConfig(tw.CellAlignment{PerColumn: aligns}),
		tablewriter.WithRowAlignmentConfig(tw.CellAlignment{PerColumn: aligns}),
		tablewriter.WithRowAutoWrap(tw.WrapNone),
		tablewriter.WithHeaderAutoWrap(tw.WrapNone),
	)
	hs := make([]string, len(headers))
	for i, h := range headers {
		hs[i] = esc(h)
	}
	t.Header(hs)
	for _, r := range rows {
		cells := make([]string, len(r))
		for i, c := range r {
			cells[i] = esc(c)
		}
		if err := t.Append(cells); err != nil {
			return err
		}
	}
	return t.Render()
}
