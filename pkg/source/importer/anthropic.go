package importer

import (
	"errors"
	"fmt"
	"strings"

	"github.com/nextcore-ai/nextcore/pkg/source"
)

// anthropicUsage reads pages of GET /v1/organizations/usage_report/messages:
// buckets of starting_at/ending_at (RFC 3339) whose results are grouped by
// model, workspace, API key, service tier, context window and more as the
// request asked. Anthropic counts uncached input, cache reads and cache
// writes (5-minute and 1-hour) apart, and counts no requests: its records
// carry 0 requests (ledger.md §1).
var anthropicUsage = bucketFormat{
	format: AnthropicUsage,
	bucket: anthropicBucket,
	result: func(start int64, res obj, r *source.Record) (string, error) {
		if _, openai := res["input_tokens"]; openai {
			return "input_tokens", errors.New("an OpenAI result, not Anthropic's: use --from openai-usage")
		}
		if _, cost := res["amount"]; cost {
			return "amount", errors.New("a cost result, not usage: use --from anthropic-cost")
		}
		if _, ok := res["uncached_input_tokens"]; !ok {
			return "uncached_input_tokens", errAbsent
		}
		cache, err := res.object("cache_creation")
		if err != nil {
			return "cache_creation", err
		}
		var input int64
		counts := []struct {
			o   obj
			key string
			to  *int64
		}{
			{res, "uncached_input_tokens", &input}, {res, "cache_read_input_tokens", &r.CacheRead},
			{cache, "ephemeral_5m_input_tokens", &r.CacheWrite}, {cache, "ephemeral_1h_input_tokens", &r.CacheWrite1h},
			{res, "output_tokens", &r.CompletionTokens},
		}
		for _, c := range counts {
			n, err := c.o.count(c.key)
			if err != nil {
				return c.key, err
			}
			*c.to = n
		}
		r.PromptTokens = input + r.CacheRead + r.CacheWrite + r.CacheWrite1h
		groups := []struct {
			key string
			to  *string
		}{
			{"model", &r.Model}, {"workspace_id", &r.Project}, {"api_key_id", &r.APIKey},
			{"service_tier", &r.ServiceTier}, {"inference_geo", &r.Region},
		}
		for _, g := range groups {
			s, err := res.str(g.key)
			if err != nil {
				return g.key, err
			}
			*g.to = s
		}
		// Who made the calls: a member of the organisation, or a service
		// account.
		for _, key := range []string{"account_id", "service_account_id"} {
			s, err := res.str(key)
			if err != nil {
				return key, err
			}
			if r.User == "" {
				r.User = s
			}
		}
		window, err := res.str("context_window")
		if err != nil {
			return "context_window", err
		}
		// The first window ("0-200k") is the standard prices; any other
		// ("200k-1M", and whatever comes next) is above it.
		switch {
		case window == "":
		case strings.HasPrefix(window, "0-"):
			r.LongContext = -1
		default:
			r.LongContext = 1
		}
		if r.ServiceTier == "standard" {
			r.ServiceTier = ""
		}
		if r.Model == "" {
			r.Model = Ungrouped
		}
		r.Time = start
		r.Provider = "anthropic"
		r.Requests = 0
		r.Unknown, r.NoCost, r.LatencyMs = true, true, -1
		r.ID = sourceID(AnthropicUsage, fmt.Sprint(start), r.Model, r.Project, r.APIKey, r.User, r.ServiceTier, window, r.Region)
		return "", nil
	},
}

// anthropicBucket reads a bucket of Anthropic's usage and cost reports.
func anthropicBucket(b obj) (start, end int64, field string, err error) {
	if _, openai := b["start_time"]; openai {
		return 0, 0, "start_time", errors.New("an OpenAI bucket, not Anthropic's: use --from openai-usage or openai-costs")
	}
	var bounds [2]int64
	for i, key := range []string{"starting_at", "ending_at"} {
		s, err := b.str(key)
		if err != nil {
			return 0, 0, key, err
		}
		if s == "" {
			return 0, 0, key, errAbsent
		}
		if bounds[i], err = parseTime(s, false); err != nil {
			return 0, 0, key, err
		}
	}
	return bounds[0], bounds[1], "ending_at", checkWidth(bounds[0], bounds[1])
}
