package wire

import (
	"errors"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// ParseObject reads one JSON object (a record) into f. Known fields
// are kept as text; unknown fields are checked for well-formedness and
// skipped. It is a small hand-written reader because the record format is
// flat, and because it is several times faster than encoding/json and can
// say exactly which field is wrong.
func ParseObject(line []byte, f *Fields) error { return ParseObjectWith(line, f, nil) }

// Interner keeps the strings that recur from record to record (field
// names, models, keys, users, regions…), so that a reader of many records
// makes each once. Make one with NewInterner; it is not safe for
// concurrent use.
type Interner struct{ m map[string]string }

// NewInterner makes an empty Interner.
func NewInterner() *Interner { return &Interner{m: map[string]string{}} }

// maxInterned bounds an Interner: names beyond it are made anew each time.
const maxInterned = 1 << 14

// interned are the fields whose values recur: few distinct values.
func interned(key string) bool {
	switch key {
	case FieldModel, FieldAPIKey, FieldUser, FieldRegion, FieldStatus, FieldStatusCode, FieldProject, FieldProvider,
		FieldServiceTier, FieldBatch, FieldLongContext, FieldRequests:
		return true
	}
	return false
}

// ParseObjectWith is ParseObject with an Interner (nil for none).
func ParseObjectWith(line []byte, f *Fields, in *Interner) error {
	p := jsonParser{b: line}
	if in != nil {
		p.intern = in.m
	}
	p.ws()
	if !p.eat('{') {
		return errors.New("not a JSON object")
	}
	p.ws()
	if p.eat('}') {
		return p.end()
	}
	for {
		p.ws()
		var key string
		var slot **string
		if raw, ok := p.plainStr(); ok {
			// A known name is matched without making a string of it.
			if slot, key = f.SlotName(string(raw)); slot == nil {
				if !utf8.Valid(raw) {
					return errInvalidUTF8
				}
				key = string(raw)
			}
		} else {
			var err error
			if key, err = p.str(); err != nil {
				return errors.New("malformed JSON: expected a field name")
			}
			slot = f.Slot(key)
		}
		p.ws()
		if !p.eat(':') {
			return errors.New("malformed JSON: expected ':' after " + strconv.Quote(key))
		}
		p.ws()
		switch {
		case slot == nil:
			if err := p.skipValue(0); err != nil {
				return err
			}
		case key == FieldTags:
			*slot = nil
			if p.lit("null") {
				f.TagList = nil
				break
			}
			tags, err := p.strings()
			if err != nil {
				return &FieldError{Field: key, Reason: err.Error()}
			}
			f.TagList = tags
		default:
			if key == FieldStatus {
				f.StatusSeen = true
			}
			p.interning = p.intern != nil && interned(key)
			v, isNull, err := p.scalar(BoolField(key))
			p.interning = false
			if err != nil {
				return &FieldError{Field: key, Reason: err.Error()}
			}
			switch {
			case isNull:
				*slot = nil
			case f.n < len(f.vals):
				// The record's values live in f: one allocation, not one a field.
				f.vals[f.n] = v
				*slot = &f.vals[f.n]
				f.n++
			default:
				s := v
				*slot = &s
			}
		}
		p.ws()
		if p.eat(',') {
			continue
		}
		if p.eat('}') {
			return p.end()
		}
		return errors.New("malformed JSON: expected ',' or '}'")
	}
}

type jsonParser struct {
	b []byte
	i int
	// intern holds strings read before; interning says that the string
	// being read is one to look up there.
	intern    map[string]string
	interning bool
}

func (p *jsonParser) ws() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\r', '\n':
			p.i++
		default:
			return
		}
	}
}

func (p *jsonParser) eat(c byte) bool {
	if p.i < len(p.b) && p.b[p.i] == c {
		p.i++
		return true
	}
	return false
}

func (p *jsonParser) end() error {
	p.ws()
	if p.i != len(p.b) {
		return errors.New("malformed JSON: text after the object")
	}
	return nil
}

// strings reads a JSON array of strings.
func (p *jsonParser) strings() ([]string, error) {
	if !p.eat('[') {
		return nil, errors.New("not an array of strings")
	}
	var out []string
	p.ws()
	if p.eat(']') {
		return out, nil
	}
	for {
		p.ws()
		if p.i < len(p.b) && p.b[p.i] != '"' {
			return nil, errors.New("an array holding something other than strings")
		}
		s, err := p.str()
		if err != nil {
			return nil, err
		}
		out = append(out, s)
		p.ws()
		if p.eat(',') {
			continue
		}
		if p.eat(']') {
			return out, nil
		}
		return nil, errors.New("malformed JSON: expected ',' or ']'")
	}
}

// scalar reads a value of a known field: a string (unquoted), a number (its
// literal), or null; and a boolean ("true" or "false") when boolOK.
// Objects and arrays are errors.
func (p *jsonParser) scalar(boolOK bool) (v string, isNull bool, err error) {
	if p.i >= len(p.b) {
		return "", false, errors.New("malformed JSON: missing value")
	}
	switch c := p.b[p.i]; {
	case c == '"':
		s, err := p.str()
		return s, false, err
	case c == '-' || (c >= '0' && c <= '9'):
		s, err := p.num()
		return s, false, err
	case c == 'n':
		if p.lit("null") {
			return "", true, nil
		}
	case c == 't' || c == 'f':
		if boolOK && p.lit("true") {
			return "true", false, nil
		}
		if boolOK && p.lit("false") {
			return "false", false, nil
		}
		if p.lit("true") || p.lit("false") {
			return "", false, errors.New("a boolean where a string or number belongs")
		}
	case c == '{' || c == '[':
		return "", false, errors.New("an object or array where a string or number belongs")
	}
	return "", false, errors.New("malformed JSON value")
}

func (p *jsonParser) lit(s string) bool {
	if len(p.b)-p.i >= len(s) && string(p.b[p.i:p.i+len(s)]) == s {
		p.i += len(s)
		return true
	}
	return false
}

func (p *jsonParser) num() (string, error) {
	start := p.i
	p.eat('-')
	digits := func() int {
		n := 0
		for p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '9' {
			p.i++
			n++
		}
		return n
	}
	if p.eat('0') {
		// a leading zero stands alone
	} else if digits() == 0 {
		return "", errors.New("malformed JSON number")
	}
	if p.eat('.') && digits() == 0 {
		return "", errors.New("malformed JSON number")
	}
	if p.i < len(p.b) && (p.b[p.i] == 'e' || p.b[p.i] == 'E') {
		p.i++
		if !p.eat('+') {
			p.eat('-')
		}
		if digits() == 0 {
			return "", errors.New("malformed JSON number")
		}
	}
	raw := p.b[start:p.i]
	if !p.interning {
		return string(raw), nil
	}
	if s, ok := p.intern[string(raw)]; ok {
		return s, nil
	}
	s := string(raw)
	if len(p.intern) < maxInterned {
		p.intern[s] = s
	}
	return s, nil
}

// JSON text is UTF-8 (RFC 8259, section 8.1).
var errInvalidUTF8 = errors.New("malformed JSON: a string that is not valid UTF-8")

// plainStr reads a string without escapes or control characters and
// returns its bytes as they are in the line; on anything else it reads
// nothing and says no (str reads it then).
func (p *jsonParser) plainStr() ([]byte, bool) {
	if p.i >= len(p.b) || p.b[p.i] != '"' {
		return nil, false
	}
	for j := p.i + 1; j < len(p.b); j++ {
		switch c := p.b[j]; {
		case c == '"':
			raw := p.b[p.i+1 : j]
			p.i = j + 1
			return raw, true
		case c == '\\' || c < 0x20:
			return nil, false
		}
	}
	return nil, false
}

// str reads a JSON string and returns its value.
func (p *jsonParser) str() (string, error) {
	if !p.eat('"') {
		return "", errors.New("malformed JSON: expected a string")
	}
	start := p.i
	// Fast path: no escapes.
	for p.i < len(p.b) {
		c := p.b[p.i]
		if c == '"' {
			raw := p.b[start:p.i]
			if p.interning {
				if s, ok := p.intern[string(raw)]; ok { // valid: it was checked when kept
					p.i++
					return s, nil
				}
			}
			if !utf8.Valid(raw) {
				return "", errInvalidUTF8
			}
			p.i++
			s := string(raw)
			if p.interning && len(p.intern) < maxInterned {
				p.intern[s] = s
			}
			return s, nil
		}
		if c == '\\' {
			break
		}
		if c < 0x20 {
			return "", errors.New("malformed JSON: control character in a string")
		}
		p.i++
	}
	buf := append([]byte(nil), p.b[start:p.i]...)
	for p.i < len(p.b) {
		c := p.b[p.i]
		switch {
		case c == '"':
			p.i++
			if !utf8.Valid(buf) {
				return "", errInvalidUTF8
			}
			return string(buf), nil
		case c < 0x20:
			return "", errors.New("malformed JSON: control character in a string")
		case c != '\\':
			buf = append(buf, c)
			p.i++
			continue
		}
		p.i++
		if p.i >= len(p.b) {
			break
		}
		e := p.b[p.i]
		p.i++
		switch e {
		case '"', '\\', '/':
			buf = append(buf, e)
		case 'b':
			buf = append(buf, '\b')
		case 'f':
			buf = append(buf, '\f')
		case 'n':
			buf = append(buf, '\n')
		case 'r':
			buf = append(buf, '\r')
		case 't':
			buf = append(buf, '\t')
		case 'u':
			r, ok := p.hex4()
			if !ok {
				return "", errors.New("malformed JSON: bad \\u escape")
			}
			if utf16.IsSurrogate(r) {
				var r2 rune
				if p.i+1 < len(p.b) && p.b[p.i] == '\\' && p.b[p.i+1] == 'u' {
					save := p.i
					p.i += 2
					var ok2 bool
					if r2, ok2 = p.hex4(); !ok2 {
						return "", errors.New("malformed JSON: bad \\u escape")
					}
					if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
						r = d
					} else {
						p.i = save
						r = utf8.RuneError
					}
				} else {
					r = utf8.RuneError
				}
			}
			buf = utf8.AppendRune(buf, r)
		default:
			return "", errors.New("malformed JSON: bad escape in a string")
		}
	}
	return "", errors.New("malformed JSON: unterminated string")
}

func (p *jsonParser) hex4() (rune, bool) {
	if len(p.b)-p.i < 4 {
		return 0, false
	}
	var r rune
	for _, c := range p.b[p.i : p.i+4] {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c - 'a' + 10)
		case c >= 'A' && c <= 'F':
			r |= rune(c - 'A' + 10)
		default:
			return 0, false
		}
	}
	p.i += 4
	return r, true
}

// skipValue passes over any JSON value, checking that it is well formed.
func (p *jsonParser) skipValue(depth int) error {
	if depth > 64 {
		return errors.New("malformed JSON: nested too deeply")
	}
	if p.i >= len(p.b) {
		return errors.New("malformed JSON: missing value")
	}
	switch c := p.b[p.i]; {
	case c == '"':
		_, err := p.str()
		return err
	case c == '-' || (c >= '0' && c <= '9'):
		_, err := p.num()
		return err
	case c == '{' || c == '[':
		closer := byte('}')
		if c == '[' {
			closer = ']'
		}
		p.i++
		p.ws()
		if p.eat(closer) {
			return nil
		}
		for {
			p.ws()
			if c == '{' {
				if _, err := p.str(); err != nil {
					return err
				}
				p.ws()
				if !p.eat(':') {
					return errors.New("malformed JSON: expected ':'")
				}
				p.ws()
			}
			if err := p.skipValue(depth + 1); err != nil {
				return err
			}
			p.ws()
			if p.eat(',') {
				continue
			}
			if p.eat(closer) {
				return nil
			}
			return errors.New("malformed JSON: expected ',' or a closing bracket")
		}
	default:
		if p.lit("true") || p.lit("false") || p.lit("null") {
			return nil
		}
	}
	return errors.New("malformed JSON value")
}
