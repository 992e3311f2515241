package wire

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/nextcore-ai/nextcore/pkg/source"
)

// SyntaxError is a page that is not the JSON the API promises: cut short,
// garbled, or of another shape. A client may fetch it again.
type SyntaxError struct{ Reason string }

func (e *SyntaxError) Error() string { return "malformed page: " + e.Reason }

// BadRecordError is a well-formed page holding a record that breaks the
// record format. Fetching it again would not help.
type BadRecordError struct {
	Index int // in the page's results, from 0
	ID    string
	Err   error
}

func (e *BadRecordError) Error() string {
	if e.ID != "" {
		return fmt.Sprintf("record %d (id %q) of the page: %v", e.Index+1, clip(e.ID), e.Err)
	}
	return fmt.Sprintf("record %d of the page: %v", e.Index+1, e.Err)
}

func (e *BadRecordError) Unwrap() error { return e.Err }

// DecodePage reads a page of records, {"next": …, "previous": …, "results":
// […]}, calling emit for each record in order (the record is reused between
// calls). It returns the next page's URL, or "" on the last page.
func DecodePage(body []byte, emit func(*source.Record) error) (next string, err error) {
	p := jsonParser{b: body}
	p.ws()
	if !p.eat('{') {
		return "", &SyntaxError{"not a JSON object"}
	}
	sawResults := false
	var f Fields
	var rec source.Record
	for first := true; ; first = false {
		p.ws()
		if first && p.eat('}') {
			break
		}
		key, err := p.str()
		if err != nil {
			return "", &SyntaxError{"expected a field name"}
		}
		p.ws()
		if !p.eat(':') {
			return "", &SyntaxError{"expected ':'"}
		}
		p.ws()
		switch key {
		case "next":
			v, isNull, err := p.scalar(false)
			if err != nil {
				return "", &SyntaxError{"next: " + err.Error()}
			}
			if !isNull {
				next = v
			}
		case "results":
			sawResults = true
			if !p.eat('[') {
				return "", &SyntaxError{"results is not an array"}
			}
			p.ws()
			if !p.eat(']') {
				for i := 0; ; i++ {
					p.ws()
					start := p.i
					if err := p.skipValue(0); err != nil {
						return "", &SyntaxError{fmt.Sprintf("results[%d]: %v", i, err)}
					}
					f = Fields{}
					if err := ParseObject(body[start:p.i], &f); err != nil {
						return "", &BadRecordError{Index: i, Err: err}
					}
					if err := f.Record(&rec); err != nil {
						return "", &BadRecordError{Index: i, ID: deref(f.id), Err: err}
					}
					if err := emit(&rec); err != nil {
						return "", err
					}
					p.ws()
					if p.eat(',') {
						continue
					}
					if p.eat(']') {
						break
					}
					return "", &SyntaxError{"expected ',' or ']' in results"}
				}
			}
		default:
			if err := p.skipValue(0); err != nil {
				return "", &SyntaxError{strconv.Quote(key) + ": " + err.Error()}
			}
		}
		p.ws()
		if p.eat(',') {
			continue
		}
		if p.eat('}') {
			break
		}
		return "", &SyntaxError{"expected ',' or '}'"}
	}
	if err := p.end(); err != nil {
		return "", &SyntaxError{err.Error()}
	}
	if !sawResults {
		return "", &SyntaxError{"no results"}
	}
	return next, nil
}

// IsSyntax reports whether err is a malformed page.
func IsSyntax(err error) bool {
	var se *SyntaxError
	return errors.As(err, &se)
}

// AppendPage appends a page of records as the API sends it.
func AppendPage(b []byte, next string, recs []source.Record) []byte {
	b = append(b, `{"next":`...)
	if next == "" {
		b = append(b, "null"...)
	} else {
		b = appendString(b, next)
	}
	b = append(b, `,"previous":null,"results":[`...)
	for i := range recs {
		if i > 0 {
			b = append(b, ',')
		}
		b = AppendJSON(b, &recs[i])
	}
	return append(b, "]}"...)
}
