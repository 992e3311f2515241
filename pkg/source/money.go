package source

import (
	"errors"
	"math/big"
	"strconv"
	"strings"
)

// USD is an amount of money in nano-dollars (1e-9 USD). Costs are added as
// integers so that two runs over the same records agree to the nano-dollar.
type USD int64

// NanosPerUSD is the number of nano-dollars in one dollar.
const NanosPerUSD = 1_000_000_000

var errNotNumber = errors.New("not a number")

// ParseUSD reads a decimal dollar amount exactly, as written in JSON or CSV:
// "0.004125", "12", "1.5e-3". More than nine significant decimal places
// cannot be represented exactly and are rejected rather than rounded.
func ParseUSD(s string) (USD, error) {
	if s == "" {
		return 0, errNotNumber
	}
	neg := false
	body := s
	switch body[0] {
	case '-':
		neg = true
		body = body[1:]
	case '+':
		body = body[1:]
	}
	mant, exp := body, 0
	if i := strings.IndexAny(body, "eE"); i >= 0 {
		e, err := strconv.Atoi(body[i+1:])
		if err != nil || e > 40 || e < -40 {
			return 0, errNotNumber
		}
		mant, exp = body[:i], e
	}
	intPart, frac := mant, ""
	if i := strings.IndexByte(mant, '.'); i >= 0 {
		intPart, frac = mant[:i], mant[i+1:]
	}
	if intPart == "" && frac == "" {
		return 0, errNotNumber
	}
	digits := intPart + frac
	for _, c := range digits {
		if c < '0' || c > '9' {
			return 0, errNotNumber
		}
	}
	// value = digits × 10^(exp − len(frac)); we want value × 10^9.
	shift := exp - len(frac) + 9
	digits = strings.TrimLeft(digits, "0")
	if shift < 0 {
		cut := -shift
		if cut > len(digits) {
			cut = len(digits)
		}
		if strings.Trim(digits[len(digits)-cut:], "0") != "" {
			return 0, errors.New("more than 9 decimal places")
		}
		digits = digits[:len(digits)-cut]
	} else {
		if digits != "" {
			digits += strings.Repeat("0", shift)
		}
	}
	if digits == "" {
		return 0, nil
	}
	if len(digits) > 18 {
		return 0, errors.New("amount too large")
	}
	n, err := strconv.ParseInt(digits, 10, 64)
	if err != nil {
		return 0, errors.New("amount too large")
	}
	if neg {
		n = -n
	}
	return USD(n), nil
}

// Decimal renders the exact amount in dollars with as many decimals as it
// needs (at most nine): 127.45, 0.004125, 0. This is the form of JSON and CSV.
func (u USD) Decimal() string {
	neg := u < 0
	n := uint64(u)
	if neg {
		n = uint64(-u)
	}
	whole := n / NanosPerUSD
	frac := n % NanosPerUSD
	s := strconv.FormatUint(whole, 10)
	if frac != 0 {
		f := strconv.FormatUint(frac+NanosPerUSD, 10)[1:]
		s += "." + strings.TrimRight(f, "0")
	}
	if neg {
		s = "-" + s
	}
	return s
}

// MarshalJSON writes the amount as an exact JSON number in dollars.
func (u USD) MarshalJSON() ([]byte, error) { return []byte(u.Decimal()), nil }

// UnmarshalJSON reads a JSON number in dollars exactly.
func (u *USD) UnmarshalJSON(b []byte) error {
	v, err := ParseUSD(string(b))
	if err != nil {
		return err
	}
	*u = v
	return nil
}

// Rat is the amount as an exact rational number of dollars.
func (u USD) Rat() *big.Rat { return big.NewRat(int64(u), NanosPerUSD) }

// Float is the amount in dollars as a float64, for charts and ratios only.
func (u USD) Float() float64 { return float64(u) / NanosPerUSD }
