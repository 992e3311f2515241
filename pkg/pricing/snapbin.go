package pricing

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// The built-in prices are embedded twice: snapshot.json, which people read
// and cmd/nextcore-prices writes, and snapshot.bin, the same models in a
// compact form that decodes in a fraction of the time (most reports price
// some records, and decoding the JSON was a tenth of a short report).
// MarshalSnapshot makes the second from the first; a test checks that the
// two agree (go test ./pkg/pricing -run TestSnapshotBin -update rewrites
// it).

const snapMagic = "NCPRICES1\n"

// MarshalSnapshot encodes models (in name order) and the snapshot's date.
func MarshalSnapshot(models []*Model, date string) []byte {
	ms := slices.Clone(models)
	slices.SortFunc(ms, func(a, b *Model) int { return strings.Compare(a.Name, b.Name) })
	b := []byte(snapMagic)
	b = appendStr(b, date)
	b = binary.AppendUvarint(b, uint64(len(ms)))
	for _, m := range ms {
		b = appendStr(b, m.Name)
		b = appendStr(b, m.Provider)
		b = binary.AppendUvarint(b, uint64(len(m.Aliases)))
		for _, a := range m.Aliases {
			b = appendStr(b, a)
		}
		b = binary.AppendUvarint(b, uint64(len(m.Periods)))
		for _, p := range m.Periods {
			b = binary.AppendVarint(b, p.From.Unix())
			b = appendComponents(b, p.Components)
			b = appendDec(b, p.BatchFactor)
			if p.Above == nil {
				b = append(b, 0)
			} else {
				b = append(b, 1)
				b = binary.AppendVarint(b, p.Above.Tokens)
				b = appendComponents(b, p.Above.Components)
			}
			tiers := make([]string, 0, len(p.Tiers))
			for t := range p.Tiers {
				tiers = append(tiers, t)
			}
			slices.Sort(tiers)
			b = binary.AppendUvarint(b, uint64(len(tiers)))
			for _, t := range tiers {
				b = appendStr(b, t)
				b = appendComponents(b, p.Tiers[t])
			}
		}
	}
	return b
}

func appendStr(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

func appendDec(b []byte, d *Dec) []byte {
	if d == nil {
		return append(b, 0)
	}
	return binary.AppendVarint(append(b, 1), int64(*d))
}

func appendComponents(b []byte, c Components) []byte {
	for _, d := range []*Dec{c.Input, c.CacheRead, c.CacheWrite, c.CacheWrite1h, c.Output} {
		b = appendDec(b, d)
	}
	return b
}

// snapReader reads what MarshalSnapshot wrote; the first error sticks.
type snapReader struct {
	b   []byte
	err error
}

var errSnapShort = errors.New("ends early")

func (r *snapReader) uvarint() uint64 { return snapRead(r, binary.Uvarint) }

func (r *snapReader) varint() int64 { return snapRead(r, binary.Varint) }

// snapRead reads a number with decode (binary.Uvarint or Varint).
func snapRead[T uint64 | int64](r *snapReader, decode func([]byte) (T, int)) T {
	v, n := decode(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *snapReader) fail() {
	if r.err == nil {
		r.err = errSnapShort
	}
	r.b = nil
}

// count is a length that the bytes left can hold (each item takes one at
// least): a damaged length never allocates much.
func (r *snapReader) count() int {
	n := r.uvarint()
	if n > uint64(len(r.b)) {
		r.fail()
		return 0
	}
	return int(n)
}

func (r *snapReader) str() string {
	n := r.count()
	s := string(r.b[:n])
	r.b = r.b[n:]
	return s
}

func (r *snapReader) flag() bool {
	if len(r.b) == 0 {
		r.fail()
		return false
	}
	f := r.b[0]
	r.b = r.b[1:]
	return f == 1
}

func (r *snapReader) dec() *Dec {
	if !r.flag() {
		return nil
	}
	d := Dec(r.varint())
	return &d
}

func (r *snapReader) components() Components {
	return Components{Input: r.dec(), CacheRead: r.dec(), CacheWrite: r.dec(), CacheWrite1h: r.dec(), Output: r.dec()}
}

// UnmarshalSnapshot decodes what MarshalSnapshot encoded.
func UnmarshalSnapshot(data []byte) ([]*Model, string, error) {
	if len(data) < len(snapMagic) || string(data[:len(snapMagic)]) != snapMagic {
		return nil, "", fmt.Errorf("not a price snapshot")
	}
	r := &snapReader{b: data[len(snapMagic):]}
	date := r.str()
	models := make([]*Model, r.count())
	for i := range models {
		m := &Model{Name: r.str(), Provider: r.str()}
		if n := r.count(); n > 0 {
			m.Aliases = make([]string, n)
			for j := range m.Aliases {
				m.Aliases[j] = r.str()
			}
		}
		m.Periods = make([]Period, r.count())
		for j := range m.Periods {
			p := &m.Periods[j]
			p.From = time.Unix(r.varint(), 0).UTC()
			p.Components = r.components()
			p.BatchFactor = r.dec()
			if r.flag() {
				p.Above = &Above{Tokens: r.varint(), Components: r.components()}
			}
			if n := r.count(); n > 0 {
				p.Tiers = make(map[string]Components, n)
				for range n {
					t := r.str()
					p.Tiers[t] = r.components()
				}
			}
		}
		models[i] = m
	}
	if r.err == nil && len(r.b) > 0 {
		r.err = errors.New("has bytes past its end")
	}
	if r.err != nil {
		return nil, "", fmt.Errorf("the price snapshot %w", r.err)
	}
	return models, date, nil
}
