// Package render turns report models into text: terminal dashboards, JSON,
// CSV and Markdown. Each format is a pure function of the model and of how
// the output looks (Style); none of them changes a number.
package render

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/mattn/go-runewidth"
)

// Format is an output format.
type Format string

// The formats of reports; each report declares which it renders.
const (
	Table    Format = "table"
	JSON     Format = "json"
	CSV      Format = "csv"
	Markdown Format = "markdown"
	PDF      Format = "pdf"
	HTML     Format = "html"
	Focus    Format = "focus" // FOCUS 1.2, the FinOps cost and usage format (CSV)
)

// Formats are the formats a report renders, its default first.
type Formats []Format

// Parse reads --format: "" is the default; a format the report does not
// render is refused with the ones it does.
func (fs Formats) Parse(s string) (Format, error) {
	if s == "" {
		return fs[0], nil
	}
	f := Format(strings.ToLower(s))
	if f == "md" {
		f = Markdown
	}
	for _, ok := range fs {
		if f == ok {
			return f, nil
		}
	}
	return "", fmt.Errorf("unknown format %q (use %s)", s, fs)
}

// String lists the formats: "table, json, csv or markdown".
func (fs Formats) String() string {
	names := make([]string, len(fs))
	for i, f := range fs {
		names[i] = string(f)
	}
	if len(names) == 1 {
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

// Style is how terminal output looks: colors only on a terminal, never as the
// only carrier of meaning.
type Style struct {
	Color bool
	Width int // columns to fill; 80 when 0
}

func (s Style) width() int {
	if s.Width <= 0 {
		return 80
	}
	return min(max(s.Width, 40), 140)
}

// Colors of the dashboard.
const (
	blue   = "34"
	green  = "32"
	red    = "31"
	purple = "35"
	yellow = "33"
	bold   = "1"
	dim    = "2"
)

func (s Style) paint(code, text string) string {
	if !s.Color || text == "" || code == "" {
		return text
	}
	return "\x1b[" + code + "m" + text + "\x1b[0m"
}

// Widest a name from outside is shown: in terminal tables, and in Markdown
// and email tables. Longer names end in "…" (JSON and CSV keep them whole).
const (
	termNameWidth = 48
	docNameWidth  = 120
)

// Safe makes a name from outside harmless in a terminal: control characters,
// escape sequences and bidi overrides are shown as escapes, not obeyed.
func Safe(s string) string {
	clean := true
	for _, r := range s {
		if unsafeRune(r) {
			clean = false
			break
		}
	}
	if clean && utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for i, r := range s {
		switch {
		case r == utf8.RuneError && !strings.HasPrefix(s[i:], "\uFFFD"):
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case unsafeRune(r):
			if r < 0x100 {
				fmt.Fprintf(&b, `\x%02x`, r)
			} else {
				fmt.Fprintf(&b, `\u%04x`, r)
			}
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func unsafeRune(r rune) bool {
	// Controls, and the line and paragraph separators (U+2028, U+2029),
	// which break a line in Markdown, JSON-in-JS and some terminals.
	if unicode.IsControl(r) || unicode.In(r, unicode.Zl, unicode.Zp) {
		return true
	}
	switch {
	case r >= 0x202A && r <= 0x202E, r >= 0x2066 && r <= 0x2069, r == 0x200E, r == 0x200F, r == 0x061C:
		return true // bidi controls
	}
	return false
}

// width is the number of terminal columns text takes, without color codes.
func width(text string) int {
	return runewidth.StringWidth(stripANSI(text))
}

func stripANSI(s string) string {
	if !strings.Contains(s, "\x1b[") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == 0x1b && i+1 < len(s) && s[i+1] == '[' {
			j := i + 2
			for j < len(s) && s[j] != 'm' {
				j++
			}
			i = j
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// padRight fills text with spaces to n columns.
func padRight(text string, n int) string {
	if w := width(text); w < n {
		return text + strings.Repeat(" ", n-w)
	}
	return text
}

// padLeft right-aligns text in n columns.
func padLeft(text string, n int) string {
	if w := width(text); w < n {
		return strings.Repeat(" ", n-w) + text
	}
	return text
}

// truncate cuts text to n columns with an ellipsis.
func truncate(text string, n int) string {
	if runewidth.StringWidth(text) <= n {
		return text
	}
	return runewidth.Truncate(text, n, "…")
}

// bar draws a horizontal bar of value/maximum × cells, in eighths.
func bar(value, maximum float64, cells int) string {
	if maximum <= 0 || value <= 0 || cells <= 0 {
		return ""
	}
	eighths := int(value/maximum*float64(cells)*8 + 0.5)
	if eighths == 0 {
		eighths = 1 // something, however small, shows
	}
	full := eighths / 8
	rest := eighths % 8
	s := strings.Repeat("█", full)
	if rest > 0 {
		s += string([]rune("▏▎▍▌▋▊▉")[rest-1])
	}
	return s
}

// wrap breaks text into lines of at most n columns, the later ones indented.
func wrap(text string, n int, indent string) []string {
	return pack(keepDates(strings.Fields(text)), " ", n, indent)
}

// pack puts pieces on as few lines of n columns as they fit, joined by sep,
// each line after the first starting with indent.
func pack(pieces []string, sep string, n int, indent string) []string {
	var lines []string
	line := ""
	for _, w := range pieces {
		switch {
		case line == "":
			line = w
		case width(line)+width(sep)+width(w) <= n:
			line += sep + w
		default:
			lines = append(lines, line)
			line = indent + w
		}
	}
	if line != "" {
		lines = append(lines, line)
	}
	return lines
}

// keepDates joins a month's name to the day after it ("Nov 27"), so that a
// line never breaks inside a date.
func keepDates(words []string) []string {
	out := words[:0:0]
	for i := 0; i < len(words); i++ {
		w := words[i]
		if i+1 < len(words) && len(w) == 3 && strings.Contains("JanFebMarAprMayJunJulAugSepOctNovDec", w) &&
			words[i+1] != "" && words[i+1][0] >= '0' && words[i+1][0] <= '9' {
			w += " " + words[i+1]
			i++
		}
		out = append(out, w)
	}
	return out
}
