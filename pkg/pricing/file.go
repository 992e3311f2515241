package pricing

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/nextcore-ai/nextcore/pkg/source"
)

// FileError is a problem in a price file, with where it is.
type FileError struct {
	File string
	Line int
	Msg  string
}

func (e *FileError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return e.File + ": " + e.Msg
}

// ReadFile reads a price file (YAML or JSON, the same shape; docs/ledger.md
// §7) whole, or refuses it whole with the first problem: file, line, field.
func ReadFile(path string) ([]*Model, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, &FileError{File: path, Msg: err.Error()}
	}
	return Parse(filepath.Base(path), data)
}

// Parse reads a price file's bytes; name is how errors call the file.
func Parse(name string, data []byte) ([]*Model, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, &FileError{File: name, Msg: "not YAML or JSON: " + strings.ReplaceAll(err.Error(), "\n", "; ")}
	}
	p := &fileParser{name: name}
	if len(doc.Content) == 0 {
		return nil, &FileError{File: name, Msg: "empty: a price file has models:"}
	}
	models, err := p.file(doc.Content[0])
	if err != nil {
		return nil, err
	}
	return models, nil
}

type fileParser struct{ name string }

func (p *fileParser) fail(n *yaml.Node, format string, args ...any) error {
	return &FileError{File: p.name, Line: n.Line, Msg: fmt.Sprintf(format, args...)}
}

// mapping walks a mapping node's keys, refusing keys not in allowed.
func (p *fileParser) mapping(n *yaml.Node, what string, allowed []string, each func(key string, k, v *yaml.Node) error) error {
	if n.Kind != yaml.MappingNode {
		return p.fail(n, "%s must be a mapping", what)
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if allowed != nil && !contains(allowed, k.Value) {
			return p.fail(k, "unknown key %q in %s (known: %s)", k.Value, what, strings.Join(allowed, ", "))
		}
		if seen[k.Value] {
			return p.fail(k, "%q is given twice in %s", k.Value, what)
		}
		seen[k.Value] = true
		if err := each(k.Value, k, v); err != nil {
			return err
		}
	}
	return nil
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

var (
	componentKeys = []string{"input", "cacheRead", "cacheWrite", "cacheWrite1h", "output"}
	periodKeys    = append(append([]string{"from"}, componentKeys...), "batchFactor", "above", "tiers")
)

func (p *fileParser) file(root *yaml.Node) ([]*Model, error) {
	var models []*Model
	aliasOf := map[string]string{}
	err := p.mapping(root, "the price file", []string{"models"}, func(_ string, _, v *yaml.Node) error {
		return p.mapping(v, "models", nil, func(name string, k, v *yaml.Node) error {
			if name == "" {
				return p.fail(k, "a model with no name")
			}
			m, err := p.model(name, v)
			if err != nil {
				return err
			}
			for _, a := range m.Aliases {
				if a == name {
					return p.fail(v, "model %q: the alias %q is the model itself", name, a)
				}
				if other, ok := aliasOf[a]; ok && other != name {
					return p.fail(v, "the alias %q points at two models, %q and %q", a, other, name)
				}
				aliasOf[a] = name
			}
			models = append(models, m)
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	for _, m := range models {
		if other, ok := aliasOf[m.Name]; ok {
			return nil, &FileError{File: p.name, Msg: fmt.Sprintf("%q is a model and an alias of %q", m.Name, other)}
		}
	}
	if models == nil {
		return nil, &FileError{File: p.name, Line: root.Line, Msg: "no models"}
	}
	return models, nil
}

func (p *fileParser) model(name string, n *yaml.Node) (*Model, error) {
	m := &Model{Name: name}
	err := p.mapping(n, "model "+strconv.Quote(name), []string{"provider", "aliases", "prices"}, func(key string, k, v *yaml.Node) error {
		switch key {
		case "provider":
			if v.Kind != yaml.ScalarNode {
				return p.fail(v, "model %q: provider must be a name", name)
			}
			m.Provider = v.Value
		case "aliases":
			if v.Kind != yaml.SequenceNode {
				return p.fail(v, "model %q: aliases must be a list", name)
			}
			for _, a := range v.Content {
				if a.Kind != yaml.ScalarNode || a.Value == "" {
					return p.fail(a, "model %q: an alias must be a name", name)
				}
				m.Aliases = append(m.Aliases, a.Value)
			}
		case "prices":
			if v.Kind != yaml.SequenceNode || len(v.Content) == 0 {
				return p.fail(v, "model %q: prices must be a list of periods", name)
			}
			seen := map[time.Time]int{}
			for _, pn := range v.Content {
				per, err := p.period(name, pn)
				if err != nil {
					return err
				}
				if line, ok := seen[per.From]; ok {
					return p.fail(pn, "model %q: two periods from %s (the other at line %d)", name, per.From.Format(time.DateOnly), line)
				}
				seen[per.From] = pn.Line
				m.Periods = append(m.Periods, per)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(m.Periods) == 0 {
		return nil, p.fail(n, "model %q has no prices", name)
	}
	sort.Slice(m.Periods, func(i, j int) bool { return m.Periods[i].From.Before(m.Periods[j].From) })
	return m, nil
}

func (p *fileParser) period(model string, n *yaml.Node) (Period, error) {
	var per Period
	what := "a price period of " + strconv.Quote(model)
	hasFrom := false
	err := p.mapping(n, what, periodKeys, func(key string, k, v *yaml.Node) error {
		switch key {
		case "from":
			t, err := time.Parse(time.DateOnly, v.Value)
			if err != nil || v.Kind != yaml.ScalarNode {
				return p.fail(v, "%s: from must be a date such as 2024-10-01, not %q", what, v.Value)
			}
			per.From, hasFrom = t, true
		case "batchFactor":
			d, err := p.dec(v, what+": batchFactor")
			if err != nil {
				return err
			}
			per.BatchFactor = &d
		case "above":
			a, err := p.above(what, v)
			if err != nil {
				return err
			}
			per.Above = a
		case "tiers":
			per.Tiers = map[string]Components{}
			return p.mapping(v, what+": tiers", nil, func(tier string, _, tv *yaml.Node) error {
				c, err := p.components(what+": tier "+strconv.Quote(tier), tv, nil)
				per.Tiers[tier] = c
				return err
			})
		default:
			d, err := p.dec(v, what+": "+key)
			if err != nil {
				return err
			}
			setComponent(&per.Components, key, d)
		}
		return nil
	})
	if err == nil && !hasFrom {
		err = p.fail(n, "%s has no from", what)
	}
	return per, err
}

func (p *fileParser) above(what string, n *yaml.Node) (*Above, error) {
	a := &Above{}
	var tokens *yaml.Node
	c, err := p.components(what+": above", n, func(key string, v *yaml.Node) (bool, error) {
		if key != "tokens" {
			return false, nil
		}
		tokens = v
		t, err := strconv.ParseInt(v.Value, 10, 64)
		if err != nil || t <= 0 {
			return true, p.fail(v, "%s: above.tokens must be a positive whole number, not %q", what, v.Value)
		}
		a.Tokens = t
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	if tokens == nil {
		return nil, p.fail(n, "%s: above needs tokens (the input size above which its prices apply)", what)
	}
	a.Components = c
	return a, nil
}

// components reads a mapping of prices; extra, when set, may take other
// keys first.
func (p *fileParser) components(what string, n *yaml.Node, extra func(key string, v *yaml.Node) (bool, error)) (Components, error) {
	var c Components
	allowed := componentKeys
	if extra != nil {
		allowed = append([]string{"tokens"}, componentKeys...)
	}
	err := p.mapping(n, what, allowed, func(key string, _, v *yaml.Node) error {
		if extra != nil {
			if done, err := extra(key, v); done || err != nil {
				return err
			}
		}
		d, err := p.dec(v, what+": "+key)
		if err != nil {
			return err
		}
		setComponent(&c, key, d)
		return nil
	})
	return c, err
}

func setComponent(c *Components, key string, d Dec) {
	switch key {
	case "input":
		c.Input = &d
	case "cacheRead":
		c.CacheRead = &d
	case "cacheWrite":
		c.CacheWrite = &d
	case "cacheWrite1h":
		c.CacheWrite1h = &d
	case "output":
		c.Output = &d
	}
}

// dec reads a price or factor: a non-negative decimal with at most nine
// places.
func (p *fileParser) dec(n *yaml.Node, what string) (Dec, error) {
	if n.Kind != yaml.ScalarNode || n.Value == "" {
		return 0, p.fail(n, "%s must be a number", what)
	}
	if strings.HasPrefix(n.Value, "-") {
		return 0, p.fail(n, "%s is negative: %s", what, n.Value)
	}
	u, err := source.ParseUSD(n.Value)
	if err != nil {
		return 0, p.fail(n, "%s: %q is not a decimal with at most nine places", what, n.Value)
	}
	return Dec(u), nil
}
