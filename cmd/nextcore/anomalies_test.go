package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestUsageAnomalies: a leaked key's burst on one day of the imported month
// is the one anomaly, with the key as its driver; the days without history
// enough are said; bad flags exit 2.
func TestUsageAnomalies(t *testing.T) {
	e := imported(t)
	var b strings.Builder
	for i := range 300 {
		fmt.Fprintf(&b, `{"id":"leak-%03d","timestamp":"2026-11-20T%02d:%02d:00Z","model":"gpt-4o","apiKey":"key_leaked","user":"","region":"us-east","status":"success","statusCode":200,"promptTokens":900,"completionTokens":300,"cost":0.05,"latencyMs":800}`+"\n",
			i, i/60+8, i%60)
	}
	leak := filepath.Join(e.dir, "leak.jsonl")
	os.WriteFile(leak, []byte(b.String()), 0o600)
	if r := e.run("", false, "usage", "import", "--tenant", "acme", leak); r.code != 0 {
		t.Fatalf("import: %d %q", r.code, r.stderr)
	}
	at := []string{"--as-of", "2026-11-23", "--tz", "UTC"}
	r := e.run("", false, append([]string{"usage", "anomalies", "--format", "json"}, at...)...)
	if r.code != 0 {
		t.Fatalf("%d %q", r.code, r.stderr)
	}
	var got struct {
		Anomalies []struct {
			ID, Date, Metric                  string
			Actual, ExpectedLow, ExpectedHigh json.Number
			Excess                            json.Number
			Drivers                           []struct {
				Dimension, Name string
				Excess          json.Number
				New             bool
			}
		}
		NotJudged   int
		HistoryFrom string
	}
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Anomalies) != 2 || got.NotJudged != 13 || got.HistoryFrom != "2026-11-07" {
		t.Fatalf("%s", r.stdout)
	}
	for _, a := range got.Anomalies {
		leaked := false
		for _, d := range a.Drivers {
			leaked = leaked || d.Dimension == "key" && d.Name == "key_leaked" && d.New && d.Excess.String() != "0"
		}
		if a.Date != "2026-11-20" || a.ID == "" || !leaked {
			t.Errorf("anomaly: %+v", a)
		}
	}
	if got.Anomalies[0].Metric != "cost" || got.Anomalies[0].Actual.String() < "15" {
		t.Errorf("the cost first (excess in dollars ranks above calls): %+v", got.Anomalies[0])
	}
	golden(t, "anomalies-json", r.stdout)
	r = e.run("", false, append([]string{"usage", "anomalies"}, at...)...)
	golden(t, "anomalies-table", r.stdout)
	r = e.run("", false, append([]string{"usage", "anomalies", "--format", "csv", "--by", "key"}, at...)...)
	if r.code != 0 || !strings.Contains(r.stdout, ",key,key_leaked,") {
		t.Errorf("--by key: %d %q\n%s", r.code, r.stderr, r.stdout)
	}
	golden(t, "anomalies-by-key-csv", r.stdout)
	for _, bad := range [][]string{{"--by", "status"}, {"--by", "colour"}, {"--metric", "tokens"}, {"--weeks", "1"}, {"--drivers", "day"}, {"--format", "pdf"}} {
		if r := e.run("", false, append([]string{"usage", "anomalies"}, bad...)...); r.code != 2 {
			t.Errorf("%v: %d %q", bad, r.code, r.stderr)
		}
	}
}
