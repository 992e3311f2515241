package render

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/mattn/go-runewidth"
)

// Terminal tables fit the width they are given: bars shrink first, then
// names are clipped with "…", then the least important columns are left
// out. A row never wraps.

// column is a column of a terminal table.
type column struct {
	head      string
	align     align
	headColor string // SGR code of the header cell
	// name: text from outside, clipped to termNameWidth and, when the
	// table does not fit, down to minName.
	name bool
	// bar: the cells' frac drawn as a bar of barWidth cells (fill: as wide
	// as the width left over, up to barWidth), shrinking to minBar.
	bar, fill bool
	barWidth  int
	track     bool // the rest of a bar drawn dim (░), as a gauge
	// what names the column in the note on left-out columns (default head).
	what string
	// min: the narrowest a bar or name column gets (default minBar or
	// minName).
	min int
	// drop: 0 keeps the column at any width; otherwise the column with the
	// highest drop goes first when the table does not fit.
	drop int
}

// tcell is a cell: plain text (made Safe by the caller), its color, and
// for a bar column the bar's length as a fraction of the column.
type tcell struct {
	text  string
	color string
	frac  float64
}

// ttable is a terminal table: columns, rows, the gap between columns and
// the indent of the body rows (the header starts at the margin, where a
// section title stands).
type ttable struct {
	cols   []column
	rows   [][]tcell
	gap    int
	indent int
	lead   string // before every line, header included
	noHead bool
}

const (
	minName = 12
	minBar  = 4
)

func (t *ttable) naturalWidth(i int) int {
	c := t.cols[i]
	w := width(c.head)
	if c.bar {
		w = max(w, c.barWidth, t.textWidth(i))
		return w
	}
	for _, r := range t.rows {
		tw := runewidth.StringWidth(r[i].text)
		if c.name {
			tw = min(tw, termNameWidth)
		}
		if i == 0 {
			tw += t.indent
		}
		w = max(w, tw)
	}
	return w
}

// textWidth is the widest text in a bar column ("no limit").
func (t *ttable) textWidth(i int) int {
	w := 0
	for _, r := range t.rows {
		w = max(w, runewidth.StringWidth(r[i].text))
	}
	return w
}

func (t *ttable) minWidth(i int, natural int) int {
	c := t.cols[i]
	switch {
	case c.bar:
		return min(natural, max(firstPositive(c.min, minBar), width(c.head)))
	case c.name:
		floor := max(firstPositive(c.min, minName), width(c.head))
		if i == 0 {
			floor += t.indent
		}
		return min(natural, floor)
	}
	return natural
}

// layout chooses the columns that are shown and their widths for W
// columns of terminal.
func (t *ttable) layout(W int) (keep []int, widths map[int]int) {
	natural := map[int]int{}
	for i := range t.cols {
		natural[i] = t.naturalWidth(i)
		keep = append(keep, i)
	}
	total := func(w func(int) int) int {
		n := len(t.lead) + t.gap*(len(keep)-1)
		for _, i := range keep {
			n += w(i)
		}
		return n
	}
	// Gaps narrow to two spaces before anything else gives way.
	if t.gap > 2 && total(func(i int) int { return natural[i] }) > W {
		t.gap = 2
	}
	for total(func(i int) int { return t.minWidth(i, natural[i]) }) > W {
		worst := -1
		for k, i := range keep {
			if t.cols[i].drop > 0 && (worst < 0 || t.cols[i].drop >= t.cols[keep[worst]].drop) {
				worst = k
			}
		}
		if worst < 0 {
			break // nothing left to leave out; the lines are clipped
		}
		keep = append(keep[:worst:worst], keep[worst+1:]...)
	}
	widths = map[int]int{}
	for _, i := range keep {
		widths[i] = natural[i]
	}
	over := total(func(i int) int { return widths[i] }) - W
	// A filling bar takes what is left, up to its width.
	for _, i := range keep {
		if t.cols[i].fill {
			widths[i] = max(t.minWidth(i, natural[i]), min(natural[i], natural[i]-over))
			over = total(func(i int) int { return widths[i] }) - W
		}
	}
	for _, kind := range []func(column) bool{func(c column) bool { return c.bar }, func(c column) bool { return c.name }} {
		for _, i := range keep {
			if over <= 0 {
				break
			}
			if !kind(t.cols[i]) {
				continue
			}
			cut := min(over, widths[i]-t.minWidth(i, natural[i]))
			widths[i] -= cut
			over -= cut
		}
	}
	return keep, widths
}

// render writes the table at W columns and says which columns it left out.
func (t *ttable) render(p *printer, st Style, W int) (left []string) {
	keep, widths := t.layout(W)
	kept := map[int]bool{}
	for _, i := range keep {
		kept[i] = true
	}
	for i, c := range t.cols {
		if what := firstNonEmpty(c.what, c.head); !kept[i] && what != "" {
			left = append(left, what)
		}
	}
	gap := strings.Repeat(" ", t.gap)
	line := func(cell func(i int, w int) string) {
		var b strings.Builder
		b.WriteString(t.lead)
		for k, i := range keep {
			if k > 0 {
				b.WriteString(gap)
			}
			b.WriteString(cell(i, widths[i]))
		}
		p.line(strings.TrimRight(b.String(), " "))
	}
	if !t.noHead {
		line(func(i, w int) string {
			c := t.cols[i]
			return alignTo(st.paint(c.headColor, truncate(c.head, w)), w, c.align)
		})
	}
	for _, r := range t.rows {
		line(func(i, w int) string {
			c, cell := t.cols[i], r[i]
			ind := ""
			if i == 0 {
				ind = strings.Repeat(" ", t.indent)
				w -= t.indent
			}
			if c.bar && cell.text != "" && runewidth.StringWidth(cell.text) > w {
				cell.text = "∞" // "no limit" where it does not fit
			}
			if c.bar && cell.text == "" {
				filled := bar(cell.frac, 1, w)
				rest := ""
				if c.track {
					rest = st.paint(dim, strings.Repeat("░", w-width(filled)))
				}
				return alignTo(st.paint(cell.color, filled)+rest, w, c.align)
			}
			return ind + alignTo(st.paint(cell.color, truncate(cell.text, w)), w, c.align)
		})
	}
	return left
}

func firstPositive(a, b int) int {
	if a > 0 {
		return a
	}
	return b
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// alignTo pads text to w columns on the side its alignment leaves free.
func alignTo(text string, w int, a align) string {
	if a == right {
		return padLeft(text, w)
	}
	return padRight(text, w)
}

// leftOut is the note under a table that could not show every column.
func leftOut(p *printer, st Style, cols []string, W int) {
	if len(cols) == 0 {
		return
	}
	for _, l := range wrap("("+strings.Join(cols, ", ")+" left out to fit "+strconv.Itoa(W)+" columns; --format csv has every column)", W-2, "  ") {
		p.line(" " + st.paint(dim, l))
	}
}

// fitParts joins a header's parts with " · " into as few lines as fit in
// W columns; a part too long for a line of its own is clipped.
func fitParts(parts []string, W int) []string {
	clipped := make([]string, len(parts))
	for i, p := range parts {
		clipped[i] = truncate(p, W)
	}
	return pack(clipped, " · ", W, "")
}

// clipLine cuts a line that is still wider than W columns, keeping its
// color codes: the last guard against a terminal wrapping a row.
func clipLine(s string, W int) string {
	if W <= 0 || width(s) <= W {
		return s
	}
	var b strings.Builder
	used := 0
	colored := false
	for i := 0; i < len(s); {
		if s[i] == 0x1b && i+1 < len(s) && s[i+1] == '[' {
			j := i + 2
			for j < len(s) && s[j] != 'm' {
				j++
			}
			b.WriteString(s[i:min(j+1, len(s))])
			colored = true
			i = j + 1
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		rw := runewidth.RuneWidth(r)
		if used+rw > W-1 {
			break
		}
		b.WriteString(s[i : i+size])
		used += rw
		i += size
	}
	b.WriteString("…")
	if colored {
		b.WriteString("\x1b[0m")
	}
	return b.String()
}
