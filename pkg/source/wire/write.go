package wire

import (
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/nextcore-ai/nextcore/pkg/source"
)

// AppendJSON appends r as one JSON object in the API's record format
// (without a newline). Optional fields that are absent are written as null.
func AppendJSON(b []byte, r *source.Record) []byte {
	b = append(b, `{"id":`...)
	b = appendString(b, r.ID)
	b = append(b, `,"timestamp":"`...)
	b = time.Unix(0, r.Time).UTC().AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","model":`...)
	b = appendString(b, r.Model)
	b = append(b, `,"apiKey":`...)
	b = appendString(b, r.APIKey)
	b = append(b, `,"user":`...)
	b = appendOptString(b, r.User)
	b = append(b, `,"region":`...)
	b = appendOptString(b, r.Region)
	switch {
	case r.Unknown:
		b = append(b, `,"status":null,"statusCode":`...)
	case r.Success:
		b = append(b, `,"status":"success","statusCode":`...)
	default:
		b = append(b, `,"status":"error","statusCode":`...)
	}
	if r.StatusCode != 0 {
		b = strconv.AppendInt(b, int64(r.StatusCode), 10)
	} else {
		b = append(b, "null"...)
	}
	b = append(b, `,"promptTokens":`...)
	b = strconv.AppendInt(b, r.PromptTokens, 10)
	b = append(b, `,"completionTokens":`...)
	b = strconv.AppendInt(b, r.CompletionTokens, 10)
	b = append(b, `,"cost":`...)
	if r.NoCost {
		b = append(b, "null"...)
	} else {
		b = append(b, r.Cost.Decimal()...)
	}
	b = append(b, `,"latencyMs":`...)
	if r.LatencyMs >= 0 {
		b = strconv.AppendInt(b, r.LatencyMs, 10)
	} else {
		b = append(b, "null"...)
	}
	if r.V2() {
		b = appendLedger(b, r)
	}
	return append(b, '}')
}

// appendLedger appends the v2 fields of r (docs/ledger.md).
func appendLedger(b []byte, r *source.Record) []byte {
	for _, f := range []struct {
		name string
		n    int64
	}{
		{FieldRequests, r.Requests}, {FieldInput, r.Input()}, {FieldCacheRead, r.CacheRead},
		{FieldCacheWrite, r.CacheWrite}, {FieldCacheWrite1h, r.CacheWrite1h},
		{FieldOutput, r.CompletionTokens}, {FieldReasoning, r.Reasoning},
	} {
		b = append(b, ',', '"')
		b = append(b, f.name...)
		b = append(b, '"', ':')
		b = strconv.AppendInt(b, f.n, 10)
	}
	b = append(b, `,"project":`...)
	b = appendOptString(b, r.Project)
	b = append(b, `,"tags":[`...)
	for i, t := range r.Tags {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, t)
	}
	b = append(b, `],"provider":`...)
	b = appendOptString(b, r.Provider)
	b = append(b, `,"batch":`...)
	b = strconv.AppendBool(b, r.Batch)
	b = append(b, `,"serviceTier":`...)
	b = appendOptString(b, r.ServiceTier)
	b = append(b, `,"longContext":`...)
	switch r.LongContext {
	case 1:
		b = append(b, "true"...)
	case -1:
		b = append(b, "false"...)
	default:
		b = append(b, "null"...)
	}
	return b
}

func appendOptString(b []byte, s string) []byte {
	if s == "" {
		return append(b, "null"...)
	}
	return appendString(b, s)
}

// appendString writes s as a JSON string; invalid UTF-8 becomes U+FFFD.
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, `\ufffd`...)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}
