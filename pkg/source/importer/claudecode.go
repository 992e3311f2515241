package importer

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/nextcore-ai/nextcore/pkg/source"
)

// Claude Code writes a transcript per session, a JSON object per line, in
// a directory per project: <projects>/<project>/<session>.jsonl, and its
// subagents' under <projects>/<project>/<session>/subagents/. An API call
// is an assistant message: the top-level lines of type "assistant" whose
// message has a usage. A streamed message is written once per content
// block, so one message (message.id with the line's requestId) spans
// several lines; the first ones may carry a provisional output count and
// the last one the final: the final usage is the message's. Usage objects
// inside other lines (progress, tool results) are not calls and are never
// counted.

// ClaudeCodeDir is the projects directory of Claude Code's configuration
// (CLAUDE_CONFIG_DIR, else ~/.claude), as getenv gives the environment.
func ClaudeCodeDir(getenv func(string) string) string {
	if dir := getenv("CLAUDE_CONFIG_DIR"); dir != "" {
		return filepath.Join(dir, "projects")
	}
	home := getenv("HOME")
	if home == "" {
		home, _ = os.UserHomeDir()
	}
	return filepath.Join(home, ".claude", "projects")
}

// ClaudeCodeFiles lists the transcripts under a projects directory (or the
// file itself), subagents' included, in a stable order.
func ClaudeCodeFiles(root string) ([]string, error) {
	st, err := os.Stat(root)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		return []string{root}, nil
	}
	var files []string
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(d.Name(), ".jsonl") {
			files = append(files, path)
		}
		return nil
	})
	slices.Sort(files)
	return files, err
}

// claudeCodeProject is the project of a transcript: the directory below
// Claude Code's projects directory that it is in (Claude Code names it
// after the project's path); outside one, the directory it is in, for a
// subagent's the directory of its session's.
func claudeCodeProject(path string) string {
	parts := strings.Split(filepath.ToSlash(filepath.Clean(path)), "/")
	for i := len(parts) - 3; i >= 0; i-- {
		if parts[i] == "projects" {
			return parts[i+1]
		}
	}
	dir := filepath.Dir(path)
	if filepath.Base(dir) == "subagents" {
		dir = filepath.Dir(filepath.Dir(dir))
	}
	return filepath.Base(dir)
}

// ccLine is what a transcript line says that matters here.
type ccLine struct {
	Type      string       `json:"type"`
	Timestamp string       `json:"timestamp"`
	RequestID string       `json:"requestId"`
	UUID      string       `json:"uuid"`
	CostUSD   *json.Number `json:"costUSD"`
	APIError  bool         `json:"isApiErrorMessage"`
	Message   *ccMessage   `json:"message"`
}

type ccMessage struct {
	ID    string   `json:"id"`
	Role  string   `json:"role"`
	Model string   `json:"model"`
	Usage *ccUsage `json:"usage"`
}

type ccUsage struct {
	Input         *json.Number `json:"input_tokens"`
	CacheCreation *json.Number `json:"cache_creation_input_tokens"`
	CacheRead     *json.Number `json:"cache_read_input_tokens"`
	Output        *json.Number `json:"output_tokens"`
	Creation      *struct {
		FiveMin *json.Number `json:"ephemeral_5m_input_tokens"`
		OneHour *json.Number `json:"ephemeral_1h_input_tokens"`
	} `json:"cache_creation"`
	ServiceTier string `json:"service_tier"`
}

// claudeCodeReader reads one transcript: each message once, with its final
// usage, in the order the messages began.
type claudeCodeReader struct {
	entries
	ignored int64
}

// Ignored is how many lines were not JSON objects (a damaged or
// half-written line, which Claude Code can leave).
func (c *claudeCodeReader) Ignored() int64 { return c.ignored }

// maxTranscriptLine bounds a transcript line (a tool result can be large).
const maxTranscriptLine = 64 << 20

func newClaudeCodeReader(name string, r io.Reader) (Reader, error) {
	c := &claudeCodeReader{}
	project := claudeCodeProject(name)
	at := map[string]int{} // message key → index in recs
	br := bufio.NewReaderSize(r, 64<<10)
	for line := 1; ; line++ {
		b, err := readLine(br)
		c.size += int64(len(b))
		if len(b) > 0 {
			if ferr := c.line(name, line, project, bytes.TrimSpace(b), at); ferr != nil {
				c.bad(ferr)
			}
		}
		if errors.Is(err, io.EOF) {
			return c, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	}
}

// readLine reads a line with its newline, however long, up to
// maxTranscriptLine.
func readLine(br *bufio.Reader) ([]byte, error) {
	b, err := br.ReadSlice('\n')
	if !errors.Is(err, bufio.ErrBufferFull) {
		return b, err
	}
	long := append([]byte(nil), b...)
	for errors.Is(err, bufio.ErrBufferFull) {
		b, err = br.ReadSlice('\n')
		long = append(long, b...)
		if len(long) > maxTranscriptLine {
			return nil, fmt.Errorf("a line over %d MiB", maxTranscriptLine>>20)
		}
	}
	return long, err
}

// line reads one transcript line into the messages.
func (c *claudeCodeReader) line(name string, n int, project string, b []byte, at map[string]int) error {
	if len(b) == 0 {
		return nil
	}
	if !bytes.Contains(b, []byte(`"assistant"`)) {
		// Not a call. A line cut short (Claude Code killed mid-write)
		// does not end its object: counted without reading it all.
		if b[0] != '{' || b[len(b)-1] != '}' {
			c.ignored++
		}
		return nil
	}
	var l ccLine
	if err := scanLine(b, &l); err != nil {
		c.ignored++
		return nil
	}
	m := l.Message
	if m == nil || m.Usage == nil || (l.Type != "assistant" && (l.Type != "" || m.Role != "assistant")) {
		return nil // not an assistant message: a user line, a summary, progress…
	}
	if m.Model == "<synthetic>" || l.APIError {
		return nil // written by Claude Code itself, not an API call
	}
	var r source.Record
	var err error
	if l.Timestamp == "" {
		return recordError(name, n, "timestamp", "missing")
	}
	if r.Time, err = parseTime(l.Timestamp, false); err != nil {
		return recordError(name, n, "timestamp", "%v", err)
	}
	u := m.Usage
	var input, creation int64
	for _, f := range []struct {
		key string
		v   *json.Number
		to  *int64
	}{
		{"input_tokens", u.Input, &input}, {"cache_creation_input_tokens", u.CacheCreation, &creation},
		{"cache_read_input_tokens", u.CacheRead, &r.CacheRead}, {"output_tokens", u.Output, &r.CompletionTokens},
	} {
		if f.v == nil {
			continue
		}
		if *f.to, err = parseCount(f.v.String()); err != nil {
			return recordError(name, n, "message.usage."+f.key, "%v", err)
		}
	}
	// The cache writes by lifetime where the line says, else all 5-minute.
	r.CacheWrite = creation
	if u.Creation != nil && (u.Creation.FiveMin != nil || u.Creation.OneHour != nil) {
		var five, hour int64
		for _, f := range []struct {
			key string
			v   *json.Number
			to  *int64
		}{{"ephemeral_5m_input_tokens", u.Creation.FiveMin, &five}, {"ephemeral_1h_input_tokens", u.Creation.OneHour, &hour}} {
			if f.v == nil {
				continue
			}
			if *f.to, err = parseCount(f.v.String()); err != nil {
				return recordError(name, n, "message.usage.cache_creation."+f.key, "%v", err)
			}
		}
		if five+hour != creation && creation != 0 {
			return recordError(name, n, "message.usage.cache_creation", "%d + %d tokens, but cache_creation_input_tokens is %d", five, hour, creation)
		}
		r.CacheWrite, r.CacheWrite1h = five, hour
	}
	r.PromptTokens = input + r.CacheRead + r.CacheWrite + r.CacheWrite1h
	r.Model = m.Model
	if r.Model == "" {
		return recordError(name, n, "message.model", "missing")
	}
	r.Requests, r.Success, r.LatencyMs = 1, true, -1
	r.Provider, r.Project = "anthropic", project
	if u.ServiceTier != "standard" {
		r.ServiceTier = u.ServiceTier
	}
	r.NoCost = true
	if l.CostUSD != nil {
		if r.Cost, err = roundUSD(l.CostUSD.String(), 0); err != nil {
			return recordError(name, n, "costUSD", "%v", err)
		}
		r.NoCost = false
	}
	key := m.ID + "\x00" + l.RequestID
	if m.ID == "" {
		key = "line\x00" + l.UUID // no message id (hand-written lines): each line is a call
		if l.UUID == "" {
			key = fmt.Sprintf("line\x00%s:%d", filepath.Base(name), n)
		}
	}
	r.ID = string(ClaudeCode) + ":" + strings.ReplaceAll(key, "\x00", ":")
	if i, ok := at[key]; ok {
		// A later line of the same message: its usage is the final one;
		// the message keeps the time it began.
		r.Time, r.ID = c.list[i].r.Time, c.list[i].r.ID
		c.list[i].r = r
		return nil
	}
	at[key] = len(c.list)
	c.list = append(c.list, entry{r: r})
	return nil
}
