package importer

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
)

// A transcript line is mostly text the model and the user wrote (messages,
// tool output), and the few fields a call needs are near its top. scanLine
// reads those fields and passes over the rest at the speed of a byte
// search, where a full decoding would build and drop every string.

// errScan is a line that is not a well-formed JSON object.
var errScan = errors.New("not a JSON object")

type scanner struct {
	b []byte
	i int
}

func (s *scanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\r', '\n':
			s.i++
		default:
			return
		}
	}
}

// str passes over a string (at its opening quote) and returns its raw
// bytes between the quotes, and whether it holds escapes.
func (s *scanner) str() (raw []byte, escaped bool, err error) {
	start := s.i + 1
	j := start
	for {
		k := bytes.IndexByte(s.b[j:], '"')
		if k < 0 {
			return nil, false, errScan
		}
		j += k
		// An odd run of backslashes before the quote escapes it.
		n := 0
		for p := j - 1; p >= start && s.b[p] == '\\'; p-- {
			n++
		}
		if n%2 == 0 {
			break
		}
		escaped = true
		j++
	}
	raw = s.b[start:j]
	s.i = j + 1
	return raw, escaped || bytes.IndexByte(raw, '\\') >= 0, nil
}

// text is a string value, unescaped.
func (s *scanner) text() (string, error) {
	s.ws()
	if s.i >= len(s.b) {
		return "", errScan
	}
	if s.b[s.i] == 'n' && bytes.HasPrefix(s.b[s.i:], []byte("null")) {
		s.i += 4
		return "", nil
	}
	if s.b[s.i] != '"' {
		_, err := s.skip()
		return "", err
	}
	start := s.i
	raw, escaped, err := s.str()
	if err != nil || !escaped {
		return string(raw), err
	}
	var v string
	if err := json.Unmarshal(s.b[start:s.i], &v); err != nil {
		return "", errScan
	}
	return v, nil
}

// skip passes over a value and returns its bytes.
func (s *scanner) skip() ([]byte, error) {
	s.ws()
	start := s.i
	if s.i >= len(s.b) {
		return nil, errScan
	}
	switch c := s.b[s.i]; c {
	case '"':
		_, _, err := s.str()
		return s.b[start:s.i], err
	case '{', '[':
		depth := 0
		for s.i < len(s.b) {
			switch s.b[s.i] {
			case '"':
				if _, _, err := s.str(); err != nil {
					return nil, err
				}
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					s.i++
					return s.b[start:s.i], nil
				}
			}
			s.i++
		}
		return nil, errScan
	default: // a number, true, false, null
		for s.i < len(s.b) && bytes.IndexByte([]byte(",}] \t\r\n"), s.b[s.i]) < 0 {
			s.i++
		}
		if s.i == start {
			return nil, errScan
		}
		return s.b[start:s.i], nil
	}
}

// object calls field for each key of the object at the scanner; field
// reads or skips the value.
func (s *scanner) object(field func(key []byte) error) error {
	s.ws()
	if s.i >= len(s.b) || s.b[s.i] != '{' {
		return errScan
	}
	s.i++
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == '}' {
		s.i++
		return nil
	}
	for {
		s.ws()
		if s.i >= len(s.b) || s.b[s.i] != '"' {
			return errScan
		}
		key, _, err := s.str()
		if err != nil {
			return err
		}
		s.ws()
		if s.i >= len(s.b) || s.b[s.i] != ':' {
			return errScan
		}
		s.i++
		if err := field(key); err != nil {
			return err
		}
		s.ws()
		if s.i >= len(s.b) {
			return errScan
		}
		switch s.b[s.i] {
		case ',':
			s.i++
		case '}':
			s.i++
			return nil
		default:
			return errScan
		}
	}
}

// scanLine reads what a transcript line says of a call into l, passing
// over everything else; errScan when the line is not a JSON object.
func scanLine(b []byte, l *ccLine) error {
	s := &scanner{b: b}
	err := s.object(func(key []byte) error {
		var err error
		switch string(key) {
		case "type":
			l.Type, err = s.text()
		case "timestamp":
			l.Timestamp, err = s.text()
		case "requestId":
			l.RequestID, err = s.text()
		case "uuid":
			l.UUID, err = s.text()
		case "costUSD":
			var raw []byte
			if raw, err = s.skip(); err == nil && string(raw) != "null" {
				n := json.Number(raw)
				if _, perr := strconv.ParseFloat(string(raw), 64); perr != nil {
					return errScan
				}
				l.CostUSD = &n
			}
		case "isApiErrorMessage":
			var raw []byte
			raw, err = s.skip()
			l.APIError = string(raw) == "true"
		case "message":
			s.ws()
			if s.i < len(s.b) && s.b[s.i] == '{' {
				l.Message = &ccMessage{}
				err = s.object(func(key []byte) error {
					var err error
					switch string(key) {
					case "id":
						l.Message.ID, err = s.text()
					case "role":
						l.Message.Role, err = s.text()
					case "model":
						l.Message.Model, err = s.text()
					case "usage":
						var raw []byte
						if raw, err = s.skip(); err == nil && string(raw) != "null" {
							l.Message.Usage = &ccUsage{}
							if json.Unmarshal(raw, l.Message.Usage) != nil {
								return errScan
							}
						}
					default:
						_, err = s.skip()
					}
					return err
				})
			} else {
				_, err = s.skip()
			}
		default:
			_, err = s.skip()
		}
		return err
	})
	if err != nil {
		return err
	}
	s.ws()
	if s.i != len(s.b) {
		return errScan
	}
	return nil
}
