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

// Field names of the record format (docs/api.md, docs/ledger.md), shared by
// JSON Lines and CSV.
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

	// Records v2 (the ledger).
	FieldRequests     = "requests"
	FieldInput        = "inputTokens"
	FieldCacheRead    = "cacheReadTokens"
	FieldCacheWrite   = "cacheWriteTokens"
	FieldCacheWrite1h = "cacheWrite1hTokens"
	FieldOutput       = "outputTokens"
	FieldReasoning    = "reasoningTokens"
	FieldProject      = "project"
	FieldTags         = "tags"
	FieldProvider     = "provider"
	FieldBatch        = "batch"
	FieldServiceTier  = "serviceTier"
	FieldLongContext  = "longContext"
)

// Limits of a record's tags (docs/ledger.md).
const (
	MaxTags   = 32
	MaxTagLen = 256
)

// HeaderFields are the fields a CSV header must name. Tokens come as the v1
// pair (promptTokens, completionTokens) or as the v2 kinds, so the header is
// checked for them apart (TokenColumnsMissing).
func HeaderFields() []string {
	return []string{FieldID, FieldTimestamp, FieldModel, FieldAPIKey, FieldStatus}
}

// OptionalFields may be absent, null or (in CSV) empty. The token fields are
// among them: Record checks that a record carries one of their forms.
func OptionalFields() []string {
	return []string{FieldUser, FieldRegion, FieldStatusCode, FieldPrompt, FieldCompletion, FieldCost, FieldLatency,
		FieldRequests, FieldInput, FieldCacheRead, FieldCacheWrite, FieldCacheWrite1h, FieldOutput, FieldReasoning,
		FieldProject, FieldTags, FieldProvider, FieldBatch, FieldServiceTier, FieldLongContext}
}

// TokenColumnsMissing names what a CSV header lacks to carry tokens, or ""
// when it has the v1 pair or the v2 input and output columns.
func TokenColumnsMissing(has func(string) bool) string {
	if has(FieldPrompt) && has(FieldCompletion) {
		return ""
	}
	if has(FieldInput) && has(FieldOutput) {
		return ""
	}
	if has(FieldPrompt) || has(FieldInput) {
		if !has(FieldCompletion) && !has(FieldOutput) {
			return FieldCompletion
		}
		return ""
	}
	return FieldPrompt + ", " + FieldCompletion
}

// BoolField reports whether the field named name holds a boolean.
func BoolField(name string) bool { return name == FieldBatch || name == FieldLongContext }

// Fields holds the raw text of each field of one record; a nil entry means
// absent or null. Strings are already unquoted; numbers are their literal text.
type Fields struct {
	id, timestamp, model, apiKey, user, region, status *string
	statusCode, prompt, completion, cost, latency      *string

	requests, input, cacheRead, cacheWrite, cacheWrite1h, output, reasoning *string
	project, tags, provider, batch, serviceTier, longContext                *string

	// StatusSeen is set when the record names its status, even as null
	// (unknown); a record without the field is missing it.
	StatusSeen bool
	// TagList holds tags read as a JSON array; tags holds them as CSV text.
	TagList []string

	// vals holds the values the fields point to (ParseObject), n of them.
	vals [32]string
	n    int
}

// Slot is where the field named name is kept, or nil for a field the format
// does not know.
func (f *Fields) Slot(name string) **string {
	slot, _ := f.SlotName(name)
	return slot
}

// SlotName is Slot, with the field's name as the format spells it (a
// constant: the caller's name need not outlive the call).
func (f *Fields) SlotName(name string) (**string, string) {
	switch name {
	case FieldID:
		return &f.id, FieldID
	case FieldTimestamp:
		return &f.timestamp, FieldTimestamp
	case FieldModel:
		return &f.model, FieldModel
	case FieldAPIKey:
		return &f.apiKey, FieldAPIKey
	case FieldUser:
		return &f.user, FieldUser
	case FieldRegion:
		return &f.region, FieldRegion
	case FieldStatus:
		return &f.status, FieldStatus
	case FieldStatusCode:
		return &f.statusCode, FieldStatusCode
	case FieldPrompt:
		return &f.prompt, FieldPrompt
	case FieldCompletion:
		return &f.completion, FieldCompletion
	case FieldCost:
		return &f.cost, FieldCost
	case FieldLatency:
		return &f.latency, FieldLatency
	case FieldRequests:
		return &f.requests, FieldRequests
	case FieldInput:
		return &f.input, FieldInput
	case FieldCacheRead:
		return &f.cacheRead, FieldCacheRead
	case FieldCacheWrite:
		return &f.cacheWrite, FieldCacheWrite
	case FieldCacheWrite1h:
		return &f.cacheWrite1h, FieldCacheWrite1h
	case FieldOutput:
		return &f.output, FieldOutput
	case FieldReasoning:
		return &f.reasoning, FieldReasoning
	case FieldProject:
		return &f.project, FieldProject
	case FieldTags:
		return &f.tags, FieldTags
	case FieldProvider:
		return &f.provider, FieldProvider
	case FieldBatch:
		return &f.batch, FieldBatch
	case FieldServiceTier:
		return &f.serviceTier, FieldServiceTier
	case FieldLongContext:
		return &f.longContext, FieldLongContext
	}
	return nil, ""
}

// maxTokens bounds each token count so that sums of a record's kinds, and
// of many records, cannot overflow.
const maxTokens = math.MaxInt64 / 16

// optCount reads an optional count: 0 and false when absent.
func optCount(name string, v *string) (int64, bool, error) {
	if v == nil {
		return 0, false, nil
	}
	n, err := parseCount(*v)
	if err != nil {
		return 0, false, badField(name, "%v: %q", err, clip(*v))
	}
	if n > maxTokens {
		return 0, false, badField(name, "too large: %q", clip(*v))
	}
	return n, true, nil
}

// Record checks the fields and builds the record.
func (f *Fields) Record(r *source.Record) error {
	for _, name := range []string{FieldID, FieldTimestamp, FieldModel, FieldAPIKey} {
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
	r.Success, r.Unknown = false, false
	switch {
	case f.status == nil && f.StatusSeen:
		r.Unknown = true
	case f.status == nil:
		return badField(FieldStatus, "missing")
	case *f.status == source.StatusSuccess:
		r.Success = true
	case *f.status == source.StatusError:
	default:
		return badField(FieldStatus, "unknown status %q (want success, error or null)", clip(*f.status))
	}
	r.StatusCode = 0
	if f.statusCode != nil {
		n, err := parseCount(*f.statusCode)
		if err != nil || n > 999 {
			return badField(FieldStatusCode, "not an HTTP status code: %q", clip(*f.statusCode))
		}
		r.StatusCode = int(n)
	}
	if err := f.tokens(r); err != nil {
		return err
	}
	r.Cost, r.NoCost = 0, f.cost == nil
	if f.cost != nil {
		cost, err := source.ParseUSD(*f.cost)
		if err != nil {
			return badField(FieldCost, "%v: %q", err, clip(*f.cost))
		}
		if cost < 0 {
			return badField(FieldCost, "negative cost: %q", clip(*f.cost))
		}
		r.Cost = cost
	}
	r.LatencyMs = -1
	if f.latency != nil {
		ms, err := parseLatency(*f.latency)
		if err != nil {
			return badField(FieldLatency, "%v: %q", err, clip(*f.latency))
		}
		r.LatencyMs = ms
	}
	return f.ledger(r)
}

// tokens reads the token counts in either form, checking that the v1 pair
// and the v2 kinds agree when a record carries both (docs/ledger.md §1).
func (f *Fields) tokens(r *source.Record) error {
	var counts [8]int64
	var has [8]bool
	for i, x := range []struct {
		name string
		v    *string
	}{
		{FieldPrompt, f.prompt}, {FieldCompletion, f.completion},
		{FieldInput, f.input}, {FieldCacheRead, f.cacheRead}, {FieldCacheWrite, f.cacheWrite},
		{FieldCacheWrite1h, f.cacheWrite1h}, {FieldOutput, f.output}, {FieldReasoning, f.reasoning},
	} {
		n, ok, err := optCount(x.name, x.v)
		if err != nil {
			return err
		}
		counts[i], has[i] = n, ok
	}
	prompt, completion := counts[0], counts[1]
	input, cacheRead, cacheWrite, cacheWrite1h, output, reasoning := counts[2], counts[3], counts[4], counts[5], counts[6], counts[7]
	cached := cacheRead + cacheWrite + cacheWrite1h
	switch {
	case has[0] && has[2]:
		if input+cached != prompt {
			return badField(FieldPrompt, "promptTokens %d is not inputTokens + cache tokens (%d + %d = %d)",
				prompt, input, cached, input+cached)
		}
	case has[0]:
		if cached > prompt {
			return badField(FieldPrompt, "promptTokens %d is less than the cache tokens (%d)", prompt, cached)
		}
	case has[2]:
		prompt = input + cached
	case has[3] || has[4] || has[5]:
		return badField(FieldInput, "missing (cache tokens need inputTokens or promptTokens beside them)")
	default:
		return badField(FieldPrompt, "missing (give promptTokens or inputTokens)")
	}
	switch {
	case has[1] && has[6]:
		if output != completion {
			return badField(FieldCompletion, "completionTokens %d is not outputTokens %d", completion, output)
		}
	case has[6]:
		completion = output
	case !has[1]:
		return badField(FieldCompletion, "missing (give completionTokens or outputTokens)")
	}
	if reasoning > completion {
		return badField(FieldReasoning, "reasoningTokens %d is more than the output (%d)", reasoning, completion)
	}
	r.PromptTokens, r.CompletionTokens = prompt, completion
	r.CacheRead, r.CacheWrite, r.CacheWrite1h, r.Reasoning = cacheRead, cacheWrite, cacheWrite1h, reasoning
	return nil
}

// ledger reads the v2 fields that are not tokens.
func (f *Fields) ledger(r *source.Record) error {
	r.Requests = 1
	if f.requests != nil {
		n, err := parseCount(*f.requests)
		if err != nil {
			return badField(FieldRequests, "%v: %q", err, clip(*f.requests))
		}
		if n > maxTokens {
			return badField(FieldRequests, "too large: %q", clip(*f.requests))
		}
		r.Requests = n
	}
	r.Project, r.Provider, r.ServiceTier = deref(f.project), deref(f.provider), deref(f.serviceTier)
	if r.ServiceTier == "standard" {
		r.ServiceTier = ""
	}
	r.Batch = false
	if f.batch != nil {
		b, err := parseBool(*f.batch)
		if err != nil {
			return badField(FieldBatch, "%v", err)
		}
		r.Batch = b
	}
	r.LongContext = 0
	if f.longContext != nil {
		b, err := parseBool(*f.longContext)
		if err != nil {
			return badField(FieldLongContext, "%v", err)
		}
		r.LongContext = -1
		if b {
			r.LongContext = 1
		}
	}
	tags := f.TagList
	if f.tags != nil {
		var err error
		if tags, err = SplitTags(*f.tags); err != nil {
			return badField(FieldTags, "%v", err)
		}
	}
	if err := CheckTags(tags); err != nil {
		return badField(FieldTags, "%v", err)
	}
	r.Tags = nil
	if len(tags) > 0 {
		// a new slice: callers keep copies of the record, which is reused
		r.Tags = append([]string(nil), tags...)
	}
	return nil
}

func parseBool(s string) (bool, error) {
	switch strings.ToLower(s) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, fmt.Errorf("not true or false: %q", clip(s))
}

// CheckTags checks a record's tags: at most MaxTags, each non-empty, at most
// MaxTagLen bytes, no two the same.
func CheckTags(tags []string) error {
	if len(tags) > MaxTags {
		return fmt.Errorf("%d tags, more than %d", len(tags), MaxTags)
	}
	for i, t := range tags {
		if t == "" {
			return errors.New("an empty tag")
		}
		if len(t) > MaxTagLen {
			return fmt.Errorf("tag %q is longer than %d bytes", clip(t), MaxTagLen)
		}
		for _, u := range tags[:i] {
			if u == t {
				return fmt.Errorf("tag %q appears twice", clip(t))
			}
		}
	}
	return nil
}

// SplitTags reads the tags of a CSV cell: a JSON array of strings when it
// begins with "[", else tags separated by ";" (blanks around each trimmed).
func SplitTags(s string) ([]string, error) {
	t := strings.TrimSpace(s)
	if t == "" {
		return nil, nil
	}
	if t[0] == '[' {
		p := jsonParser{b: []byte(t)}
		tags, err := p.strings()
		if err != nil {
			return nil, err
		}
		if err := p.end(); err != nil {
			return nil, err
		}
		return tags, nil
	}
	parts := strings.Split(t, ";")
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	return parts, nil
}

// JoinTags writes tags as SplitTags reads them: separated by ";" when that
// is unambiguous, else as a JSON array.
func JoinTags(tags []string) string {
	plain := true
	for _, t := range tags {
		if strings.ContainsAny(t, ";") || t != strings.TrimSpace(t) || strings.HasPrefix(t, "[") {
			plain = false
			break
		}
	}
	if plain {
		return strings.Join(tags, ";")
	}
	b := []byte{'['}
	for i, t := range tags {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, t)
	}
	return string(append(b, ']'))
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
