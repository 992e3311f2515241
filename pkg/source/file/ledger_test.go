package file

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/nextcore-ai/nextcore/pkg/source"
)

// goodV2 is a record with every ledger field (docs/ledger.md §1).
const goodV2 = `{"id":"b_1","timestamp":"2026-11-20T13:00:00Z","model":"claude-sonnet-4-5","apiKey":"k","status":null,` +
	`"requests":312,"inputTokens":1000,"cacheReadTokens":8000,"cacheWriteTokens":500,"cacheWrite1hTokens":250,` +
	`"outputTokens":700,"reasoningTokens":300,"project":"search","tags":["prod","team:ml"],"provider":"anthropic",` +
	`"batch":true,"serviceTier":"priority","longContext":false,"cost":null}`

func TestReadV2(t *testing.T) {
	want := source.Record{ID: "b_1", Time: 1795179600000000000, Model: "claude-sonnet-4-5", APIKey: "k", LatencyMs: -1,
		Unknown: true, NoCost: true, Requests: 312, PromptTokens: 9750, CompletionTokens: 700,
		CacheRead: 8000, CacheWrite: 500, CacheWrite1h: 250, Reasoning: 300, Project: "search",
		Tags: []string{"prod", "team:ml"}, Provider: "anthropic", Batch: true, ServiceTier: "priority", LongContext: -1}
	header := "id,timestamp,model,apiKey,status,requests,inputTokens,cacheReadTokens,cacheWriteTokens,cacheWrite1hTokens," +
		"outputTokens,reasoningTokens,project,tags,provider,batch,serviceTier,longContext,cost\n"
	cases := []struct{ name, data string }{
		{"a.jsonl", goodV2 + "\n"},
		{"a.csv", header + "b_1,2026-11-20T13:00:00Z,claude-sonnet-4-5,k,,312,1000,8000,500,250,700,300,search,prod; team:ml,anthropic,TRUE,priority,false,\n"},
		{"tags as a JSON array.csv", header + `b_1,2026-11-20T13:00:00Z,claude-sonnet-4-5,k,,312,1000,8000,500,250,700,300,search,"[""prod"",""team:ml""]",anthropic,true,priority,false,` + "\n"},
		// the v1 pair beside the v2 kinds, agreeing
		{"both.jsonl", strings.Replace(goodV2, `"requests"`, `"promptTokens":9750,"completionTokens":700,"requests"`, 1) + "\n"},
	}
	for _, c := range cases {
		recs, err := readAll(t, c.name, c.data, Auto)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if len(recs) != 1 || !reflect.DeepEqual(recs[0], want) {
			t.Errorf("%s: got %+v\nwant %+v", c.name, recs, want)
		}
		if got := recs[0].Input(); got != 1000 {
			t.Errorf("%s: input %d", c.name, got)
		}
	}

	// A v1 record is a v2 record meaning what it meant: one call, the
	// prompt all uncached input, its cost reported.
	recs, err := readAll(t, "v1.jsonl", good+"\n", Auto)
	if err != nil {
		t.Fatal(err)
	}
	if r := recs[0]; r.Requests != 1 || r.Input() != 1200 || r.NoCost || r.Unknown || r.V2() {
		t.Errorf("v1 record read as %+v", r)
	}

	// The cache tokens may come beside promptTokens without inputTokens: the
	// uncached input is what is left.
	recs, err = readAll(t, "p.jsonl", strings.Replace(good, `"promptTokens":1200`, `"promptTokens":1200,"cacheReadTokens":1000`, 1)+"\n", Auto)
	if err != nil {
		t.Fatal(err)
	}
	if r := recs[0]; r.PromptTokens != 1200 || r.CacheRead != 1000 || r.Input() != 200 {
		t.Errorf("derived input: %+v", r)
	}
}

// TestV2RoundTrip writes records in both formats and reads them back whole.
func TestV2RoundTrip(t *testing.T) {
	recs, err := readAll(t, "a.jsonl", goodV2+"\n"+good+"\n"+
		strings.NewReplacer(`"b_1"`, `"b_2"`, `["prod","team:ml"]`, `["a;b"," c","[x"]`, `"status":null`, `"status":"error"`,
			`"cost":null`, `"cost":0.5`, `"longContext":false`, `"longContext":true`, `"requests":312`, `"requests":0`).Replace(goodV2)+"\n", Auto)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []Format{JSONL, CSV} {
		var b bytes.Buffer
		w, err := NewWriter(&b, f)
		if err != nil {
			t.Fatal(err)
		}
		for i := range recs {
			if err := w.Write(&recs[i]); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		name := "out.jsonl"
		if f == CSV {
			name = "out.csv"
		}
		back, err := readAll(t, name, b.String(), Auto)
		if err != nil {
			t.Fatalf("%s: %v\n%s", name, err, b.String())
		}
		if !reflect.DeepEqual(back, recs) {
			t.Errorf("%s: read back\n%+v\nwant\n%+v", name, back, recs)
		}
		if f == JSONL && strings.Contains(strings.Split(b.String(), "\n")[1], "requests") {
			t.Errorf("a v1 record was written with ledger fields: %s", b.String())
		}
	}
}

func TestReadV2Bad(t *testing.T) {
	replace := func(old, new string) string {
		if !strings.Contains(goodV2, old) {
			t.Fatalf("%q is not in the record", old)
		}
		return strings.Replace(goodV2, old, new, 1) + "\n"
	}
	tags := make([]string, 33)
	for i := range tags {
		tags[i] = `"t` + strings.Repeat("x", i) + `"`
	}
	cases := []struct{ name, data, want string }{
		{"negative cache read", replace(`"cacheReadTokens":8000`, `"cacheReadTokens":-1`), `field "cacheReadTokens": negative`},
		{"fractional output", replace(`"outputTokens":700`, `"outputTokens":7.5`), `field "outputTokens": not a whole number`},
		{"reasoning above output", replace(`"reasoningTokens":300`, `"reasoningTokens":701`), `field "reasoningTokens": reasoningTokens 701 is more than the output (700)`},
		{"negative requests", replace(`"requests":312`, `"requests":-1`), `field "requests": negative`},
		{"fractional requests", replace(`"requests":312`, `"requests":1.5`), `field "requests": not a whole number`},
		{"prompt disagrees", replace(`"requests"`, `"promptTokens":9749,"requests"`), `field "promptTokens": promptTokens 9749 is not inputTokens + cache tokens (1000 + 8750 = 9750)`},
		{"completion disagrees", replace(`"requests"`, `"completionTokens":701,"requests"`), `field "completionTokens": completionTokens 701 is not outputTokens 700`},
		{"cache above prompt", strings.Replace(good, `"promptTokens":1200`, `"promptTokens":1200,"cacheWriteTokens":1201`, 1) + "\n", `promptTokens 1200 is less than the cache tokens (1201)`},
		{"cache without input", replace(`"inputTokens":1000,`, ``), `field "inputTokens": missing`},
		{"no tokens", replace(`"inputTokens":1000,"cacheReadTokens":8000,"cacheWriteTokens":500,"cacheWrite1hTokens":250,`, ``), `field "promptTokens": missing`},
		{"no output", replace(`"outputTokens":700,"reasoningTokens":300,`, ``), `field "completionTokens": missing`},
		{"33 tags", replace(`["prod","team:ml"]`, "["+strings.Join(tags, ",")+"]"), `field "tags": 33 tags, more than 32`},
		{"duplicate tag", replace(`["prod","team:ml"]`, `["prod","team:ml","prod"]`), `field "tags": tag "prod" appears twice`},
		{"empty tag", replace(`["prod","team:ml"]`, `["prod",""]`), `field "tags": an empty tag`},
		{"long tag", replace(`["prod","team:ml"]`, `["`+strings.Repeat("x", 257)+`"]`), `is longer than 256 bytes`},
		{"tags not strings", replace(`["prod","team:ml"]`, `["prod",1]`), `field "tags": an array holding something other than strings`},
		{"tags a string", replace(`["prod","team:ml"]`, `"prod"`), `field "tags": not an array of strings`},
		{"batch a number", replace(`"batch":true`, `"batch":1`), `field "batch": not true or false`},
		{"boolean project", replace(`"project":"search"`, `"project":true`), `field "project": a boolean`},
		{"bad status", replace(`"status":null`, `"status":"unknown"`), `unknown status "unknown" (want success, error or null)`},
		{"missing status", replace(`"status":null,`, ``), `field "status": missing`},
		{"CSV duplicate tag", "id,timestamp,model,apiKey,status,promptTokens,completionTokens,tags\nx,2026-11-20T13:45:12Z,m,k,success,1,2,a;b;a\n", `a.csv:2: field "tags": tag "a" appears twice`},
		{"CSV without tokens", "id,timestamp,model,apiKey,status,project\nx,2026-11-20T13:45:12Z,m,k,success,p\n", `lacks column(s) promptTokens, completionTokens`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			name := "a.jsonl"
			if strings.HasPrefix(c.name, "CSV") {
				name = "a.csv"
			}
			_, err := readAll(t, name, c.data, Auto)
			if err == nil {
				t.Fatalf("no error")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not say %q", err, c.want)
			}
			var re *RecordError
			if !strings.Contains(c.name, "without tokens") && !errors.As(err, &re) {
				t.Errorf("not a record error: %v", err)
			}
		})
	}
}
