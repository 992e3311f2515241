package render

import (
	"encoding/csv"
	"io"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/nextcore-ai/nextcore/pkg/report"
	"github.com/nextcore-ai/nextcore/pkg/source"
)

// FocusColumns are the columns of the FOCUS export: the 21 mandatory ones
// of FOCUS 1.2 (in the spec's alphabetical order), the conditional and
// recommended ones it fills, then its own (x_).
var FocusColumns = []string{
	"BilledCost", "BillingAccountId", "BillingAccountName", "BillingCurrency", "BillingPeriodEnd", "BillingPeriodStart",
	"ChargeCategory", "ChargeClass", "ChargeDescription", "ChargePeriodEnd", "ChargePeriodStart", "ContractedCost",
	"EffectiveCost", "InvoiceIssuerName", "ListCost", "PricingQuantity", "PricingUnit", "ProviderName", "PublisherName",
	"ServiceCategory", "ServiceName",
	"ChargeFrequency", "ConsumedQuantity", "ConsumedUnit",
	"x_Model", "x_TokenKind", "x_ReasoningTokens", "x_Calls",
}

// focusKindText names a token kind in a charge's description.
var focusKindText = map[string]string{
	"input": "input tokens", "cache-read": "cache read tokens", "cache-write": "cache write tokens (5 min)",
	"cache-write-1h": "cache write tokens (1 h)", "output": "output tokens", "all": "tokens (no list price)",
}

// focusProvider names a records' provider as an invoice issuer.
func focusProvider(p string) string {
	switch strings.ToLower(p) {
	case "":
		return "NextCore AI Cloud"
	case "openai":
		return "OpenAI"
	case "anthropic":
		return "Anthropic"
	}
	return p
}

// focusTime is a FOCUS date/time: UTC, to the second, with Z.
func focusTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

// focusUSD is a cost as FOCUS numbers are: a plain decimal.
func focusUSD(u source.USD) string {
	return report.Fixed(new(big.Rat).SetFrac64(int64(u), source.NanosPerUSD), 9).Trim().String()
}

// FocusCSV writes the FOCUS export as CSV (null as an empty field).
func FocusCSV(w io.Writer, f *report.FocusExport) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(FocusColumns); err != nil {
		return err
	}
	for _, c := range f.Charges {
		issuer, publisher := focusProvider(c.Provider), focusProvider(c.Publisher)
		if c.Publisher == "" {
			publisher = issuer
		}
		service := issuer + " API"
		if c.Provider == "" {
			service = "NextCore AI API"
		}
		calls := ""
		if c.Calls != 0 {
			calls = strconv.FormatInt(c.Calls, 10)
		}
		reasoning := ""
		if c.Kind == "output" || c.Kind == "all" {
			reasoning = strconv.FormatInt(c.Reasoning, 10)
		}
		row := []string{
			focusUSD(c.Billed), Neutralize(f.Tenant), Neutralize(f.Tenant), "USD", focusTime(c.BillEnd), focusTime(c.BillStart),
			"Usage", "", Neutralize(c.Model + " " + focusKindText[c.Kind]), focusTime(c.End), focusTime(c.Start), focusUSD(c.ListCost),
			focusUSD(c.Billed), Neutralize(issuer), focusUSD(c.ListCost), strconv.FormatInt(c.Tokens, 10), "Tokens", Neutralize(issuer), Neutralize(publisher),
			"AI and Machine Learning", Neutralize(service),
			"Usage-Based", strconv.FormatInt(c.Tokens, 10), "Tokens",
			Neutralize(c.Model), c.Kind, reasoning, calls,
		}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}
