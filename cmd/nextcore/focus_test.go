package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"math/big"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"
)

// focusRules are FOCUS 1.2's rules for its 21 mandatory columns, from the
// specification (specification/columns/*.md at v1.2): the data type, and
// whether the column allows nulls; with the allowed values where the spec
// lists them.
var focusRules = map[string]struct {
	kind    string // decimal, string, datetime
	null    bool
	allowed []string
}{
	"BilledCost":         {"decimal", false, nil},
	"BillingAccountId":   {"string", false, nil},
	"BillingAccountName": {"string", true, nil},
	"BillingCurrency":    {"currency", false, nil},
	"BillingPeriodEnd":   {"datetime", false, nil},
	"BillingPeriodStart": {"datetime", false, nil},
	"ChargeCategory":     {"string", false, []string{"Usage", "Purchase", "Tax", "Credit", "Adjustment"}},
	"ChargeClass":        {"string", true, []string{"Correction"}},
	"ChargeDescription":  {"string", true, nil},
	"ChargePeriodEnd":    {"datetime", false, nil},
	"ChargePeriodStart":  {"datetime", false, nil},
	"ContractedCost":     {"decimal", false, nil},
	"EffectiveCost":      {"decimal", false, nil},
	"InvoiceIssuerName":  {"string", false, nil},
	"ListCost":           {"decimal", false, nil},
	"PricingQuantity":    {"decimal", true, nil},
	"PricingUnit":        {"string", true, nil},
	"ProviderName":       {"string", false, nil},
	"PublisherName":      {"string", false, nil},
	"ServiceCategory": {"string", false, []string{"AI and Machine Learning", "Analytics", "Business Applications", "Compute", "Databases",
		"Developer Tools", "Multicloud", "Identity", "Integration", "Internet of Things", "Management and Governance", "Media", "Migration",
		"Mobile", "Networking", "Security", "Storage", "Web", "Other"}},
	"ServiceName": {"string", false, nil},
}

var (
	// NumericFormat: an integer, a decimal or E notation; no sign for a
	// positive value, no separators, symbols or units.
	focusNumber = regexp.MustCompile(`^-?[0-9]+(\.[0-9]+)?([eE]-?[0-9]+)?$`)
	// DateTimeFormat: extended ISO 8601 in UTC, 'YYYY-MM-DDTHH:mm:ssZ'.
	focusTimeRe = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$`)
	// CurrencyFormat: an ISO 4217 code.
	focusCurrency = regexp.MustCompile(`^[A-Z]{3}$`)
	// Column IDs: Pascal case, alphanumeric; custom columns x_ prefixed.
	focusColumnID = regexp.MustCompile(`^([A-Z][A-Za-z0-9]*|x_[A-Za-z0-9_]+)$`)
)

// checkFocus checks a FOCUS CSV against the rules of its mandatory columns
// and returns its rows as maps by column.
func checkFocus(t *testing.T, data string) []map[string]string {
	t.Helper()
	r := csv.NewReader(strings.NewReader(data))
	r.FieldsPerRecord = 0 // every row as long as the header
	recs, err := r.ReadAll()
	if err != nil {
		t.Fatalf("not strict CSV: %v", err)
	}
	head := recs[0]
	for col := range focusRules {
		if !slices.Contains(head, col) {
			t.Errorf("mandatory column %s missing", col)
		}
	}
	for _, col := range head {
		if !focusColumnID.MatchString(col) {
			t.Errorf("column %q is neither a FOCUS column ID nor x_ prefixed", col)
		}
	}
	var rows []map[string]string
	for i, rec := range recs[1:] {
		row := map[string]string{}
		for j, v := range rec {
			row[head[j]] = v
		}
		for col, rule := range focusRules {
			v := row[col]
			if v == "" {
				if !rule.null {
					t.Errorf("row %d: %s is null", i+1, col)
				}
				continue
			}
			ok := true
			switch rule.kind {
			case "decimal":
				ok = focusNumber.MatchString(v)
			case "datetime":
				ok = focusTimeRe.MatchString(v)
			case "currency":
				ok = focusCurrency.MatchString(v)
			}
			if rule.allowed != nil && !slices.Contains(rule.allowed, v) {
				ok = false
			}
			if !ok {
				t.Errorf("row %d: %s = %q breaks its format", i+1, col, v)
			}
		}
		ts := func(col string) time.Time {
			v, _ := time.Parse(time.RFC3339, row[col])
			return v
		}
		if !ts("ChargePeriodStart").Before(ts("ChargePeriodEnd")) || !ts("BillingPeriodStart").Before(ts("BillingPeriodEnd")) ||
			ts("ChargePeriodStart").Before(ts("BillingPeriodStart")) || ts("BillingPeriodEnd").Before(ts("ChargePeriodEnd")) {
			t.Errorf("row %d: periods out of order: %v", i+1, row)
		}
		rows = append(rows, row)
	}
	return rows
}

func ratOf(t *testing.T, s string) *big.Rat {
	t.Helper()
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		t.Fatalf("%q is not a number", s)
	}
	return r
}

// TestFocusExport: the FOCUS export of the imported month follows the
// spec's rules for its mandatory columns, and its sums are the reports':
// BilledCost adds up to the window's cost (usage stats), ListCost to what
// usage reconcile prices, in several zones.
func TestFocusExport(t *testing.T) {
	e := imported(t)
	for _, zone := range []string{"UTC", "America/New_York", "Asia/Kolkata"} {
		at := []string{"--from", "2026-10-25", "--to", "2026-11-23", "--tz", zone}
		r := e.run("", false, append([]string{"usage", "export", "--format", "focus", "-o", "-"}, at...)...)
		if r.code != 0 {
			t.Fatalf("%s: %d %q", zone, r.code, r.stderr)
		}
		rows := checkFocus(t, r.stdout)
		if len(rows) == 0 {
			t.Fatalf("%s: no charges", zone)
		}
		billed, list, calls := new(big.Rat), new(big.Rat), int64(0)
		priced := new(big.Rat)
		for _, row := range rows {
			billed.Add(billed, ratOf(t, row["BilledCost"]))
			list.Add(list, ratOf(t, row["ListCost"]))
			if row["x_TokenKind"] != "all" {
				priced.Add(priced, ratOf(t, row["ListCost"]))
			}
			if row["x_Calls"] != "" {
				n, _ := new(big.Int).SetString(row["x_Calls"], 10)
				calls += n.Int64()
			}
			if row["EffectiveCost"] != row["BilledCost"] || row["ContractedCost"] != row["ListCost"] || row["PricingQuantity"] != row["ConsumedQuantity"] {
				t.Errorf("%s: %v", zone, row)
			}
		}
		var stats struct {
			APICalls struct{ Total int64 }
			Costs    struct{ Total json.Number }
		}
		s := e.run("", false, append([]string{"usage", "stats", "--format", "json"}, at...)...)
		json.Unmarshal([]byte(s.stdout), &stats)
		if billed.Cmp(ratOf(t, stats.Costs.Total.String())) != 0 || calls != stats.APICalls.Total {
			t.Errorf("%s: billed %s, calls %d; stats: %s, %d", zone, billed.FloatString(9), calls, stats.Costs.Total, stats.APICalls.Total)
		}
		var recon struct{ Priced json.Number }
		s = e.run("", false, append([]string{"usage", "reconcile", "--format", "json"}, at...)...)
		json.Unmarshal([]byte(s.stdout), &recon)
		if recon.Priced.String() == "" || priced.Cmp(ratOf(t, recon.Priced.String())) != 0 {
			t.Errorf("%s: list %s, reconcile priced %q", zone, priced.FloatString(9), recon.Priced)
		}
	}
	// The demo's reported costs are not the book's: BilledCost is shared
	// among the token kinds, and still adds up to the cent-less nano-dollar.
	at := []string{"--demo", "--period", "month", "--as-of", "2026-11-20", "--tz", "Europe/Berlin"}
	r := e.run("", false, append([]string{"usage", "export", "--format", "focus", "-o", "-"}, at...)...)
	billed, differs := new(big.Rat), false
	for _, row := range checkFocus(t, r.stdout) {
		billed.Add(billed, ratOf(t, row["BilledCost"]))
		differs = differs || row["BilledCost"] != row["ListCost"]
	}
	var stats struct{ Costs struct{ Total json.Number } }
	s := e.run("", false, append([]string{"usage", "stats", "--format", "json"}, at...)...)
	json.Unmarshal([]byte(s.stdout), &stats)
	if !differs || billed.Cmp(ratOf(t, stats.Costs.Total.String())) != 0 {
		t.Errorf("demo: billed %s, stats %s (billed differs from list: %v)", billed.FloatString(9), stats.Costs.Total, differs)
	}
	// -o FILE.parquet: the same charges, as Parquet.
	pq := filepath.Join(e.dir, "focus.parquet")
	if r := e.run("", false, append([]string{"usage", "export", "-o", pq}, at...)...); r.code != 0 {
		t.Fatalf("parquet: %d %q", r.code, r.stderr)
	}
	data, _ := os.ReadFile(pq)
	pf, err := parquet.OpenFile(bytes.NewReader(data), int64(len(data)))
	csvRows := strings.Count(strings.TrimSpace(r.stdout), "\n")
	if err != nil || pf.NumRows() != int64(csvRows) {
		t.Errorf("parquet: %v, %d rows, CSV %d", err, pf.NumRows(), csvRows)
	}
	if r := e.run("", false, "usage", "export", "--format", "focus", "--report", "daily", "-o", "-"); r.code != 2 {
		t.Errorf("--report with focus: %d %q", r.code, r.stderr)
	}
}
