package pgstore

import (
	"encoding/hex"
	"strconv"

	"github.com/nextcore-ai/nextcore/pkg/source"
)

// The rows a writer sends are in COPY's text format, made here: a record
// is a few appends, where the generic binary encoding plans every value.

// appendText appends s escaped for a COPY text field.
func appendText(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			b = append(b, '\\', '\\')
		case '\t':
			b = append(b, '\\', 't')
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		default:
			b = append(b, c)
		}
	}
	return b
}

// appendArray appends a text[] of tags: {"a","b"}, each element quoted
// with its quotes and backslashes escaped, then escaped for COPY.
func appendArray(b []byte, tags []string) []byte {
	b = append(b, '{')
	for i, t := range tags {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '"')
		for j := 0; j < len(t); j++ {
			if t[j] == '"' || t[j] == '\\' {
				b = appendText(b, "\\")
			}
			b = appendText(b, t[j:j+1])
		}
		b = append(b, '"')
	}
	return append(b, '}')
}

func appendInt(b []byte, v int64) []byte { return append(strconv.AppendInt(b, v, 10), '\t') }

func appendBool(b []byte, v bool) []byte {
	if v {
		return append(b, 't', '\t')
	}
	return append(b, 'f', '\t')
}

func appendField(b []byte, s string) []byte { return append(appendText(b, s), '\t') }

// appendRecord appends r as a line of recordCols.
func appendRecord(b []byte, tid int32, r *source.Record) []byte {
	var bucket int64
	if r.LatencyMs >= 0 {
		bucket = int64(source.LatencyBucketOf(r.LatencyMs))
	}
	b = appendInt(b, int64(tid))
	b = appendField(b, r.ID)
	b = appendInt(b, r.Time)
	b = appendField(b, r.Model)
	b = appendField(b, r.APIKey)
	b = appendField(b, r.User)
	b = appendField(b, r.Region)
	b = appendBool(b, r.Success)
	b = appendBool(b, r.Unknown)
	b = appendInt(b, int64(r.StatusCode))
	b = appendInt(b, r.PromptTokens)
	b = appendInt(b, r.CompletionTokens)
	b = appendInt(b, int64(r.Cost))
	b = appendInt(b, r.LatencyMs)
	b = appendInt(b, bucket)
	b = appendInt(b, r.Requests)
	b = appendInt(b, r.CacheRead)
	b = appendInt(b, r.CacheWrite)
	b = appendInt(b, r.CacheWrite1h)
	b = appendInt(b, r.Reasoning)
	b = appendField(b, r.Project)
	b = appendField(b, r.Provider)
	b = append(appendArray(b, r.Tags), '\t')
	b = appendField(b, r.ServiceTier)
	b = appendBool(b, r.Batch)
	b = appendInt(b, int64(r.LongContext))
	b = appendBool(b, r.NoCost)
	b[len(b)-1] = '\n'
	return b
}

// appendRollup appends a rollup delta as a line of rollupCols.
func appendRollup(b []byte, tid int32, k rollupKey, t *source.Totals) []byte {
	b = appendInt(b, int64(tid))
	b = appendInt(b, int64(k.dim))
	b = appendInt(b, int64(k.level))
	b = appendInt(b, k.start)
	b = appendField(b, k.member)
	for _, c := range t.Counters() {
		b = appendInt(b, *c)
	}
	if t.Latency == nil {
		b = append(b, '\\', 'N')
	} else {
		b = append(b, '\\', '\\', 'x')
		b = hex.AppendEncode(b, t.Latency.MarshalBinary())
	}
	return append(b, '\n')
}
