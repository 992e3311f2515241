// Package wire is the record format of the control-plane API (docs/api.md): the
// fields of a usage record, how each is read and checked exactly, and the
// JSON of a record and of a page of records. Files and the API share it.
package wire

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/nextcore-ai/nextcore/pkg/source"
)

// FieldError is a problem with one field of a record.
type FieldError struct{ Field, Reason string }

func (e *FieldError) Error() string { return e.Field + ": " + e.Reason }

func badField(field, format string, args ...any) error {
	return &FieldError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// Field names of the record format (docs/api.md), shared by JSON Lines and CSV.
const (
	FieldID         = "id"
	FieldTimestamp  = "timestamp"
	FieldModel      = "model"
	FieldAPIKey     = "apiKey"
	FieldUser       = "user"
	FieldRegion     = "region"
	FieldStatus     = "status"
	FieldStatusCode = "statusCode"
	FieldPrompt     = "promptTokens"
	FieldCompletion = "completionTokens"
	FieldCost       = "cost"
	FieldLatency    = "latencyMs"
)

// RequiredFields must be present (and not null) in every record.
func RequiredFields() []string {
	return []string{FieldID, FieldTimestamp, FieldModel, FieldAPIKey, FieldStatus, FieldPrompt, FieldCompletion, FieldCost}
}

// OptionalFields may be absent, null or (in CSV) empty.
func OptionalFields() []string {
	return []string{FieldUser, FieldRegion, FieldStatusCode, FieldLatency}
}

// Fields holds the raw text of each field of one record; a nil entry means
// absent or null. Strings are already unquoted; numbers are their literal text.
type Fields struct {
	id, timestamp, model, apiKey, user, region, status *string
	statusCode, prompt, completion, cost, latency      *string
}

// Slot is where the field named name is kept, or nil for a field the format
// does not know.
func (f *Fields) Slot(name string) **string {
	switch name {
	case FieldID:
		return &f.id
	case FieldTimestamp:
		return &f.timestamp
	case FieldModel:
		return &f.model
	case FieldAPIKey:
		return &f.apiKey
	case FieldUser:
		return &f.user
	case FieldRegion:
		return &f.region
	case FieldStatus:
		return &f.status
	case FieldStatusCode:
		return &f.statusCode
	case FieldPrompt:
		return &f.prompt
	case FieldCompletion:
		return &f.completion
	case FieldCost:
		return &f.cost
	case FieldLatency:
		return &f.latency
	}
	return nil
}

// Record checks the fields and builds the record.
func (f *Fields) Record(r *source.Record) error {
	for _, name := range RequiredFields() {
		if *f.Slot(name) == nil {
			return badField(name, "missing")
		}
	}
	if *f.id == "" {
		return badField(FieldID, "empty")
	}
	ts, err := ParseTimestamp(*f.timestamp)
	if err != nil {
		return badField(FieldTimestamp, "%v", err)
	}
	if *f.model == "" {
		return badField(FieldModel, "empty")
	}
	r.ID = *f.id
	r.Time = ts
	r.Model = *f.model
	r.APIKey = *f.apiKey
	r.User = deref(f.user)
	r.Region = deref(f.region)
	switch *f.status {
	case source.StatusSuccess:
		r.Success = true
	case source.StatusError:
		r.Success = false
	default:
		return badField(FieldStatus, "unknown status %q (want success or error)", clip(*f.status))
	}
	r.StatusCode = 0
	if f.statusCode != nil {
		n, err := parseCount(*f.statusCode)
		if err != nil || n > 999 {
			return badField(FieldStatusCode, "not an HTTP status code: %q", clip(*f.statusCode))
		}
		r.StatusCode = int(n)
	}
	if r.PromptTokens, err = parseCount(*f.prompt); err != nil {
		return badField(FieldPrompt, "%v: %q", err, clip(*f.prompt))
	}
	if r.CompletionTokens, err = parseCount(*f.completion); err != nil {
		return badField(FieldCompletion, "%v: %q", err, clip(*f.completion))
	}
	if r.PromptTokens > math.MaxInt64/2 || r.CompletionTokens > math.MaxInt64/2 {
		return badField(FieldPrompt, "token count too large")
	}
	cost, err := source.ParseUSD(*f.cost)
	if err != nil {
		return badField(FieldCost, "%v: %q", err, clip(*f.cost))
	}
	if cost < 0 {
		return badField(FieldCost, "negative cost: %q", clip(*f.cost))
	}
	r.Cost = cost
	r.LatencyMs = -1
	if f.latency != nil {
		ms, err := parseLatency(*f.latency)
		if err != nil {
			return badField(FieldLatency, "%v: %q", err, clip(*f.latency))
		}
		r.LatencyMs = ms
	}
	return nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// clip shortens a value quoted in an error message.
func clip(s string) string {
	const n = 40
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// ParseTimestamp reads an RFC 3339 timestamp, which must carry a zone (Z or an
// offset), and returns Unix nanoseconds. Digits past the nanosecond are cut,
// which keeps every comparison with a window bound exact.
func ParseTimestamp(s string) (int64, error) {
	t, err := time.Parse(time.RFC3339Nano, upperTZ(s))
	if err != nil {
		if _, err2 := time.Parse("2006-01-02T15:04:05.999999999", s); err2 == nil {
			return 0, errors.New("no time zone (add Z or an offset such as +01:00)")
		}
		if _, err2 := time.Parse("2006-01-02 15:04:05.999999999Z07:00", s); err2 == nil {
			return 0, errors.New("not RFC 3339 (use T between date and time)")
		}
		return 0, fmt.Errorf("not an RFC 3339 time: %q", clip(s))
	}
	if t.Year() < 1970 || t.Year() > 2200 {
		return 0, fmt.Errorf("out of range: %q", clip(s))
	}
	return t.UnixNano(), nil
}

// upperTZ accepts RFC 3339's lower-case "t" and "z", which Go's parser does
// not.
func upperTZ(s string) string {
	if len(s) > 10 && (s[10] == 't' || s[len(s)-1] == 'z') {
		b := []byte(s)
		if b[10] == 't' {
			b[10] = 'T'
		}
		if b[len(b)-1] == 'z' {
			b[len(b)-1] = 'Z'
		}
		return string(b)
	}
	return s
}

// parseCount reads a non-negative whole number (a JSON or CSV literal).
func parseCount(s string) (int64, error) {
	if s == "" {
		return 0, errors.New("empty")
	}
	if s[0] == '-' {
		return 0, errors.New("negative")
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err == nil {
		return n, nil
	}
	// 12.0 or 1e3 are whole numbers written another way; 12.5 is not.
	if v, ok := wholeNumber(s); ok {
		return v, nil
	}
	if _, ferr := strconv.ParseFloat(s, 64); ferr == nil {
		return 0, errors.New("not a whole number")
	}
	return 0, errors.New("not a number")
}

func wholeNumber(s string) (int64, bool) {
	u, err := source.ParseUSD(s)
	if err != nil || u%source.NanosPerUSD != 0 || u < 0 {
		return 0, false
	}
	return int64(u / source.NanosPerUSD), true
}

// parseLatency reads milliseconds, rounding a fractional value to the nearest
// whole millisecond.
func parseLatency(s string) (int64, error) {
	if strings.HasPrefix(s, "-") {
		return 0, errors.New("negative")
	}
	u, err := source.ParseUSD(s) // an exact decimal reader; the unit does not matter
	if err != nil {
		if _, ferr := strconv.ParseFloat(s, 64); ferr == nil {
			return 0, errors.New("too precise")
		}
		return 0, errors.New("not a number")
	}
	return int64((u + source.NanosPerUSD/2) / source.NanosPerUSD), nil
}
