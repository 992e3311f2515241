// The name dictionary: models, keys, users and regions stored once, as ids.

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
}

// numDims bounds the Dim values, for the dictionary's arrays.
const numDims = int(source.DimStatus) + 1

func loadDictionary(ctx context.Context, q queryer) (*dictionary, error) {
	d := &dictionary{}
	for _, dim := range source.Dims() {
		d.ids[dim] = map[string]int64{"": 0}
		d.names[dim] = map[int64]string{0: ""}
		d.next[dim] = 1
	}
	// Status members are fixed.
	d.ids[source.DimStatus] = map[string]int64{source.StatusError: 0, source.StatusSuccess: 1}
	d.names[source.DimStatus] = map[int64]string{0: source.StatusError, 1: source.StatusSuccess}
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
