package render

import (
	"encoding/csv"
	"io"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/parquet-go/parquet-go"

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
		issuer, publisher, service := focusNames(c)
		reasoning, calls := focusExtras(c)
		text := func(n *int64) string {
			if n == nil {
				return ""
			}
			return strconv.FormatInt(*n, 10)
		}
		row := []string{
			focusUSD(c.Billed), Neutralize(f.Tenant), Neutralize(f.Tenant), "USD", focusTime(c.BillEnd), focusTime(c.BillStart),
			"Usage", "", Neutralize(c.Model + " " + focusKindText[c.Kind]), focusTime(c.End), focusTime(c.Start), focusUSD(c.ListCost),
			focusUSD(c.Billed), Neutralize(issuer), focusUSD(c.ListCost), strconv.FormatInt(c.Tokens, 10), "Tokens", Neutralize(issuer), Neutralize(publisher),
			"AI and Machine Learning", Neutralize(service),
			"Usage-Based", strconv.FormatInt(c.Tokens, 10), "Tokens",
			Neutralize(c.Model), c.Kind, text(reasoning), text(calls),
		}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// focusRow is a FOCUS charge as a Parquet row: costs as DECIMAL(18, 9)
// (exact nano-dollars), quantities as DECIMAL(18, 0), date/times as UTC
// timestamps; the nullable columns optional.
type focusRow struct {
	BilledCost         int64     `parquet:"BilledCost,decimal(9:18)"`
	BillingAccountID   string    `parquet:"BillingAccountId"`
	BillingAccountName *string   `parquet:"BillingAccountName,optional"`
	BillingCurrency    string    `parquet:"BillingCurrency"`
	BillingPeriodEnd   time.Time `parquet:"BillingPeriodEnd,timestamp(millisecond:utc)"`
	BillingPeriodStart time.Time `parquet:"BillingPeriodStart,timestamp(millisecond:utc)"`
	ChargeCategory     string    `parquet:"ChargeCategory"`
	ChargeClass        *string   `parquet:"ChargeClass,optional"`
	ChargeDescription  *string   `parquet:"ChargeDescription,optional"`
	ChargePeriodEnd    time.Time `parquet:"ChargePeriodEnd,timestamp(millisecond:utc)"`
	ChargePeriodStart  time.Time `parquet:"ChargePeriodStart,timestamp(millisecond:utc)"`
	ContractedCost     int64     `parquet:"ContractedCost,decimal(9:18)"`
	EffectiveCost      int64     `parquet:"EffectiveCost,decimal(9:18)"`
	InvoiceIssuerName  string    `parquet:"InvoiceIssuerName"`
	ListCost           int64     `parquet:"ListCost,decimal(9:18)"`
	PricingQuantity    *int64    `parquet:"PricingQuantity,optional,decimal(0:18)"`
	PricingUnit        *string   `parquet:"PricingUnit,optional"`
	ProviderName       string    `parquet:"ProviderName"`
	PublisherName      string    `parquet:"PublisherName"`
	ServiceCategory    string    `parquet:"ServiceCategory"`
	ServiceName        string    `parquet:"ServiceName"`
	ChargeFrequency    string    `parquet:"ChargeFrequency"`
	ConsumedQuantity   *int64    `parquet:"ConsumedQuantity,optional,decimal(0:18)"`
	ConsumedUnit       *string   `parquet:"ConsumedUnit,optional"`
	XModel             string    `parquet:"x_Model"`
	XTokenKind         string    `parquet:"x_TokenKind"`
	XReasoningTokens   *int64    `parquet:"x_ReasoningTokens,optional"`
	XCalls             *int64    `parquet:"x_Calls,optional"`
}

// FocusParquet writes the FOCUS export as Parquet.
func FocusParquet(w io.Writer, f *report.FocusExport) error {
	pw := parquet.NewGenericWriter[focusRow](w)
	ptr := func(s string) *string { return &s }
	for _, c := range f.Charges {
		issuer, publisher, service := focusNames(c)
		tenant := f.Tenant
		tokens := c.Tokens
		row := focusRow{BilledCost: int64(c.Billed), BillingAccountID: tenant, BillingAccountName: &tenant, BillingCurrency: "USD",
			BillingPeriodEnd: c.BillEnd.UTC(), BillingPeriodStart: c.BillStart.UTC(), ChargeCategory: "Usage",
			ChargeDescription: ptr(c.Model + " " + focusKindText[c.Kind]), ChargePeriodEnd: c.End.UTC(), ChargePeriodStart: c.Start.UTC(),
			ContractedCost: int64(c.ListCost), EffectiveCost: int64(c.Billed), InvoiceIssuerName: issuer, ListCost: int64(c.ListCost),
			PricingQuantity: &tokens, PricingUnit: ptr("Tokens"), ProviderName: issuer, PublisherName: publisher,
			ServiceCategory: "AI and Machine Learning", ServiceName: service, ChargeFrequency: "Usage-Based",
			ConsumedQuantity: &tokens, ConsumedUnit: ptr("Tokens"), XModel: c.Model, XTokenKind: c.Kind}
		row.XReasoningTokens, row.XCalls = focusExtras(c)
		if _, err := pw.Write([]focusRow{row}); err != nil {
			return err
		}
	}
	return pw.Close()
}

// focusExtras are a charge's x_ReasoningTokens (of output) and x_Calls
// (on a day and model's first charge); nil for none.
func focusExtras(c report.FocusCharge) (reasoning, calls *int64) {
	if c.Kind == "output" || c.Kind == "all" {
		r := c.Reasoning
		reasoning = &r
	}
	if c.Calls != 0 {
		n := c.Calls
		calls = &n
	}
	return reasoning, calls
}

// focusNames are a charge's invoice issuer (and provider), publisher and
// service.
func focusNames(c report.FocusCharge) (issuer, publisher, service string) {
	issuer, publisher = focusProvider(c.Provider), focusProvider(c.Publisher)
	if c.Publisher == "" {
		publisher = issuer
	}
	service = issuer + " API"
	if c.Provider == "" {
		service = "NextCore AI API"
	}
	return issuer, publisher, service
}
