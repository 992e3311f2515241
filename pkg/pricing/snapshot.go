package pricing

import (
	_ "embed"
	"fmt"
	"sync"
	"time"

	"github.com/nextcore-ai/nextcore/pkg/source"
)

// snapshotBin is the price book built in: the public LiteLLM price table
// converted by cmd/nextcore-prices (go run ./cmd/nextcore-prices -date DAY
// -o pkg/pricing/snapshot.json model_prices_and_context_window.json), which
// writes snapshot.json and this compact form of it beside (snapbin.go).
//
//go:embed snapshot.bin
var snapshotBin []byte

// SnapshotFile is the format of the built-in snapshot (snapshot.json),
// which cmd/nextcore-prices writes: prices in USD per million tokens as
// decimal strings, "" for none.
type SnapshotFile struct {
	Date   string                   `json:"date"`
	Source string                   `json:"source"`
	Models map[string]SnapshotModel `json:"models"`
}

// SnapshotModel is an entry of the snapshot.
type SnapshotModel struct {
	Provider string           `json:"provider,omitempty"`
	Aliases  []string         `json:"aliases,omitempty"`
	Prices   []SnapshotPeriod `json:"prices"`
}

// SnapshotComponents are the prices of the kinds of tokens.
type SnapshotComponents struct {
	Input        string `json:"input,omitempty"`
	CacheRead    string `json:"cacheRead,omitempty"`
	CacheWrite   string `json:"cacheWrite,omitempty"`
	CacheWrite1h string `json:"cacheWrite1h,omitempty"`
	Output       string `json:"output,omitempty"`
}

// SnapshotPeriod is a period of a snapshot entry.
type SnapshotPeriod struct {
	From string `json:"from"`
	SnapshotComponents
	BatchFactor string                        `json:"batchFactor,omitempty"`
	Above       *SnapshotAbove                `json:"above,omitempty"`
	Tiers       map[string]SnapshotComponents `json:"tiers,omitempty"`
}

// SnapshotAbove is a period's long-context prices.
type SnapshotAbove struct {
	Tokens int64 `json:"tokens"`
	SnapshotComponents
}

var snapshot struct {
	once   sync.Once
	models []*Model
	date   string
	err    error
}

// loadSnapshot decodes the built-in prices once (snapshot.bin: about a
// millisecond, and only for reports that price).
func loadSnapshot() ([]*Model, string, error) {
	snapshot.once.Do(func() {
		snapshot.models, snapshot.date, snapshot.err = UnmarshalSnapshot(snapshotBin)
		if snapshot.err != nil {
			snapshot.err = fmt.Errorf("the built-in price book is damaged: %w", snapshot.err)
		}
	})
	return snapshot.models, snapshot.date, snapshot.err
}

// ToModels are the snapshot file's entries as book models.
func (f *SnapshotFile) ToModels() ([]*Model, error) {
	var out []*Model
	for name, sm := range f.Models {
		m := &Model{Name: name, Provider: sm.Provider, Aliases: sm.Aliases}
		for _, sp := range sm.Prices {
			from, err := time.Parse(time.DateOnly, sp.From)
			if err != nil {
				return nil, fmt.Errorf("%s: bad from %q", name, sp.From)
			}
			p := Period{From: from, Components: sp.SnapshotComponents.components(), BatchFactor: optDec(sp.BatchFactor)}
			if sp.Above != nil {
				p.Above = &Above{Tokens: sp.Above.Tokens, Components: sp.Above.SnapshotComponents.components()}
			}
			for tier, c := range sp.Tiers {
				if p.Tiers == nil {
					p.Tiers = map[string]Components{}
				}
				p.Tiers[tier] = c.components()
			}
			m.Periods = append(m.Periods, p)
		}
		out = append(out, m)
	}
	return out, nil
}

func (c SnapshotComponents) components() Components {
	return Components{Input: optDec(c.Input), CacheRead: optDec(c.CacheRead), CacheWrite: optDec(c.CacheWrite),
		CacheWrite1h: optDec(c.CacheWrite1h), Output: optDec(c.Output)}
}

func optDec(s string) *Dec {
	if s == "" {
		return nil
	}
	u, err := source.ParseUSD(s)
	if err != nil {
		return nil
	}
	d := Dec(u)
	return &d
}

// Load is the price book: the built-in snapshot, then each price file over
// it (a later source wins per model). A file with an error is refused whole.
//
// The files are read now (a bad one is an error before anything else); the
// snapshot is decoded when the book is first read.
func Load(files ...string) (*Book, error) {
	b := NewBook()
	b.Snapshot, b.pending = snapshotDate(), true
	for _, f := range files {
		if f == "" {
			continue
		}
		ms, err := ReadFile(f)
		if err != nil {
			return nil, err
		}
		b.over = append(b.over, ms...)
		b.Files = append(b.Files, f)
	}
	return b, nil
}

// snapshotDate reads the snapshot's date without decoding the rest: it
// follows the magic.
func snapshotDate() string {
	r := &snapReader{b: snapshotBin[min(len(snapshotBin), len(snapMagic)):]}
	if d := r.str(); r.err == nil {
		return d
	}
	return ""
}
