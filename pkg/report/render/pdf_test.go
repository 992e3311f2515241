package render

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nextcore-ai/nextcore/pkg/report"
	"github.com/nextcore-ai/nextcore/pkg/report/render/pdftest"
	"github.com/nextcore-ai/nextcore/pkg/source"
)

// manyModels is a window with more models than one page holds.
func manyModels(t *testing.T) *report.Stats {
	t.Helper()
	var recs []source.Record
	day := time.Date(2026, 11, 18, 12, 0, 0, 0, time.UTC)
	for m := range 70 {
		name := fmt.Sprintf("model-%02d", m)
		if m == 3 {
			name = "Модель-ü/λ"
		}
		for i := range m + 1 {
			recs = append(recs, source.Record{ID: fmt.Sprintf("%d-%d", m, i), Time: day.Add(time.Duration(i) * time.Minute).UnixNano(),
				Model: name, APIKey: "k", Success: true, PromptTokens: 100, CompletionTokens: 10, Cost: source.USD((m + 1) * 1_000_000), LatencyMs: -1, Requests: 1})
		}
	}
	src := &source.Memory{Records: map[string][]source.Record{"acme": recs}}
	clock, _ := report.ParseAsOf("2026-11-20", time.UTC)
	span, _ := report.Resolve(report.Range{Period: report.Week}, clock)
	s, err := report.BuildStats(context.Background(), src, "acme", span, clock, report.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s.ComputeInsights()
	return s
}

// TestPDFSplitsTables checks a long cost breakdown: it runs over pages, each
// page repeats the table's header, every model and a non-ASCII name come
// out as text, and each page is numbered.
func TestPDFSplitsTables(t *testing.T) {
	s := manyModels(t)
	var b bytes.Buffer
	gen := time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC)
	if err := StatsPDF(&b, s, Options{Meta: Meta{Source: "cache"}, PDF: PDFOptions{Generated: gen, Version: "test"}}); err != nil {
		t.Fatal(err)
	}
	pages := pdftest.Text(t, b.Bytes())
	if len(pages) < 3 {
		t.Fatalf("%d pages, want the 70-model breakdown to run over at least 3", len(pages))
	}
	all := strings.Join(pages, "\n")
	// Total spend: Σ k² × $0.001 for k = 1…70.
	for _, want := range []string{"NextCore usage report", "acme", "Модель-ü/λ", "model-69", "model-00", "total spend", "$116.80"} {
		if !strings.Contains(all, want) {
			t.Errorf("the PDF text lacks %q", want)
		}
	}
	for i, p := range pages {
		if !strings.Contains(p, fmt.Sprintf("page %d of %d", i+1, len(pages))) {
			t.Errorf("page %d is not numbered", i+1)
		}
	}
	// Every page after the first that continues the breakdown starts with its header.
	for i, p := range pages[1:] {
		if strings.Contains(p, "model-") && !strings.Contains(p, "share") {
			t.Errorf("page %d continues the table without its header", i+2)
		}
	}
	// The same input gives the same bytes.
	var again bytes.Buffer
	StatsPDF(&again, s, Options{Meta: Meta{Source: "cache"}, PDF: PDFOptions{Generated: gen, Version: "test"}})
	if !bytes.Equal(b.Bytes(), again.Bytes()) {
		t.Error("two renderings of the same report differ")
	}
	// Letter is another size.
	var letter bytes.Buffer
	StatsPDF(&letter, s, Options{Meta: Meta{Source: "cache"}, PDF: PDFOptions{Generated: gen, Paper: Letter}})
	if !bytes.Contains(letter.Bytes(), []byte("/MediaBox [0 0 612.00 792.00]")) {
		t.Error("--paper letter is not 8.5 × 11 in")
	}
}
