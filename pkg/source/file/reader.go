package file

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/nextcore-ai/nextcore/pkg/source"
	"github.com/nextcore-ai/nextcore/pkg/source/wire"
)

// RecordError is a record that cannot be read. It names the file, the line
// and, where one is at fault, the field. With --skip-invalid such records are
// counted and passed over; any other error stops the read.
type RecordError struct {
	File   string
	Line   int
	Field  string
	Reason string
}

func (e *RecordError) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s:%d: field %q: %s", e.File, e.Line, e.Field, e.Reason)
	}
	return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Reason)
}

// Format is the layout of a records file.
type Format string

// The formats that import reads.
const (
	JSONL Format = "jsonl"
	CSV   Format = "csv"
	Auto  Format = ""
)

// MaxLine is the longest line a records file may have.
const MaxLine = 1 << 20

// ParseFormat reads a --input-format value.
func ParseFormat(s string) (Format, error) {
	switch strings.ToLower(s) {
	case "", "auto":
		return Auto, nil
	case "jsonl", "ndjson", "json":
		return JSONL, nil
	case "csv":
		return CSV, nil
	}
	return Auto, fmt.Errorf("unknown input format %q (use jsonl or csv)", s)
}

// FormatOf tells the format from a file name, or Auto when the name does not.
func FormatOf(name string) Format {
	n := strings.ToLower(strings.TrimSuffix(strings.ToLower(name), ".gz"))
	switch {
	case strings.HasSuffix(n, ".jsonl"), strings.HasSuffix(n, ".ndjson"), strings.HasSuffix(n, ".json"):
		return JSONL
	case strings.HasSuffix(n, ".csv"):
		return CSV
	}
	return Auto
}

// countingReader counts the bytes read from the file, for progress.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// Reader yields the records of one file in order.
type Reader struct {
	name    string
	counter *countingReader
	next    func(*source.Record) error
	records int
}

// NewReader reads records named name (used in errors) from r. A name ending
// in .gz is decompressed. With Auto, the format comes from the name, else from
// the first byte: '{' is JSON Lines, anything else CSV.
func NewReader(name string, r io.Reader, format Format) (*Reader, error) {
	cr := &countingReader{r: r}
	var in io.Reader = cr
	if strings.HasSuffix(strings.ToLower(name), ".gz") {
		gz, err := gzip.NewReader(cr)
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil, fmt.Errorf("%s: file is empty", name)
			}
			return nil, fmt.Errorf("%s: not a gzip file: %w", name, err)
		}
		in = gz
	}
	br := bufio.NewReaderSize(in, 256<<10)
	if format == Auto {
		format = FormatOf(name)
	}
	if format == Auto {
		format = sniff(br)
	}
	rd := &Reader{name: name, counter: cr}
	switch format {
	case JSONL:
		rd.next = (&jsonlReader{name: name, br: br}).next
	default:
		c, err := newCSVReader(name, br)
		if err != nil {
			return nil, err
		}
		rd.next = c.next
	}
	return rd, nil
}

func sniff(br *bufio.Reader) Format {
	for i := 1; i <= 4096; i++ {
		b, err := br.Peek(i)
		if err != nil || len(b) < i {
			return JSONL
		}
		b = bytes.TrimPrefix(b, bom)
		if len(b) == 0 {
			continue
		}
		switch b[len(b)-1] {
		case ' ', '\t', '\r', '\n':
			continue
		case '{':
			return JSONL
		}
		return CSV
	}
	return CSV
}

var bom = []byte("\xef\xbb\xbf")

// BytesRead is how much of the file has been read, for a progress bar.
func (r *Reader) BytesRead() int64 { return r.counter.n }

// Next reads the next record into rec. It returns io.EOF after the last
// record, a *RecordError for a record that is wrong (reading can go on), and
// any other error when the file cannot be read further.
func (r *Reader) Next(rec *source.Record) error {
	err := r.next(rec)
	if err == nil {
		r.records++
		return nil
	}
	var re *RecordError
	if errors.As(err, &re) {
		r.records++
		return err
	}
	if err == io.EOF && r.records == 0 {
		return fmt.Errorf("%s: file is empty (no records)", r.name)
	}
	return err
}

type jsonlReader struct {
	name string
	br   *bufio.Reader
	line int
	buf  []byte
	f    wire.Fields
	// intern keeps the names that recur from line to line.
	intern *wire.Interner
}

func (j *jsonlReader) next(rec *source.Record) error {
	for {
		line, err := j.readLine()
		if err != nil {
			return err
		}
		j.line++
		if j.line == 1 {
			line = bytes.TrimPrefix(line, bom)
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		if len(line) > MaxLine {
			return &RecordError{File: j.name, Line: j.line, Reason: "line longer than 1 MiB"}
		}
		if !utf8.Valid(line) {
			return &RecordError{File: j.name, Line: j.line, Reason: "not valid UTF-8"}
		}
		j.f = wire.Fields{}
		if j.intern == nil {
			j.intern = wire.NewInterner()
		}
		if err := wire.ParseObjectWith(line, &j.f, j.intern); err != nil {
			return j.recordError(err)
		}
		if err := j.f.Record(rec); err != nil {
			return j.recordError(err)
		}
		return nil
	}
}

func (j *jsonlReader) recordError(err error) error {
	var fe *wire.FieldError
	if errors.As(err, &fe) {
		return &RecordError{File: j.name, Line: j.line, Field: fe.Field, Reason: fe.Reason}
	}
	return &RecordError{File: j.name, Line: j.line, Reason: err.Error()}
}

// readLine returns the next line without its newline. A line longer than
// MaxLine is returned cut short, one byte over the limit, and the rest of it
// is passed over, so that memory stays bounded.
func (j *jsonlReader) readLine() ([]byte, error) {
	j.buf = j.buf[:0]
	long := false
	for {
		chunk, err := j.br.ReadSlice('\n')
		if !long {
			j.buf = append(j.buf, chunk...)
			if len(j.buf) > MaxLine+1 {
				j.buf, long = j.buf[:MaxLine+1], true
			}
		}
		switch {
		case err == bufio.ErrBufferFull:
			continue
		case err == io.EOF:
			if len(j.buf) == 0 {
				return nil, io.EOF
			}
			return j.buf, nil
		case err != nil:
			return nil, fmt.Errorf("%s: %w", j.name, err)
		}
		if long {
			return j.buf, nil
		}
		line := j.buf[:len(j.buf)-1]
		if n := len(line); n > 0 && line[n-1] == '\r' {
			line = line[:n-1]
		}
		return line, nil
	}
}

// lineLimit fails a read once a line grows past MaxLine, so that encoding/csv
// never holds more than that in memory.
type lineLimit struct {
	r   io.Reader
	run int
}

var errLongLine = errors.New("line longer than 1 MiB")

func (l *lineLimit) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	for i := 0; i < n; i++ {
		if p[i] == '\n' {
			l.run = 0
		} else if l.run++; l.run > MaxLine {
			return i, errLongLine
		}
	}
	return n, err
}

type csvReader struct {
	name string
	r    *csv.Reader
	cols []int // index of each known field's column, -1 if absent
	keys []string
	f    wire.Fields
	line int // of the last row read
}

var allFields = append(wire.HeaderFields(), wire.OptionalFields()...)

func newCSVReader(name string, br *bufio.Reader) (*csvReader, error) {
	r := csv.NewReader(&lineLimit{r: br})
	r.FieldsPerRecord = -1
	r.ReuseRecord = true
	header, err := r.Read()
	if err == io.EOF {
		return nil, fmt.Errorf("%s: file is empty (no records)", name)
	}
	if err != nil {
		return nil, fmt.Errorf("%s:1: cannot read the CSV header: %w", name, err)
	}
	header = append([]string(nil), header...)
	if len(header) > 0 {
		header[0] = strings.TrimPrefix(header[0], string(bom))
	}
	c := &csvReader{name: name, r: r, keys: allFields, cols: make([]int, len(allFields))}
	seen := map[string]int{}
	for i, h := range header {
		h = strings.TrimSpace(h)
		if _, dup := seen[h]; dup {
			return nil, fmt.Errorf("%s:1: column %q appears twice in the header", name, h)
		}
		seen[h] = i
	}
	var missing []string
	for k, f := range allFields {
		i, ok := seen[f]
		if !ok {
			i = -1
			if k < len(wire.HeaderFields()) {
				missing = append(missing, f)
			}
		}
		c.cols[k] = i
	}
	if m := wire.TokenColumnsMissing(func(f string) bool { _, ok := seen[f]; return ok }); m != "" {
		missing = append(missing, m)
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("%s:1: the CSV header lacks column(s) %s (the header must name the record fields: %s, and %s,%s or %s,%s)",
			name, strings.Join(missing, ", "), strings.Join(wire.HeaderFields(), ","),
			wire.FieldPrompt, wire.FieldCompletion, wire.FieldInput, wire.FieldOutput)
	}
	return c, nil
}

func (c *csvReader) next(rec *source.Record) error {
	row, err := c.r.Read()
	if err == io.EOF {
		return io.EOF
	}
	if err != nil {
		if errors.Is(err, errLongLine) {
			return fmt.Errorf("%s: line %d is longer than 1 MiB", c.name, c.line+1)
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return &RecordError{File: c.name, Line: pe.StartLine, Reason: "malformed CSV: " + pe.Err.Error()}
		}
		return fmt.Errorf("%s: %w", c.name, err)
	}
	line, _ := c.r.FieldPos(0)
	c.line = line
	if len(row) == 1 && row[0] == "" {
		return c.next(rec) // a blank line
	}
	c.f = wire.Fields{StatusSeen: true} // the header names the column; an empty cell is null
	for k, col := range c.cols {
		if col < 0 {
			continue
		}
		if col >= len(row) {
			return &RecordError{File: c.name, Line: line, Reason: fmt.Sprintf("has %d fields, fewer than the header", len(row))}
		}
		v := row[col]
		if !utf8.ValidString(v) {
			return &RecordError{File: c.name, Line: line, Field: c.keys[k], Reason: "not valid UTF-8"}
		}
		if v == "" && (k >= len(wire.HeaderFields()) || c.keys[k] == wire.FieldStatus) {
			continue // an empty optional cell is null (a status unknown)
		}
		*c.f.Slot(c.keys[k]) = &v
	}
	if err := c.f.Record(rec); err != nil {
		var fe *wire.FieldError
		if errors.As(err, &fe) {
			return &RecordError{File: c.name, Line: line, Field: fe.Field, Reason: fe.Reason}
		}
		return &RecordError{File: c.name, Line: line, Reason: err.Error()}
	}
	return nil
}
