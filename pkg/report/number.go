package report

import (
	"math/big"
	"strconv"
	"strings"
)

// Number is a JSON number kept as its exact decimal text; the zero Number is
// JSON null. Reports compute ratios exactly and round once, here.
type Number struct{ text string }

// MarshalJSON writes the number, or null.
func (n Number) MarshalJSON() ([]byte, error) {
	if n.text == "" {
		return []byte("null"), nil
	}
	return []byte(n.text), nil
}

// UnmarshalJSON reads a number or null.
func (n *Number) UnmarshalJSON(b []byte) error {
	s := string(b)
	if s == "null" {
		n.text = ""
		return nil
	}
	if _, ok := new(big.Rat).SetString(s); !ok {
		return strconv.ErrSyntax
	}
	n.text = s
	return nil
}

// Null reports whether the number is absent.
func (n Number) Null() bool { return n.text == "" }

// String is the number's text, or "null".
func (n Number) String() string {
	if n.text == "" {
		return "null"
	}
	return n.text
}

// Rat is the exact value (nil for null).
func (n Number) Rat() *big.Rat {
	if n.text == "" {
		return nil
	}
	r, _ := new(big.Rat).SetString(n.text)
	return r
}

// Float is the value as float64 (0 for null).
func (n Number) Float() float64 {
	r := n.Rat()
	if r == nil {
		return 0
	}
	f, _ := r.Float64()
	return f
}

// Fixed is r rounded to the given decimals, halves away from zero.
func Fixed(r *big.Rat, decimals int) Number {
	s := r.FloatString(decimals)
	if strings.HasPrefix(s, "-") && strings.Trim(s[1:], "0.") == "" {
		s = s[1:] // no negative zero
	}
	return Number{s}
}

// Nearest is r as the float64 nearest to it, in its shortest form: for
// values such as percentages that have no natural precision.
func Nearest(r *big.Rat) Number {
	f, _ := r.Float64()
	return Number{strconv.FormatFloat(f, 'f', -1, 64)}
}

// Int is a whole number.
func Int(n int64) Number { return Number{strconv.FormatInt(n, 10)} }

// ratio is a/b as an exact rational; b must not be 0.
func ratio(a, b int64) *big.Rat { return new(big.Rat).SetFrac(big.NewInt(a), big.NewInt(b)) }

// Change is (current − previous) / previous × 100 rounded to one decimal,
// or null when previous is 0.
func Change(current, previous int64) Number {
	if previous == 0 {
		return Number{}
	}
	r := ratio(current-previous, previous)
	return Fixed(r.Mul(r, big.NewRat(100, 1)), 1)
}

// Percent is part / whole × 100, exactly (nil when whole is 0).
func Percent(part, whole int64) *big.Rat {
	if whole == 0 {
		return nil
	}
	r := ratio(part, whole)
	return r.Mul(r, big.NewRat(100, 1))
}

// RatFloat is r as float64, for drawing.
func RatFloat(r *big.Rat) float64 {
	if r == nil {
		return 0
	}
	f, _ := r.Float64()
	return f
}

// Trim drops trailing zeros after the decimal point: 12.500 → 12.5, 3.000 → 3.
func (n Number) Trim() Number {
	if !strings.Contains(n.text, ".") {
		return n
	}
	return Number{strings.TrimSuffix(strings.TrimRight(n.text, "0"), ".")}
}
