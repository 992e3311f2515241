// Package source holds the usage record, the totals every report adds up, and
// the Source interface that the cache, the API and imported files implement.
package source

import (
	"context"
	"fmt"
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
	Calls       int64
	Successful  int64
	Prompt      int64
	Completion  int64
	Cost        USD
	SmallCalls  int64 // calls with fewer than SmallCallTokens tokens
	SmallTokens int64
	SmallCost   USD
	LatencyN    int64 // calls that reported a latency
	LatencySum  int64 // ms, over LatencyN calls
}

// Failed is the number of calls whose status was not success.
func (t Totals) Failed() int64 { return t.Calls - t.Successful }

// Tokens is prompt plus completion tokens.
func (t Totals) Tokens() int64 { return t.Prompt + t.Completion }

// Add merges o into t.
func (t *Totals) Add(o Totals) {
	t.Calls += o.Calls
	t.Successful += o.Successful
	t.Prompt += o.Prompt
	t.Completion += o.Completion
	t.Cost += o.Cost
	t.SmallCalls += o.SmallCalls
	t.SmallTokens += o.SmallTokens
	t.SmallCost += o.SmallCost
	t.LatencyN += o.LatencyN
	t.LatencySum += o.LatencySum
}

// AddRecord counts one call into t.
func (t *Totals) AddRecord(r *Record) {
	t.Calls++
	if r.Success {
		t.Successful++
	}
	t.Prompt += r.PromptTokens
	t.Completion += r.CompletionTokens
	t.Cost += r.Cost
	if r.Tokens() < SmallCallTokens {
		t.SmallCalls++
		t.SmallTokens += r.Tokens()
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
)

// Dims lists the dimensions other than DimAll.
var Dims = []Dim{DimModel, DimKey, DimUser, DimRegion, DimStatus}

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
	}
	return fmt.Sprintf("dim(%d)", uint8(d))
}

// Status names used as members of DimStatus.
const (
	StatusSuccess = "success"
	StatusError   = "error"
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
		if r.Success {
			return StatusSuccess
		}
		return StatusError
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
	out := make([]Groups, max(len(bounds)-1, 0))
	for i := range out {
		out[i] = Groups{}
	}
	for i := range m.Records[tenant] {
		r := &m.Records[tenant][i]
		k := IntervalOf(bounds, r.Time)
		if k < 0 {
			continue
		}
		name := r.Member(dim)
		t := out[k][name]
		t.AddRecord(r)
		out[k][name] = t
	}
	return out, nil
}

// Query asks for the totals along Dim over the intervals between Bounds.
type Query struct {
	Dim    Dim
	Bounds []int64
}

// ManySource answers several queries in one pass over the records, for
// sources where each pass is costly (the API).
type ManySource interface {
	AggregateMany(ctx context.Context, tenant string, qs []Query) ([][]Groups, error)
}

// AggregateMany answers qs from src, in one pass when src can.
func AggregateMany(ctx context.Context, src Source, tenant string, qs []Query) ([][]Groups, error) {
	if m, ok := src.(ManySource); ok {
		return m.AggregateMany(ctx, tenant, qs)
	}
	out := make([][]Groups, len(qs))
	for i, q := range qs {
		g, err := src.Aggregate(ctx, tenant, q.Dim, q.Bounds)
		if err != nil {
			return nil, err
		}
		out[i] = g
	}
	return out, nil
}

// RecordLister streams a tenant's records with start <= timestamp < end, in
// timestamp order, for exports. The record passed to fn is reused.
type RecordLister interface {
	EachRecord(ctx context.Context, tenant string, start, end int64, fn func(*Record) error) error
}
