package main

import (
	"encoding/json"
	"fmt"
	"mime"
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

// TestAnomalyAlerts: usage alert --anomalies sends one alert for a planted
// spike (its cost and calls one episode), naming the key that caused it,
// once; a dismissed episode is not sent and the report marks it.
func TestAnomalyAlerts(t *testing.T) {
	e, mb := mailEnv(t, nil)
	var b strings.Builder
	for i := range 300 {
		fmt.Fprintf(&b, `{"id":"leak-%03d","timestamp":"2026-11-20T%02d:%02d:00Z","model":"gpt-4o","apiKey":"key_leaked","status":"success","promptTokens":900,"completionTokens":300,"cost":0.05}`+"\n",
			i, i/60+8, i%60)
	}
	leak := filepath.Join(e.dir, "leak.jsonl")
	os.WriteFile(leak, []byte(b.String()), 0o600)
	if r := e.run("", false, "usage", "import", "--tenant", "acme", leak); r.code != 0 {
		t.Fatalf("import: %d %q", r.code, r.stderr)
	}
	alert := func(asOf string, extra ...string) result {
		return e.runMail(nil, append([]string{"usage", "alert", "--anomalies", "--email", "finance@acme.example", "--smtp-insecure", "--tz", "UTC", "--as-of", asOf}, extra...)...)
	}
	if r := alert("2026-11-22"); r.code != 0 || len(mb.received()) != 1 {
		t.Fatalf("first: %d %q, %d sent", r.code, r.stderr, len(mb.received()))
	}
	m, bodies, _ := parts(t, mb.received()[0].data)
	subject, _ := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
	if !strings.Contains(subject, "Anomaly: cost $15.14 on Fri Nov 20, $15.01 above the expected $0.13") || !strings.Contains(subject, "key key_leaked") ||
		!strings.Contains(bodies["text/plain"], "drivers:") {
		t.Errorf("mail: %q\n%s", subject, bodies["text/plain"])
	}
	if r := alert("2026-11-23"); r.code != 0 || len(mb.received()) != 1 {
		t.Fatalf("again: %d %q, %d sent", r.code, r.stderr, len(mb.received()))
	}
	// Dismissed: the report marks it; bad IDs exit 2.
	var got struct {
		Anomalies []struct {
			ID, Episode string
			Dismissed   bool
		}
	}
	r := e.run("", false, "usage", "anomalies", "--format", "json", "--tz", "UTC", "--as-of", "2026-11-23")
	json.Unmarshal([]byte(r.stdout), &got)
	if len(got.Anomalies) != 2 || got.Anomalies[0].Episode != got.Anomalies[1].Episode || got.Anomalies[0].Dismissed {
		t.Fatalf("%s", r.stdout)
	}
	if r := e.run("", false, "usage", "anomalies", "dismiss", got.Anomalies[1].ID, "--tz", "UTC", "--as-of", "2026-11-23"); r.code != 0 {
		t.Fatalf("dismiss: %d %q", r.code, r.stderr)
	}
	r = e.run("", false, "usage", "anomalies", "--format", "json", "--tz", "UTC", "--as-of", "2026-11-23")
	json.Unmarshal([]byte(r.stdout), &got)
	if !got.Anomalies[0].Dismissed || !got.Anomalies[1].Dismissed {
		t.Errorf("after dismiss: %s", r.stdout)
	}
	if r := e.run("", false, "usage", "anomalies", "--tz", "UTC", "--as-of", "2026-11-23"); !strings.Contains(r.stdout, "unexpected, dismissed") {
		t.Errorf("table after dismiss:\n%s", r.stdout)
	}
	for _, bad := range [][]string{{"dismiss"}, {"dismiss", "xyz"}, {"dismiss", "601DAD8E73"}} {
		if r := e.run("", false, append([]string{"usage", "anomalies"}, bad...)...); r.code != 2 {
			t.Errorf("%v: %d %q", bad, r.code, r.stderr)
		}
	}
}
