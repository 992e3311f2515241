package render

import (
	"bytes"
	"encoding/csv"
	"testing"
)

func TestNeutralize(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"gpt-4o", "gpt-4o"},
		{"", ""},
		{"=SUM(A1)", "'=SUM(A1)"},
		{"+1", "'+1"},
		{"-1", "'-1"},
		{"-", "'-"},
		{"@x", "'@x"},
		{"\tx", "'\tx"},
		{"\rx", "'\rx"},
		{"1", "1"},
		{"'quoted", "'quoted"},
	} {
		if got := Neutralize(c.in); got != c.want {
			t.Errorf("Neutralize(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// TestCSVColumns: text columns are neutralised, number columns are not,
// negative numbers included.
func TestCSVColumns(t *testing.T) {
	var b bytes.Buffer
	rows := [][]string{{"model", "region", "change"}, {"-1", "+1", "-12.5"}, {"=x", "@y", "+3"}}
	if err := writeCSV(&b, 2, rows); err != nil {
		t.Fatal(err)
	}
	r := csv.NewReader(&b)
	r.FieldsPerRecord = 3
	got, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{{"model", "region", "change"}, {"'-1", "'+1", "-12.5"}, {"'=x", "'@y", "+3"}}
	for i := range want {
		for j := range want[i] {
			if got[i][j] != want[i][j] {
				t.Errorf("row %d col %d = %q, want %q", i, j, got[i][j], want[i][j])
			}
		}
	}
}
