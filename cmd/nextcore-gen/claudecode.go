package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// claudeModels are the models of the generated transcripts, with their
// share of messages: models whose list prices have not changed, so that
// any two price tables agree on them.
var claudeModels = []struct {
	name  string
	share float64
}{
	{"claude-sonnet-4-20250514", 0.7},
	{"claude-opus-4-20250514", 0.1},
	{"claude-3-5-haiku-20241022", 0.2},
}

// writeClaudeCode writes about messages assistant messages as Claude Code
// transcripts under dir/projects: sessions of a few dozen messages in a
// few dozen projects, over days days before end, some with subagents.
// Each message is written once per content block, every line with the
// same usage (as Claude Code writes a message whose usage is final), next
// to the user's turns, tool results and progress lines that carry usage
// of their own which is not a call.
func writeClaudeCode(dir string, messages, days int, end time.Time, seed uint64) (int, error) {
	rng := rand.New(rand.NewPCG(seed, seed^0x5eed))
	start := end.AddDate(0, 0, -days)
	text := func(n int) string { return strings.Repeat("lorem ipsum ", n/12+1)[:n] }
	id := func(prefix string) string {
		const letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
		b := []byte(prefix)
		for range 24 {
			b = append(b, letters[rng.IntN(len(letters))])
		}
		return string(b)
	}
	uuid := func() string {
		return fmt.Sprintf("%08x-%04x-4%03x-%04x-%012x", rng.Uint32(), rng.Uint32()&0xffff, rng.Uint32()&0xfff,
			0x8000|rng.Uint32()&0x3fff, rng.Uint64()&0xffffffffffff)
	}
	written := 0
	for s := 0; written < messages; s++ {
		project := fmt.Sprintf("-home-dev-src-service-%02d", rng.IntN(40))
		session := uuid()
		path := filepath.Join(dir, "projects", project, session+".jsonl")
		n := 10 + rng.IntN(80)
		at := start.Add(time.Duration(rng.Int64N(int64(end.Sub(start)))))
		n, err := writeSession(path, session, project, n, &at, end, rng, text, id, uuid)
		if err != nil {
			return written, err
		}
		written += n
		if rng.IntN(10) == 0 { // a subagent of the session
			sub := filepath.Join(dir, "projects", project, session, "subagents", "agent-"+id("")[:7]+".jsonl")
			k := 5 + rng.IntN(20)
			k, err := writeSession(sub, session, project, k, &at, end, rng, text, id, uuid)
			if err != nil {
				return written, err
			}
			written += k
		}
	}
	return written, nil
}

// writeSession writes a transcript of up to n messages, until end, and
// says how many it wrote.
func writeSession(path, session, project string, n int, at *time.Time, end time.Time, rng *rand.Rand,
	text func(int) string, id func(string) string, uuid func() string) (int, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return 0, err
	}
	f, err := os.Create(path)
	if err != nil {
		return 0, err
	}
	w := bufio.NewWriterSize(f, 1<<16)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	parent := ""
	line := func(v map[string]any) error {
		u := uuid()
		v["parentUuid"], v["uuid"], v["sessionId"], v["version"] = parent, u, session, "2.1.39"
		v["cwd"], v["gitBranch"], v["userType"], v["isSidechain"] = "/"+strings.ReplaceAll(project[1:], "-", "/"), "main", "external", false
		v["timestamp"] = at.UTC().Format("2006-01-02T15:04:05.000Z")
		parent = u
		return enc.Encode(v)
	}
	m := 0
	for ; m < n && at.Before(end); m++ {
		*at = at.Add(time.Duration(5+rng.IntN(120)) * time.Second)
		if err := line(map[string]any{"type": "user", "message": map[string]any{"role": "user", "content": text(50 + rng.IntN(1500))}}); err != nil {
			return m, err
		}
		r := rng.Float64()
		model := claudeModels[len(claudeModels)-1].name
		for _, cm := range claudeModels {
			if r -= cm.share; r < 0 {
				model = cm.name
				break
			}
		}
		usage := map[string]any{
			"input_tokens":                1 + rng.IntN(50),
			"cache_creation_input_tokens": rng.IntN(20000),
			"cache_read_input_tokens":     rng.IntN(150000), // under the 200k context that Claude Code runs with by default
			"output_tokens":               1 + rng.IntN(3000),
			"service_tier":                "standard",
		}
		msgID, reqID := "msg_01"+id(""), "req_011C"+id("")
		blocks := 1 + rng.IntN(4)
		for b := 0; b < blocks; b++ {
			kind := []string{"thinking", "text", "tool_use"}[rng.IntN(3)]
			block := map[string]any{"type": kind}
			switch kind {
			case "thinking":
				block["thinking"], block["signature"] = text(100+rng.IntN(2000)), text(200)
			case "text":
				block["text"] = text(20 + rng.IntN(1500))
			default:
				block["id"], block["name"], block["input"] = "toolu_01"+id(""), "Bash", map[string]any{"command": text(40 + rng.IntN(200))}
			}
			msg := map[string]any{"model": model, "id": msgID, "type": "message", "role": "assistant",
				"content": []any{block}, "stop_reason": nil, "stop_sequence": nil, "usage": usage}
			if err := line(map[string]any{"type": "assistant", "message": msg, "requestId": reqID}); err != nil {
				return m, err
			}
			*at = at.Add(time.Duration(rng.IntN(900)) * time.Millisecond)
		}
		if rng.IntN(3) == 0 { // a tool's result, and a subagent's progress: usage that is not a call here
			nested := map[string]any{"input_tokens": 9, "output_tokens": 99, "cache_read_input_tokens": 999}
			if err := line(map[string]any{"type": "user", "message": map[string]any{"role": "user",
				"content": []any{map[string]any{"type": "tool_result", "tool_use_id": "toolu_01" + id(""), "content": text(100 + rng.IntN(3000))}}},
				"toolUseResult": map[string]any{"stdout": text(200), "usage": nested}}); err != nil {
				return m, err
			}
			if err := line(map[string]any{"type": "progress", "data": map[string]any{"type": "agent_progress",
				"message": map[string]any{"type": "assistant", "message": map[string]any{"model": model, "id": "msg_01" + id(""), "usage": nested}}}}); err != nil {
				return m, err
			}
		}
	}
	if err := w.Flush(); err != nil {
		return m, err
	}
	return m, f.Close()
}
