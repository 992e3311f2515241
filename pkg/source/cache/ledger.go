// The ledger's columns of a record (records v2, docs/ledger.md): how a
// record's v2 fields are stored and read back.

package cache

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/nextcore-ai/nextcore/pkg/source"
)

// ledgerColumns are the records table's v2 columns, in the order of
// ledgerRow.
const ledgerColumns = "requests, cache_read, cache_write, cache_write_1h, reasoning, project, provider, tags, tier, flags"

// ledgerCount is the number of ledgerColumns.
const ledgerCount = 10

// Bits of the flags column.
const (
	flagBatch     = 1
	flagLongKnown = 2 // the record said whether long-context prices apply
	flagLong      = 4 // … and they do
	flagNoCost    = 8 // the source reported no cost
)

// ledgerRow is a record's v2 columns.
type ledgerRow [ledgerCount]int64

// ledgerNames are the dictionary ids of a record's project, provider, tag
// set and service tier.
type ledgerNames [4]int64

// okValue is a record's ok column: 1 success, 0 error, 2 unknown.
func okValue(r *source.Record) int64 {
	switch {
	case r.Unknown:
		return okUnknown
	case r.Success:
		return okSuccess
	}
	return okError
}

// setOK sets a record's status from its ok column.
func setOK(r *source.Record, ok int64) {
	r.Success, r.Unknown = ok == okSuccess, ok == okUnknown
}

// ledgerIDs are the dictionary ids of r's ledger names and of its tags,
// added when new.
func (d *dictionary) ledgerIDs(ctx context.Context, q queryer, r *source.Record) (ids ledgerNames, tags []int64, err error) {
	if r.Project == "" && r.Provider == "" && len(r.Tags) == 0 && r.ServiceTier == "" {
		return ids, nil, nil // a v1 record, the most common by far
	}
	for _, x := range [...]struct {
		slot int // in ledgerNames
		dim  source.Dim
		name string
	}{{0, source.DimProject, r.Project}, {1, source.DimProvider, r.Provider}, {3, dimTier, r.ServiceTier}} {
		if ids[x.slot], err = d.id(ctx, q, x.dim, x.name); err != nil {
			return ids, nil, err
		}
	}
	if ids[2], err = d.tagSetID(ctx, q, r.Tags); err != nil {
		return ids, nil, err
	}
	for _, t := range r.Tags {
		id, err := d.id(ctx, q, source.DimTag, t)
		if err != nil {
			return ids, nil, err
		}
		tags = append(tags, id)
	}
	return ids, tags, nil
}

// tagSetID is the id of a tag set, named by its tags as a JSON array as
// encoding/json writes it without HTML escapes. A set seen before costs
// no allocation.
func (d *dictionary) tagSetID(ctx context.Context, q queryer, tags []string) (int64, error) {
	b, ok := appendTagSetName(d.scratch[:0], tags)
	if !ok {
		name, err := encodeTagSet(tags)
		if err != nil {
			return 0, err
		}
		return d.id(ctx, q, dimTagSet, name)
	}
	d.scratch = b
	if id, ok := d.ids[dimTagSet][string(b)]; ok {
		return id, nil
	}
	return d.id(ctx, q, dimTagSet, string(b))
}

// appendTagSetName appends a tag set's name (encodeTagSet) to b when its
// tags are plain printable ASCII, as nearly all are, and says whether they
// were; the empty set is named "".
func appendTagSetName(b []byte, tags []string) ([]byte, bool) {
	if len(tags) == 0 {
		return b, true
	}
	b = append(b, '[')
	for i, t := range tags {
		for j := 0; j < len(t); j++ {
			if c := t[j]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' {
				return b, false
			}
		}
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '"')
		b = append(b, t...)
		b = append(b, '"')
	}
	return append(b, ']'), true
}

// encodeTagSet is a tag set's name through encoding/json.
func encodeTagSet(tags []string) (string, error) {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // the name is for people reading the cache too
	if err := enc.Encode(tags); err != nil {
		return "", err
	}
	return strings.TrimSuffix(b.String(), "\n"), nil
}

// noTagIDs is the DimTag member list of a record without tags.
var noTagIDs = []int64{0}

// tagIDs are the DimTag member ids of the tags of a tag set (0: none).
func (d *dictionary) tagIDs(set int64) ([]int64, error) {
	if set == 0 {
		return noTagIDs, nil
	}
	if ids, ok := d.tagSetIDs[set]; ok {
		return ids, nil
	}
	tags, err := d.tagSet(set)
	if err != nil {
		return nil, err
	}
	ids := make([]int64, len(tags))
	for i, t := range tags {
		id, ok := d.ids[source.DimTag][t]
		if !ok {
			return nil, fmt.Errorf("%w: tag %q of tag set %d has no id", ErrCorrupted, t, set)
		}
		ids[i] = id
	}
	if d.tagSetIDs == nil {
		d.tagSetIDs = map[int64][]int64{}
	}
	d.tagSetIDs[set] = ids
	return ids, nil
}

// ledgerValues are r's v2 columns.
func ledgerValues(r *source.Record, ids ledgerNames) ledgerRow {
	var flags int64
	if r.Batch {
		flags |= flagBatch
	}
	switch r.LongContext {
	case 1:
		flags |= flagLongKnown | flagLong
	case -1:
		flags |= flagLongKnown
	}
	if r.NoCost {
		flags |= flagNoCost
	}
	return ledgerRow{r.Requests, r.CacheRead, r.CacheWrite, r.CacheWrite1h, r.Reasoning, ids[0], ids[1], ids[2], ids[3], flags}
}

// v1Ledger are the ledger columns of a v1 record: the columns' defaults.
var v1Ledger = ledgerRow{1}

// dest is where a scan puts the ledger columns.
func (l *ledgerRow) dest() []any {
	out := make([]any, ledgerCount)
	for i := range l {
		out[i] = &l[i]
	}
	return out
}

// ids are the dictionary ids among the columns.
func (l *ledgerRow) ids() ledgerNames { return ledgerNames{l[5], l[6], l[7], l[8]} }

// applyCounts sets r's v2 fields but its names (project, provider, tags,
// tier) from the columns.
func (l *ledgerRow) applyCounts(r *source.Record) {
	r.Requests, r.CacheRead, r.CacheWrite, r.CacheWrite1h, r.Reasoning = l[0], l[1], l[2], l[3], l[4]
	flags := l[9]
	r.Batch = flags&flagBatch != 0
	r.LongContext = 0
	if flags&flagLongKnown != 0 {
		r.LongContext = -1
		if flags&flagLong != 0 {
			r.LongContext = 1
		}
	}
	r.NoCost = flags&flagNoCost != 0
}

// apply sets r's v2 fields from the columns, with names from d.
func (l *ledgerRow) apply(r *source.Record, d *dictionary) error {
	l.applyCounts(r)
	r.Project = d.names[source.DimProject][l[5]]
	r.Provider = d.names[source.DimProvider][l[6]]
	r.Tags = nil
	if l[7] != 0 {
		tags, err := d.tagSet(l[7])
		if err != nil {
			return err
		}
		r.Tags = tags
	}
	r.ServiceTier = d.names[dimTier][l[8]]
	return nil
}

// tagNames are the tags of a record of tag set id as it is grouped by tag
// (source.Record.Members): "" for a record without tags.
func (d *dictionary) tagNames(id int64) ([]string, error) {
	if id == 0 {
		return []string{""}, nil
	}
	return d.tagSet(id)
}

// tagSet reads the tags of a tag set id, once per dictionary; the slice is
// shared and must not be changed.
func (d *dictionary) tagSet(id int64) ([]string, error) {
	if tags, ok := d.tagSets[id]; ok {
		return tags, nil
	}
	name, ok := d.names[dimTagSet][id]
	if !ok {
		return nil, fmt.Errorf("%w: unknown tag set %d", ErrCorrupted, id)
	}
	var tags []string
	if err := json.Unmarshal([]byte(name), &tags); err != nil {
		return nil, fmt.Errorf("%w: tag set %d: %v", ErrCorrupted, id, err)
	}
	if d.tagSets == nil {
		d.tagSets = map[int64][]string{}
	}
	d.tagSets[id] = tags
	return tags, nil
}
