package render

import (
	"context"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nextcore-ai/nextcore/pkg/report"
	"github.com/nextcore-ai/nextcore/pkg/report/render/goldentest"
	"github.com/nextcore-ai/nextcore/pkg/source"
	"github.com/nextcore-ai/nextcore/pkg/source/file"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// fixture is the repository's 45 days of a synthetic tenant, read into
// memory: the renderers are tested on models built from it, with no cache.
func fixture(t *testing.T) *source.Memory {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "..", "..", "testdata", "usage.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rd, err := file.NewReader("usage.jsonl", f, "")
	if err != nil {
		t.Fatal(err)
	}
	var recs []source.Record
	for {
		var r source.Record
		err := rd.Next(&r)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, r)
	}
	return &source.Memory{Records: map[string][]source.Record{"acme": recs}}
}

// models are the reports of one week of the fixture, as of the end of
// Nov 23 in Berlin, with a quota of 1,500 calls and $4.
func models(t *testing.T) (*report.Stats, *report.Quota, *report.ModelRanking, *report.Breakdown) {
	t.Helper()
	ctx := context.Background()
	src := fixture(t)
	loc, _ := time.LoadLocation("Europe/Berlin")
	clock, _ := report.ParseAsOf("2026-11-23", loc)
	span, err := report.Resolve(report.Range{Period: report.Week}, clock)
	if err != nil {
		t.Fatal(err)
	}
	start, _ := time.Parse(time.RFC3339, "2026-10-10T00:58:21.637Z")
	stats, err := report.BuildStats(ctx, src, "acme", span, clock, report.Options{DataStart: start})
	if err != nil {
		t.Fatal(err)
	}
	calls, spend := int64(1500), source.USD(4*source.NanosPerUSD)
	q, err := report.BuildQuota(ctx, src, "acme", clock, report.Limits{Calls: &calls, Spend: &spend}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	stats.Quota = q
	stats.ComputeInsights()
	ranking, err := report.RankModels(ctx, src, "acme", span, clock, report.ByCost, 5, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ranking.DataStart = start
	b, err := report.BuildBreakdown(ctx, src, "acme", span, clock, report.BreakdownOptions{By: []report.By{report.ByRegion}})
	if err != nil {
		t.Fatal(err)
	}
	b.DataStart = start
	return stats, q, ranking, b
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	goldentest.Check(t, filepath.Join("testdata", "golden", name+".golden"), got, *update)
}

// TestEveryFormat renders every format each report declares, from models
// in memory, against golden files (PDF as its text is tested apart).
func TestEveryFormat(t *testing.T) {
	stats, q, ranking, b := models(t)
	meta := Meta{Source: "cache", Note: "cache updated just now"}
	for _, st := range []Style{{Width: 80}, {Width: 60, Color: true}} {
		o := Options{Meta: meta, Style: st, Compare: true, PDF: PDFOptions{Version: "test", Generated: stats.Clock.Now}}
		suffix := "-" + map[bool]string{true: "tty", false: "pipe"}[st.Color] + "-" + itoa(st.Width)
		check := func(report string, formats Formats, render func(Format, io.Writer) error) {
			for _, f := range formats {
				if f == PDF {
					continue
				}
				var sb strings.Builder
				if err := render(f, &sb); err != nil {
					t.Fatalf("%s %s: %v", report, f, err)
				}
				name := report + "-" + string(f)
				if f == Table {
					name += suffix
				} else if st.Color {
					continue // other formats do not depend on the terminal
				}
				golden(t, name, sb.String())
			}
		}
		check("stats", StatsReport().Formats(), func(f Format, w io.Writer) error { return StatsReport().Render(f, w, stats, o) })
		check("overview", OverviewReport().Formats(), func(f Format, w io.Writer) error { return OverviewReport().Render(f, w, stats, o) })
		check("quota", QuotaReport().Formats(), func(f Format, w io.Writer) error { return QuotaReport().Render(f, w, q, o) })
		check("ranking", RankingReport().Formats(), func(f Format, w io.Writer) error { return RankingReport().Render(f, w, ranking, o) })
		check("breakdown", BreakdownReport().Formats(), func(f Format, w io.Writer) error { return BreakdownReport().Render(f, w, b, o) })
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
