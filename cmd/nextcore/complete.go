package main

import (
	"context"
	_ "embed"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/nextcore-ai/nextcore/pkg/report"
	"github.com/nextcore-ai/nextcore/pkg/source"
	"github.com/nextcore-ai/nextcore/pkg/source/cache"
)

// zoneNames are the IANA zones of the time-zone database the binary
// carries (time/tzdata), one a line; TestZoneNames keeps the list in step
// with Go's own database.
//
//go:embed zones.txt
var zoneNames string

type completeFunc = func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective)

// registerCompletions gives every flag that takes a value its completion:
// fixed values, IANA zones, names from the cache, file names only where a
// file is meant, and nothing for free text.
func (a *App) registerCompletions(root *cobra.Command) {
	fixed := map[string]completeFunc{
		"period":       fixedValues("today", "week", "month", "year"),
		"sort":         fixedValues("cost", "calls", "tokens", "name"),
		"report":       fixedValues(exportReports...),
		"paper":        fixedValues("a4", "letter"),
		"fail-on":      fixedValues("warning", "exceeded", "projected", "unpriced"),
		"source":       fixedValues("cache", "api"),
		"cost":         fixedValues(report.CostModes...),
		"input-format": fixedValues("jsonl", "csv"),
		"attach":       fixedValues("pdf", "csv", "pdf,csv"),
		"tz":           a.completeZone,
		"tenant":       a.completeTenant,
		"filter":       a.completeFilter,
		"scope":        a.completeFilter,
		"metric":       fixedValues(report.MetricCost, report.MetricCalls),
		"drivers":      fixedValues("model", "key", "user", "region", "project", "tag", "provider"),
		"budget":       a.completeBudget,
		"compare-to":   fileExt("json"),
		"config":       fileExt("yaml", "yml"),
		"cache":        fileExt("db", "sqlite", "sqlite3"),
		"token-file":   files,
		"prices":       fileExt("yaml", "yml", "json"),
		"output":       files,
	}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, fs := range []*pflag.FlagSet{c.LocalNonPersistentFlags(), c.PersistentFlags()} {
			fs.VisitAll(func(f *pflag.Flag) {
				if _, done := c.GetFlagCompletionFunc(f.Name); done || f.Value.Type() == "bool" {
					return
				}
				fn, ok := fixed[f.Name]
				switch {
				case f.Name == "by" && c.Name() == "top-models":
					fn = fixedValues("calls", "tokens", "cost")
				case f.Name == "by" && c.Name() == "anomalies":
					fn = fixedValues("hour", "model", "key", "user", "region", "project", "tag", "provider")
				case f.Name == "period" && c.Name() == "set":
					fn = fixedValues("day", "week", "month", "rolling-7d", "rolling-30d")
				case f.Name == "fail-on" && c.Name() == "budgets":
					fn = fixedValues("warning", "exceeded", "projected")
				case f.Name == "by":
					fn = fixedValues(byNames()...)
				case !ok:
					fn = noFiles // free text: a number, a date, an address
				}
				c.RegisterFlagCompletionFunc(f.Name, fn)
			})
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}

// completeBudget offers the config file's budgets.
func (a *App) completeBudget(cmd *cobra.Command, _ []string, prefix string) ([]string, cobra.ShellCompDirective) {
	s, err := a.settings(cmd)
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var names []string
	for _, b := range s.cfg.Budgets {
		names = append(names, b.Name)
	}
	return withPrefix(names, prefix), cobra.ShellCompDirectiveNoFileComp
}

func byNames() []string {
	var out []string
	for _, d := range source.AllDims() {
		out = append(out, d.String())
	}
	return append(out, string(report.ByDay), string(report.ByHour))
}

func noFiles(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	return nil, cobra.ShellCompDirectiveNoFileComp
}

func files(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	return nil, cobra.ShellCompDirectiveDefault
}

func fileExt(exts ...string) completeFunc {
	return func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return exts, cobra.ShellCompDirectiveFilterFileExt
	}
}

// completeZone completes IANA zone names, case-insensitively.
func (a *App) completeZone(_ *cobra.Command, _ []string, prefix string) ([]string, cobra.ShellCompDirective) {
	var out []string
	for _, z := range strings.Fields(zoneNames) {
		if len(z) >= len(prefix) && strings.EqualFold(z[:len(prefix)], prefix) {
			out = append(out, z)
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

// completionCache opens the cache the command would read, read-only, for a
// moment: completion must be quick and must never create or change it.
func (a *App) completionCache(cmd *cobra.Command) (cache.Store, *settings, func()) {
	s, err := a.settings(cmd)
	if err != nil || s.source == "api" {
		return nil, nil, nil
	}
	path := s.cachePath
	if s.demo {
		path, s.tenant = defaultCachePath(a.env, "demo.db"), demoTenant
	}
	ctx, cancel := context.WithTimeout(cmd.Context(), 2*time.Second)
	c, err := openStore(ctx, path, cache.Options{Now: a.now})
	if err != nil {
		cancel()
		return nil, nil, nil
	}
	return c, s, func() { _ = c.Close(); cancel() } // read only
}

// completeTenant completes the tenants the cache holds.
func (a *App) completeTenant(cmd *cobra.Command, _ []string, prefix string) ([]string, cobra.ShellCompDirective) {
	c, _, done := a.completionCache(cmd)
	if c == nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	defer done()
	tenants, _ := c.Tenants(cmd.Context())
	return withPrefix(tenants, prefix), cobra.ShellCompDirectiveNoFileComp
}

// completeFilter completes --filter: the dimension names, then after
// "name=" the values the cache holds for it.
func (a *App) completeFilter(cmd *cobra.Command, _ []string, prefix string) ([]string, cobra.ShellCompDirective) {
	// After a comma, complete the next name=value; keep what came before.
	done, last := "", prefix
	if i := strings.LastIndexByte(prefix, ','); i >= 0 {
		done, last = prefix[:i+1], prefix[i+1:]
	}
	name, value, hasValue := strings.Cut(last, "=")
	if !hasValue {
		var out []string
		for _, d := range source.AllDims() {
			out = append(out, done+d.String()+"=")
		}
		return withPrefix(out, prefix), cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveNoSpace
	}
	dim, ok := report.DimOf(strings.ToLower(name))
	if !ok {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	c, s, closeCache := a.completionCache(cmd)
	if c == nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	defer closeCache()
	tenant := s.tenant
	if tenant == "" {
		if ts, _ := c.Tenants(cmd.Context()); len(ts) == 1 {
			tenant = ts[0]
		}
	}
	groups, err := c.Aggregate(cmd.Context(), tenant, dim, []int64{math.MinInt64, math.MaxInt64})
	if err != nil || len(groups) == 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var out []string
	for v := range groups[0] {
		if v == "" {
			v = report.None
		}
		if strings.HasPrefix(v, value) && !strings.ContainsAny(v, ",\n") {
			out = append(out, done+name+"="+v)
		}
	}
	slices.Sort(out)
	return out, cobra.ShellCompDirectiveNoFileComp
}

func withPrefix(values []string, prefix string) []string {
	var out []string
	for _, v := range values {
		if strings.HasPrefix(v, prefix) {
			out = append(out, v)
		}
	}
	return out
}
