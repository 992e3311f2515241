package file

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/nextcore-ai/nextcore/pkg/source"
)

const good = `{"id":"req_1","timestamp":"2026-11-20T13:45:12.345Z","model":"gpt-4o-mini","apiKey":"key_prod_backend","user":"alice@example.com","region":"eu-west","status":"success","statusCode":200,"promptTokens":1200,"completionTokens":350,"cost":0.004125,"latencyMs":842}`

func readAll(t *testing.T, name, data string, f Format) ([]source.Record, error) {
	t.Helper()
	r, err := NewReader(name, strings.NewReader(data), f)
	if err != nil {
		return nil, err
	}
	var out []source.Record
	for {
		var rec source.Record
		err := r.Next(&rec)
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, rec)
	}
}

func TestReadGood(t *testing.T) {
	jsonl := good + "\n" +
		`{"id":"req_2","timestamp":"2026-11-20T14:45:12+05:45","model":"模型/v1: \"x\"","apiKey":"=SUM(A1)","user":null,"status":"error","promptTokens":0,"completionTokens":0,"cost":1e-3,"extra":{"nested":[1,{"a":null}]},"latencyMs":null}` + "\n\n" +
		`{"id":"req_3","timestamp":"2026-11-20t14:45:12.123456789123z","model":"m\u00e9\ud83d\ude00","apiKey":"k","status":"success","promptTokens":"12","completionTokens":3.0,"cost":"0.1"}` + "\r\n"
	csv := "id,timestamp,model,apiKey,user,region,status,statusCode,promptTokens,completionTokens,cost,latencyMs,unknown\n" +
		"req_1,2026-11-20T13:45:12.345Z,gpt-4o-mini,key_prod_backend,alice@example.com,eu-west,success,200,1200,350,0.004125,842,x\n" +
		"req_2,2026-11-20T14:45:12+05:45,\"模型/v1: \"\"x\"\"\",=SUM(A1),,,error,,0,0,1e-3,,\n"
	for _, c := range []struct {
		name, data string
		f          Format
	}{{"a.jsonl", jsonl, Auto}, {"a.csv", csv, Auto}, {"stdin", jsonl, Auto}, {"stdin", csv, Auto}} {
		recs, err := readAll(t, c.name, c.data, c.f)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		r := recs[0]
		if r.ID != "req_1" || r.Model != "gpt-4o-mini" || r.User != "alice@example.com" || !r.Success || r.StatusCode != 200 ||
			r.PromptTokens != 1200 || r.CompletionTokens != 350 || r.Cost != 4_125_000 || r.LatencyMs != 842 ||
			r.Time != 1795182312345000000 {
			t.Errorf("%s: record 1 = %+v", c.name, r)
		}
		r = recs[1]
		if r.Model != `模型/v1: "x"` || r.APIKey != "=SUM(A1)" || r.User != "" || r.Success || r.Cost != 1_000_000 || r.LatencyMs != -1 || r.StatusCode != 0 {
			t.Errorf("%s: record 2 = %+v", c.name, r)
		}
		if r.Time != 1795165212000000000 {
			t.Errorf("%s: offset time %d", c.name, r.Time)
		}
		if strings.HasSuffix(c.name, "jsonl") {
			r = recs[2]
			if r.Model != "mé😀" || r.PromptTokens != 12 || r.CompletionTokens != 3 || r.Time%1e9 != 123456789 {
				t.Errorf("record 3 = %+v", r)
			}
		}
	}
}

func TestReadBad(t *testing.T) {
	line := func(mod func(string) string) string { return mod(good) + "\n" }
	replace := func(old, new string) string {
		return line(func(s string) string { return strings.Replace(s, old, new, 1) })
	}
	cases := []struct {
		name, file, data string
		want             string // part of the error
		record           bool   // a *RecordError (skippable)
	}{
		{"malformed JSON", "a.jsonl", good + "\n" + `{"id":"x",` + "\n", `a.jsonl:2: malformed JSON`, true},
		{"not an object", "a.jsonl", "[1,2]\n", "a.jsonl:1: not a JSON object", true},
		{"text after object", "a.jsonl", good + " x\n", "text after the object", true},
		{"missing id", "a.jsonl", replace(`"id":"req_1",`, ""), `field "id": missing`, true},
		{"null id", "a.jsonl", replace(`"id":"req_1"`, `"id":null`), `field "id": missing`, true},
		{"empty id", "a.jsonl", replace(`"id":"req_1"`, `"id":""`), `field "id": empty`, true},
		{"missing timestamp", "a.jsonl", replace(`"timestamp":"2026-11-20T13:45:12.345Z",`, ""), `field "timestamp": missing`, true},
		{"timestamp without zone", "a.jsonl", replace(`13:45:12.345Z`, `13:45:12.345`), `no time zone`, true},
		{"timestamp out of range", "a.jsonl", replace(`13:45:12.345Z`, `24:45:12.345Z`), `not an RFC 3339 time`, true},
		{"timestamp not a time", "a.jsonl", replace(`2026-11-20T13:45:12.345Z`, `yesterday`), `not an RFC 3339 time`, true},
		{"negative tokens", "a.jsonl", replace(`"promptTokens":1200`, `"promptTokens":-5`), `field "promptTokens": negative`, true},
		{"fractional tokens", "a.jsonl", replace(`"completionTokens":350`, `"completionTokens":3.5`), `not a whole number`, true},
		{"tokens as text", "a.jsonl", replace(`"completionTokens":350`, `"completionTokens":"many"`), `not a number`, true},
		{"cost not a number", "a.jsonl", replace(`"cost":0.004125`, `"cost":"abc"`), `field "cost": not a number`, true},
		{"cost a boolean", "a.jsonl", replace(`"cost":0.004125`, `"cost":true`), `field "cost": a boolean`, true},
		{"cost too precise", "a.jsonl", replace(`"cost":0.004125`, `"cost":0.0000000001`), `more than 9 decimal places`, true},
		{"negative cost", "a.jsonl", replace(`"cost":0.004125`, `"cost":-1`), `negative cost`, true},
		{"unknown status", "a.jsonl", replace(`"status":"success"`, `"status":"ok"`), `unknown status "ok"`, true},
		{"invalid UTF-8", "a.jsonl", replace(`alice`, "al\xffce"), `not valid UTF-8`, true},
		{"line over 1 MiB", "a.jsonl", good + "\n" + `{"id":"` + strings.Repeat("x", MaxLine) + `"}` + "\n", `a.jsonl:2: line longer than 1 MiB`, true},
		{"empty file", "a.jsonl", "", "file is empty", false},
		{"only blank lines", "a.jsonl", "\n\n  \n", "file is empty", false},
		{"empty CSV", "a.csv", "", "file is empty", false},
		{"CSV header only", "a.csv", "id,timestamp,model,apiKey,status,promptTokens,completionTokens,cost\n", "file is empty", false},
		{"CSV missing column", "a.csv", "id,timestamp,model,apiKey,status,promptTokens,cost\nx,2026-11-20T13:45:12Z,m,k,success,1,0.1\n", "lacks column(s) completionTokens", false},
		{"CSV wrong header", "a.csv", "a,b,c\n1,2,3\n", "lacks column(s) id, timestamp", false},
		{"CSV duplicate column", "a.csv", "id,id,timestamp\n", `column "id" appears twice`, false},
		{"CSV short row", "a.csv", "id,timestamp,model,apiKey,status,promptTokens,completionTokens,cost\nx,2026-11-20T13:45:12Z\n", "a.csv:2: has 2 fields", true},
		{"CSV bad cost", "a.csv", "id,timestamp,model,apiKey,status,promptTokens,completionTokens,cost\nx,2026-11-20T13:45:12Z,m,k,success,1,2,1.2.3\n", `a.csv:2: field "cost": not a number`, true},
		{"CSV invalid UTF-8", "a.csv", "id,timestamp,model,apiKey,status,promptTokens,completionTokens,cost\nx,2026-11-20T13:45:12Z,m\xff,k,success,1,2,1\n", `field "model": not valid UTF-8`, true},
		{"CSV bare quote", "a.csv", "id,timestamp,model,apiKey,status,promptTokens,completionTokens,cost\nx,2026-11-20T13:45:12Z,m\"x,k,success,1,2,1\n", `malformed CSV`, true},
		{"CSV line over 1 MiB", "a.csv", "id,timestamp,model,apiKey,status,promptTokens,completionTokens,cost\n" + strings.Repeat("x", MaxLine+10) + "\n", "longer than 1 MiB", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := readAll(t, c.file, c.data, Auto)
			if err == nil {
				t.Fatalf("no error")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not say %q", err, c.want)
			}
			var re *RecordError
			if errors.As(err, &re) != c.record {
				t.Errorf("record error: %v, want %v", errors.As(err, &re), c.record)
			}
		})
	}
}

// TestSkipGoesOn checks that reading continues after a bad record.
func TestSkipGoesOn(t *testing.T) {
	data := good + "\n{bad\n" + strings.Replace(good, "req_1", "req_2", 1) + "\n" + `{"id":"` + strings.Repeat("x", 2*MaxLine) + "\n" + strings.Replace(good, "req_1", "req_3", 1)
	r, err := NewReader("a.jsonl", strings.NewReader(data), Auto)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	bad := 0
	for {
		var rec source.Record
		err := r.Next(&rec)
		if err == io.EOF {
			break
		}
		if err != nil {
			bad++
			continue
		}
		ids = append(ids, rec.ID)
	}
	if strings.Join(ids, ",") != "req_1,req_2,req_3" || bad != 2 {
		t.Errorf("ids %v, bad %d", ids, bad)
	}
}

func TestGzip(t *testing.T) {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write([]byte(good + "\n"))
	zw.Close()
	r, err := NewReader("usage.jsonl.gz", &b, Auto)
	if err != nil {
		t.Fatal(err)
	}
	var rec source.Record
	if err := r.Next(&rec); err != nil || rec.ID != "req_1" {
		t.Fatalf("%v %+v", err, rec)
	}
}

func TestParseUSD(t *testing.T) {
	cases := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"0.004125", 4_125_000, true},
		{"12", 12_000_000_000, true},
		{"1.5e-3", 1_500_000, true},
		{"1E2", 100_000_000_000, true},
		{"0.000000001", 1, true},
		{"0.1000000000", 100_000_000, true},
		{"-0.5", -500_000_000, true},
		{".5", 500_000_000, true},
		{"0.0000000001", 0, false},
		{"abc", 0, false},
		{"", 0, false},
		{"1e", 0, false},
		{"1.2.3", 0, false},
		{"99999999999", 0, false},
	}
	for _, c := range cases {
		got, err := source.ParseUSD(c.in)
		if (err == nil) != c.ok || (c.ok && int64(got) != c.want) {
			t.Errorf("ParseUSD(%q) = %d, %v; want %d, ok %v", c.in, got, err, c.want, c.ok)
		}
	}
	for _, c := range []struct {
		n    source.USD
		want string
	}{{4_125_000, "0.004125"}, {127_450_000_000, "127.45"}, {0, "0"}, {1, "0.000000001"}, {-1_500_000_000, "-1.5"}} {
		if got := c.n.Decimal(); got != c.want {
			t.Errorf("Decimal(%d) = %s, want %s", c.n, got, c.want)
		}
	}
}

// BenchmarkReadJSONL parses records the way import does.
func BenchmarkReadJSONL(b *testing.B) {
	var buf bytes.Buffer
	for i := range 10000 {
		buf.WriteString(strings.Replace(good, "req_1", "req_"+strings.Repeat("x", i%7), 1) + "\n")
	}
	data := buf.Bytes()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		r, _ := NewReader("b.jsonl", bytes.NewReader(data), Auto)
		var rec source.Record
		for r.Next(&rec) == nil {
		}
	}
	b.ReportMetric(float64(10000*b.N)/b.Elapsed().Seconds(), "records/s")
}
