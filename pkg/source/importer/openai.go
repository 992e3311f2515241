package importer

import (
	"errors"
	"fmt"
	"strings"

	"github.com/nextcore-ai/nextcore/pkg/source"
)

// openAIUsage reads pages of GET /v1/organization/usage/completions (and
// the dashboard's export of it): buckets of start_time/end_time (Unix
// seconds) whose results are grouped by project, user, API key, model,
// batch and service tier as the request asked. OpenAI counts cached input
// inside input_tokens (and, where the page has it, the tokens written to a
// cache too); the uncached rest is billed at the input price.
var openAIUsage = bucketFormat{
	format: OpenAIUsage,
	bucket: openAIBucket,
	result: func(start int64, res obj, r *source.Record) (string, error) {
		if o, _ := res.str("object"); o != "" && !strings.HasSuffix(o, ".usage.completions.result") {
			if strings.HasSuffix(o, ".costs.result") {
				return "object", fmt.Errorf("%q: a costs result, not usage: use --from openai-costs", o)
			}
			return "object", fmt.Errorf("%q: not a completions usage result", o)
		}
		if _, anthropic := res["uncached_input_tokens"]; anthropic {
			return "uncached_input_tokens", errors.New("an Anthropic result, not OpenAI's: use --from anthropic-usage")
		}
		if _, ok := res["input_tokens"]; !ok {
			return "input_tokens", errAbsent
		}
		counts := []struct {
			key string
			to  *int64
		}{
			{"input_tokens", &r.PromptTokens}, {"input_cached_tokens", &r.CacheRead},
			{"input_cache_write_tokens", &r.CacheWrite}, {"output_tokens", &r.CompletionTokens},
			{"num_model_requests", &r.Requests},
		}
		for _, c := range counts {
			n, err := res.count(c.key)
			if err != nil {
				return c.key, err
			}
			*c.to = n
		}
		if _, ok := res["input_uncached_tokens"]; ok {
			n, err := res.count("input_uncached_tokens")
			if err != nil {
				return "input_uncached_tokens", err
			}
			if want := r.PromptTokens - r.CacheRead - r.CacheWrite; n != want {
				return "input_uncached_tokens", fmt.Errorf("%d, but input %d less cached %d and cache writes %d is %d",
					n, r.PromptTokens, r.CacheRead, r.CacheWrite, want)
			}
		}
		groups := []struct {
			key string
			to  *string
		}{
			{"model", &r.Model}, {"project_id", &r.Project}, {"user_id", &r.User},
			{"api_key_id", &r.APIKey}, {"service_tier", &r.ServiceTier},
		}
		for _, g := range groups {
			s, err := res.str(g.key)
			if err != nil {
				return g.key, err
			}
			*g.to = s
		}
		batch, err := res.flag("batch")
		if err != nil {
			return "batch", err
		}
		r.Batch = batch
		if r.ServiceTier == "default" || r.ServiceTier == "auto" {
			r.ServiceTier = "" // the period's own prices
		}
		if r.Model == "" {
			r.Model = Ungrouped
		}
		r.Time = start
		r.Provider = "openai"
		r.Unknown, r.NoCost, r.LatencyMs = true, true, -1
		r.ID = sourceID(OpenAIUsage, fmt.Sprint(start), r.Model, r.Project, r.User, r.APIKey, fmt.Sprint(r.Batch), r.ServiceTier)
		return "", nil
	},
}

// Ungrouped is the model of a provider's usage that was not grouped by
// model: it cannot be priced, and shows as unpriced.
const Ungrouped = "(not grouped by model)"

// openAIBucket reads a bucket of OpenAI's usage and costs APIs.
func openAIBucket(b obj) (start, end int64, field string, err error) {
	if _, anthropic := b["starting_at"]; anthropic {
		return 0, 0, "starting_at", errors.New("an Anthropic bucket, not OpenAI's: use --from anthropic-usage or anthropic-cost")
	}
	if start, err = b.unixSeconds("start_time"); err != nil {
		return 0, 0, "start_time", err
	}
	if end, err = b.unixSeconds("end_time"); err != nil {
		return 0, 0, "end_time", err
	}
	return start, end, "end_time", checkWidth(start, end)
}
