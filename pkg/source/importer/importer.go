// Package importer reads other sources' usage as records v2 (docs/ledger.md):
// the usage exports of OpenAI and Anthropic, LiteLLM's spend logs,
// OpenRouter's activity and Claude Code's transcripts. Each format maps the
// source's own fields onto a record, keeps its counting convention (OpenAI's
// input tokens include the cached ones, Anthropic's do not), and gives each
// record an id made of the source's own key, so that importing the same data
// twice, or two exports that overlap, stores each thing once.
package importer

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/nextcore-ai/nextcore/pkg/source"
	"github.com/nextcore-ai/nextcore/pkg/source/file"
)

// Format is a source's export format.
type Format string

// The formats, as --from names them.
const (
	OpenAIUsage    Format = "openai-usage"
	AnthropicUsage Format = "anthropic-usage"
	LiteLLM        Format = "litellm"
	OpenRouter     Format = "openrouter"
	ClaudeCode     Format = "claude-code"
)

// Formats are the formats that yield usage records, in the order help lists
// them.
var Formats = []Format{OpenAIUsage, AnthropicUsage, LiteLLM, OpenRouter, ClaudeCode}

// ParseFormat checks a --from value: a format of usage or of a bill.
func ParseFormat(s string) (Format, error) {
	f := Format(strings.ToLower(strings.TrimSpace(s)))
	all := append(slices.Clone(Formats), BillFormats...)
	if slices.Contains(all, f) {
		return f, nil
	}
	names := make([]string, len(all))
	for i, f := range all {
		names[i] = string(f)
	}
	return "", fmt.Errorf("unknown --from %q (one of %s)", s, strings.Join(names, ", "))
}

// Reader yields the records of one input, in the order the source gives
// them; Next returns io.EOF after the last.
type Reader interface {
	Next(*source.Record) error
	BytesRead() int64
}

// NewReader reads the records of format from r, named name in errors.
func NewReader(format Format, name string, r io.Reader) (Reader, error) {
	switch format {
	case OpenAIUsage:
		return newBucketReader(name, r, openAIUsage)
	case AnthropicUsage:
		return newBucketReader(name, r, anthropicUsage)
	case OpenRouter:
		return newBucketReader(name, r, openRouter)
	case LiteLLM:
		return newLiteLLMReader(name, r)
	case ClaudeCode:
		return newClaudeCodeReader(name, r)
	}
	return nil, fmt.Errorf("unknown format %q", format)
}

// sourceID is a record id made of a source's key: the format's name and a
// hash of the key's parts (which may be long, and hold any character).
func sourceID(format Format, parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return string(format) + ":" + hex.EncodeToString(h.Sum(nil)[:16])
}

// recordError is a bad record of name at line, in field.
func recordError(name string, line int, field, format string, args ...any) error {
	return &file.RecordError{File: name, Line: line, Field: field, Reason: fmt.Sprintf(format, args...)}
}

// finish checks a record made by an importer as the record file format
// checks its records (ledger.md §1), and fills what follows from the rest:
// the prompt from its parts when the source gave them.
func finish(r *source.Record) (field, reason string) {
	switch {
	case r.Model == "":
		return "model", "missing"
	case r.PromptTokens < 0 || r.CompletionTokens < 0 || r.CacheRead < 0 || r.CacheWrite < 0 || r.CacheWrite1h < 0 || r.Reasoning < 0:
		return "tokens", "a token count is negative"
	case r.Requests < 0:
		return "requests", "negative"
	case r.Input() < 0:
		return "tokens", fmt.Sprintf("cached and cache-write tokens (%d) exceed the input (%d)",
			r.CacheRead+r.CacheWrite+r.CacheWrite1h, r.PromptTokens)
	case r.Reasoning > r.CompletionTokens:
		return "reasoning", fmt.Sprintf("%d reasoning tokens above %d output tokens", r.Reasoning, r.CompletionTokens)
	}
	return "", ""
}

// entries are the records of a file read whole, in order, with the bad
// ones where they were: Next returns a bad record's error in its place and
// goes on after it (the import's --skip-invalid skips it).
type entries struct {
	list []entry
	size int64
}

type entry struct {
	r   source.Record
	err error
}

func (e *entries) Next(r *source.Record) error {
	if len(e.list) == 0 {
		return io.EOF
	}
	x := &e.list[0]
	e.list = e.list[1:]
	if x.err != nil {
		return x.err
	}
	*r = x.r
	return nil
}

func (e *entries) BytesRead() int64 { return e.size }

// bad adds a bad record's error in its place.
func (e *entries) bad(err error) { e.list = append(e.list, entry{err: err}) }
