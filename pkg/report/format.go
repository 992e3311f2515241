package report

import (
	"math/big"
	"strconv"
	"strings"

	"github.com/nextcore-ai/nextcore/pkg/source"
)

// This file holds every rounding that a person sees. Numbers are exact until
// they get here; JSON and CSV carry them unrounded.

// USD2 is a dollar amount with two decimals and thousands separators:
// $1,234.57 (halves away from zero).
func USD2(u source.USD) string {
	return "$" + groupDigits(u.Rat().FloatString(2))
}

// USDPerCall is an average per call: two decimals, or four significant
// digits when below one cent ($0.004125 → $0.004125, $0.0080 → $0.008000).
func USDPerCall(r *big.Rat) string {
	if r == nil {
		return "–"
	}
	if r.Cmp(big.NewRat(1, 100)) >= 0 || r.Sign() == 0 {
		return "$" + groupDigits(r.FloatString(2))
	}
	return "$" + significant(r, 4)
}

// USDRat is a rational dollar amount with two decimals.
func USDRat(r *big.Rat) string { return "$" + groupDigits(r.FloatString(2)) }

// significant renders 0 < r < 1 with n significant digits.
func significant(r *big.Rat, n int) string {
	// Find the number of decimals d so that r × 10^d has n digits before the point.
	d := 0
	ten := big.NewRat(10, 1)
	x := new(big.Rat).Set(r)
	lim := big.NewRat(1, 1)
	for i := 1; i < n; i++ {
		lim.Mul(lim, ten)
	}
	for x.Cmp(lim) < 0 && d < 30 {
		x.Mul(x, ten)
		d++
	}
	s := r.FloatString(d)
	// Rounding up may have added a digit (0.0099995 → 0.01000): still fine.
	return s
}

// Count is a whole number with thousands separators: 15,847.
func Count(n int64) string { return groupDigits(strconv.FormatInt(n, 10)) }

// Compact is a count in a short form for cards: 2.85M, 15.8K, 950.
func Compact(n int64) string {
	abs := n
	if abs < 0 {
		abs = -abs
	}
	switch {
	case abs >= 1_000_000_000:
		return trimZero(ratio(n, 1_000_000_000).FloatString(2)) + "B"
	case abs >= 1_000_000:
		return trimZero(ratio(n, 1_000_000).FloatString(2)) + "M"
	case abs >= 10_000:
		return trimZero(ratio(n, 1_000).FloatString(1)) + "K"
	}
	return Count(n)
}

func trimZero(s string) string {
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}

// Pct is a percentage with one decimal: 95.9%.
func Pct(r *big.Rat) string {
	if r == nil {
		return "–"
	}
	return Fixed(r, 1).text + "%"
}

// PctWhole is a percentage rounded to a whole number: 61%.
func PctWhole(r *big.Rat) string {
	if r == nil {
		return "–"
	}
	return Fixed(r, 0).text + "%"
}

// ChangeText is a signed change: +12.5%, -3.2%, 0.0%, or "new" when there
// was nothing to compare with.
func ChangeText(c Number) string {
	if c.Null() {
		return "new"
	}
	if !strings.HasPrefix(c.text, "-") && strings.Trim(c.text, "0.") != "" {
		return "+" + c.text + "%"
	}
	return c.text + "%"
}

// groupDigits puts commas between thousands of a decimal string.
func groupDigits(s string) string {
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	intPart, frac := s, ""
	if i := strings.IndexByte(s, '.'); i >= 0 {
		intPart, frac = s[:i], s[i:]
	}
	var b strings.Builder
	for i, c := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	out := b.String() + frac
	if neg && strings.Trim(out, "0.,") != "" {
		out = "-" + out
	}
	return out
}
