package importer

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/nextcore-ai/nextcore/pkg/source"
	"github.com/nextcore-ai/nextcore/pkg/source/file"
)

// readAll reads every record of the files of a format.
func readAll(t *testing.T, format Format, paths ...string) []source.Record {
	t.Helper()
	var out []source.Record
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		rd, err := NewReader(format, p, f)
		if err != nil {
			f.Close()
			t.Fatalf("%s: %v", p, err)
		}
		out = append(out, drain(t, rd)...)
		f.Close()
	}
	return out
}

// drain reads a reader's records to the end.
func drain(t *testing.T, rd Reader) []source.Record {
	t.Helper()
	var out []source.Record
	for {
		var r source.Record
		err := rd.Next(&r)
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
}

func fixture(parts ...string) string { return filepath.Join(append([]string{"testdata"}, parts...)...) }

func unix(s string) int64 {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t.UnixNano()
}

// TestRecordsOfEachFormat reads a real payload of each format and checks
// every field of a record against the payload, as read by hand.
func TestRecordsOfEachFormat(t *testing.T) {
	for _, tc := range []struct {
		name   string
		format Format
		path   string
		n      int
		i      int // the record checked
		want   source.Record
	}{
		{
			// input_tokens 1000 holds 400 cached and 100 written to a
			// cache: 500 uncached (as input_uncached_tokens says).
			"openai all token fields", OpenAIUsage, fixture("openai-usage", "spec-page-2026-07-15-all-token-fields.json"), 1, 0,
			source.Record{Time: unix("2024-11-01T00:00:00Z"), Model: Ungrouped, Requests: 5, PromptTokens: 1000,
				CacheRead: 400, CacheWrite: 100, CompletionTokens: 500, Provider: "openai", Unknown: true, NoCost: true, LatencyMs: -1},
		},
		{
			"openai dashboard export", OpenAIUsage, fixture("openai-usage", "dashboard-export-daily-2025-10-05_12.tsv"), 6, 0,
			source.Record{Time: unix("2025-10-05T00:00:00Z"), Model: "gpt-4o-2024-08-06", APIKey: "key_OYRZfEkH5R9CNgtY",
				User: "user-dAU7Ud7OljwJvKfi4wQzWHyV", Project: "proj_4BhNtYH0z7dWbBtzhibxa65W", Requests: 10,
				PromptTokens: 59200, CacheRead: 5760, CompletionTokens: 10646, Provider: "openai", Unknown: true, NoCost: true, LatencyMs: -1},
		},
		{
			// Anthropic counts uncached input apart: 1500 + 200 read +
			// 500 and 1000 written.
			"anthropic grouped", AnthropicUsage, fixture("anthropic-usage", "docs-2026-08-05-account-id.json"), 1, 0,
			source.Record{Time: unix("2025-08-01T00:00:00Z"), Model: "claude-opus-4-6", APIKey: "apikey_01Rj2N8SVvo6BePZj99NhmiT",
				User: "user_01WCz1FkmYMm4gnmykNKUu3Q", Region: "global", Project: "wrkspc_01JwQvzr7rXLA5AGx3HKfFUJ",
				PromptTokens: 3200, CacheRead: 200, CacheWrite: 500, CacheWrite1h: 1000, CompletionTokens: 500,
				Provider: "anthropic", LongContext: -1, Unknown: true, NoCost: true, LatencyMs: -1},
		},
		{
			"anthropic live ungrouped", AnthropicUsage, fixture("anthropic-usage", "live-2025-09-17-ungrouped.json"), 3, 0,
			source.Record{Time: unix("2025-09-17T00:00:00Z"), Model: Ungrouped, PromptTokens: 56047359 + 2777906 + 51056717,
				CacheRead: 51056717, CacheWrite: 2777906, CompletionTokens: 2724851, Provider: "anthropic",
				Unknown: true, NoCost: true, LatencyMs: -1},
		},
		{
			// spend 0.00022500000000000002 is $0.000225; the times have no
			// zone and are UTC; 4.583 ms from start to end.
			"litellm spend log", LiteLLM, fixture("litellm-spend", "gcs-pubsub-spendlog-2026-02-21-latest.json"), 1, 0,
			source.Record{ID: "litellm:chatcmpl-2283081b-dc89-41f6-93e6-d4f914774027", Time: unix("2025-01-24T09:20:46.847371Z"),
				Model: "gpt-4o", Requests: 1, PromptTokens: 10, CompletionTokens: 20, Cost: 225_000, LatencyMs: 4,
				Provider: "openai", Success: true, Tags: nil},
		},
		{
			"litellm rows", LiteLLM, fixture("litellm-spend", "spendlogs-rows-responses-session.json"), 2, 0,
			source.Record{ID: "litellm:chatcmpl-935b8dad-fdc2-466e-a8ca-e26e5a8a21bb", Time: unix("2025-05-30T03:17:06.703Z"),
				Model: "claude-sonnet-4-5-20250929", APIKey: "sk-test-mock-api-key-123", Requests: 1, PromptTokens: 11, CompletionTokens: 318,
				Cost: 4_803_000, LatencyMs: 5191, Success: true},
		},
		{
			"openrouter activity", OpenRouter, fixture("openrouter-activity", "spec-example.json"), 1, 0,
			source.Record{Time: unix("2025-08-24T00:00:00Z"), Model: "openai/gpt-4.1", Requests: 5, PromptTokens: 50,
				CompletionTokens: 125, Reasoning: 25, Cost: 15_000_000, Provider: "openai", Unknown: true, LatencyMs: -1},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			recs := readAll(t, tc.format, tc.path)
			if len(recs) != tc.n {
				t.Fatalf("%d records, want %d", len(recs), tc.n)
			}
			got := recs[tc.i]
			if tc.want.ID == "" {
				if !strings.HasPrefix(got.ID, string(tc.format)+":") {
					t.Errorf("id %q", got.ID)
				}
				got.ID = ""
			}
			if !equal(got, tc.want) {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func equal(a, b source.Record) bool {
	if strings.Join(a.Tags, "\x00") != strings.Join(b.Tags, "\x00") {
		return false
	}
	a.Tags, b.Tags = nil, nil
	return reflect.DeepEqual(a, b)
}

// TestOpenAIExportTotals checks the dashboard export's sums against the
// file's columns added up by another program (Python's csv module): 6
// rows of usage (two days have none), 53 requests, 339,711 input tokens of
// which 13,952 cached, 549,459 output; importing it counts each row once,
// the two rows of one day, model and key included.
func TestOpenAIExportTotals(t *testing.T) {
	recs := readAll(t, OpenAIUsage, fixture("openai-usage", "dashboard-export-daily-2025-10-05_12.tsv"))
	var req, in, cached, out int64
	ids := map[string]bool{}
	for _, r := range recs {
		req, in, cached, out = req+r.Requests, in+r.PromptTokens, cached+r.CacheRead, out+r.CompletionTokens
		ids[r.ID] = true
	}
	if len(recs) != 6 || req != 53 || in != 339711 || cached != 13952 || out != 549459 {
		t.Errorf("%d rows, %d requests, %d input (%d cached), %d output", len(recs), req, in, cached, out)
	}
	if len(ids) != len(recs) {
		t.Errorf("%d ids for %d rows: two rows of the same groups must both count", len(ids), len(recs))
	}
	again := readAll(t, OpenAIUsage, fixture("openai-usage", "dashboard-export-daily-2025-10-05_12.tsv"))
	for i := range again {
		if again[i].ID != recs[i].ID {
			t.Fatalf("ids change between reads: %q, %q", recs[i].ID, again[i].ID)
		}
	}
}

// TestClaudeCodeKeepsTheFinalUsage reads real transcripts (9 files,
// subagents' included) whose 658 assistant lines are 330 messages, 160 of
// them written with a provisional usage first: each message counts once,
// with its last line's usage. The sums by model are those of a Python
// reading of the same lines (the top-level assistant lines' message.usage,
// the last per message.id and requestId); keeping the first line instead
// gives 23,529 output tokens rather than 81,078.
func TestClaudeCodeKeepsTheFinalUsage(t *testing.T) {
	files, err := ClaudeCodeFiles(fixture("claude-code", "projects"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 9 {
		t.Fatalf("%d transcripts", len(files))
	}
	recs := readAll(t, ClaudeCode, files...)
	type sums struct{ calls, input, read, write5m, write1h, output int64 }
	got := map[string]sums{}
	ids := map[string]bool{}
	for _, r := range recs {
		if ids[r.ID] {
			continue // the same message in two files: the cache keeps one
		}
		ids[r.ID] = true
		s := got[r.Model]
		s.calls += r.Requests
		s.input += r.Input()
		s.read += r.CacheRead
		s.write5m += r.CacheWrite
		s.write1h += r.CacheWrite1h
		s.output += r.CompletionTokens
		got[r.Model] = s
		if r.Project == "" || r.Provider != "anthropic" || !r.NoCost || !r.Success {
			t.Fatalf("record %+v", r)
		}
	}
	want := map[string]sums{
		"claude-haiku-4-5-20251001":  {13, 94, 299487, 0, 13554, 33},
		"claude-opus-4-6":            {314, 4300, 31373061, 0, 672599, 81042},
		"claude-sonnet-4-5-20250929": {3, 15, 34159, 0, 42176, 3},
	}
	for m, w := range want {
		if got[m] != w {
			t.Errorf("%s: %+v, want %+v", m, got[m], w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("models %v", got)
	}
	for _, r := range recs {
		if r.Project != "-home-marco-projects-spotter" &&
			r.Project != "-home-marco-projects-spotter-worktrees-spotter-fum" && r.Project != "-home-marco-projects-spotter-worktrees-spotter-gqc" {
			t.Fatalf("project %q of %s", r.Project, r.ID)
		}
	}
}

// TestClaudeCodeOddLines reads hand-written transcripts of other tools:
// lines that are not JSON objects are passed over and counted, lines
// without a type but with an assistant message count (ccusage's fixtures),
// costUSD is the reported cost when a line has it.
func TestClaudeCodeOddLines(t *testing.T) {
	f, err := os.Open(fixture("claude-code", "claude-code-log", "edge_cases.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rd, err := NewReader(ClaudeCode, "edge_cases.jsonl", f)
	if err != nil {
		t.Fatal(err)
	}
	if n := rd.(*claudeCodeReader).Ignored(); n != 3 {
		t.Errorf("%d lines passed over, want 3 (\"massive error\", 42, [1])", n)
	}
	recs := readAll(t, ClaudeCode, fixture("claude-code", "ccusage", "projects", "project-alpha", "session-alpha", "chat.jsonl"))
	if len(recs) != 3 {
		t.Fatalf("%d records", len(recs))
	}
	r := recs[1]
	if r.Model != "claude-opus-4-20250514" || r.Cost != 340_000_000 || r.NoCost || r.Input() != 200 ||
		r.CacheWrite != 50 || r.CacheRead != 20 || r.CompletionTokens != 75 || r.Project != "project-alpha" {
		t.Errorf("%+v", r)
	}
}

// TestBadInput gives each format what it must refuse: one error naming
// the file, line and field, and no record.
func TestBadInput(t *testing.T) {
	anthropicPage := `{"data":[{"starting_at":"2025-08-01T00:00:00Z","ending_at":"2025-08-02T00:00:00Z","results":[{"uncached_input_tokens":5,"output_tokens":1,"model":"m"}]}]}`
	openaiPage := `{"object":"page","data":[{"object":"bucket","start_time":1730419200,"end_time":1730505600,"results":[{"object":"organization.usage.completions.result","input_tokens":10,"output_tokens":5,"num_model_requests":1,"model":"gpt-4o"}]}]}`
	for _, tc := range []struct {
		name   string
		format Format
		input  string
		want   string // in the error
	}{
		{"truncated", OpenAIUsage, openaiPage[:80], "f.json:1: the JSON ends too early"},
		{"anthropic page as openai", OpenAIUsage, anthropicPage, `field "data[0].starting_at": an Anthropic bucket, not OpenAI's: use --from anthropic-usage`},
		{"openai page as anthropic", AnthropicUsage, openaiPage, `field "data[0].start_time": an OpenAI bucket`},
		{"costs page as usage", OpenAIUsage, strings.Replace(openaiPage, "usage.completions", "costs", 1), "use --from openai-costs"},
		{"unknown bucket width", OpenAIUsage, strings.Replace(openaiPage, "1730505600", "1730420100", 1), `field "data[0].end_time": a bucket of 15m0s`},
		{"negative tokens", OpenAIUsage, strings.Replace(openaiPage, `"output_tokens":5`, `"output_tokens":-5`, 1), `field "data[0].results[0].output_tokens": negative: -5`},
		{"fractional tokens", OpenAIUsage, strings.Replace(openaiPage, `"output_tokens":5`, `"output_tokens":"5.5"`, 1), "not a whole number: 5.5"},
		{"no zone", AnthropicUsage, strings.Replace(anthropicPage, "2025-08-01T00:00:00Z", "2025-08-01T00:00:00", 1), `field "data[0].starting_at": no time zone`},
		{"not a page", AnthropicUsage, `[1,2]`, `f.json:1: field "[0]": not a page`},
		{"second page", OpenAIUsage, openaiPage + "\n" + strings.Replace(openaiPage, `"output_tokens":5`, `"output_tokens":null,"input_uncached_tokens":3`, 1),
			`f.json:2: field "data[0].results[0].input_uncached_tokens": 3, but input 10 less cached 0 and cache writes 0 is 10`},
		{"empty", LiteLLM, "  \n", "f.json: file is empty"},
		{"litellm bad tags", LiteLLM, `{"request_id":"r1","startTime":"2025-01-24 09:20:46","model":"m","request_tags":"[\"a\",\"a\"]"}`, `field "request_tags": tag "a" appears twice`},
		{"litellm no time", LiteLLM, `{"request_id":"r1","model":"m"}`, `field "startTime": missing`},
		{"claude code no zone", ClaudeCode, `{"type":"assistant","timestamp":"2026-01-01 10:00:00","message":{"id":"m1","model":"claude-opus-4-6","usage":{"input_tokens":1,"output_tokens":1}},"requestId":"r"}`,
			`f.json:1: field "timestamp": no time zone`},
		{"claude code reasoning", ClaudeCode, `{"type":"assistant","timestamp":"2026-01-01T10:00:00Z","message":{"id":"m1","model":"claude-opus-4-6","usage":{"input_tokens":-1,"output_tokens":1}},"requestId":"r"}`,
			`field "message.usage.input_tokens": negative`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rd, err := NewReader(tc.format, "f.json", strings.NewReader(tc.input))
			for err == nil { // the good records before the bad one come first
				var r source.Record
				err = rd.Next(&r)
				if errors.Is(err, io.EOF) {
					t.Fatal("no error")
				}
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q, want %q in it", err, tc.want)
			}
			var re *file.RecordError
			if tc.name != "empty" && !errors.As(err, &re) {
				t.Errorf("%T is not a record error (the import's --skip-invalid would not apply)", err)
			}
		})
	}
}

// TestRoundUSD reads amounts as the sources write them, to the
// nano-dollar, halves away from zero.
func TestRoundUSD(t *testing.T) {
	for _, tc := range []struct {
		s    string
		exp  int
		want source.USD
	}{
		{"0.00022500000000000002", 0, 225_000},
		{"2.5e-06", 0, 2_500},
		{"0.0000000005", 0, 1},
		{"-0.0000000005", 0, -1},
		{"0.00000000049999", 0, 0},
		{"123.78912", 2, 1_237_891_200},     // cents
		{"83391.52823", 2, 833_915_282_300}, // cents
		{"0.000000015", 2, 0},               // 0.15 nano-dollars
		{"0.00000005", 2, 1},                // half a nano-dollar
		{"12", 0, 12_000_000_000},
	} {
		got, err := roundUSD(tc.s, tc.exp)
		if err != nil || got != tc.want {
			t.Errorf("roundUSD(%q, %d) = %d, %v; want %d", tc.s, tc.exp, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "abc", "1e400000", "NaN"} {
		if _, err := roundUSD(bad, 0); err == nil {
			t.Errorf("roundUSD(%q) read", bad)
		}
	}
}

func TestClaudeCodeProject(t *testing.T) {
	for path, want := range map[string]string{
		"/home/a/.claude/projects/-home-a-src-app/0b1c.jsonl":                           "-home-a-src-app",
		"/home/a/.claude/projects/-home-a-src-app/0b1c/subagents/agent-1.jsonl":         "-home-a-src-app",
		"/tmp/projects/project-alpha/session-alpha/chat.jsonl":                          "project-alpha",
		"/tmp/export/-home-a-src-app/0b1c.jsonl":                                        "-home-a-src-app",
		"/tmp/export/-home-a-src-app/0b1c/subagents/agent-1.jsonl":                      "-home-a-src-app",
		"/home/a/projects/work/.claude/projects/-home-a-projects-x/s.jsonl":             "-home-a-projects-x",
		"/home/a/projects/work/.claude/projects/-home-a-projects-x/s/subagents/a.jsonl": "-home-a-projects-x",
	} {
		if got := claudeCodeProject(path); got != want {
			t.Errorf("%s: %q, want %q", path, got, want)
		}
	}
}

// TestScanLineAgreesWithEncodingJSON: on every line of the transcripts
// in testdata, the scanner that passes over text reads what encoding/json
// reads; and a line cut anywhere short is never read as a call.
func TestScanLineAgreesWithEncodingJSON(t *testing.T) {
	var paths []string
	for _, root := range []string{fixture("claude-code", "projects"), fixture("claude-code", "claude-code-log"), fixture("claude-code", "ccusage")} {
		files, err := ClaudeCodeFiles(root)
		if err != nil {
			t.Fatal(err)
		}
		paths = append(paths, files...)
	}
	lines := 0
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for i, b := range bytes.Split(data, []byte("\n")) {
			b = bytes.TrimSpace(b)
			var m map[string]any
			if json.Unmarshal(b, &m) != nil {
				var l ccLine
				if len(b) > 0 && scanLine(b, &l) == nil && l.Message != nil && l.Message.Usage != nil {
					t.Errorf("%s:%d: not JSON, read as a call", p, i+1)
				}
				continue
			}
			lines++
			var want, got ccLine
			if err := json.Unmarshal(b, &want); err != nil {
				continue // a field of another type than the struct's: not a line of Claude Code
			}
			if err := scanLine(b, &got); err != nil {
				t.Fatalf("%s:%d: %v", p, i+1, err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("%s:%d:\nscan %+v\njson %+v", p, i+1, got, want)
			}
			for cut := 1; cut < len(b); cut += 1 + len(b)/50 {
				var l ccLine
				if scanLine(b[:cut], &l) == nil {
					t.Fatalf("%s:%d cut at %d: read", p, i+1, cut)
				}
			}
		}
	}
	if lines < 3000 {
		t.Errorf("only %d lines", lines)
	}
}

// TestLiteLLMTableExport reads the LiteLLM_SpendLogs table as a database
// tool exports it to CSV: the schema's columns, JSON columns as text, an
// empty status (an older proxy), tags as a JSON list in a string, a float
// spend with noise, and times with and without a zone.
func TestLiteLLMTableExport(t *testing.T) {
	csv := `request_id,call_type,api_key,spend,total_tokens,prompt_tokens,completion_tokens,startTime,endTime,model,model_group,user,metadata,cache_hit,request_tags,team_id,end_user,status,custom_llm_provider
chatcmpl-1,acompletion,88dc28d0f030c55ed4ab77ed8faf098196cb1c05df778539800c9f1243fe6b4b,0.00022500000000000002,30,10,20,2025-01-24 09:20:46.847371,2025-01-24 09:20:47.100000,gpt-4o,gpt-4o,alice,"{""user_api_key_team_alias"": ""search"", ""usage_object"": {""prompt_tokens_details"": {""cached_tokens"": 4}, ""completion_tokens_details"": {""reasoning_tokens"": 5}}}",,"[""prod"", ""batch-job""]",team-123,,success,openai
chatcmpl-2,acompletion,88dc,1.5e-05,3,2,1,2025-01-24T09:21:00+01:00,,claude-3-5-haiku-20241022,,,{},,,,bob,,anthropic
`
	rd, err := NewReader(LiteLLM, "spendlogs.csv", strings.NewReader(csv))
	if err != nil {
		t.Fatal(err)
	}
	recs := drain(t, rd)
	if len(recs) != 2 {
		t.Fatalf("%d records", len(recs))
	}
	a, b := recs[0], recs[1]
	if a.Cost != 225_000 || a.CacheRead != 4 || a.Reasoning != 5 || a.Project != "search" || strings.Join(a.Tags, ",") != "prod,batch-job" ||
		a.LatencyMs != 252 || !a.Success || a.User != "alice" || a.Time != unix("2025-01-24T09:20:46.847371Z") {
		t.Errorf("first row %+v", a)
	}
	if b.Cost != 15_000 || !b.Unknown || b.User != "bob" || b.Project != "" || b.Time != unix("2025-01-24T08:21:00Z") || b.LatencyMs != -1 {
		t.Errorf("second row %+v", b)
	}
}
