// Command nextcore-prices converts the public LiteLLM price table
// (model_prices_and_context_window.json, prices per token) into the price
// book snapshot that nextcore carries (pkg/pricing/snapshot.json, prices per
// million tokens as exact decimals, and beside it snapshot.bin, the compact
// form nextcore decodes): the next snapshot is one command.
//
//	go run ./cmd/nextcore-prices -date 2026-03-03 -o pkg/pricing/snapshot.json model_prices_and_context_window.json
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"math/big"
	"os"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/nextcore-ai/nextcore/pkg/pricing"
)

func main() {
	out := flag.String("o", "pkg/pricing/snapshot.json", "where to write the snapshot")
	date := flag.String("date", "", "the date of the table (YYYY-MM-DD), shown by nextcore pricing list")
	flag.Parse()
	if flag.NArg() != 1 || *date == "" {
		fmt.Fprintln(os.Stderr, "usage: nextcore-prices -date YYYY-MM-DD [-o FILE] model_prices_and_context_window.json")
		os.Exit(2)
	}
	if _, err := time.Parse(time.DateOnly, *date); err != nil {
		fail("bad -date %q", *date)
	}
	data, err := os.ReadFile(flag.Arg(0))
	if err != nil {
		fail("%v", err)
	}
	snap, skipped, err := convert(data, *date)
	if err != nil {
		fail("%v", err)
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", " ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(snap); err != nil {
		fail("%v", err)
	}
	if err := os.WriteFile(*out, b.Bytes(), 0o644); err != nil {
		fail("%v", err)
	}
	// The compact form nextcore decodes, beside it (pkg/pricing/snapbin.go).
	models, err := snap.ToModels()
	if err != nil {
		fail("%v", err)
	}
	bin := strings.TrimSuffix(*out, ".json") + ".bin"
	if err := os.WriteFile(bin, pricing.MarshalSnapshot(models, snap.Date), 0o644); err != nil {
		fail("%v", err)
	}
	fmt.Fprintf(os.Stderr, "wrote %s and %s: %d models priced per token (%d entries without token prices left out)\n", *out, bin, len(snap.Models), skipped)
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "nextcore-prices: "+format+"\n", args...)
	os.Exit(1)
}

func convert(data []byte, date string) (*pricing.SnapshotFile, int, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var table map[string]json.RawMessage
	if err := dec.Decode(&table); err != nil {
		return nil, 0, err
	}
	snap := &pricing.SnapshotFile{Date: date, Source: "LiteLLM model_prices_and_context_window.json", Models: map[string]pricing.SnapshotModel{}}
	names := make([]string, 0, len(table))
	for name := range table {
		names = append(names, name)
	}
	sort.Strings(names)
	skipped := 0
	for _, name := range names {
		if name == "sample_spec" {
			continue
		}
		var e map[string]any
		d := json.NewDecoder(bytes.NewReader(table[name]))
		d.UseNumber()
		if err := d.Decode(&e); err != nil {
			skipped++
			continue
		}
		perMillion := func(key string) string {
			n, ok := e[key].(json.Number)
			if !ok {
				return ""
			}
			r, ok := new(big.Rat).SetString(string(n))
			if !ok || r.Sign() < 0 {
				return ""
			}
			r.Mul(r, big.NewRat(1_000_000, 1))
			return decimal(r)
		}
		p := pricing.SnapshotPeriod{From: "2000-01-01", SnapshotComponents: pricing.SnapshotComponents{
			Input: perMillion("input_cost_per_token"), Output: perMillion("output_cost_per_token"),
			CacheRead: perMillion("cache_read_input_token_cost"), CacheWrite: perMillion("cache_creation_input_token_cost"),
			CacheWrite1h: perMillion("cache_creation_input_token_cost_above_1hr")}}
		if p.Input == "" && p.Output == "" {
			skipped++
			continue
		}
		if bi := perMillion("input_cost_per_token_batches"); bi != "" && p.Input != "" {
			p.BatchFactor = ratio(bi, p.Input)
		} else if bo := perMillion("output_cost_per_token_batches"); bo != "" && p.Output != "" {
			p.BatchFactor = ratio(bo, p.Output)
		}
		for _, above := range []struct {
			suffix string
			tokens int64
		}{{"_above_200k_tokens", 200_000}, {"_above_128k_tokens", 128_000}} {
			c := pricing.SnapshotComponents{Input: perMillion("input_cost_per_token" + above.suffix), CacheRead: perMillion("cache_read_input_token_cost" + above.suffix),
				CacheWrite: perMillion("cache_creation_input_token_cost" + above.suffix), CacheWrite1h: perMillion("cache_creation_input_token_cost_above_1hr" + above.suffix),
				Output: perMillion("output_cost_per_token" + above.suffix)}
			if c != (pricing.SnapshotComponents{}) {
				p.Above = &pricing.SnapshotAbove{Tokens: above.tokens, SnapshotComponents: c}
				break
			}
		}
		for _, tier := range []string{"priority", "flex"} {
			c := pricing.SnapshotComponents{Input: perMillion("input_cost_per_token_" + tier), CacheRead: perMillion("cache_read_input_token_cost_" + tier),
				Output: perMillion("output_cost_per_token_" + tier)}
			if c != (pricing.SnapshotComponents{}) {
				if p.Tiers == nil {
					p.Tiers = map[string]pricing.SnapshotComponents{}
				}
				p.Tiers[tier] = c
			}
		}
		provider, _ := e["litellm_provider"].(string)
		snap.Models[name] = pricing.SnapshotModel{Provider: provider, Prices: []pricing.SnapshotPeriod{p}}
	}
	addUndatedAliases(snap)
	return snap, skipped, nil
}

var datedName = regexp.MustCompile(`^(.*)(-\d{8}|-\d{4}-\d{2}-\d{2})$`)

// addUndatedAliases lets a dated model be found by its name without the
// date (claude-3-5-sonnet → claude-3-5-sonnet-20241022) where the table has
// no undated entry: the latest date wins.
func addUndatedAliases(snap *pricing.SnapshotFile) {
	latest := map[string]string{}
	for name := range snap.Models {
		m := datedName.FindStringSubmatch(name)
		if m == nil {
			continue
		}
		base := m[1]
		if _, ok := snap.Models[base]; ok {
			continue
		}
		if cur, ok := latest[base]; !ok || strings.ReplaceAll(m[2], "-", "") > strings.ReplaceAll(datedName.FindStringSubmatch(cur)[2], "-", "") {
			latest[base] = name
		}
	}
	for base, name := range latest {
		m := snap.Models[name]
		m.Aliases = append(m.Aliases, base)
		snap.Models[name] = m
	}
}

// decimal writes r with at most nine places, rounded half away from zero
// when it has more (a price finer than 10⁻¹⁵ dollars a token).
func decimal(r *big.Rat) string {
	s := r.FloatString(9)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}

func ratio(a, b string) string {
	x, _ := new(big.Rat).SetString(a)
	y, _ := new(big.Rat).SetString(b)
	if y.Sign() == 0 {
		return ""
	}
	return decimal(x.Quo(x, y))
}
