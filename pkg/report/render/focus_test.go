package render

import (
	"bytes"
	"encoding/csv"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"

	"github.com/nextcore-ai/nextcore/pkg/report"
	"github.com/nextcore-ai/nextcore/pkg/source"
)

// TestFocusParquet: the Parquet FOCUS export holds what the CSV one does,
// exactly (costs as DECIMAL(18, 9) nano-dollars, date/times as UTC
// timestamps, the nullable columns optional), read back by the library.
func TestFocusParquet(t *testing.T) {
	day := time.Date(2026, 11, 20, 0, 0, 0, 0, time.FixedZone("CET", 3600))
	f := &report.FocusExport{Tenant: "acme", Charges: []report.FocusCharge{
		{Start: day, End: day.AddDate(0, 0, 1), BillStart: day.AddDate(0, 0, -19), BillEnd: day.AddDate(0, 0, 11), Model: "gpt-4o",
			Provider: "openai", Publisher: "openai", Kind: "input", Tokens: 1_234_567, ListCost: 3_086_417_500, Billed: 3_000_000_001, Calls: 42},
		{Start: day, End: day.AddDate(0, 0, 1), BillStart: day.AddDate(0, 0, -19), BillEnd: day.AddDate(0, 0, 11), Model: "o3",
			Kind: "output", Tokens: 10, ListCost: -7, Billed: -123_456_789_012, Reasoning: 8},
	}}
	var pq, cs bytes.Buffer
	if err := FocusParquet(&pq, f); err != nil {
		t.Fatal(err)
	}
	if err := FocusCSV(&cs, f); err != nil {
		t.Fatal(err)
	}
	rows, err := parquet.Read[focusRow](bytes.NewReader(pq.Bytes()), int64(pq.Len()))
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&cs).ReadAll()
	if err != nil || len(rows) != 2 || len(recs) != 3 {
		t.Fatalf("%d rows, %d CSV records (%v)", len(rows), len(recs), err)
	}
	for i, r := range rows {
		c := f.Charges[i]
		if r.BilledCost != int64(c.Billed) || r.ListCost != int64(c.ListCost) || r.EffectiveCost != int64(c.Billed) ||
			!r.ChargePeriodStart.Equal(c.Start) || !r.ChargePeriodEnd.Equal(c.End) || !r.BillingPeriodStart.Equal(c.BillStart) ||
			*r.PricingQuantity != c.Tokens || r.XModel != c.Model || r.ChargeClass != nil {
			t.Errorf("row %d: %+v", i, r)
		}
		if got := focusUSD(source.USD(r.BilledCost)); got != recs[i+1][0] {
			t.Errorf("row %d: BilledCost %s in Parquet, %s in CSV", i, got, recs[i+1][0])
		}
	}
	if *rows[0].XCalls != 42 || rows[1].XCalls != nil || rows[0].XReasoningTokens != nil || *rows[1].XReasoningTokens != 8 ||
		rows[0].PublisherName != "OpenAI" || rows[1].InvoiceIssuerName != "NextCore AI Cloud" {
		t.Errorf("rows: %+v", rows)
	}
	pf, err := parquet.OpenFile(bytes.NewReader(pq.Bytes()), int64(pq.Len()))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		col      string
		optional bool
		scale    int32 // -1: not a decimal
		stamp    bool
	}{
		{"BilledCost", false, 9, false}, {"ListCost", false, 9, false}, {"ContractedCost", false, 9, false}, {"EffectiveCost", false, 9, false},
		{"PricingQuantity", true, 0, false}, {"ChargeClass", true, -1, false}, {"BillingAccountName", true, -1, false},
		{"ChargePeriodStart", false, -1, true}, {"BillingPeriodEnd", false, -1, true}, {"ServiceCategory", false, -1, false},
	} {
		leaf, ok := pf.Schema().Lookup(c.col)
		if !ok {
			t.Errorf("no column %s", c.col)
			continue
		}
		var value any
		if lt := leaf.Node.Type().LogicalType(); lt != nil {
			value = lt.Value
		}
		dec, isDec := value.(*format.DecimalType)
		ts, isTS := value.(*format.TimestampType)
		switch {
		case leaf.Node.Optional() != c.optional:
			t.Errorf("%s: optional %v", c.col, leaf.Node.Optional())
		case c.scale >= 0 && (!isDec || dec.Scale != c.scale):
			t.Errorf("%s: logical type %v, want a decimal of scale %d", c.col, value, c.scale)
		case c.stamp && (!isTS || !ts.IsAdjustedToUTC):
			t.Errorf("%s: logical type %v, want a UTC timestamp", c.col, value)
		}
	}
}
