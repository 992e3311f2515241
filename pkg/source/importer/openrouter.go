package importer

import (
	"strings"

	"github.com/nextcore-ai/nextcore/pkg/source"
)

// openRouter reads GET /api/v1/activity: a row per day, model and endpoint
// with its requests, tokens and cost (usage, in dollars: OpenRouter's
// charge; what a BYOK key's own provider bills, byok_usage_inference, is
// on that provider's bill). Dates come with or without a time, in UTC.
var openRouter = bucketFormat{
	format: OpenRouter,
	flat:   true,
	result: func(_ int64, res obj, r *source.Record) (string, error) {
		date, err := res.str("date")
		if err != nil {
			return "date", err
		}
		if date == "" {
			return "date", errAbsent
		}
		if r.Time, err = parseTime(date, true); err != nil {
			return "date", err
		}
		counts := []struct {
			key string
			to  *int64
		}{
			{"prompt_tokens", &r.PromptTokens}, {"completion_tokens", &r.CompletionTokens},
			{"reasoning_tokens", &r.Reasoning}, {"requests", &r.Requests},
		}
		for _, c := range counts {
			n, err := res.count(c.key)
			if err != nil {
				return c.key, err
			}
			*c.to = n
		}
		cost, ok, err := res.dollars("usage", 0)
		if err != nil {
			return "usage", err
		}
		r.Cost, r.NoCost = cost, !ok
		var slug, endpoint, provider string
		for _, g := range []struct {
			key string
			to  *string
		}{{"model", &r.Model}, {"model_permaslug", &slug}, {"endpoint_id", &endpoint}, {"provider_name", &provider}} {
			if *g.to, err = res.str(g.key); err != nil {
				return g.key, err
			}
		}
		if r.Model == "" {
			r.Model = slug
		}
		r.Provider = strings.ToLower(provider)
		r.Unknown, r.LatencyMs = true, -1
		r.ID = sourceID(OpenRouter, date, r.Model, slug, endpoint, provider)
		return "", nil
	},
}
