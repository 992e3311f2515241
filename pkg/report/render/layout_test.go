package render

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
)

// TestLayout: bars shrink first, then names are clipped, then columns go,
// highest drop first; what is left always fits.
func TestLayout(t *testing.T) {
	table := func() *ttable {
		return &ttable{gap: 2, lead: " ", cols: []column{
			{head: "region", name: true},
			{bar: true, barWidth: 16, min: 8, drop: 3},
			{head: "calls", align: right},
			{head: "p95 ms", align: right, drop: 7},
			{head: "p99 ms", align: right, drop: 8},
		}, rows: [][]tcell{
			{{text: "ap-northeast-very-long-region"}, {frac: 1}, {text: "12,345"}, {text: "18,588"}, {text: "39,748"}},
			{{text: "eu"}, {frac: 0.5}, {text: "1"}, {text: "2"}, {text: "3"}},
		}}
	}
	// natural: 1 + 29 + 16 + 6 + 6 + 6 + 4×2 gaps = 72
	for _, c := range []struct {
		W      int
		keep   []int
		widths map[int]int
	}{
		{100, []int{0, 1, 2, 3, 4}, map[int]int{0: 29, 1: 16, 2: 6, 3: 6, 4: 6}},
		{66, []int{0, 1, 2, 3, 4}, map[int]int{0: 29, 1: 10, 2: 6, 3: 6, 4: 6}}, // the bar gives 6
		{60, []int{0, 1, 2, 3, 4}, map[int]int{0: 25, 1: 8, 2: 6, 3: 6, 4: 6}},  // the bar at its least, the name clipped
		{48, []int{0, 1, 2, 3, 4}, map[int]int{0: 13, 1: 8, 2: 6, 3: 6, 4: 6}},  // the name down to 13
		{40, []int{0, 1, 2, 3}, map[int]int{0: 13, 1: 8, 2: 6, 3: 6}},           // p99 goes first
		{30, []int{0, 2}, map[int]int{0: 21, 2: 6}},                             // then p95, then the bar
	} {
		tb := table()
		keep, widths := tb.layout(c.W)
		if !reflect.DeepEqual(keep, c.keep) || !reflect.DeepEqual(widths, c.widths) {
			t.Errorf("W=%d: keep %v widths %v, want %v %v", c.W, keep, widths, c.keep, c.widths)
		}
		var b bytes.Buffer
		tb.render(&printer{w: &b}, Style{Color: true}, c.W)
		for _, line := range strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n") {
			if width(line) > c.W {
				t.Errorf("W=%d: %q is %d wide", c.W, line, width(line))
			}
		}
	}
}

func TestClipLine(t *testing.T) {
	for _, c := range []struct {
		in   string
		W    int
		want string
	}{
		{"short", 10, "short"},
		{"exactly ten", 11, "exactly ten"},
		{"a longer line", 8, "a longe…"},
		{"\x1b[34mblue text here\x1b[0m", 6, "\x1b[34mblue …\x1b[0m"},
		{"宽字符宽字符", 7, "宽字符…"},
	} {
		if got := clipLine(c.in, c.W); got != c.want || width(got) > c.W {
			t.Errorf("clipLine(%q, %d) = %q, want %q", c.in, c.W, got, c.want)
		}
	}
}

func TestFitParts(t *testing.T) {
	got := fitParts([]string{"acme", "last 7 days", "Nov 14 – Nov 20, 2026 (Europe/Berlin)", "cache synced 4 min ago"}, 60)
	want := []string{"acme · last 7 days · Nov 14 – Nov 20, 2026 (Europe/Berlin)", "cache synced 4 min ago"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%q", got)
	}
}
