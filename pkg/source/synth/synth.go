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
			r = source.Record{
				ID:       fmt.Sprintf("req_%013x%06x", uint64(t/int64(time.Millisecond)), seq&0xffffff),
				Time:     t,
				Model:    m.Name,
				APIKey:   keys[pickKey(rng)],
				Region:   regions[pickRegion(rng)],
				Requests: 1,
			}
			if rng.Float64() > 0.04 {
				r.User = users[int(math.Min(float64(len(users)-1), math.Abs(rng.NormFloat64())*6))]
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
