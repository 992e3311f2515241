// Package pricing is the price book (docs/ledger.md §3): per model, dated
// price periods for each kind of token, aliases, fallbacks, batch and
// long-context prices and service tiers; the lookup of a record's model and
// day; and exact priced cost, summed exactly and rounded once, at the end,
// to the nano-dollar.
package pricing

import (
	"math"
	"math/big"
	"math/bits"
	"regexp"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/nextcore-ai/nextcore/pkg/source"
)

// Dec is an exact decimal with nine places: a price in USD per million
// tokens, or a batch factor, times 10⁹.
type Dec int64

// decScale is Dec's 10⁹.
const decScale = 1_000_000_000

// String writes d as a plain decimal: "2.5", "0.075", "15".
func (d Dec) String() string {
	return source.USD(d).Decimal()
}

// Components are the prices of the kinds of tokens, USD per million; nil is
// not given (and falls back, see Period).
type Components struct {
	Input, CacheRead, CacheWrite, CacheWrite1h, Output *Dec
}

// Above is the long-context prices of a period: for a request whose input
// exceeds Tokens.
type Above struct {
	Tokens int64
	Components
}

// Period is the prices from a day (UTC) on, until the next period.
type Period struct {
	From time.Time // UTC midnight
	Components
	BatchFactor *Dec
	Above       *Above
	Tiers       map[string]Components // priority, flex, …
}

// Model is a price book entry.
type Model struct {
	Name     string
	Provider string
	Aliases  []string
	Periods  []Period // by From, ascending
}

// Book is the price book: the snapshot built in, with a user's price file
// over it.
type Book struct {
	models  map[string]*Model
	aliases map[string]string // alias → model
	// Snapshot is the date of the built-in prices; Files the price files
	// read over them.
	Snapshot string
	Files    []string

	changes []int64 // Changes, made on first use
	// over are the price files' models, put over the snapshot when it is
	// first needed (ensure): most reports price nothing, and decoding the
	// snapshot is most of a small report's start.
	over    []*Model
	pending bool // set by Load, before the book is shared
	once    sync.Once
}

// ensure puts the snapshot, then the price files' models, into the book
// the first time it is read.
func (b *Book) ensure() {
	if b.pending {
		b.once.Do(b.fill)
	}
}

// Warm fills the book on another goroutine, so that a report that will
// price finds it ready: its first reader waits for it, if need be. A
// report calls it before it waits on its store (a server's connection).
func (b *Book) Warm() {
	if b.pending {
		go b.ensure()
	}
}

// fill puts the snapshot, then the price files' models, into the book.
func (b *Book) fill() {
	models, _, err := loadSnapshot()
	if err != nil {
		panic(err) // the snapshot is built in and tested: a broken build
	}
	for _, m := range append(slices.Clone(models), b.over...) {
		b.put(m)
	}
	b.over = nil
}

// NewBook makes an empty book.
func NewBook() *Book { return &Book{models: map[string]*Model{}, aliases: map[string]string{}} }

// Models are the book's entries, by name.
func (b *Book) Models() []*Model {
	b.ensure()
	out := make([]*Model, 0, len(b.models))
	for _, m := range b.models {
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Len is how many models the book prices.
func (b *Book) Len() int {
	b.ensure()
	return len(b.models)
}

// Put adds or replaces a model (a later source wins per model).
func (b *Book) Put(m *Model) {
	b.ensure()
	b.put(m)
}

func (b *Book) put(m *Model) {
	if old, ok := b.models[m.Name]; ok {
		for _, a := range old.Aliases {
			if b.aliases[a] == m.Name {
				delete(b.aliases, a)
			}
		}
	}
	b.models[m.Name] = m
	b.changes = nil
	for _, a := range m.Aliases {
		b.aliases[a] = m.Name
	}
}

// Changes are the instants (Unix ns, UTC midnights, ascending) at which
// some model's prices begin: between two of them every model is priced
// the same, so usage there can be priced in one piece.
func (b *Book) Changes() []int64 {
	b.ensure()
	if b.changes == nil {
		seen := map[int64]bool{}
		for _, m := range b.models {
			for _, p := range m.Periods {
				if p.From.Unix() >= 0 { // records begin in 1970
					seen[p.From.UnixNano()] = true
				}
			}
		}
		b.changes = make([]int64, 0, len(seen))
		for t := range seen {
			b.changes = append(b.changes, t)
		}
		slices.Sort(b.changes)
	}
	return b.changes
}

// dateSuffix is a trailing date on a model name: -20241022, -2024-10-22,
// @20241022.
var dateSuffix = regexp.MustCompile(`(-\d{8}|-\d{4}-\d{2}-\d{2}|@\d{8})$`)

// Lookup finds a record's model: the exact name, then an alias, then the
// name without a trailing date.
func (b *Book) Lookup(name string) (*Model, bool) {
	b.ensure()
	if m, ok := b.models[name]; ok {
		return m, true
	}
	if to, ok := b.aliases[name]; ok {
		return b.models[to], true
	}
	if n := len(name); n == 0 || name[n-1] < '0' || name[n-1] > '9' {
		return nil, false // no date at its end: the regexp need not run
	}
	if base := dateSuffix.ReplaceAllString(name, ""); base != name {
		return b.Lookup(base)
	}
	return nil, false
}

// Period is the prices in force on the UTC day of t: the last period whose
// From is on or before it.
func (m *Model) Period(t time.Time) (*Period, bool) {
	day := t.UTC().Truncate(24 * time.Hour)
	i := sort.Search(len(m.Periods), func(i int) bool { return m.Periods[i].From.After(day) })
	if i == 0 {
		return nil, false
	}
	return &m.Periods[i-1], true
}

// Tokens are the kinds of tokens a record bills.
type Tokens struct {
	Input, CacheRead, CacheWrite, CacheWrite1h, Output int64
}

// Rates are a period's five prices after the fallbacks, in the order of
// Tokens: input, cache read, cache write, cache write 1 h, output.
type Rates [5]Dec

func or(p *Dec, fallback Dec) Dec {
	if p != nil {
		return *p
	}
	return fallback
}

// resolve applies the fallbacks: cacheRead → input, cacheWrite → input,
// cacheWrite1h → cacheWrite; an unset input or output is 0 (a model priced
// for one direction only, as embeddings are).
func (c Components) resolve(base *Rates) Rates {
	var r Rates
	if base != nil {
		r = *base
	}
	r[0] = or(c.Input, r[0])
	if base == nil {
		r[1] = or(c.CacheRead, r[0])
		r[2] = or(c.CacheWrite, r[0])
		r[3] = or(c.CacheWrite1h, r[2])
	} else {
		// Within a tier or the long-context prices: missing components fall
		// back within them first (cacheRead → their input), then to the
		// period's.
		r[1] = or(c.CacheRead, ifSet(c.Input, r[1]))
		r[2] = or(c.CacheWrite, ifSet(c.Input, r[2]))
		r[3] = or(c.CacheWrite1h, ifSet(c.CacheWrite, ifSet(c.Input, r[3])))
	}
	r[4] = or(c.Output, r[4])
	return r
}

func ifSet(p *Dec, fallback Dec) Dec {
	if p != nil {
		return *p
	}
	return fallback
}

// DefaultBatchFactor applies where a period gives none.
const DefaultBatchFactor Dec = decScale / 2

// Use says how a record is billed besides its tokens.
type Use struct {
	Batch       bool
	Tier        string // "" or standard: the period's prices
	LongContext bool   // the period's long-context prices, when it has them
}

// Rates are the prices that apply to a use of a period, and whether its tier
// was known (a tier the period lacks is priced at the period's prices).
func (p *Period) Rates(u Use) (r Rates, batchFactor Dec, tierKnown bool) {
	base := p.Components.resolve(nil)
	r = base
	tierKnown = true
	if u.LongContext && p.Above != nil {
		r = p.Above.Components.resolve(&base)
	}
	if u.Tier != "" && u.Tier != "standard" {
		t, ok := p.Tiers[u.Tier]
		if ok {
			r = t.resolve(&r)
		} else {
			tierKnown = false
		}
	}
	return r, or(p.BatchFactor, DefaultBatchFactor), tierKnown
}

// Amount is an exact sum of priced costs, kept as nano-dollars × 10¹⁵ (a
// price's 10⁹ scale × a batch factor's 10⁹ ÷ the million tokens a price is
// for), rounded only by Nano. It is a signed 128-bit integer (hi:lo, two's
// complement) while the sum fits, which every real bill does, and a big.Int
// past that: a report prices thousands of groups, and big.Int arithmetic
// was most of it. The zero value is 0.
type Amount struct {
	hi  int64
	lo  uint64
	big *big.Int // the sum, once it left 128 bits; never shared
}

const (
	unitScale = 1_000_000_000 // a factor of 1 at Dec's scale
	amountDen = 1_000_000 * unitScale
)

// Add adds the cost of tokens at rates r, times the batch factor when batch.
func (a *Amount) Add(t Tokens, r Rates, batch bool, batchFactor Dec) {
	if hi, lo, ok := amount128(t, r, batch, batchFactor); ok {
		a.add128(hi, lo)
		return
	}
	a.addBig(amountBig(t, r, batch, batchFactor))
}

// amount128 is Add's sum as a positive 128-bit integer, ok false when a
// value is negative or the sum does not fit.
func amount128(t Tokens, r Rates, batch bool, batchFactor Dec) (int64, uint64, bool) {
	f := uint64(unitScale)
	if batch {
		if batchFactor < 0 {
			return 0, 0, false
		}
		f = uint64(batchFactor)
	}
	var hi, lo uint64 // Σ tokens × rate
	for i, n := range [5]int64{t.Input, t.CacheRead, t.CacheWrite, t.CacheWrite1h, t.Output} {
		if n == 0 || r[i] == 0 {
			continue
		}
		if n < 0 || r[i] < 0 {
			return 0, 0, false
		}
		h, l := bits.Mul64(uint64(n), uint64(r[i]))
		var c uint64
		lo, c = bits.Add64(lo, l, 0)
		if hi, c = bits.Add64(hi, h, c); c != 0 {
			return 0, 0, false
		}
	}
	// × f, still within 127 bits.
	h1, l1 := bits.Mul64(lo, f)
	h2, l2 := bits.Mul64(hi, f)
	top, c := bits.Add64(h1, l2, 0)
	if h2 != 0 || c != 0 || top > math.MaxInt64 {
		return 0, 0, false
	}
	return int64(top), l1, true
}

// neg128 is -(hi:lo) in two's complement: the magnitude of a negative
// 128-bit integer, or a magnitude made negative.
func neg128(hi, lo uint64) (uint64, uint64) {
	l, b := bits.Sub64(0, lo, 0)
	h, _ := bits.Sub64(0, hi, b)
	return h, l
}

// amountBig is Add's sum as a big.Int, for what does not fit 128 bits.
func amountBig(t Tokens, r Rates, batch bool, batchFactor Dec) *big.Int {
	var sum, term, rate big.Int
	for i, n := range [5]int64{t.Input, t.CacheRead, t.CacheWrite, t.CacheWrite1h, t.Output} {
		term.SetInt64(n)
		sum.Add(&sum, term.Mul(&term, rate.SetInt64(int64(r[i]))))
	}
	f := int64(unitScale)
	if batch {
		f = int64(batchFactor)
	}
	return sum.Mul(&sum, rate.SetInt64(f))
}

// add128 adds hi:lo, moving to big.Int when the sum would overflow.
func (a *Amount) add128(hi int64, lo uint64) {
	if a.big != nil {
		a.addBig(int128Big(hi, lo))
		return
	}
	l, c := bits.Add64(a.lo, lo, 0)
	h, _ := bits.Add64(uint64(a.hi), uint64(hi), c)
	if (a.hi >= 0) == (hi >= 0) && (int64(h) >= 0) != (a.hi >= 0) { // signed overflow
		a.addBig(int128Big(hi, lo))
		return
	}
	a.hi, a.lo = int64(h), l
}

// addBig adds x to the sum as a big.Int.
func (a *Amount) addBig(x *big.Int) {
	if a.big == nil {
		a.big = int128Big(a.hi, a.lo)
		a.hi, a.lo = 0, 0
	}
	a.big = new(big.Int).Add(a.big, x) // a new one: a copied Amount shares the old
}

// int128Big is hi:lo as a big.Int.
func int128Big(hi int64, lo uint64) *big.Int {
	neg := hi < 0
	uh, ul := uint64(hi), lo
	if neg {
		uh, ul = neg128(uh, ul)
	}
	x := new(big.Int).SetUint64(uh)
	x.Lsh(x, 64).Or(x, new(big.Int).SetUint64(ul))
	if neg {
		x.Neg(x)
	}
	return x
}

// AddAmount adds another sum.
func (a *Amount) AddAmount(o *Amount) {
	if o.big != nil {
		a.addBig(o.big)
		return
	}
	a.add128(o.hi, o.lo)
}

// AddUSD adds an amount already in nano-dollars (a reported cost).
func (a *Amount) AddUSD(u source.USD) {
	m := uint64(u) // |u|, for u < 0 below (MinInt64 too)
	if u < 0 {
		m = -m
	}
	h, l := bits.Mul64(m, amountDen) // < 2¹¹³
	if u < 0 {
		h, l = neg128(h, l)
	}
	a.add128(int64(h), l)
}

// Nano is the sum rounded to the nano-dollar, halves away from zero: the
// one rounding of a priced amount.
func (a *Amount) Nano() source.USD {
	if a.big == nil {
		neg := a.hi < 0
		uh, ul := uint64(a.hi), a.lo
		if neg {
			uh, ul = neg128(uh, ul)
		}
		if uh < amountDen { // the quotient fits 64 bits
			q, r := bits.Div64(uh, ul, amountDen)
			if r >= amountDen-r { // 2r ≥ den, without overflow
				q++
			}
			if neg {
				return source.USD(-q)
			}
			return source.USD(q)
		}
	}
	n := a.big
	if n == nil {
		n = int128Big(a.hi, a.lo)
	}
	den := big.NewInt(amountDen)
	var q, r big.Int
	q.QuoRem(n, den, &r)
	r.Abs(&r)
	r.Mul(&r, big.NewInt(2))
	if r.Cmp(den) >= 0 {
		if n.Sign() < 0 {
			q.Sub(&q, big.NewInt(1))
		} else {
			q.Add(&q, big.NewInt(1))
		}
	}
	return source.USD(q.Int64())
}

// PeriodOf is the price period of model on t's UTC day; ok is false when
// the book has no price for it then.
func (b *Book) PeriodOf(model string, t time.Time) (*Period, bool) {
	m, found := b.Lookup(model)
	if !found {
		return nil, false
	}
	return m.Period(t)
}

// Cost is what tokens cost under the book on t's UTC day: exact, with ok
// false when the model has no price then.
func (b *Book) Cost(model string, t time.Time, tokens Tokens, u Use) (cost Amount, ok bool) {
	m, found := b.Lookup(model)
	if !found {
		return cost, false
	}
	p, found := m.Period(t)
	if !found {
		return cost, false
	}
	r, bf, _ := p.Rates(u)
	cost.Add(tokens, r, u.Batch, bf)
	return cost, true
}
