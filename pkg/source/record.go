// Package source holds the usage record, the totals every report adds up, and
// the Source interface that the cache, the API and imported files implement.
package source

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Record is one API call, as the control plane reports it.
type Record struct {
	ID               string
	Time             int64 // Unix nanoseconds
	Model            string
	APIKey           string
	User             string // "" when the API gave none
	Region           string // "" when the API gave none
	Success          bool
	StatusCode       int   // 0 when the API gave none
	PromptTokens     int64 // ≥ 0
	CompletionTokens int64 // ≥ 0
	Cost             USD
	LatencyMs        int64 // -1 when the API gave none

	// The ledger (records v2, docs/ledger.md). Every field's zero value is
	// what a v1 record means, but for Requests, which a v1 record sets to 1.
	Requests     int64 // calls this record stands for; 0: a bucket that does not count them
	CacheRead    int64 // of PromptTokens: input served from a prompt cache
	CacheWrite   int64 // of PromptTokens: input written to a cache (5 min or unspecified)
	CacheWrite1h int64 // of PromptTokens: input written to a 1-hour cache
	Reasoning    int64 // of CompletionTokens: output that was reasoning
	Project      string
	Provider     string // "" when the source gave none
	Tags         []string
	ServiceTier  string // "" or "standard": the period's prices
	Batch        bool
	LongContext  int8 // 0: derive from the input; 1: long-context prices; -1: not
	Unknown      bool // status not known (Success is false)
	NoCost       bool // the source reported no cost: Cost is 0, priced from the book
}

// Input is the input tokens billed at the uncached input price.
func (r *Record) Input() int64 {
	return r.PromptTokens - r.CacheRead - r.CacheWrite - r.CacheWrite1h
}

// V2 reports whether r carries anything a v1 record cannot say.
func (r *Record) V2() bool {
	return r.Requests != 1 || r.CacheRead != 0 || r.CacheWrite != 0 || r.CacheWrite1h != 0 ||
		r.Reasoning != 0 || r.Project != "" || r.Provider != "" || len(r.Tags) != 0 ||
		r.ServiceTier != "" || r.Batch || r.LongContext != 0 || r.Unknown || r.NoCost
}

// Tokens is prompt plus completion tokens.
func (r *Record) Tokens() int64 { return r.PromptTokens + r.CompletionTokens }

// SmallCallTokens is the size under which a call counts as small, for the
// "a cheaper model would serve these calls" insight. The cache's rollups are
// built with it, so changing it needs a rollup rebuild (a schema migration).
const SmallCallTokens = 500

// Totals are the additive numbers of a set of calls. Every report is built
// from Totals, so they must be exact and cheap to merge.
type Totals struct {
	Calls       int64 // Σ requests (docs/api.md, records v2)
	Successful  int64
	Prompt      int64
	Completion  int64
	Cost        USD   // reported cost (0 for records without one)
	SmallCalls  int64 // calls of records with fewer than SmallCallTokens tokens a call
	SmallTokens int64
	SmallCost   USD
	LatencyN    int64    // calls that reported a latency
	LatencySum  int64    // ms, over LatencyN calls
	Latency     *Latency // their histogram, for percentiles; nil when none

	// The ledger (records v2).
	Unknown      int64 // calls of unknown status: neither successful nor failed
	CacheRead    int64 // of Prompt
	CacheWrite   int64 // of Prompt
	CacheWrite1h int64 // of Prompt
	Reasoning    int64 // of Completion
	// Records of requests 0 (buckets that count no calls): their cost and
	// tokens, which count in the totals but not in figures per call.
	NoCallsCost   USD
	NoCallsTokens int64
}

// Failed is the number of calls whose status was error.
func (t Totals) Failed() int64 { return t.Calls - t.Successful - t.Unknown }

// Known is the number of calls whose status is known: the success rate's
// denominator.
func (t Totals) Known() int64 { return t.Calls - t.Unknown }

// Tokens is prompt plus completion tokens.
func (t Totals) Tokens() int64 { return t.Prompt + t.Completion }

// Input is the input tokens billed at the uncached price.
func (t Totals) Input() int64 { return t.Prompt - t.CacheRead - t.CacheWrite - t.CacheWrite1h }

// Counters are pointers to t's additive counters (all but the latency
// histogram), in a fixed order: what the cache's rollups store.
func (t *Totals) Counters() [17]*int64 {
	return [17]*int64{&t.Calls, &t.Successful, &t.Prompt, &t.Completion, (*int64)(&t.Cost),
		&t.SmallCalls, &t.SmallTokens, (*int64)(&t.SmallCost), &t.LatencyN, &t.LatencySum,
		&t.Unknown, &t.CacheRead, &t.CacheWrite, &t.CacheWrite1h, &t.Reasoning,
		(*int64)(&t.NoCallsCost), &t.NoCallsTokens}
}

// MoneyCounters are the indexes in Totals.Counters of what pricing reads
// (Query.MoneyOnly): calls, tokens by kind and cost.
var MoneyCounters = func() []int {
	var t Totals
	money := []*int64{&t.Calls, &t.Prompt, &t.Completion, (*int64)(&t.Cost), &t.CacheRead, &t.CacheWrite, &t.CacheWrite1h}
	var idx []int
	for i, c := range t.Counters() {
		if slices.Contains(money, c) {
			idx = append(idx, i)
		}
	}
	return idx
}()

// Empty reports whether t counts nothing at all. A record of 0 requests
// makes Totals with no calls that are not empty.
func (t *Totals) Empty() bool {
	for _, c := range t.Counters() {
		if *c != 0 {
			return false
		}
	}
	return t.Latency == nil
}

// Add merges o into t.
func (t *Totals) Add(o Totals) {
	dst, src := t.Counters(), o.Counters()
	for i := range dst {
		*dst[i] += *src[i]
	}
	if o.Latency != nil {
		if t.Latency == nil {
			t.Latency = o.Latency.Clone() // never share: Totals are copied as values
		} else {
			t.Latency.Merge(o.Latency)
		}
	}
}

// AddRecord counts one record into t.
func (t *Totals) AddRecord(r *Record) {
	t.AddCounts(r)
	if r.LatencyMs >= 0 {
		if t.Latency == nil {
			t.Latency = &Latency{}
		}
		t.Latency.Record(r.LatencyMs)
	}
}

// AddCounts counts one record into t, all but its latency histogram. A
// record stands for Requests calls; its latency counts once.
func (t *Totals) AddCounts(r *Record) {
	n := r.Requests
	t.Calls += n
	switch {
	case r.Unknown:
		t.Unknown += n
	case r.Success:
		t.Successful += n
	}
	t.Prompt += r.PromptTokens
	t.Completion += r.CompletionTokens
	t.Cost += r.Cost
	t.CacheRead += r.CacheRead
	t.CacheWrite += r.CacheWrite
	t.CacheWrite1h += r.CacheWrite1h
	t.Reasoning += r.Reasoning
	tokens := r.Tokens()
	if n == 0 {
		t.NoCallsCost += r.Cost
		t.NoCallsTokens += tokens
	} else if r.small() {
		t.SmallCalls += n
		t.SmallTokens += tokens
		t.SmallCost += r.Cost
	}
	if r.LatencyMs >= 0 {
		t.LatencyN++
		t.LatencySum += r.LatencyMs
	}
}

// Dim is a dimension a report can group calls by.
type Dim uint8

// The dimensions. DimAll puts every call in one group, named "".
const (
	DimAll Dim = iota
	DimModel
	DimKey
	DimUser
	DimRegion
	DimStatus
	// The ledger's dimensions (docs/ledger.md §2).
	DimProject
	DimTag // a call is in the group of each of its tags: groups overlap
	DimProvider
	// DimPrice groups calls by what prices them: model, batch, service
	// tier, long context, and whether the source reported a cost
	// (PriceKey). Reports price its groups' tokens from the price book; it
	// is no dimension a user groups by.
	DimPrice
	// DimPairPrice is DimPrice without telling small calls apart: how
	// reports price groups other than models (whose small calls no report
	// prices), in half the groups.
	DimPairPrice
)

// HasLatency reports whether totals along d carry response times: all but
// the price keys', which are read for money only.
func (d Dim) HasLatency() bool { return d != DimPrice && d != DimPairPrice }

// LongContextTokens is the input of one request above which, when a record
// does not say, it is priced at long-context prices: the threshold of every
// provider's long-context prices (the price table's *_above_200k_tokens).
const LongContextTokens = 200_000

// PriceKey is a DimPrice member, decoded.
type PriceKey struct {
	Model, Tier         string
	Batch, Long, NoCost bool
	// Zero is a record of 0 requests, Small one of fewer than
	// SmallCallTokens tokens a call: what Totals.NoCallsCost and SmallCost
	// count, so that priced costs fill them too.
	Zero, Small bool
}

// priceSep joins a PriceKey's fields; names cannot hold it (PivotSep is
// another control character).
const priceSep = "\x1e"

// priceFlags are PriceKey's flags in a member's name, in order.
const priceFlags = "blnzs"

// String is the key as a DimPrice member.
func (k PriceKey) String() string {
	flags := []byte("-----")
	for i, on := range [...]bool{k.Batch, k.Long, k.NoCost, k.Zero, k.Small} {
		if on {
			flags[i] = priceFlags[i]
		}
	}
	return k.Model + priceSep + string(flags) + priceSep + k.Tier
}

// ParsePriceKey decodes a DimPrice member.
func ParsePriceKey(s string) (PriceKey, bool) {
	model, rest, ok1 := strings.Cut(s, priceSep)
	flags, tier, ok2 := strings.Cut(rest, priceSep)
	if !ok1 || !ok2 || len(flags) != len(priceFlags) {
		return PriceKey{}, false
	}
	return PriceKey{Model: model, Tier: tier, Batch: flags[0] == 'b', Long: flags[1] == 'l', NoCost: flags[2] == 'n',
		Zero: flags[3] == 'z', Small: flags[4] == 's'}, true
}

// PriceKeyOf is what prices r.
func (r *Record) PriceKeyOf() PriceKey {
	long := r.LongContext == 1 || (r.LongContext == 0 && r.Requests == 1 && r.PromptTokens > LongContextTokens)
	return PriceKey{Model: r.Model, Tier: r.ServiceTier, Batch: r.Batch, Long: long, NoCost: r.NoCost,
		Zero: r.Requests == 0, Small: r.small()}
}

// small reports whether r's calls are small: fewer than SmallCallTokens
// tokens a call (Totals.SmallCalls).
func (r *Record) small() bool {
	return r.Requests > 0 && r.Tokens()/SmallCallTokens < r.Requests // without overflow
}

// Dims lists the dimensions other than DimAll that a call has one member
// of (DimTag, whose groups overlap, is apart).
func Dims() []Dim {
	return []Dim{DimModel, DimKey, DimUser, DimRegion, DimStatus, DimProject, DimProvider, DimPrice}
}

// AllDims lists every dimension a report can group or filter by, DimTag
// among them, in the order they are offered.
func AllDims() []Dim {
	return []Dim{DimModel, DimKey, DimUser, DimRegion, DimStatus, DimProject, DimTag, DimProvider}
}

// NumDims is len(Dims()).
const NumDims = 8

func (d Dim) String() string {
	switch d {
	case DimAll:
		return "all"
	case DimModel:
		return "model"
	case DimKey:
		return "key"
	case DimUser:
		return "user"
	case DimRegion:
		return "region"
	case DimStatus:
		return "status"
	case DimProject:
		return "project"
	case DimTag:
		return "tag"
	case DimProvider:
		return "provider"
	case DimPrice:
		return "price"
	case DimPairPrice:
		return "pair price"
	}
	return fmt.Sprintf("dim(%d)", uint8(d))
}

// Status names used as members of DimStatus.
const (
	StatusSuccess = "success"
	StatusError   = "error"
	StatusUnknown = "unknown" // records v2: an aggregated source did not say
)

// Member is the group a record falls in along d.
func (r *Record) Member(d Dim) string {
	switch d {
	case DimModel:
		return r.Model
	case DimKey:
		return r.APIKey
	case DimUser:
		return r.User
	case DimRegion:
		return r.Region
	case DimStatus:
		switch {
		case r.Unknown:
			return StatusUnknown
		case r.Success:
			return StatusSuccess
		}
		return StatusError
	case DimProject:
		return r.Project
	case DimProvider:
		return r.Provider
	case DimPrice:
		return r.PriceKeyOf().String()
	case DimPairPrice:
		k := r.PriceKeyOf()
		k.Small = false
		return k.String()
	}
	return ""
}

// Groups are totals by member of one dimension.
type Groups map[string]Totals

// Sum is the totals of all groups together.
func (g Groups) Sum() Totals {
	var t Totals
	for _, v := range g {
		t.Add(v)
	}
	return t
}

// Source gives the totals of a tenant's calls over consecutive intervals.
// Aggregate returns one Groups per interval [bounds[i], bounds[i+1]) (Unix
// nanoseconds, non-decreasing: an interval may be empty): a record belongs to an interval when
// start <= timestamp < end.
type Source interface {
	Aggregate(ctx context.Context, tenant string, dim Dim, bounds []int64) ([]Groups, error)
}

// Limits are a tenant's monthly limits; nil is unlimited.
type Limits struct {
	APICalls *int64
	Tokens   *int64
	Spend    *USD
}

// LimitKeeper is a source that knows the tenant's monthly limits: those
// the API states, or those a sync kept. ok is false when it knows none.
type LimitKeeper interface {
	Limits(ctx context.Context, tenant string) (l Limits, ok bool, err error)
}

// AlertLog is a source that remembers which budget alerts went out, so that
// each goes once per billing month and channel.
type AlertLog interface {
	AlertsSent(ctx context.Context, tenant, period string) (map[string]bool, error)
	MarkAlertsSent(ctx context.Context, tenant, period, channel string, alerts []string, at time.Time) error
	ForgetAlerts(ctx context.Context, tenant, period string, alerts []string) error
}

// Counter is a source that counts a window's records cheaply (without
// reading them), for a progress bar.
type Counter interface {
	Count(ctx context.Context, tenant string, start, end int64) (int64, error)
}

// Rolled is a source that answers plain queries from rollups: a query
// more costs little, where a source that reads every record for a call
// (the API) would read them again.
type Rolled interface {
	Rolled()
}

// Remote is a source whose every call costs round trips to a server (the
// team store): one call that asks all a report may need beats a cheap one
// first to see what it needs.
type Remote interface {
	Remote()
}

// Beginning is a source that can tell when a tenant's data begins: the
// time of its oldest record, zero when it has none.
type Beginning interface {
	Oldest(ctx context.Context, tenant string) (time.Time, error)
}

// Info describes the data a source holds for a tenant, for report headers.
type Info struct {
	Tenant    string
	Kind      string    // "cache", "api", "demo"
	UpdatedAt time.Time // last import or sync; zero if unknown
	Records   int64
	Oldest    time.Time
	Newest    time.Time
}

// IntervalOf returns the index i with bounds[i] <= ts < bounds[i+1], or -1.
func IntervalOf(bounds []int64, ts int64) int {
	lo, hi := 0, len(bounds)-1 // search in bounds[0:hi]
	if hi < 1 || ts < bounds[0] || ts >= bounds[hi] {
		return -1
	}
	for lo+1 < hi {
		mid := (lo + hi) / 2
		if bounds[mid] <= ts {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo
}

// Memory is a Source over records held in memory. It is the plain reference
// that faster sources are checked against.
type Memory struct {
	Records map[string][]Record // by tenant
}

// Aggregate implements Source by visiting every record.
func (m *Memory) Aggregate(ctx context.Context, tenant string, dim Dim, bounds []int64) ([]Groups, error) {
	return AggregateOne(ctx, m, tenant, dim, bounds)
}

// AggregateMany implements ManySource by visiting every record once.
func (m *Memory) AggregateMany(ctx context.Context, tenant string, qs []Query) ([][]Groups, error) {
	out := make([][]Groups, len(qs))
	for i, q := range qs {
		out[i] = NewGroups(q)
	}
	for i := range m.Records[tenant] {
		Count(qs, out, &m.Records[tenant][i])
	}
	return out, nil
}

// Query asks for totals over the intervals between Bounds, grouped by Dim
// (and, for a pivot, by the Also dimensions too), of the calls that match
// Filter.
type Query struct {
	Dim    Dim
	Also   []Dim
	Bounds []int64
	Filter Filter
	// Latency asks for the latency histograms too (Totals.Latency); they cost
	// time to read, so reports that show no percentiles leave it off.
	Latency bool
	// CountsOnly says that the report reads no cost of it: costs need not
	// be reckoned from the price book.
	CountsOnly bool
	// NoCostOnly counts only the records whose source reported no cost.
	NoCostOnly bool
	// CallsOnly says that only the groups' Calls are read (a ranking by
	// calls): a source may leave the rest 0.
	CallsOnly bool
	// MoneyOnly says that only what prices the groups is read: calls,
	// tokens by kind and cost (a source may leave the rest 0).
	MoneyOnly bool
}

// PivotSep joins the members of a pivot's dimensions in a group's name.
const PivotSep = "\x1f"

// Filter keeps the calls whose member of each dimension is one of the
// values given for it.
type Filter map[Dim][]string

// Match reports whether r passes the filter. A call passes a tag filter
// when one of its tags is among the values ("" for a call with none).
func (f Filter) Match(r *Record) bool {
	for d, vals := range f {
		if d != DimTag {
			if !slices.Contains(vals, r.Member(d)) {
				return false
			}
			continue
		}
		ok := false
		for _, m := range r.Members(d) {
			ok = ok || slices.Contains(vals, m)
		}
		if !ok {
			return false
		}
	}
	return true
}

// noTags is the member list of a call without tags along DimTag.
var noTags = []string{""}

// Members are the groups r falls in along d: one, but along DimTag one a
// tag ("" for a call with none).
func (r *Record) Members(d Dim) []string {
	if d == DimTag {
		if len(r.Tags) == 0 {
			return noTags
		}
		return r.Tags
	}
	return []string{r.Member(d)}
}

// Groups are the names of r's groups in q, none when r does not belong to
// q: one group, but a group a tag along DimTag (groups overlap), and for a
// pivot every combination.
func (q *Query) Groups(r *Record) []string {
	if (len(q.Filter) > 0 && !q.Filter.Match(r)) || (q.NoCostOnly && !r.NoCost) {
		return nil
	}
	if q.Dim != DimTag && len(q.Also) == 0 {
		return []string{r.Member(q.Dim)}
	}
	names := r.Members(q.Dim)
	for _, d := range q.Also {
		var next []string
		for _, n := range names {
			for _, m := range r.Members(d) {
				next = append(next, n+PivotSep+m)
			}
		}
		names = next
	}
	return names
}

// Plain reports whether q groups by one dimension with no filter, which
// rollups can answer.
func (q *Query) Plain() bool { return len(q.Also) == 0 && len(q.Filter) == 0 && !q.NoCostOnly }

// ManySource answers several queries at once, in one pass over the records
// where each pass is costly (the API).
type ManySource interface {
	AggregateMany(ctx context.Context, tenant string, qs []Query) ([][]Groups, error)
}

// AggregateOne is Source.Aggregate for a ManySource: one plain query, with
// latency histograms.
func AggregateOne(ctx context.Context, m ManySource, tenant string, dim Dim, bounds []int64) ([]Groups, error) {
	out, err := m.AggregateMany(ctx, tenant, []Query{{Dim: dim, Bounds: bounds, Latency: true}})
	if err != nil {
		return nil, err
	}
	return out[0], nil
}

// AggregateMany answers qs from src, in one pass when src can.
func AggregateMany(ctx context.Context, src Source, tenant string, qs []Query) ([][]Groups, error) {
	if m, ok := src.(ManySource); ok {
		return m.AggregateMany(ctx, tenant, qs)
	}
	out := make([][]Groups, len(qs))
	for i, q := range qs {
		if !q.Plain() {
			return nil, fmt.Errorf("this source cannot filter or pivot")
		}
		g, err := src.Aggregate(ctx, tenant, q.Dim, q.Bounds)
		if err != nil {
			return nil, err
		}
		out[i] = g
	}
	return out, nil
}

// NewGroups makes the empty result of a query.
func NewGroups(q Query) []Groups {
	out := make([]Groups, max(len(q.Bounds)-1, 0))
	for i := range out {
		out[i] = Groups{}
	}
	return out
}

// Count adds r to the results of the queries it belongs to.
func Count(qs []Query, out [][]Groups, r *Record) {
	for qi := range qs {
		q := &qs[qi]
		k := IntervalOf(q.Bounds, r.Time)
		if k < 0 {
			continue
		}
		latency := q.Latency && q.Dim.HasLatency()
		if q.Dim != DimTag && len(q.Also) == 0 { // one group: no allocation
			if (len(q.Filter) == 0 || q.Filter.Match(r)) && (!q.NoCostOnly || r.NoCost) {
				countInto(out[qi][k], r.Member(q.Dim), r, latency)
			}
			continue
		}
		for _, name := range q.Groups(r) {
			countInto(out[qi][k], name, r, latency)
		}
	}
}

func countInto(g Groups, name string, r *Record, latency bool) {
	t := g[name]
	if latency {
		t.AddRecord(r)
	} else {
		t.AddCounts(r)
	}
	g[name] = t
}

// RecordLister streams a tenant's records with start <= timestamp < end, in
// timestamp order, for exports. The record passed to fn is reused.
type RecordLister interface {
	EachRecord(ctx context.Context, tenant string, start, end int64, fn func(*Record) error) error
}
