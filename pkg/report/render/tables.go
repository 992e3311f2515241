package render

import (
	"encoding/csv"
	"io"
	"strings"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/renderer"
	"github.com/olekukonko/tablewriter/tw"
)

// writeCSV writes RFC 4180 rows. Cells that a spreadsheet would run as a
// formula are neutralised (OWASP): names come from outside.
func writeCSV(w io.Writer, rows [][]string) error {
	cw := csv.NewWriter(w)
	for _, r := range rows {
		for j, v := range r {
			r[j] = Neutralize(v)
		}
		if err := cw.Write(r); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// Neutralize prefixes a cell that starts like a spreadsheet formula with a
// single quote. Plain numbers, negative ones included, are left alone.
func Neutralize(v string) string {
	if v == "" {
		return v
	}
	switch v[0] {
	case '=', '+', '-', '@', '\t', '\r':
		if isNumber(v) {
			return v
		}
		return "'" + v
	}
	return v
}

func isNumber(v string) bool {
	if len(v) < 2 || (v[0] != '-' && v[0] != '+') {
		return false
	}
	dot := false
	for _, c := range v[1:] {
		switch {
		case c >= '0' && c <= '9':
		case c == '.' && !dot:
			dot = true
		default:
			return false
		}
	}
	return true
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

// plainTable writes aligned columns without borders, for terminals and logs.
func plainTable(w io.Writer, headers []string, aligns []align, rows [][]string) error {
	t := tablewriter.NewTable(w,
		tablewriter.WithRenderer(renderer.NewBlueprint(tw.Rendition{
			Borders:  tw.BorderNone,
			Settings: tw.Settings{Separators: tw.Separators{BetweenColumns: tw.Off, BetweenRows: tw.Off}, Lines: tw.Lines{ShowHeaderLine: tw.Off}},
		})),
		tablewriter.WithHeaderAutoFormat(tw.Off),
		tablewriter.WithHeaderAlignmentConfig(tw.CellAlignment{PerColumn: aligns}),
		tablewriter.WithRowAlignmentConfig(tw.CellAlignment{PerColumn: aligns}),
		tablewriter.WithRowAutoWrap(tw.WrapNone),
		tablewriter.WithHeaderAutoWrap(tw.WrapNone),
		tablewriter.WithTrimSpace(tw.Off),
	)
	t.Header(headers)
	for _, r := range rows {
		cells := make([]string, len(r))
		for i, c := range r {
			cells[i] = truncate(Safe(c), termNameWidth)
		}
		if err := t.Append(cells); err != nil {
			return err
		}
	}
	return t.Render()
}
