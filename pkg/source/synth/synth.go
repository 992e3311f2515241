// Package synth makes realistic synthetic usage: a tenant's traffic with
// daily and weekly seasonality, growth, a mix of models, keys, users and
// regions, and a few percent failures. The same seed gives the same records,
// so the demo, the tests and the benchmarks can rely on it.
package synth

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"time"

	"github.com/nextcore-ai/nextcore/pkg/source"
)

// Model is a model with its price per token in nano-USD.
type Model struct {
	Name          string
	Weight        float64 // share of calls
	In, Out       int64   // nano-USD per prompt / completion token
	Prompt        float64 // mean prompt tokens
	Completion    float64 // mean completion tokens
	LatencyPerTok float64 // ms per completion token
}

// Models is the demo tenant's model mix.
var Models = []Model{
	{"gpt-4o-mini", 30, 150, 600, 700, 220, 9},
	{"gpt-4o", 14, 2500, 10000, 1100, 380, 18},
	{"claude-3-5-sonnet", 10, 3000, 15000, 1500, 450, 22},
	{"claude-3-haiku", 9, 250, 1250, 600, 200, 7},
	{"gemini-1.5-flash", 8, 75, 300, 900, 250, 6},
	{"llama-3.1-70b", 7, 880, 880, 800, 300, 12},
	{"text-embedding-3-small", 12, 20, 0, 400, 0, 0},
	{"o3-mini", 4, 1100, 4400, 1200, 900, 25},
	{"mistral-large", 4, 2000, 6000, 1000, 320, 16},
	{"gpt-4.1", 2, 2000, 8000, 2500, 600, 20},
}

var (
	keys    = []string{"key_prod_backend", "key_prod_web", "key_prod_mobile", "key_batch_nightly", "key_staging", "key_ci", "key_analytics", "key_support_bot"}
	keyW    = []float64{30, 22, 14, 10, 8, 5, 6, 5}
	regions = []string{"us-east", "eu-west", "us-west", "eu-central", "ap-south", "ap-northeast"}
	regionW = []float64{34, 24, 14, 12, 9, 7}
	users   = []string{
		"alice@acme.example", "bob@acme.example", "chloé@acme.example", "dmitri@acme.example",
		"erin@acme.example", "farid@acme.example", "grace@acme.example", "hiro@acme.example",
		"ines@acme.example", "jamal@acme.example", "kofi@acme.example", "lena@acme.example",
		"ming@acme.example", "nora@acme.example", "omar@acme.example", "priya@acme.example",
		"quinn@acme.example", "rosa@acme.example", "sven@acme.example", "tariq@acme.example",
	}
	errorCodes = []int{429, 500, 503, 400, 408}
)

// Config sets what to generate.
type Config struct {
	Seed       uint64
	Start, End time.Time // records fall in [Start, End)
	PerDay     float64   // mean calls per day at End; traffic grows toward it
	Growth     float64   // traffic at End ÷ traffic at Start (1 for flat)
	Failure    float64   // share of failed calls, e.g. 0.03
	Loc        *time.Location
	// Ledger makes records v2 (docs/api.md): cached input on the models
	// that cache, reasoning on the reasoning model, batch calls on the
	// nightly key, projects, tags and providers, a fine-tuned model no price
	// book knows (its cost not reported), and now and then a provider's
	// bucket of many requests of unknown outcome.
	Ledger bool
	// RandomIDs gives records ids as providers issue them (random, 38
	// characters) instead of ids that sort in time order.
	RandomIDs bool
	// Wide draws users from thousands and keys from hundreds (a few busy,
	// most rare), and makes 2 % of records late: stamped up to three days
	// before the records around them, as sources deliver them.
	Wide bool
}

// Names of a wide tenant (Config.Wide).
const (
	wideUsers = 5000
	wideKeys  = 500
)

// ledgerModel is what the ledger knows of a model: who serves it, the
// share of its calls that read a prompt cache (0: it does not cache) and
// whether it reasons.
type ledgerModel struct {
	provider  string
	cacheRate float64
	reasons   bool
}

var ledgerModels = map[string]ledgerModel{
	"gpt-4o-mini": {"openai", 0.5, false}, "gpt-4o": {"openai", 0.45, false}, "gpt-4.1": {"openai", 0.5, false},
	"o3-mini": {"openai", 0.3, true}, "text-embedding-3-small": {"openai", 0, false},
	"claude-3-5-sonnet": {"anthropic", 0.6, false}, "claude-3-haiku": {"anthropic", 0.4, false},
	"gemini-1.5-flash": {"google", 0.2, false}, "llama-3.1-70b": {"meta", 0, false}, "mistral-large": {"mistral", 0, false},
}

// FineTuned is the ledger's model that no price book knows.
const FineTuned = "ft:gpt-4o-mini:acme:support-v3"

// The ledger's day of a price change: from PriceCut (UTC) on, the platform
// bills PriceCutModel 20 % less.
var PriceCut = time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)

// PriceCutModel is the model whose price falls on PriceCut.
const PriceCutModel = "gpt-4o"

var (
	projects = map[string]string{"key_prod_backend": "search", "key_prod_web": "web", "key_prod_mobile": "mobile",
		"key_batch_nightly": "analytics", "key_analytics": "analytics", "key_support_bot": "support"}
	tagPool = []string{"prod", "team:ml", "team:growth", "experiment:b", "pii-free"}
)

const idAlphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// randomID is an id like a provider's: a prefix and 29 random characters.
func randomID(rng *rand.Rand) string {
	b := []byte("chatcmpl-00000000000000000000000000000")
	for i := 9; i < len(b); i++ {
		b[i] = idAlphabet[rng.IntN(len(idAlphabet))]
	}
	return string(b)
}

// ledger gives r the v2 fields of cfg.Ledger.
func ledger(rng *rand.Rand, r *source.Record, m Model) {
	lm := ledgerModels[m.Name]
	r.Provider = lm.provider
	r.Project = projects[r.APIKey]
	if rng.IntN(3) == 0 {
		for _, k := range rng.Perm(len(tagPool))[:1+rng.IntN(2)] {
			r.Tags = append(r.Tags, tagPool[k])
		}
	}
	if lm.cacheRate > 0 && r.PromptTokens > 0 && rng.Float64() < lm.cacheRate {
		r.CacheRead = int64(float64(r.PromptTokens) * (0.3 + 0.6*rng.Float64()))
		if lm.provider == "anthropic" && rng.IntN(4) == 0 {
			w := (r.PromptTokens - r.CacheRead) / 2
			if rng.IntN(3) == 0 {
				r.CacheWrite1h = w
			} else {
				r.CacheWrite = w
			}
		}
	}
	if lm.reasons && r.CompletionTokens > 0 {
		r.Reasoning = int64(float64(r.CompletionTokens) * (0.4 + 0.4*rng.Float64()))
	}
	if r.APIKey == "key_batch_nightly" {
		r.Batch = true
	}
	// Cost as billed: cache reads at a tenth of the input price, writes at
	// 1.25 (5 min) and 2 (1 h) times it, batch at half.
	in := r.PromptTokens - r.CacheRead - r.CacheWrite - r.CacheWrite1h
	nano := in*m.In*100 + r.CacheRead*m.In*10 + r.CacheWrite*m.In*125 + r.CacheWrite1h*m.In*200 + r.CompletionTokens*m.Out*100
	if r.Batch {
		nano /= 2
	}
	if m.Name == PriceCutModel && r.Time >= PriceCut.UnixNano() {
		nano = nano * 4 / 5
	}
	r.Cost = source.USD(nano / 100)
	switch {
	case rng.IntN(60) == 0:
		// A fine-tuned model: the platform reports no cost, the book has no price.
		r.Model, r.Cost, r.NoCost = FineTuned, 0, true
	case rng.IntN(40) == 0:
		// A gateway that reports no cost: priced from the book.
		r.Cost, r.NoCost = 0, true
	case rng.IntN(400) == 0:
		// A provider's bucket: many requests, of unknown outcome, no latency.
		n := int64(2 + rng.IntN(40))
		r.Requests = n
		r.PromptTokens *= n
		r.CacheRead *= n
		r.CacheWrite *= n
		r.CacheWrite1h *= n
		r.CompletionTokens *= n
		r.Reasoning *= n
		r.Cost *= source.USD(n)
		r.Success, r.Unknown, r.StatusCode, r.LatencyMs = false, true, 0, -1
	}
}

// hourly is the share of a day's traffic in each local hour (sums to 24).
var hourly = func() [24]float64 {
	var h [24]float64
	sum := 0.0
	for i := range h {
		// Busy working hours, quiet nights.
		h[i] = 0.25 + math.Exp(-math.Pow(float64(i)-14, 2)/18)
		sum += h[i]
	}
	for i := range h {
		h[i] *= 24 / sum
	}
	return h
}()

// Generate calls emit for every record, oldest first. The record passed to
// emit is reused: copy it to keep it.
func Generate(cfg Config, emit func(*source.Record) error) error {
	if cfg.Loc == nil {
		cfg.Loc = time.UTC
	}
	if cfg.Growth <= 0 {
		cfg.Growth = 1
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15))
	modelW := make([]float64, len(Models))
	for i, m := range Models {
		modelW[i] = m.Weight
	}
	pickModel, pickKey, pickRegion := picker(modelW), picker(keyW), picker(regionW)
	wideUser, wideKey := rand.NewZipf(rng, 1.1, 4, wideUsers-1), rand.NewZipf(rng, 1.1, 2, wideKeys-1)
	total := cfg.End.Sub(cfg.Start).Hours()
	seq := uint64(0)
	var r source.Record
	var times []int64
	for h := cfg.Start.Truncate(time.Hour); h.Before(cfg.End); h = h.Add(time.Hour) {
		local := h.In(cfg.Loc)
		progress := h.Sub(cfg.Start).Hours() / math.Max(total, 1)
		rate := cfg.PerDay / 24 * math.Pow(cfg.Growth, progress-1) * hourly[local.Hour()]
		if wd := local.Weekday(); wd == time.Saturday || wd == time.Sunday {
			rate *= 0.55
		}
		// A few busy days a year: a launch, a batch backfill.
		if d := local.YearDay(); d%97 == 13 {
			rate *= 2.2
		}
		n := int(math.Max(0, math.Round(rate+rng.NormFloat64()*math.Sqrt(rate))))
		times = times[:0]
		for range n {
			t := h.UnixNano() + rng.Int64N(int64(time.Hour))/int64(time.Millisecond)*int64(time.Millisecond)
			if t >= cfg.Start.UnixNano() && t < cfg.End.UnixNano() {
				times = append(times, t)
			}
		}
		sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
		for _, t := range times {
			seq++
			m := Models[pickModel(rng)]
			id := fmt.Sprintf("req_%013x%06x", uint64(t/int64(time.Millisecond)), seq&0xffffff)
			if cfg.RandomIDs {
				id = randomID(rng)
			}
			r = source.Record{
				ID:       id,
				Time:     t,
				Model:    m.Name,
				APIKey:   keys[pickKey(rng)],
				Region:   regions[pickRegion(rng)],
				Requests: 1,
			}
			if rng.Float64() > 0.04 {
				r.User = users[int(math.Min(float64(len(users)-1), math.Abs(rng.NormFloat64())*6))]
			}
			if cfg.Wide {
				r.APIKey = fmt.Sprintf("key_%03d", wideKey.Uint64())
				if r.User != "" {
					r.User = fmt.Sprintf("user%04d@corp.example", wideUser.Uint64())
				}
				if rng.IntN(50) == 0 {
					r.Time = max(cfg.Start.UnixNano(), r.Time-rng.Int64N(int64(72*time.Hour)))
				}
			}
			r.PromptTokens = int64(m.Prompt * rng.ExpFloat64())
			if m.Completion > 0 {
				r.CompletionTokens = int64(m.Completion * rng.ExpFloat64())
			}
			r.Success = rng.Float64() >= cfg.Failure
			r.StatusCode = 200
			if !r.Success {
				r.StatusCode = errorCodes[rng.IntN(len(errorCodes))]
				r.CompletionTokens = 0
			}
			r.Cost = source.USD(r.PromptTokens*m.In + r.CompletionTokens*m.Out)
			r.LatencyMs = int64(60 + float64(r.CompletionTokens)*m.LatencyPerTok*(0.7+0.6*rng.Float64()) + 40*rng.ExpFloat64())
			if rng.IntN(200) == 0 {
				r.LatencyMs = -1
			}
			if cfg.Ledger {
				ledger(rng, &r, m)
			}
			if err := emit(&r); err != nil {
				return err
			}
		}
	}
	return nil
}

// picker draws an index with probability proportional to its weight.
func picker(w []float64) func(*rand.Rand) int {
	cum := make([]float64, len(w))
	s := 0.0
	for i, x := range w {
		s += x
		cum[i] = s
	}
	return func(r *rand.Rand) int {
		x := r.Float64() * s
		return sort.SearchFloat64s(cum, x)
	}
}
