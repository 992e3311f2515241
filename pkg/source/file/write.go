package file

import (
	"encoding/csv"
	"io"
	"strconv"
	"time"

	"github.com/nextcore-ai/nextcore/pkg/source"
	"github.com/nextcore-ai/nextcore/pkg/source/wire"
)

// CSVHeader is the header row of a records CSV: the v1 fields, then the
// ledger's (docs/ledger.md), so that a spreadsheet sees one shape.
func CSVHeader() []string {
	return []string{wire.FieldID, wire.FieldTimestamp, wire.FieldModel, wire.FieldAPIKey, wire.FieldUser, wire.FieldRegion, wire.FieldStatus,
		wire.FieldStatusCode, wire.FieldPrompt, wire.FieldCompletion, wire.FieldCost, wire.FieldLatency,
		wire.FieldRequests, wire.FieldInput, wire.FieldCacheRead, wire.FieldCacheWrite, wire.FieldCacheWrite1h,
		wire.FieldOutput, wire.FieldReasoning, wire.FieldProject, wire.FieldTags, wire.FieldProvider,
		wire.FieldBatch, wire.FieldServiceTier, wire.FieldLongContext}
}

// CSVRow is r as a row under CSVHeader: raw values, empty for null.
func CSVRow(r *source.Record, row []string) []string {
	row = row[:0]
	status := source.StatusError
	switch {
	case r.Unknown:
		status = ""
	case r.Success:
		status = source.StatusSuccess
	}
	code, lat, cost := "", "", ""
	if r.StatusCode != 0 {
		code = strconv.Itoa(r.StatusCode)
	}
	if r.LatencyMs >= 0 {
		lat = strconv.FormatInt(r.LatencyMs, 10)
	}
	if !r.NoCost {
		cost = r.Cost.Decimal()
	}
	long := ""
	switch r.LongContext {
	case 1:
		long = "true"
	case -1:
		long = "false"
	}
	n := func(v int64) string { return strconv.FormatInt(v, 10) }
	return append(row, r.ID, time.Unix(0, r.Time).UTC().Format(time.RFC3339Nano), r.Model, r.APIKey, r.User, r.Region,
		status, code, n(r.PromptTokens), n(r.CompletionTokens), cost, lat,
		n(r.Requests), n(r.Input()), n(r.CacheRead), n(r.CacheWrite), n(r.CacheWrite1h),
		n(r.CompletionTokens), n(r.Reasoning), r.Project, wire.JoinTags(r.Tags), r.Provider,
		strconv.FormatBool(r.Batch), r.ServiceTier, long)
}

// Writer writes records as JSON Lines or CSV.
type Writer struct {
	w   io.Writer
	csv *csv.Writer
	buf []byte
	row []string
}

// NewWriter starts a records file in format f (CSV gets its header now).
func NewWriter(w io.Writer, f Format) (*Writer, error) {
	out := &Writer{w: w}
	if f == CSV {
		out.csv = csv.NewWriter(w)
		if err := out.csv.Write(CSVHeader()); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Write writes one record.
func (w *Writer) Write(r *source.Record) error {
	if w.csv != nil {
		w.row = CSVRow(r, w.row)
		return w.csv.Write(w.row)
	}
	w.buf = append(wire.AppendJSON(w.buf[:0], r), '\n')
	_, err := w.w.Write(w.buf)
	return err
}

// Flush writes out anything buffered.
func (w *Writer) Flush() error {
	if w.csv != nil {
		w.csv.Flush()
		return w.csv.Error()
	}
	return nil
}
