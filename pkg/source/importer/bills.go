package importer

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/nextcore-ai/nextcore/pkg/source"
)

// The formats of the providers' bills (their cost APIs): stored as the
// provider's bill, beside the usage, not in it.
const (
	OpenAICosts   Format = "openai-costs"
	AnthropicCost Format = "anthropic-cost"
)

// BillFormats are the formats that yield a bill.
var BillFormats = []Format{OpenAICosts, AnthropicCost}

// IsBill reports whether f is a bill's format.
func IsBill(f Format) bool { return slices.Contains(BillFormats, f) }

// BillProvider is the provider whose bill f is.
func BillProvider(f Format) string {
	if f == AnthropicCost {
		return "anthropic"
	}
	return "openai"
}

// ReadBill reads the lines of a provider's bill in format f from r, named
// name in errors.
func ReadBill(f Format, name string, r io.Reader) ([]source.BillLine, error) {
	var bf bucketFormat
	switch f {
	case OpenAICosts:
		bf = openAICosts
	case AnthropicCost:
		bf = anthropicCost
	default:
		return nil, fmt.Errorf("%s is not a bill's format", f)
	}
	br, err := newBucketReader(name, r, bf)
	if err != nil {
		return nil, err
	}
	return br.bills, nil
}

// currency checks a bill's currency: only dollars are read.
func currency(s string) error {
	if s != "" && !strings.EqualFold(s, "usd") {
		return fmt.Errorf("%q: only bills in USD are read", s)
	}
	return nil
}

// openAICosts reads pages of GET /v1/organization/costs (and the
// dashboard's export of them): daily buckets whose results are amounts
// (amount.value, a number or a string, in dollars) by project and line
// item as the request grouped them.
var openAICosts = bucketFormat{
	format: OpenAICosts,
	bucket: openAIBucket,
	bill: func(start, end int64, res obj, l *source.BillLine) (string, error) {
		if o, _ := res.str("object"); o != "" && !strings.HasSuffix(o, ".costs.result") {
			return "object", fmt.Errorf("%q: not a costs result (usage goes with --from openai-usage)", o)
		}
		value, cur := "amount_value", "amount_currency" // the dashboard's export
		amount := res
		if _, nested := res["amount"]; nested {
			var err error
			if amount, err = res.object("amount"); err != nil {
				return "amount", err
			}
			value, cur = "value", "currency"
		}
		usd, ok, err := amount.dollars(value, 0)
		if err != nil || !ok {
			return "amount." + value, errors.Join(err, errAbsentIf(!ok && err == nil))
		}
		c, err := amount.str(cur)
		if err == nil {
			err = currency(c)
		}
		if err != nil {
			return "amount." + cur, err
		}
		l.Amount, l.Start, l.End, l.Provider = usd, start, end, "openai"
		var key string
		for _, g := range []struct {
			key string
			to  *string
		}{{"project_id", &l.Project}, {"line_item", &l.Item}, {"api_key_id", &key}} {
			if *g.to, err = res.str(g.key); err != nil {
				return g.key, err
			}
		}
		l.ID = sourceID(OpenAICosts, fmt.Sprint(start), l.Project, l.Item, key)
		return "", nil
	},
}

// anthropicCost reads pages of GET /v1/organizations/cost_report: daily
// buckets whose results are amounts in cents (decimal strings) by
// workspace and description (model, token type, context window…) as the
// request grouped them.
var anthropicCost = bucketFormat{
	format: AnthropicCost,
	bucket: anthropicBucket,
	bill: func(start, end int64, res obj, l *source.BillLine) (string, error) {
		if _, usage := res["uncached_input_tokens"]; usage {
			return "uncached_input_tokens", errors.New("a usage result, not a cost: use --from anthropic-usage")
		}
		usd, ok, err := res.dollars("amount", 2) // cents
		if err != nil || !ok {
			return "amount", errors.Join(err, errAbsentIf(!ok && err == nil))
		}
		c, err := res.str("currency")
		if err == nil {
			err = currency(c)
		}
		if err != nil {
			return "currency", err
		}
		l.Amount, l.Start, l.End, l.Provider = usd, start, end, "anthropic"
		parts := []string{fmt.Sprint(start)}
		for _, g := range []struct {
			key string
			to  *string
		}{{"workspace_id", &l.Project}, {"model", &l.Model}, {"description", &l.Item}} {
			if *g.to, err = res.str(g.key); err != nil {
				return g.key, err
			}
			parts = append(parts, *g.to)
		}
		for _, key := range []string{"cost_type", "token_type", "context_window", "service_tier", "inference_geo"} {
			s, err := res.str(key)
			if err != nil {
				return key, err
			}
			parts = append(parts, s)
		}
		l.ID = sourceID(AnthropicCost, parts...)
		return "", nil
	},
}

// errAbsentIf is errAbsent when absent, else nil.
func errAbsentIf(absent bool) error {
	if absent {
		return errAbsent
	}
	return nil
}
