// Package ingest reads record files (JSON Lines or CSV, or standard input)
// and hands their records to a store, in order. One goroutine reads and
// checks the records while the caller's writes them, so two cores share an
// import.
package ingest

import (
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"sync/atomic"

	"github.com/nextcore-ai/nextcore/pkg/source"
	"github.com/nextcore-ai/nextcore/pkg/source/file"
	"github.com/nextcore-ai/nextcore/pkg/source/importer"
)

// Input is one file to read; "-" is standard input.
type Input struct {
	Name string
	Size int64 // -1 when unknown (standard input)
}

// Sink takes the records; a cache writer is one.
type Sink interface {
	Add(*source.Record) error
}

// Options say how to read.
type Options struct {
	Format file.Format // "" finds it from each file's name or first character
	// From reads another source's export (importer.Format) instead of the
	// record format.
	From        importer.Format
	SkipInvalid bool      // skip a record that breaks the format instead of failing
	Stdin       io.Reader // read for the input "-"
	// Progress hears the bytes read so far, after each batch.
	Progress func(bytesRead int64)
	// Panicked turns a panic of the reading goroutine into an error; the
	// panic is raised again without it.
	Panicked func(any) error
}

// Result is what was read.
type Result struct {
	Read    int64    // valid records handed to the sink
	Skipped int64    // invalid records skipped (SkipInvalid)
	Ignored int64    // lines of a transcript that are not JSON objects (importer.ClaudeCode)
	Skips   []string // the first few skipped records' errors
}

// A record that breaks the format fails the whole read unless SkipInvalid:
// the error is a *file.RecordError naming the file, line and field.

const batchSize = 512

// Read reads the inputs in turn and adds their records to sink. It stops at
// the first error: the sink's, a file's, or an invalid record's.
func Read(ctx context.Context, inputs []Input, sink Sink, opt Options) (*Result, error) {
	readCtx, stop := context.WithCancel(ctx)
	defer stop()
	rr := &reader{inputs: inputs, opt: opt, batches: make(chan []source.Record, 4), free: make(chan []source.Record, 6)}
	go rr.run(readCtx)
	for batch := range rr.batches {
		for i := range batch {
			if err := sink.Add(&batch[i]); err != nil {
				stop()
				for range rr.batches { // let the reader finish
				}
				return nil, err
			}
		}
		rr.free <- batch[:0]
		if opt.Progress != nil {
			opt.Progress(rr.bytes.Load())
		}
	}
	if rr.err != nil {
		return nil, rr.err
	}
	return &rr.res, nil
}

// reader reads the inputs in turn and hands their records over in batches.
// Its err and res may be read once batches is closed.
type reader struct {
	inputs  []Input
	opt     Options
	batches chan []source.Record
	free    chan []source.Record // batches handed back for reuse
	bytes   atomic.Int64         // bytes read so far, for progress
	err     error
	res     Result
}

func (rr *reader) run(ctx context.Context) {
	defer close(rr.batches)
	defer func() {
		if v := recover(); v != nil {
			if rr.opt.Panicked == nil {
				panic(v)
			}
			rr.err = rr.opt.Panicked(v)
		}
	}()
	rr.err = rr.read(ctx)
}

func (rr *reader) read(ctx context.Context) error {
	var done int64
	batch := make([]source.Record, 0, batchSize)
	send := func() error {
		select {
		case rr.batches <- batch:
		case <-ctx.Done():
			return ctx.Err()
		}
		select {
		case batch = <-rr.free:
		default:
			batch = make([]source.Record, 0, batchSize)
		}
		return nil
	}
	// Another source's files are read whole by their importer: the next
	// ones are read ahead, on the other cores, while this one's records go
	// out in order.
	ahead := rr.readAhead(ctx)
	// Each file is closed once read, not when all are.
	readOne := func(i int, in Input) error {
		var rd recordReader
		var err error
		if ahead != nil {
			o := <-ahead[i]
			rd, err = o.rd, o.err
		} else {
			rd, err = rr.openInput(in)
		}
		var re *file.RecordError
		if errors.As(err, &re) && rr.opt.SkipInvalid {
			// A file another source's importer cannot read at all (cut
			// short, of another format) is skipped whole.
			rr.skip(re)
			return nil
		}
		if err != nil {
			return err
		}
		if c, ok := rd.(io.Closer); ok {
			defer c.Close() //nolint:errcheck // read only: nothing to lose
		}
		for {
			batch = batch[:len(batch)+1]
			rec := &batch[len(batch)-1]
			err := rd.Next(rec)
			if err != nil {
				batch = batch[:len(batch)-1]
			}
			if err == io.EOF {
				break
			}
			var re *file.RecordError
			if errors.As(err, &re) {
				if !rr.opt.SkipInvalid {
					return err
				}
				rr.skip(re)
				continue
			}
			if err != nil {
				return err
			}
			rr.res.Read++
			if len(batch) == batchSize {
				rr.bytes.Store(done + rd.BytesRead())
				if err := send(); err != nil {
					return err
				}
			}
		}
		done += rd.BytesRead()
		rr.bytes.Store(done)
		if ig, ok := rd.(interface{ Ignored() int64 }); ok {
			rr.res.Ignored += ig.Ignored()
		}
		return nil
	}
	for i, in := range rr.inputs {
		if err := readOne(i, in); err != nil {
			return err
		}
	}
	if len(batch) > 0 {
		return send()
	}
	return nil
}

// skip counts a bad record skipped (SkipInvalid).
func (rr *reader) skip(re *file.RecordError) {
	rr.res.Skipped++
	if len(rr.res.Skips) < 6 {
		rr.res.Skips = append(rr.res.Skips, re.Error())
	}
}

// opened is a file's reader, read ahead.
type opened struct {
	rd  recordReader
	err error
}

// readAhead opens the inputs of another source's format two at a time
// ahead of the reader (nil for the record format, which streams): each
// input's reader comes on its own channel, in order.
func (rr *reader) readAhead(ctx context.Context) []chan opened {
	if rr.opt.From == "" || len(rr.inputs) < 2 {
		return nil
	}
	out := make([]chan opened, len(rr.inputs))
	for i := range out {
		out[i] = make(chan opened, 1)
	}
	slots := make(chan struct{}, runtime.GOMAXPROCS(0))
	go func() {
		for i, in := range rr.inputs {
			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
				for ; i < len(out); i++ {
					out[i] <- opened{err: ctx.Err()}
				}
				return
			}
			go func() {
				defer func() { <-slots }()
				defer func() {
					if v := recover(); v != nil {
						if rr.opt.Panicked == nil {
							panic(v)
						}
						out[i] <- opened{err: rr.opt.Panicked(v)}
					}
				}()
				rd, err := rr.openInput(in)
				out[i] <- opened{rd, err}
			}()
		}
	}()
	return out
}

// openInput opens an input ("-": standard input) and its reader; a file
// is closed by the reader's Close, or at once when read whole.
func (rr *reader) openInput(in Input) (recordReader, error) {
	r, name, f, err := openFile(in, rr.opt.Stdin)
	if err != nil {
		return nil, err
	}
	rd, err := rr.open(name, r)
	if f == nil {
		return rd, err
	}
	if err != nil || rr.opt.From != "" { // an importer has read it whole
		f.Close() //nolint:errcheck,gosec // read only: nothing to lose
		return rd, err
	}
	return closing{rd, f}, nil
}

// openFile opens an input: its reader, its name in errors ("stdin" for
// "-"), and the file to close (nil for standard input).
func openFile(in Input, stdin io.Reader) (io.Reader, string, *os.File, error) {
	if in.Name == "-" {
		return stdin, "stdin", nil, nil
	}
	f, err := os.Open(in.Name)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, "", nil, fmt.Errorf("%s: %w", in.Name, err)
	}
	return f, in.Name, f, nil
}

// gunzipped reads r decompressed when name ends in .gz (the record
// format's reader does so itself).
func gunzipped(name string, r io.Reader) (io.Reader, error) {
	if !strings.HasSuffix(strings.ToLower(name), ".gz") {
		return r, nil
	}
	gz, err := gzip.NewReader(r)
	if err != nil {
		return nil, fmt.Errorf("%s: not a gzip file: %w", name, err)
	}
	return gz, nil
}

// ReadBill reads the lines of a provider's bill (importer.BillFormats)
// from an input ("-": stdin), decompressed when its name ends in .gz.
func ReadBill(from importer.Format, in Input, stdin io.Reader) ([]source.BillLine, error) {
	r, name, f, err := openFile(in, stdin)
	if err != nil {
		return nil, err
	}
	if f != nil {
		defer f.Close() //nolint:errcheck // read only: nothing to lose
	}
	if r, err = gunzipped(name, r); err != nil {
		return nil, err
	}
	return importer.ReadBill(from, name, r)
}

// closing is a streaming reader that closes its file.
type closing struct {
	recordReader
	f *os.File
}

func (c closing) Close() error { return c.f.Close() }

// Ignored passes on the reader's count of lines passed over.
func (c closing) Ignored() int64 {
	if ig, ok := c.recordReader.(interface{ Ignored() int64 }); ok {
		return ig.Ignored()
	}
	return 0
}

// recordReader is a file's records: the record format's, or another
// source's.
type recordReader interface {
	Next(*source.Record) error
	BytesRead() int64
}

// open reads name's records in the format the options say.
func (rr *reader) open(name string, r io.Reader) (recordReader, error) {
	if rr.opt.From == "" {
		return file.NewReader(name, r, rr.opt.Format)
	}
	r, err := gunzipped(name, r)
	if err != nil {
		return nil, err
	}
	return importer.NewReader(rr.opt.From, name, r) // read whole: nothing of r is left open
}
