package pricing

import (
	"math"
	"math/big"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nextcore-ai/nextcore/pkg/source"
)

func day(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

const book = `models:
  gpt-4o:
    provider: openai
    aliases: [gpt-4o-latest]
    prices:
      - from: 2024-10-01
        input: 2.5
        cacheRead: 1.25
        output: 10
        batchFactor: 0.5
      - from: 2024-05-13
        input: 5
        output: 15
  claude-sonnet:
    provider: anthropic
    prices:
      - from: 2024-01-01
        input: 3
        cacheRead: 0.3
        cacheWrite: 3.75
        cacheWrite1h: 6
        output: 15
        above: {tokens: 200000, input: 6, output: 22.5}
        tiers:
          priority: {input: 5.1}
  embed-small:
    prices:
      - from: 2024-01-01
        input: 0.02
  half:
    prices:
      - {from: 2024-01-01, input: 0.0025}
  tiny:
    prices:
      - from: 2024-01-01
        input: 0.000000001
        output: 0.000000003
`

func testBook(t *testing.T) *Book {
	t.Helper()
	ms, err := Parse("book.yaml", []byte(book))
	if err != nil {
		t.Fatal(err)
	}
	b := NewBook()
	for _, m := range ms {
		b.Put(m)
	}
	return b
}

// TestCost: hand-computed priced costs for every kind of token, fallback,
// period edge, batch, alias, date suffix, long context, tier and rounding.
func TestCost(t *testing.T) {
	b := testBook(t)
	m := int64(1_000_000)
	for _, c := range []struct {
		name   string
		model  string
		at     string
		tokens Tokens
		use    Use
		want   source.USD // nano-dollars
		ok     bool
	}{
		// 1M input × $2.5 + 1M cache read × $1.25 + 1M output × $10
		{"every kind", "gpt-4o", "2024-10-01T00:00:00Z", Tokens{Input: m, CacheRead: m, Output: m}, Use{}, 13_750_000_000, true},
		// the day before the change: the old period ($5, cache read falls back to input)
		{"period edge before", "gpt-4o", "2024-09-30T23:59:59.999Z", Tokens{Input: m, CacheRead: m, Output: m}, Use{}, 25_000_000_000, true},
		{"period edge on the day", "gpt-4o", "2024-10-01T00:00:00Z", Tokens{Input: 1000}, Use{}, 2_500_000, true},
		{"before any period", "gpt-4o", "2024-05-12T23:59:59Z", Tokens{Input: 1000}, Use{}, 0, false},
		// batch: half of 1M × $10
		{"batch", "gpt-4o", "2025-01-01T00:00:00Z", Tokens{Output: m}, Use{Batch: true}, 5_000_000_000, true},
		// the default batch factor 0.5 where the period gives none
		{"batch default", "gpt-4o", "2024-06-01T00:00:00Z", Tokens{Output: m}, Use{Batch: true}, 7_500_000_000, true},
		{"alias", "gpt-4o-latest", "2025-01-01T00:00:00Z", Tokens{Input: 1}, Use{}, 2_500, true}, // 1 token × $2.5/M
		{"date suffix", "gpt-4o-2024-08-06", "2025-01-01T00:00:00Z", Tokens{Input: 2}, Use{}, 5_000, true},
		{"date suffix compact", "gpt-4o-20240806", "2025-01-01T00:00:00Z", Tokens{Input: 2}, Use{}, 5_000, true},
		{"at suffix", "claude-sonnet@20250101", "2025-01-01T00:00:00Z", Tokens{Input: 1}, Use{}, 3_000, true},
		// 1 token × $0.0025/M = 2.5 nano: a tie, rounded away from zero
		{"a tie", "half", "2025-01-01T00:00:00Z", Tokens{Input: 1}, Use{}, 3, true},
		// cache writes: 5 min × $3.75, 1 h × $6
		{"cache writes", "claude-sonnet", "2025-01-01T00:00:00Z", Tokens{CacheWrite: m, CacheWrite1h: m}, Use{}, 9_750_000_000, true},
		// long context: input $6; cache read falls back to its input ($6); output $22.5
		{"long context", "claude-sonnet", "2025-01-01T00:00:00Z", Tokens{Input: m, CacheRead: m, Output: m}, Use{LongContext: true}, 34_500_000_000, true},
		// priority tier: input $5.1, output the period's $15
		{"tier", "claude-sonnet", "2025-01-01T00:00:00Z", Tokens{Input: m, Output: m}, Use{Tier: "priority"}, 20_100_000_000, true},
		{"unknown tier", "claude-sonnet", "2025-01-01T00:00:00Z", Tokens{Input: m}, Use{Tier: "flex"}, 3_000_000_000, true},
		{"input only", "embed-small", "2025-01-01T00:00:00Z", Tokens{Input: m, Output: m}, Use{}, 20_000_000, true},
		// a price of 10⁻¹⁵ $/token: 499,999 tokens are 0.499999 nano → 0; 500,000 → 1 (half away from zero)
		{"rounds down", "tiny", "2025-01-01T00:00:00Z", Tokens{Input: 499_999}, Use{}, 0, true},
		{"rounds a half up", "tiny", "2025-01-01T00:00:00Z", Tokens{Input: 500_000}, Use{}, 1, true},
		{"unknown model", "gpt-5-turbo", "2025-01-01T00:00:00Z", Tokens{Input: m}, Use{}, 0, false},
	} {
		got, ok := b.Cost(c.model, day(c.at), c.tokens, c.use)
		if ok != c.ok || got.Nano() != c.want {
			t.Errorf("%s: %d nano (%v), want %d (%v)", c.name, got.Nano(), ok, c.want, c.ok)
		}
	}
}

// TestSumsRoundOnce: amounts add exactly and round once: three records of
// 0.4 nano each are 1 nano, not 0.
func TestSumsRoundOnce(t *testing.T) {
	b := testBook(t)
	var total Amount
	for range 3 {
		c, _ := b.Cost("tiny", day("2025-01-01T00:00:00Z"), Tokens{Input: 400_000}, Use{})
		if c.Nano() != 0 {
			t.Fatalf("one record: %d", c.Nano())
		}
		total.AddAmount(&c)
	}
	if total.Nano() != 1 {
		t.Errorf("three records: %d nano, want 1", total.Nano())
	}
}

// TestBadPriceFiles: one clear error each, naming the file and line.
func TestBadPriceFiles(t *testing.T) {
	for _, c := range []struct {
		name, file, want string
	}{
		{"unknown key", "models:\n  m:\n    prices:\n      - from: 2024-01-01\n        inptu: 1\n", `book.yaml:5: unknown key "inptu" in a price period of "m"`},
		{"negative", "models:\n  m:\n    prices:\n      - from: 2024-01-01\n        input: -1\n", `book.yaml:5: a price period of "m": input is negative: -1`},
		{"same from", "models:\n  m:\n    prices:\n      - {from: 2024-01-01, input: 1}\n      - {from: 2024-01-01, input: 2}\n", `book.yaml:5: model "m": two periods from 2024-01-01 (the other at line 4)`},
		{"alias itself", "models:\n  m:\n    aliases: [m]\n    prices:\n      - {from: 2024-01-01, input: 1}\n", `the alias "m" is the model itself`},
		{"alias two", "models:\n  a:\n    aliases: [x]\n    prices: [{from: 2024-01-01, input: 1}]\n  b:\n    aliases: [x]\n    prices: [{from: 2024-01-01, input: 1}]\n", `the alias "x" points at two models, "a" and "b"`},
		{"bad date", "models:\n  m:\n    prices:\n      - {from: 2024-13-01, input: 1}\n", `from must be a date`},
		{"too precise", "models:\n  m:\n    prices:\n      - {from: 2024-01-01, input: 0.0000000001}\n", `not a decimal with at most nine places`},
		{"no from", "models:\n  m:\n    prices:\n      - {input: 1}\n", `has no from`},
		{"top level", "model:\n  m: {}\n", `unknown key "model" in the price file`},
		{"json too", `{"models": {"m": {"prices": [{"from": "2024-01-01", "input": 1, "bogus": 2}]}}}`, `unknown key "bogus"`},
	} {
		_, err := Parse("book.yaml", []byte(c.file))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: the error is not one line: %q", c.name, err)
		}
	}
}

// TestLoadSnapshotAndFile: the built-in snapshot prices the big models, and
// a price file over it wins per model.
func TestLoadSnapshotAndFile(t *testing.T) {
	b, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	if b.Snapshot == "" || b.Len() < 1000 {
		t.Fatalf("snapshot %q with %d models", b.Snapshot, b.Len())
	}
	for _, name := range []string{"gpt-4o", "gpt-4o-mini", "claude-3-5-sonnet-20241022", "claude-3-5-sonnet", "o3-mini"} {
		if _, ok := b.Lookup(name); !ok {
			t.Errorf("the snapshot has no price for %s", name)
		}
	}
	// gpt-4o per the table: $2.5 in, $1.25 cached, $10 out, batch half.
	c, ok := b.Cost("gpt-4o", day("2026-01-01T00:00:00Z"), Tokens{Input: 1_000_000, CacheRead: 1_000_000, Output: 1_000_000}, Use{Batch: true})
	if !ok || c.Nano() != 6_875_000_000 {
		t.Errorf("gpt-4o batch: %d nano, %v", c.Nano(), ok)
	}
	path := filepath.Join(t.TempDir(), "prices.yaml")
	os.WriteFile(path, []byte("models:\n  gpt-4o:\n    prices:\n      - {from: 2020-01-01, input: 1, output: 2}\n"), 0o600)
	b, err = Load(path)
	if err != nil {
		t.Fatal(err)
	}
	c, _ = b.Cost("gpt-4o", day("2026-01-01T00:00:00Z"), Tokens{Input: 1_000_000}, Use{})
	if c.Nano() != 1_000_000_000 {
		t.Errorf("the price file did not win: %d", c.Nano())
	}
	if _, err := Load(filepath.Join(t.TempDir(), "none.yaml")); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("missing file: %v", err)
	}
}

// TestSnapshotDate: the date read from the snapshot's head without decoding
// it is the one decoding it gives.
func TestSnapshotDate(t *testing.T) {
	_, date, err := loadSnapshot()
	if err != nil {
		t.Fatal(err)
	}
	if got := snapshotDate(); got != date || date == "" {
		t.Errorf("head says %q, the snapshot %q", got, date)
	}
}

// TestWarm: a book filled on another goroutine reads the same as one
// filled by its first reader, whichever comes first (run with -race).
func TestWarm(t *testing.T) {
	cold, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	warm, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	warm.Warm()
	done := make(chan []*Model)
	go func() { done <- warm.Models() }()
	if got, want := len(warm.Models()), len(cold.Models()); got != want || got == 0 {
		t.Fatalf("warmed book has %d models, cold one %d", got, want)
	}
	if got := <-done; len(got) != len(cold.Models()) {
		t.Errorf("a concurrent reader saw %d models", len(got))
	}
	if _, ok := warm.Lookup("gpt-4o"); !ok {
		t.Error("gpt-4o is not in the warmed book")
	}
}

// TestLookupDateSuffix: a model name with a trailing date finds its base
// model's prices; one without finds nothing it is not.
func TestLookupDateSuffix(t *testing.T) {
	b, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, want string
	}{
		{"gpt-4o-20991231", "gpt-4o"},
		{"gpt-4o-2099-12-31", "gpt-4o"},
		{"gpt-4o@20991231", "gpt-4o"},
		{"gpt-4o", "gpt-4o"},
		{"gpt-4o-2099", ""},
		{"gpt-4o-x", ""},
		{"a-self-hosted-model", ""},
		{"", ""},
	} {
		m, ok := b.Lookup(c.name)
		switch {
		case c.want == "" && ok:
			t.Errorf("Lookup(%q) found %s", c.name, m.Name)
		case c.want != "" && (!ok || m.Name != c.want):
			t.Errorf("Lookup(%q) = %v, %v; want %s", c.name, m, ok, c.want)
		}
	}
}

// refAmount is Amount as it was first written, all in big.Int: the
// reference the 128-bit Amount is checked against.
type refAmount struct{ n big.Int }

func (a *refAmount) add(t Tokens, r Rates, batch bool, bf Dec) {
	var sum, term big.Int
	for i, n := range [5]int64{t.Input, t.CacheRead, t.CacheWrite, t.CacheWrite1h, t.Output} {
		term.SetInt64(n)
		sum.Add(&sum, term.Mul(&term, big.NewInt(int64(r[i]))))
	}
	f := int64(1_000_000_000)
	if batch {
		f = int64(bf)
	}
	a.n.Add(&a.n, sum.Mul(&sum, big.NewInt(f)))
}

func (a *refAmount) addUSD(u int64) {
	var t big.Int
	a.n.Add(&a.n, t.Mul(t.SetInt64(u), big.NewInt(1_000_000_000_000_000)))
}

func (a *refAmount) nano() int64 {
	den := big.NewInt(1_000_000_000_000_000)
	var q, r big.Int
	q.QuoRem(&a.n, den, &r)
	r.Abs(&r)
	if r.Mul(&r, big.NewInt(2)).Cmp(den) >= 0 {
		if a.n.Sign() < 0 {
			q.Sub(&q, big.NewInt(1))
		} else {
			q.Add(&q, big.NewInt(1))
		}
	}
	return q.Int64()
}

// TestAmountExact: sums of random costs, from everyday ones to those past
// 128 bits and negative ones, equal big.Int arithmetic to the nano-dollar,
// as does every rounding (halves away from zero).
func TestAmountExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	pick := func(scale int) int64 {
		switch rng.IntN(8) {
		case 0:
			return 0
		case 1:
			return math.MaxInt64 - rng.Int64N(3)
		case 2:
			return -rng.Int64N(1 << uint(scale))
		}
		return rng.Int64N(1 << uint(scale))
	}
	for trial := 0; trial < 3000; trial++ {
		var got, sub Amount
		var want, wantSub refAmount
		scale := 10 + rng.IntN(53) // tokens and rates from small to near 2⁶³
		for step := 0; step < 1+rng.IntN(12); step++ {
			switch rng.IntN(4) {
			case 0, 1:
				tk := Tokens{pick(scale), pick(scale), pick(scale), pick(scale), pick(scale)}
				var r Rates
				for i := range r {
					r[i] = Dec(pick(scale))
				}
				batch, bf := rng.IntN(3) == 0, Dec(pick(31))
				got.Add(tk, r, batch, bf)
				want.add(tk, r, batch, bf)
			case 2:
				u := pick(scale)
				got.AddUSD(source.USD(u))
				want.addUSD(u)
			case 3:
				tk, r := Tokens{Input: pick(scale)}, Rates{Dec(pick(scale))}
				sub.Add(tk, r, false, 0)
				wantSub.add(tk, r, false, 0)
				got.AddAmount(&sub)
				want.n.Add(&want.n, &wantSub.n)
			}
			if g, w := got.Nano(), want.nano(); int64(g) != w {
				t.Fatalf("trial %d step %d: Nano %d, want %d", trial, step, g, w)
			}
		}
	}
	// Terms past 128 bits before the factor: all of nearly 2¹²⁶, and four
	// of them with one that brings the sum just past 2¹²⁸ (wrapped, it
	// would look small).
	m := int64(math.MaxInt64)
	for _, c := range []struct {
		tk Tokens
		r  Rates
	}{
		{Tokens{m, m, m, m, m}, Rates{Dec(m), Dec(m), Dec(m), Dec(m), Dec(m)}},
		{Tokens{m, m, m, m, 1 << 33}, Rates{Dec(m), Dec(m), Dec(m), Dec(m), 1<<33 + 7}},
	} {
		var got Amount
		var want refAmount
		got.Add(c.tk, c.r, false, 0)
		want.add(c.tk, c.r, false, 0)
		got.AddUSD(-1)
		want.addUSD(-1)
		if g, w := got.Nano(), want.nano(); int64(g) != w {
			t.Errorf("past 128 bits: Nano %d, want %d", g, w)
		}
	}
	// Halves round away from zero, at the edge of the 128-bit form too.
	for _, c := range []struct {
		usd  int64
		half bool
		want int64
	}{{0, true, 1}, {2, true, 3}, {-3, false, -3}, {math.MaxInt64 - 1, false, math.MaxInt64 - 1}, {math.MinInt64 + 1, false, math.MinInt64 + 1}} {
		var a Amount
		a.AddUSD(source.USD(c.usd))
		if c.half {
			a.Add(Tokens{Input: 500_000}, Rates{1}, false, 0) // 0.5 nano-dollar
		}
		if got := a.Nano(); int64(got) != c.want {
			t.Errorf("%d (+ half: %v) rounds to %d, want %d", c.usd, c.half, got, c.want)
		}
	}
}

// BenchmarkAmountAdd prices a group as a report does (five token kinds at a
// model's rates), with the 128-bit Amount and with big.Int alone.
func BenchmarkAmountAdd(b *testing.B) {
	tk := Tokens{Input: 1_234_567, CacheRead: 345_678, CacheWrite: 12_345, Output: 456_789}
	r := Rates{2_500_000_000, 1_250_000_000, 3_125_000_000, 5_000_000_000, 10_000_000_000}
	for _, c := range []struct {
		name  string
		price func()
	}{
		{"int128", func() { var a Amount; a.Add(tk, r, false, 0); _ = a.Nano() }},
		{"big.Int", func() { var a refAmount; a.add(tk, r, false, 0); _ = a.nano() }},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				c.price()
			}
		})
	}
}
