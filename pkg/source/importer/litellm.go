package importer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/nextcore-ai/nextcore/pkg/source"
	"github.com/nextcore-ai/nextcore/pkg/source/wire"
)

func newLiteLLMReader(name string, r io.Reader) (Reader, error) {
	return newBucketReader(name, r, liteLLM)
}

// liteLLM reads LiteLLM's spend logs: the rows of /spend/logs (a JSON list,
// or one row per line) or of the LiteLLM_SpendLogs table exported as CSV.
// A row is a call: request_id is its key, spend what LiteLLM charged for it
// (a float as Python prints it, read to the nano-dollar), the team its
// project, request_tags its tags. LiteLLM writes times without a zone, in
// UTC.
var liteLLM = bucketFormat{
	format: LiteLLM,
	flat:   true,
	bare:   true,
	result: func(_ int64, row obj, r *source.Record) (string, error) {
		id, err := row.str("request_id")
		if err != nil {
			return "request_id", err
		}
		if id == "" {
			return "request_id", errAbsent
		}
		r.ID = string(LiteLLM) + ":" + id
		r.Requests = 1
		start, err := row.str("startTime")
		if err != nil || start == "" {
			return "startTime", errors.Join(err, errAbsent)
		}
		if r.Time, err = parseTime(start, true); err != nil {
			return "startTime", err
		}
		r.LatencyMs = -1
		if ms, err := row.count("request_duration_ms"); err == nil && row["request_duration_ms"] != nil {
			r.LatencyMs = ms
		} else if end, _ := row.str("endTime"); end != "" {
			t, err := parseTime(end, true)
			if err != nil {
				return "endTime", err
			}
			if t >= r.Time {
				r.LatencyMs = (t - r.Time) / int64(time.Millisecond)
			}
		}
		for _, c := range []struct {
			key string
			to  *int64
		}{{"prompt_tokens", &r.PromptTokens}, {"completion_tokens", &r.CompletionTokens}} {
			if *c.to, err = row.count(c.key); err != nil {
				return c.key, err
			}
		}
		cost, ok, err := row.dollars("spend", 0)
		if err != nil {
			return "spend", err
		}
		r.Cost, r.NoCost = cost, !ok
		var group, team string
		for _, g := range []struct {
			key string
			to  *string
		}{
			{"model", &r.Model}, {"model_group", &group}, {"api_key", &r.APIKey}, {"user", &r.User},
			{"team_id", &team}, {"custom_llm_provider", &r.Provider},
		} {
			if *g.to, err = row.str(g.key); err != nil {
				return g.key, err
			}
		}
		if r.Model == "" {
			r.Model = group
		}
		if r.User == "" {
			if r.User, err = row.str("end_user"); err != nil {
				return "end_user", err
			}
		}
		meta, err := row.jsonObject("metadata")
		if err != nil {
			return "metadata", err
		}
		// The team's name where LiteLLM kept it, else its id.
		r.Project = team
		if alias, _ := meta.str("user_api_key_team_alias"); alias != "" {
			r.Project = alias
		} else if r.Project == "" {
			r.Project, _ = meta.str("user_api_key_team_id")
		}
		if field, err := liteLLMUsage(meta, r); err != nil {
			return "metadata.usage_object." + field, err
		}
		if r.Tags, err = row.tags("request_tags"); err != nil {
			return "request_tags", err
		}
		status, err := row.str("status")
		if err != nil {
			return "status", err
		}
		switch strings.ToLower(status) {
		case "success":
			r.Success = true
		case "failure", "error", "failed":
		case "":
			r.Unknown = true
		default:
			return "status", fmt.Errorf("%q: not success or failure", status)
		}
		return "", nil
	},
}

// liteLLMUsage reads the cache and reasoning tokens of the provider's usage
// that LiteLLM keeps in the row's metadata (usage_object), in OpenAI's
// convention: cached tokens are part of prompt_tokens.
func liteLLMUsage(meta obj, r *source.Record) (string, error) {
	usage, err := meta.object("usage_object")
	if err != nil {
		return "", err
	}
	prompt, err := usage.object("prompt_tokens_details")
	if err != nil {
		return "prompt_tokens_details", err
	}
	completion, err := usage.object("completion_tokens_details")
	if err != nil {
		return "completion_tokens_details", err
	}
	for _, c := range []struct {
		o     obj
		field string
		key   string
		to    *int64
	}{
		{prompt, "prompt_tokens_details.", "cached_tokens", &r.CacheRead},
		{usage, "", "cache_creation_input_tokens", &r.CacheWrite},
		{completion, "completion_tokens_details.", "reasoning_tokens", &r.Reasoning},
	} {
		n, err := c.o.count(c.key)
		if err != nil {
			return c.field + c.key, err
		}
		*c.to = n
	}
	return "", nil
}

// jsonObject is an object field, or a string holding one (as a database
// export writes a JSON column); empty when absent, null or "".
func (o obj) jsonObject(key string) (obj, error) {
	s, isStr := o[key].(string)
	if !isStr {
		return o.object(key)
	}
	if strings.TrimSpace(s) == "" {
		return obj{}, nil
	}
	var v any
	dec := json.NewDecoder(bytes.NewReader([]byte(s)))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("not JSON: %v", err)
	}
	switch v := v.(type) {
	case nil:
		return obj{}, nil
	case map[string]any:
		return obj(v), nil
	}
	return nil, fmt.Errorf("not a JSON object")
}

// tags is a list of tags: a JSON list, or a string holding one, checked as
// records' tags are.
func (o obj) tags(key string) ([]string, error) {
	v := o[key]
	if s, ok := v.(string); ok {
		if strings.TrimSpace(s) == "" {
			return nil, nil
		}
		dec := json.NewDecoder(strings.NewReader(s))
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Errorf("not a JSON list: %v", err)
		}
	}
	if v == nil {
		return nil, nil
	}
	list, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("not a list")
	}
	var tags []string
	for _, t := range list {
		s, ok := t.(string)
		if !ok {
			return nil, fmt.Errorf("a tag that is not a string: %v", t)
		}
		tags = append(tags, s)
	}
	if err := wire.CheckTags(tags); err != nil {
		return nil, err
	}
	return tags, nil
}
