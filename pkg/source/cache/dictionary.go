// The name dictionary: models, keys, users, regions, projects, providers,
// tags, tiers and tag sets stored once, as ids.

package cache

import (
	"context"
	"fmt"

	"github.com/nextcore-ai/nextcore/pkg/source"
)

// dictionary maps the names of models, keys, users and regions to small
// integers, per dimension. Id 0 is "none" (an absent user or region).
type dictionary struct {
	ids   [numDims]map[string]int64 // by Dim
	names [numDims]map[int64]string
	next  [numDims]int64
	// tagSets are the tag sets read so far, by id (dictionary.tagSet).
	tagSets map[int64][]string
	// tagSetIDs are their tags' ids (dictionary.tagIDs).
	tagSetIDs map[int64][]int64
	// scratch is where tagSetID writes a tag set's name.
	scratch []byte
}

// Dictionaries of the cache's own, beside the dimensions': a record's
// service tier, and its set of tags (the tags as a JSON array, in the
// record's order).
const (
	dimTier   source.Dim = 30
	dimTagSet source.Dim = 31
)

// numDims bounds the Dim values, for the dictionary's arrays.
const numDims = int(dimTagSet) + 1

// Status members are fixed: they are the records' ok column.
const (
	okError   = 0
	okSuccess = 1
	okUnknown = 2
)

func loadDictionary(ctx context.Context, q queryer) (*dictionary, error) {
	d := &dictionary{}
	for _, dim := range append(source.Dims(), source.DimProject, source.DimTag, source.DimProvider, dimTier, dimTagSet) {
		d.ids[dim] = map[string]int64{"": 0}
		d.names[dim] = map[int64]string{0: ""}
		d.next[dim] = 1
	}
	d.ids[source.DimStatus] = map[string]int64{source.StatusError: okError, source.StatusSuccess: okSuccess, source.StatusUnknown: okUnknown}
	d.names[source.DimStatus] = map[int64]string{okError: source.StatusError, okSuccess: source.StatusSuccess, okUnknown: source.StatusUnknown}
	rows, err := q.QueryContext(ctx, "SELECT dim, id, name FROM names")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var dim source.Dim
		var id int64
		var name string
		if err := rows.Scan(&dim, &id, &name); err != nil {
			return nil, err
		}
		if int(dim) >= numDims || d.ids[dim] == nil {
			continue
		}
		d.ids[dim][name] = id
		d.names[dim][id] = name
		if id >= d.next[dim] {
			d.next[dim] = id + 1
		}
	}
	return d, rows.Err()
}

// id returns the number of name along dim, adding it (inside the caller's
// transaction) when it is new.
func (d *dictionary) id(ctx context.Context, q queryer, dim source.Dim, name string) (int64, error) {
	if id, ok := d.ids[dim][name]; ok {
		return id, nil
	}
	id := d.next[dim]
	if _, err := q.ExecContext(ctx, "INSERT INTO names (dim, id, name) VALUES (?, ?, ?)", int(dim), id, name); err != nil {
		return 0, fmt.Errorf("add name: %w", err)
	}
	d.next[dim] = id + 1
	d.ids[dim][name] = id
	d.names[dim][id] = name
	return id, nil
}
