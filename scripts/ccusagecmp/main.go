// Command ccusagecmp checks that nextcore and ccusage say the same of a
// Claude Code directory: the tokens of every day, and the cost within half
// a cent (ccusage adds floating-point dollars). It reads `nextcore usage
// breakdown --by day --format json` and `ccusage daily --json`, and exits
// 1 on a difference. scripts/bench.sh runs it.
//
//	go run ./scripts/ccusagecmp nextcore.json ccusage.json
package main

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
)

type ours struct {
	Rows []struct {
		Day                                                string
		Input, Output, CacheRead, CacheWrite, CacheWrite1h int64
		Cost                                               float64
	}
}

type theirs struct {
	Daily []struct {
		Period                                                          string
		InputTokens, OutputTokens, CacheCreationTokens, CacheReadTokens int64
		TotalCost                                                       float64
	}
}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: ccusagecmp NEXTCORE.json CCUSAGE.json")
		os.Exit(2)
	}
	var o ours
	var t theirs
	for i, v := range []any{&o, &t} {
		b, err := os.ReadFile(os.Args[1+i])
		if err == nil {
			err = json.Unmarshal(b, v)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "ccusagecmp:", err)
			os.Exit(2)
		}
	}
	type day struct {
		input, output, write, read int64
		cost                       float64
	}
	a, b := map[string]day{}, map[string]day{}
	for _, r := range o.Rows {
		if r.Input+r.Output+r.CacheRead+r.CacheWrite+r.CacheWrite1h > 0 {
			a[r.Day] = day{r.Input, r.Output, r.CacheWrite + r.CacheWrite1h, r.CacheRead, r.Cost}
		}
	}
	for _, d := range t.Daily {
		b[d.Period] = day{d.InputTokens, d.OutputTokens, d.CacheCreationTokens, d.CacheReadTokens, d.TotalCost}
	}
	bad := 0
	for k, x := range b {
		y, ok := a[k]
		switch {
		case !ok:
			fmt.Printf("%s: ccusage %+v, nextcore nothing\n", k, x)
			bad++
		case x.input != y.input || x.output != y.output || x.write != y.write || x.read != y.read || math.Abs(x.cost-y.cost) > 0.005:
			fmt.Printf("%s: ccusage %+v, nextcore %+v\n", k, x, y)
			bad++
		}
	}
	for k := range a {
		if _, ok := b[k]; !ok {
			fmt.Printf("%s: nextcore %+v, ccusage nothing\n", k, a[k])
			bad++
		}
	}
	fmt.Printf("ccusagecmp: %d days, %d differ\n", len(b), bad)
	if bad > 0 || len(b) == 0 {
		os.Exit(1)
	}
}
