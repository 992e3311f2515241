package importer

import (
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/nextcore-ai/nextcore/pkg/source"
)

// obj is a JSON object of a source, decoded with numbers kept as written
// (json.Number), read field by field: each getter says what was wrong with
// a field in the error it returns, which the format turns into a
// file:line:field error.
type obj map[string]any

// errAbsent is a field that is absent or null.
var errAbsent = fmt.Errorf("missing")

// str is a string field; "" when absent or null. Numbers are taken as
// written (some exports write ids as numbers).
func (o obj) str(key string) (string, error) {
	switch v := o[key].(type) {
	case nil:
		return "", nil
	case string:
		return v, nil
	case json.Number:
		return v.String(), nil
	case bool:
		return strconv.FormatBool(v), nil
	}
	return "", fmt.Errorf("not a string")
}

// count is a whole, non-negative number of tokens or requests: a JSON
// number or a string holding one ("59200.0" as spreadsheets write it);
// 0 when absent or null.
func (o obj) count(key string) (int64, error) {
	v, ok := o[key]
	if !ok || v == nil {
		return 0, nil
	}
	var s string
	switch v := v.(type) {
	case json.Number:
		s = v.String()
	case string:
		s = strings.TrimSpace(v)
		if s == "" {
			return 0, nil
		}
	default:
		return 0, fmt.Errorf("not a number")
	}
	return parseCount(s)
}

// parseCount reads a whole, non-negative count written as an integer or as
// a decimal with a zero fraction.
func parseCount(s string) (int64, error) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if n < 0 {
			return 0, fmt.Errorf("negative: %s", s)
		}
		return n, nil
	}
	r, ok := decimal(s)
	if !ok {
		return 0, fmt.Errorf("not a number: %q", clip(s))
	}
	if !r.IsInt() || !r.Num().IsInt64() {
		return 0, fmt.Errorf("not a whole number: %s", clip(s))
	}
	n := r.Num().Int64()
	if n < 0 {
		return 0, fmt.Errorf("negative: %s", clip(s))
	}
	return n, nil
}

// flag is a boolean field: true, false, or their spellings in exports
// ("TRUE", "false", 1, 0); false when absent or null.
func (o obj) flag(key string) (bool, error) {
	switch v := o[key].(type) {
	case nil:
		return false, nil
	case bool:
		return v, nil
	case json.Number:
		switch v.String() {
		case "0":
			return false, nil
		case "1":
			return true, nil
		}
	case string:
		switch strings.ToLower(strings.TrimSpace(v)) {
		case "", "false", "0", "no":
			return false, nil
		case "true", "1", "yes":
			return true, nil
		}
	}
	return false, fmt.Errorf("not true or false")
}

// object is a nested object field; an empty one when absent or null.
func (o obj) object(key string) (obj, error) {
	switch v := o[key].(type) {
	case nil:
		return obj{}, nil
	case map[string]any:
		return obj(v), nil
	}
	return nil, fmt.Errorf("not an object")
}

// dollars is a money field in units of 10^-exp dollars (0: dollars, 2:
// cents), a JSON number or a string, read exactly and rounded once to the
// nano-dollar, halves away from zero (LiteLLM writes 0.00022500000000000002
// for $0.000225). ok is false when absent or null.
func (o obj) dollars(key string, exp int) (usd source.USD, ok bool, err error) {
	var s string
	switch v := o[key].(type) {
	case nil:
		return 0, false, nil
	case json.Number:
		s = v.String()
	case string:
		s = strings.TrimSpace(v)
		if s == "" {
			return 0, false, nil
		}
	default:
		return 0, false, fmt.Errorf("not an amount")
	}
	usd, err = roundUSD(s, exp)
	return usd, err == nil, err
}

// roundUSD reads a decimal amount of 10^-exp dollars and rounds it to the
// nano-dollar, halves away from zero.
func roundUSD(s string, exp int) (source.USD, error) {
	r, ok := decimal(s)
	if !ok {
		return 0, fmt.Errorf("not an amount: %q", clip(s))
	}
	r.Mul(r, new(big.Rat).SetFrac(big.NewInt(1_000_000_000), new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(exp)), nil)))
	num, den := r.Num(), r.Denom() // den > 0
	q, m := new(big.Int).QuoRem(num, den, new(big.Int))
	if m.Sign() != 0 {
		twice := new(big.Int).Mul(new(big.Int).Abs(m), big.NewInt(2))
		if twice.Cmp(den) >= 0 {
			q.Add(q, big.NewInt(int64(num.Sign())))
		}
	}
	if !q.IsInt64() || q.Int64() > math.MaxInt64/4 || q.Int64() < -math.MaxInt64/4 {
		return 0, fmt.Errorf("amount out of range: %s", clip(s))
	}
	return source.USD(q.Int64()), nil
}

// decimal reads a decimal number exactly ("0.5", "-12", "2.5e-06"); one
// too long or with an exponent too large to be an amount or a count is not
// read (big.Rat would build 10^exponent).
func decimal(s string) (*big.Rat, bool) {
	if len(s) > 64 || strings.ContainsAny(s, "/xXpP_") {
		return nil, false
	}
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		e, err := strconv.Atoi(strings.TrimPrefix(s[i+1:], "+"))
		if err != nil || e > 40 || e < -40 {
			return nil, false
		}
	}
	return new(big.Rat).SetString(s)
}

// Timestamps of the sources.
var (
	// naiveLayouts are times without a zone, which a format declares UTC
	// (LiteLLM writes "2025-01-24 09:20:46.847371").
	naiveLayouts = []string{"2006-01-02 15:04:05.999999999", "2006-01-02T15:04:05.999999999", "2006-01-02 15:04", "2006-01-02"}
	zonedLayouts = []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999Z07:00", "2006-01-02 15:04:05.999999999 -0700",
		"2006-01-02T15:04:05.999999999-0700", "2006-01-02 15:04:05.999999999-07"}
)

// parseTime reads a timestamp with a zone, or, when naiveUTC, one without
// that is UTC; as Unix nanoseconds.
func parseTime(s string, naiveUTC bool) (int64, error) {
	s = strings.TrimSpace(s)
	if len(s) > 10 && (s[10] == 't') {
		s = s[:10] + "T" + s[11:]
	}
	if strings.HasSuffix(s, "z") {
		s = s[:len(s)-1] + "Z"
	}
	for _, l := range zonedLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return inRange(t, s)
		}
	}
	for _, l := range naiveLayouts {
		if t, err := time.Parse(l, s); err == nil {
			if !naiveUTC {
				return 0, fmt.Errorf("no time zone in %q, and this format does not say which", clip(s))
			}
			return inRange(t, s)
		}
	}
	return 0, fmt.Errorf("not a time: %q", clip(s))
}

func inRange(t time.Time, s string) (int64, error) {
	if t.Year() < 1970 || t.Year() > 2200 {
		return 0, fmt.Errorf("out of range: %q", clip(s))
	}
	return t.UnixNano(), nil
}

// unixSeconds reads a time field of Unix seconds.
func (o obj) unixSeconds(key string) (int64, error) {
	n, err := o.count(key)
	if err != nil {
		return 0, err
	}
	if _, ok := o[key]; !ok || o[key] == nil {
		return 0, errAbsent
	}
	if n > 7258118400 { // 2200-01-01
		return 0, fmt.Errorf("out of range: %d", n)
	}
	return n * int64(time.Second), nil
}

// clip shortens a value quoted in an error.
func clip(s string) string {
	if len(s) > 40 {
		return s[:37] + "..."
	}
	return s
}
