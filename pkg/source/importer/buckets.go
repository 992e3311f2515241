package importer

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/nextcore-ai/nextcore/pkg/source"
)

// bucketFormat is a usage API whose pages hold buckets of time, each with
// results grouped by model, project, key… (OpenAI, Anthropic), or rows
// (OpenRouter's activity: flat).
type bucketFormat struct {
	format Format
	flat   bool // data[] holds rows, not buckets
	// bare: the file's JSON values are rows themselves (an object, or a
	// list of them), as LiteLLM's /spend/logs returns them.
	bare bool
	// bucket reads a bucket's start and end and checks its width.
	bucket func(b obj) (start, end int64, field string, err error)
	// result makes a record of one result (a row: bucket is the row too).
	result func(start int64, res obj, r *source.Record) (field string, err error)
	// bill makes a line of a bill of one result instead (a cost API).
	bill func(start, end int64, res obj, l *source.BillLine) (field string, err error)
}

// bucketReader reads a file of one format's pages: a page, a JSON array of
// pages, pages one after another (as a script that saves every page
// writes them), or the spreadsheet the provider's dashboard exports (TSV
// or CSV with the API's field names as columns).
type bucketReader struct {
	entries
	bills []source.BillLine
	// seen counts the results of each key: a provider's export can hold
	// two results of one bucket with the same groups (the dashboard's
	// groups some rows by what it does not export), and both count.
	seen map[string]int
}

// maxPages bounds what a page file may hold in memory.
const maxPages = 1 << 30

func newBucketReader(name string, r io.Reader, f bucketFormat) (*bucketReader, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxPages+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(data) > maxPages {
		return nil, fmt.Errorf("%s: over 1 GiB: split the pages into several files", name)
	}
	br := &bucketReader{entries: entries{size: int64(len(data))}}
	body := bytes.TrimLeft(data, " \t\r\n\ufeff")
	switch {
	case len(body) == 0:
		return nil, fmt.Errorf("%s: file is empty", name)
	case body[0] == '{' || body[0] == '[':
		err = br.readJSON(name, data, f)
	default:
		err = br.readTable(name, data, f)
	}
	if err != nil {
		return nil, err
	}
	return br, nil
}

// lineAt is the line of data at byte offset off, past any space there.
func lineAt(data []byte, off int64) int {
	for off < int64(len(data)) && strings.IndexByte(" \t\r\n", data[off]) >= 0 {
		off++
	}
	return bytes.Count(data[:min(off, int64(len(data)))], []byte{'\n'}) + 1
}

func (br *bucketReader) readJSON(name string, data []byte, f bucketFormat) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	for {
		line := lineAt(data, dec.InputOffset())
		var v any
		err := dec.Decode(&v)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			if errors.Is(err, io.ErrUnexpectedEOF) {
				return recordError(name, line, "", "the JSON ends too early (a truncated file?)")
			}
			return recordError(name, line, "", "not JSON: %v", err)
		}
		pages := []any{v}
		list, isList := v.([]any)
		if isList {
			pages = list
		}
		for i, p := range pages {
			path := ""
			if isList {
				path = fmt.Sprintf("[%d].", i)
			}
			page, ok := p.(map[string]any)
			if !ok {
				return recordError(name, line, strings.TrimSuffix(path, "."), "not a page of %s (a JSON object with data[])", f.format)
			}
			if _, paged := page["data"]; f.bare && !paged {
				if err := br.add(name, line, path, 0, 0, obj(page), f); err != nil {
					return err
				}
				continue
			}
			if err := br.page(name, line, path, obj(page), f); err != nil {
				return err
			}
		}
	}
}

// page reads one page's data[].
func (br *bucketReader) page(name string, line int, path string, page obj, f bucketFormat) error {
	if o, _ := page.str("object"); !f.bare && o != "" && o != "page" && o != "list" {
		return recordError(name, line, path+"object", "%q: not a page of %s", o, f.format)
	}
	data, ok := page["data"].([]any)
	if !ok {
		if _, has := page["data"]; has {
			return recordError(name, line, path+"data", "not a list")
		}
		return recordError(name, line, path+"data", "missing: not a page of %s", f.format)
	}
	for i, item := range data {
		at := fmt.Sprintf("%sdata[%d]", path, i)
		b, ok := item.(map[string]any)
		if !ok {
			return recordError(name, line, at, "not an object")
		}
		if f.flat {
			if err := br.add(name, line, at+".", 0, 0, obj(b), f); err != nil {
				return err
			}
			continue
		}
		start, end, field, err := f.bucket(obj(b))
		if err != nil {
			return recordError(name, line, at+"."+field, "%v", err)
		}
		results, ok := b["results"].([]any)
		if !ok && b["results"] != nil {
			return recordError(name, line, at+".results", "not a list")
		}
		for j, res := range results {
			ro, ok := res.(map[string]any)
			rat := fmt.Sprintf("%s.results[%d]", at, j)
			if !ok {
				return recordError(name, line, rat, "not an object")
			}
			if err := br.add(name, line, rat+".", start, end, obj(ro), f); err != nil {
				return err
			}
		}
	}
	return nil
}

// add makes and checks the record (or the bill's line) of one result.
func (br *bucketReader) add(name string, line int, at string, start, end int64, res obj, f bucketFormat) error {
	if f.bill != nil {
		var l source.BillLine
		if field, err := f.bill(start, end, res, &l); err != nil {
			return recordError(name, line, at+field, "%v", err)
		}
		l.ID = br.nth(l.ID)
		br.bills = append(br.bills, l)
		return nil
	}
	var r source.Record
	field, err := f.result(start, res, &r)
	if err != nil {
		br.bad(recordError(name, line, at+field, "%v", err))
		return nil
	}
	if field, reason := finish(&r); reason != "" {
		br.bad(recordError(name, line, strings.TrimSuffix(at, "."), "%s: %s", field, reason))
		return nil
	}
	if !f.bare { // a row with its own key (LiteLLM's request_id) is one call, however often listed
		r.ID = br.nth(r.ID)
	}
	br.list = append(br.list, entry{r: r})
	return nil
}

// nth is the id of the next result with key id: id for the first, then
// id#2, id#3… (see seen).
func (br *bucketReader) nth(id string) string {
	if br.seen == nil {
		br.seen = map[string]int{}
	}
	n := br.seen[id]
	br.seen[id] = n + 1
	if n > 0 {
		return fmt.Sprintf("%s#%d", id, n+1)
	}
	return id
}

// readTable reads a dashboard export: a header of the API's field names,
// then a row per result, tab- or comma-separated. Rows with nothing but
// their bucket (a day without usage) are passed over.
func (br *bucketReader) readTable(name string, data []byte, f bucketFormat) error {
	first, _, _ := bytes.Cut(data, []byte{'\n'})
	cr := csv.NewReader(bytes.NewReader(data))
	if bytes.Count(first, []byte{'\t'}) > bytes.Count(first, []byte{','}) {
		cr.Comma = '\t'
	}
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = true
	header, err := cr.Read()
	if err != nil {
		return fmt.Errorf("%s: no header row: %w", name, err)
	}
	for i := range header {
		header[i] = strings.TrimSpace(strings.TrimPrefix(header[i], "\ufeff"))
	}
	for {
		row, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		line, _ := cr.FieldPos(0)
		if err != nil {
			return recordError(name, line, "", "%v", err)
		}
		// Spreadsheets pad empty rows with more separators than the header
		// has: empty fields past the header are passed over.
		for len(row) > len(header) && strings.TrimSpace(row[len(row)-1]) == "" {
			row = row[:len(row)-1]
		}
		if len(row) > len(header) {
			return recordError(name, line, "", "%d fields, the header has %d", len(row), len(header))
		}
		o := obj{}
		filled := false
		for i, v := range row {
			if v = strings.TrimSpace(v); v != "" {
				o[header[i]] = v
				if !strings.HasPrefix(header[i], "start_time") && !strings.HasPrefix(header[i], "end_time") {
					filled = true
				}
			}
		}
		if !filled {
			continue
		}
		var start, end int64
		if !f.flat {
			var field string
			if start, end, field, err = f.bucket(o); err != nil {
				return recordError(name, line, field, "%v", err)
			}
		}
		if err := br.add(name, line, "", start, end, o, f); err != nil {
			return err
		}
	}
}

// bucketWidths are the widths of the providers' buckets: a minute, an
// hour, a day.
var bucketWidths = []time.Duration{time.Minute, time.Hour, 24 * time.Hour}

// checkWidth checks that a bucket [start, end) is one of bucketWidths.
func checkWidth(start, end int64) error {
	w := time.Duration(end - start)
	for _, ok := range bucketWidths {
		if w == ok {
			return nil
		}
	}
	return fmt.Errorf("a bucket of %v: not a minute, an hour or a day", w)
}
