// Command nextcore-gen writes realistic synthetic usage records, for demos,
// test fixtures and benchmarks: a tenant's traffic with daily and weekly
// seasonality, growth, ten models, keys, users, regions and ~3 % failures.
//
//	nextcore-gen -records 10000000 -end 2026-11-26 -o usage.jsonl
//	nextcore-gen -days 45 -per-day 40 -end 2026-11-24 -format csv
//	nextcore-gen -claude-code ~/tmp/claude -records 100000 -days 90
package main

import (
	"bufio"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"time"

	"github.com/nextcore-ai/nextcore/pkg/source"
	"github.com/nextcore-ai/nextcore/pkg/source/file"
	"github.com/nextcore-ai/nextcore/pkg/source/synth"
)

func main() {
	records := flag.Int("records", 0, "about how many records to write (sets -per-day from -days)")
	days := flag.Int("days", 365, "days of traffic")
	perDay := flag.Float64("per-day", 1000, "calls a day at the end of the range")
	growth := flag.Float64("growth", 2, "traffic at the end ÷ traffic at the start")
	end := flag.String("end", time.Now().UTC().Format("2006-01-02"), "the day after the last record (YYYY-MM-DD, UTC)")
	seed := flag.Uint64("seed", 1, "random seed: the same seed gives the same records")
	format := flag.String("format", "jsonl", "jsonl or csv")
	out := flag.String("o", "-", "output file (- for standard output)")
	ledger := flag.Bool("ledger", false, "records v2: cache and reasoning tokens, batch, projects, tags, providers, an unpriced model, buckets")
	randomIDs := flag.Bool("random-ids", false, "random ids as providers issue them (default: ids in time order)")
	wide := flag.Bool("wide", false, "thousands of users, hundreds of keys, and 2 % of records late (out of time order)")
	claudeCode := flag.String("claude-code", "", "write Claude Code transcripts of about -records messages under DIR/projects instead")
	flag.Parse()

	e, err := time.Parse("2006-01-02", *end)
	if err != nil {
		fail(fmt.Errorf("-end: %w", err))
	}
	if *claudeCode != "" {
		n, err := writeClaudeCode(*claudeCode, max(*records, 1), *days, e, *seed)
		if err != nil {
			fail(err)
		}
		fmt.Fprintf(os.Stderr, "nextcore-gen: %d messages in %s\n", n, filepath.Join(*claudeCode, "projects"))
		return
	}
	if *records > 0 {
		// The mean of a rate growing exponentially from 1/g to 1 is (1 − 1/g) / ln g;
		// weekends run at 55 %.
		*perDay = float64(*records) / float64(*days) / meanFactor(*growth) / (5.0/7 + 2.0/7*0.55)
	}
	f, err := file.ParseFormat(*format)
	if err != nil {
		fail(err)
	}
	w := os.Stdout
	if *out != "-" {
		if w, err = os.Create(*out); err != nil {
			fail(err)
		}
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	rw, err := file.NewWriter(bw, f)
	if err != nil {
		fail(err)
	}
	n := 0
	err = synth.Generate(synth.Config{Seed: *seed, Start: e.AddDate(0, 0, -*days), End: e, PerDay: *perDay, Growth: *growth, Failure: 0.03,
		Ledger: *ledger, RandomIDs: *randomIDs, Wide: *wide},
		func(r *source.Record) error {
			n++
			return rw.Write(r)
		})
	if err == nil {
		err = rw.Flush()
	}
	if err == nil {
		err = bw.Flush()
	}
	if err == nil && w != os.Stdout {
		err = w.Close()
	}
	if err != nil {
		fail(err)
	}
	fmt.Fprintf(os.Stderr, "nextcore-gen: %d records\n", n)
}

func meanFactor(g float64) float64 {
	if g <= 1.0001 {
		return 1
	}
	return (1 - 1/g) / math.Log(g)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "nextcore-gen:", err)
	os.Exit(1)
}
