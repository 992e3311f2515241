package wire

import (
	"reflect"
	"strings"
	"testing"

	"github.com/nextcore-ai/nextcore/pkg/source"
)

func TestPageRoundTrip(t *testing.T) {
	recs := []source.Record{
		{ID: "a", Time: 1_795_182_312_345_000_000, Model: "模型/x:\"y\"", APIKey: "=k", User: "zoë", Success: true, StatusCode: 200,
			PromptTokens: 12, CompletionTokens: 3, Cost: 4_125_000, LatencyMs: 842},
		{ID: "b", Time: 1_795_182_312_345_000_001, Model: "m", APIKey: "k", LatencyMs: -1, Cost: 1},
	}
	body := AppendPage(nil, "http://x/api/tenants/t/usage/records/?cursor=abc&start=1", recs)
	var got []source.Record
	next, err := DecodePage(body, func(r *source.Record) error { got = append(got, *r); return nil })
	if err != nil {
		t.Fatal(err)
	}
	if next != "http://x/api/tenants/t/usage/records/?cursor=abc&start=1" || len(got) != 2 || !reflect.DeepEqual(got, recs) {
		t.Fatalf("next %q, records %+v", next, got)
	}
	last := AppendPage(nil, "", nil)
	if next, err := DecodePage(last, func(*source.Record) error { return nil }); err != nil || next != "" {
		t.Fatalf("last page: %q %v", next, err)
	}
}

func TestPageErrors(t *testing.T) {
	good := string(AppendPage(nil, "", []source.Record{{ID: "a", Model: "m", APIKey: "k", Time: 1, LatencyMs: -1}}))
	cases := []struct {
		name, body string
		syntax     bool
		want       string
	}{
		{"truncated", good[:len(good)-10], true, "malformed page"},
		{"empty", "", true, "not a JSON object"},
		{"html", "<html>502 Bad Gateway</html>", true, "not a JSON object"},
		{"no results", `{"next":null}`, true, "no results"},
		{"results not array", `{"results":{}}`, true, "not an array"},
		{"trailing", good + "x", true, "text after"},
		{"bad record", strings.Replace(good, `"cost":0`, `"cost":"x"`, 1), false, `record 1 (id "a") of the page: cost: not a number`},
		{"record not object", `{"results":[1]}`, false, "record 1 of the page"},
	}
	for _, c := range cases {
		_, err := DecodePage([]byte(c.body), func(*source.Record) error { return nil })
		if err == nil || IsSyntax(err) != c.syntax || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v (syntax %v)", c.name, err, IsSyntax(err))
		}
	}
}
