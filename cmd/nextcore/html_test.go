package main

import (
	"encoding/json"
	"html"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nextcore-ai/nextcore/pkg/report"
	"github.com/nextcore-ai/nextcore/pkg/source"
)

// chromium runs headless Chromium (Debian's chromium) on a file with the
// flags a closed network needs, and returns what it printed and logged.
func chromium(t *testing.T, args ...string) (stdout, stderr string) {
	t.Helper()
	bin, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("no chromium (apt-get install chromium)")
	}
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
		"--user-data-dir=" + t.TempDir(), "--enable-logging=stderr", "--v=0"}
	cmd := exec.Command(bin, append(base, args...)...)
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("chromium: %v\n%s", err, errb.String())
		}
	case <-time.After(90 * time.Second):
		cmd.Process.Kill()
		t.Fatal("chromium did not finish in 90 s")
	}
	return out.String(), errb.String()
}

// TestHTMLReportInChromium loads the HTML report in headless Chromium: no
// console message (a Content-Security-Policy violation, which any request
// for something outside the file would be, is one), and its text holds the
// numbers of the JSON report of the same window. With -update it also
// writes the screenshot the README shows.
func TestHTMLReportInChromium(t *testing.T) {
	e := imported(t)
	window := []string{"--period", "week", "--tz", "Europe/Berlin", "--as-of", "2026-11-23"}
	page := filepath.Join(e.dir, "week.html")
	cfg := filepath.Join(e.dir, "limits.yaml")
	os.WriteFile(cfg, []byte("limits:\n  spend: 4\n  api_calls: 1500\n"), 0o600)
	e.vars["NEXTCORE_CONFIG"] = cfg
	if r := e.run("", false, append([]string{"usage", "export", "--format", "html", "-o", page}, window...)...); r.code != 0 {
		t.Fatalf("export: %d %s", r.code, r.stderr)
	}
	raw, _ := os.ReadFile(page)
	for _, bad := range []string{"http://", "https://", "<script", " src=", "@import", "url("} {
		if strings.Contains(string(raw), bad) {
			t.Errorf("the page holds %q", bad)
		}
	}
	// The same window as JSON.
	var js struct {
		APICalls struct{ Total int64 } `json:"apiCalls"`
		Costs    struct {
			Total     json.Number `json:"total"`
			Breakdown []struct {
				Model string
				Cost  json.Number
				Calls int64
			} `json:"breakdown"`
		} `json:"costs"`
		DailyUsage []struct {
			Date  string
			Calls int64
		} `json:"dailyUsage"`
		Insights []struct{ Message string } `json:"insights"`
	}
	r := e.run("", false, append([]string{"usage", "stats", "--format", "json"}, window...)...)
	dec := json.NewDecoder(strings.NewReader(r.stdout))
	dec.UseNumber()
	if err := dec.Decode(&js); err != nil {
		t.Fatal(err)
	}
	dom, logs := chromium(t, "--dump-dom", "file://"+page)
	for _, line := range strings.Split(logs, "\n") {
		if strings.Contains(line, "CONSOLE") {
			t.Errorf("console: %s", line)
		}
	}
	text := html.UnescapeString(dom)
	usd := func(n json.Number) string {
		u, err := source.ParseUSD(n.String())
		if err != nil {
			t.Fatal(err)
		}
		return report.USD2(u)
	}
	want := []string{report.Count(js.APICalls.Total), usd(js.Costs.Total), "Quota", "Insights"}
	for _, m := range js.Costs.Breakdown {
		want = append(want, m.Model, usd(m.Cost), report.Count(m.Calls))
	}
	for _, d := range js.DailyUsage {
		day, _ := time.Parse("2006-01-02", d.Date)
		want = append(want, day.Format("Mon Jan 2")+": "+report.Count(d.Calls)+" calls")
	}
	for _, in := range js.Insights {
		want = append(want, in.Message)
	}
	for _, w := range want {
		if !strings.Contains(text, w) {
			t.Errorf("the page lacks %q", w)
		}
	}
	if *update {
		shot := filepath.Join("..", "..", "docs", "html-report.png")
		chromium(t, "--window-size=1000,1500", "--screenshot="+shot, "file://"+page)
	}
}
