package render

import (
	"fmt"
	"io"

	"github.com/nextcore-ai/nextcore/pkg/report"
)

// Options are what a renderer needs besides the report's model.
type Options struct {
	Meta    Meta       // where the numbers came from, for headers
	Style   Style      // a terminal's colors and width
	Compare bool       // the previous window's columns (--compare)
	PDF     PDFOptions // paper, when it was generated, the version
	// NoLimitsHint follows "No limits set" under a quota without limits:
	// how to set them, in the words of the program that renders.
	NoLimitsHint string
}

// Renderer writes a report's model in one format: every format of every
// report has this signature.
type Renderer[M any] func(w io.Writer, m M, o Options) error

type entry[M any] struct {
	format Format
	render Renderer[M]
}

// Report is the one declared table of the formats a report renders, its
// default first. A command checks --format against Formats before it opens
// anything, and renders through Render. A new format is a line here and
// its renderer.
type Report[M any] struct {
	name    string
	entries []entry[M]
}

// Formats are the formats the report renders, its default first.
func (r Report[M]) Formats() Formats {
	out := make(Formats, len(r.entries))
	for i, e := range r.entries {
		out[i] = e.format
	}
	return out
}

// Render writes m in format f.
func (r Report[M]) Render(f Format, w io.Writer, m M, o Options) error {
	for _, e := range r.entries {
		if e.format == f {
			return e.render(w, m, o)
		}
	}
	return fmt.Errorf("%s has no %s format (it renders %s)", r.name, f, r.Formats())
}

// StatsReport is usage stats: the dashboard.
func StatsReport() Report[*report.Stats] {
	return Report[*report.Stats]{"the dashboard", []entry[*report.Stats]{
		{Table, StatsTable}, {JSON, statsJSON}, {CSV, StatsCSV}, {Markdown, StatsMarkdown}, {GitHub, StatsGitHub}, {HTML, StatsHTML},
	}}
}

// ExportReport is usage export over the dashboard's model (its other CSV
// reports, daily, models, keys and records, have models of their own).
func ExportReport() Report[*report.Stats] {
	return Report[*report.Stats]{"the export", []entry[*report.Stats]{
		{CSV, StatsCSV}, {PDF, StatsPDF}, {JSON, statsJSON}, {HTML, StatsHTML},
	}}
}

// OverviewReport is usage overview: the compact widget.
func OverviewReport() Report[*report.Stats] {
	return Report[*report.Stats]{"the overview", []entry[*report.Stats]{{Table, Overview}, {JSON, statsJSON}}}
}

// QuotaReport is usage quota: the billing month against its limits.
func QuotaReport() Report[*report.Quota] {
	return Report[*report.Quota]{"the quota", []entry[*report.Quota]{
		{Table, QuotaTable}, {JSON, quotaJSON}, {CSV, QuotaCSV}, {Markdown, QuotaMarkdown}, {GitHub, QuotaGitHub},
	}}
}

// RankingReport is usage top-models.
func RankingReport() Report[*report.ModelRanking] {
	return Report[*report.ModelRanking]{"the ranking", []entry[*report.ModelRanking]{
		{Table, RankingTable}, {JSON, rankingJSON}, {CSV, RankingCSV}, {Markdown, RankingMarkdown},
	}}
}

// BreakdownReport is usage breakdown.
func BreakdownReport() Report[*report.Breakdown] {
	return Report[*report.Breakdown]{"the breakdown", []entry[*report.Breakdown]{
		{Table, BreakdownTable}, {JSON, breakdownJSON}, {CSV, BreakdownCSV}, {Markdown, BreakdownMarkdown},
	}}
}
