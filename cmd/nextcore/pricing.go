package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/nextcore-ai/nextcore/pkg/pricing"
	"github.com/nextcore-ai/nextcore/pkg/report"
	"github.com/nextcore-ai/nextcore/pkg/report/render"
	"github.com/nextcore-ai/nextcore/pkg/source"
)

func (a *App) newPricingCmd() *cobra.Command {
	group := &cobra.Command{
		Use:   "pricing",
		Short: "The price book: list it, show a model's prices, check the cache's models",
		Long: `The price book prices tokens where a record carries no cost, and every record
with --cost priced. It is a snapshot of the public LiteLLM price table built
into nextcore (its date shows in pricing list), with your price file over it
(--prices FILE, or pricing.file in the config; YAML or JSON; a later source
wins per model). Prices are USD per million tokens, in dated periods.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}
	var listFormat formatFlag
	list := &cobra.Command{
		Use:   "list [TEXT]",
		Short: "List the models the price book prices (those whose name holds TEXT)",
		Example: `  nextcore pricing list claude
  nextcore pricing list --format json > prices.json`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runPricingList(cmd, &listFormat, args)
		},
	}
	listFormat.register(list, render.PriceListReport().Formats()...)
	show := &cobra.Command{
		Use:     "show MODEL",
		Short:   "Show a model's prices, every period, and how its name was found",
		Example: `  nextcore pricing show gpt-4o-2024-08-06`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runPricingShow(cmd, args[0])
		},
	}
	var failOn string
	check := &cobra.Command{
		Use:   "check",
		Short: "List the models in the cache that have no price, with the calls and cost they carry",
		Example: `  nextcore pricing check
  nextcore pricing check --prices prices.yaml --fail-on unpriced`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runPricingCheck(cmd.Context(), cmd, failOn)
		},
	}
	registerFailOnUnpriced(check, &failOn)
	group.AddCommand(list, show, check)
	return group
}

// book is the price book of the settings: the snapshot and the price file.
func (a *App) book(s *settings) (*pricing.Book, error) {
	b, err := pricing.Load(s.prices)
	if err != nil {
		return nil, usageError{err}
	}
	return b, nil
}

// settingsAndBook are the command's settings and the price book they name.
func (a *App) settingsAndBook(cmd *cobra.Command) (*settings, *pricing.Book, error) {
	s, err := a.settings(cmd)
	if err != nil {
		return nil, nil, err
	}
	b, err := a.book(s)
	return s, b, err
}

func (a *App) runPricingList(cmd *cobra.Command, ff *formatFlag, args []string) error {
	format, err := ff.parse()
	if err != nil {
		return err
	}
	s, b, err := a.settingsAndBook(cmd)
	if err != nil {
		return err
	}
	l := &render.PriceList{Book: b}
	for _, m := range b.Models() {
		if len(args) == 0 || strings.Contains(m.Name, args[0]) {
			l.Models = append(l.Models, m)
		}
	}
	return a.emit(s, func(w io.Writer, st render.Style) error {
		return render.PriceListReport().Render(format, w, l, render.Options{Style: st})
	})
}

func (a *App) runPricingShow(cmd *cobra.Command, name string) error {
	s, b, err := a.settingsAndBook(cmd)
	if err != nil {
		return err
	}
	m, ok := b.Lookup(name)
	if !ok {
		return fmt.Errorf("the price book has no price for %q (nextcore pricing list shows what it has; a price file adds it)", name)
	}
	return a.emit(s, func(w io.Writer, _ render.Style) error {
		how := ""
		switch {
		case m.Name == name:
		case slices.Contains(m.Aliases, name):
			how = " (an alias)"
		default:
			how = " (its name without the date)"
		}
		fmt.Fprintf(w, "%s is priced as %s%s", name, m.Name, how)
		if m.Provider != "" {
			fmt.Fprintf(w, ", provider %s", m.Provider)
		}
		fmt.Fprintln(w, "; USD per million tokens:")
		for i := len(m.Periods) - 1; i >= 0; i-- {
			p := m.Periods[i]
			r, bf, _ := p.Rates(pricing.Use{})
			fmt.Fprintf(w, "  from %s: input %s, cache read %s, cache write %s, cache write 1 h %s, output %s; batch ×%s\n",
				p.From.Format(time.DateOnly), r[0], r[1], r[2], r[3], r[4], bf)
			if p.Above != nil {
				lr, _, _ := p.Rates(pricing.Use{LongContext: true})
				fmt.Fprintf(w, "    above %s input tokens: input %s, cache read %s, cache write %s, cache write 1 h %s, output %s\n",
					report.Count(p.Above.Tokens), lr[0], lr[1], lr[2], lr[3], lr[4])
			}
			tiers := make([]string, 0, len(p.Tiers))
			for t := range p.Tiers {
				tiers = append(tiers, t)
			}
			slices.Sort(tiers)
			for _, t := range tiers {
				tr, _, _ := p.Rates(pricing.Use{Tier: t})
				fmt.Fprintf(w, "    tier %s: input %s, cache read %s, cache write %s, cache write 1 h %s, output %s\n",
					t, tr[0], tr[1], tr[2], tr[3], tr[4])
			}
		}
		fmt.Fprintln(w, "  source:", strings.Join(append([]string{"built-in snapshot of " + b.Snapshot}, b.Files...), " + "))
		return nil
	})
}

func (a *App) runPricingCheck(ctx context.Context, cmd *cobra.Command, failOn string) error {
	if err := checkFailOnUnpriced(failOn); err != nil {
		return err
	}
	s, err := a.settings(cmd)
	if err != nil {
		return err
	}
	rs, err := a.openSource(ctx, s) // reads the price book first
	if err != nil {
		return err
	}
	defer rs.close()
	b := rs.money.Book
	all := []int64{math.MinInt64, math.MaxInt64}
	res, err := source.AggregateMany(ctx, rs.src, rs.tenant, []source.Query{{Dim: source.DimModel, Bounds: all}, {Dim: source.DimPrice, Bounds: all}})
	if err != nil {
		return err
	}
	var missing []report.Group
	priced := 0
	for _, g := range report.SortGroups(res[0][0], report.ByCalls) {
		if _, ok := b.Lookup(g.Name); ok {
			priced++
		} else {
			missing = append(missing, g)
		}
	}
	// Of the price keys (records v2): calls that reported no cost, by model;
	// service tiers the model's current prices lack (priced at its standard
	// prices instead).
	noCost := map[string]int64{}
	type tierUse struct{ model, tier string }
	tiers := map[tierUse]int64{}
	for member, t := range res[1][0] {
		k, ok := source.ParsePriceKey(member)
		if !ok || t.Empty() {
			continue
		}
		if k.NoCost {
			noCost[k.Model] += t.Calls
		}
		if k.Tier == "" {
			continue
		}
		if per, ok := b.PeriodOf(k.Model, a.now()); ok {
			if _, has := per.Tiers[k.Tier]; !has {
				tiers[tierUse{k.Model, k.Tier}] += t.Calls
			}
		}
	}
	tierKeys := slices.SortedFunc(maps.Keys(tiers), func(x, y tierUse) int {
		return cmp.Or(strings.Compare(x.model, y.model), strings.Compare(x.tier, y.tier))
	})
	err = a.emit(s, func(w io.Writer, _ render.Style) error {
		fmt.Fprintf(w, "%s: %d of %d models in the cache have a price (%s)\n", rs.tenant, priced, priced+len(missing),
			"built-in snapshot of "+strings.Join(append([]string{b.Snapshot}, b.Files...), " + "))
		for _, g := range missing {
			fmt.Fprintf(w, "  no price: %s — %s calls, %s tokens, %s reported", render.Safe(g.Name), report.Count(g.Calls), report.Count(g.Tokens()), report.USD2(g.Cost))
			if n := noCost[g.Name]; n > 0 {
				fmt.Fprintf(w, " (%s reported no cost: unpriced)", plural(n, "call"))
			}
			fmt.Fprintln(w)
		}
		for _, k := range tierKeys {
			fmt.Fprintf(w, "  no %s prices: %s — %s, priced at its standard prices\n", render.Safe(k.tier), render.Safe(k.model), plural(tiers[k], "call"))
		}
		if len(missing) > 0 {
			fmt.Fprintln(w, "  Add them to a price file (--prices FILE, or pricing.file in the config).")
		}
		return nil
	})
	if err != nil {
		return err
	}
	if failOn == "unpriced" && len(missing) > 0 {
		return budgetError{fmt.Sprintf("price check failed (--fail-on unpriced): %d model(s) without a price", len(missing))}
	}
	return nil
}

// registerFailOnUnpriced adds --fail-on unpriced to a report.
func registerFailOnUnpriced(cmd *cobra.Command, into *string) {
	cmd.Flags().StringVar(into, "fail-on", "", "exit 3 when usage has no price (counted as $0): unpriced")
	cmd.RegisterFlagCompletionFunc("fail-on", fixedValues("unpriced"))
}

// checkFailOnUnpriced checks --fail-on unpriced before anything is opened.
func checkFailOnUnpriced(failOn string) error {
	if failOn != "" && failOn != "unpriced" {
		return usagef("--fail-on: unknown check %q (use unpriced)", failOn)
	}
	return nil
}

// unpriced says what a report counted as $0 where its format does not
// (CSV, and JSON for whoever reads standard error), and fails --fail-on
// unpriced (exit 3).
func (a *App) unpriced(u report.Unpriced, format render.Format, failOn string) error {
	if u.Empty() {
		return nil
	}
	if format == render.CSV || format == render.JSON {
		a.warnUnpriced(u)
	}
	if failOn == "unpriced" {
		return budgetError{fmt.Sprintf("price check failed (--fail-on unpriced): %s calls (%s tokens) of %d model(s) have no price",
			report.Count(u.Calls), report.Compact(u.Tokens), len(u.Models))}
	}
	return nil
}

// warnUnpriced writes the unpriced note on standard error.
func (a *App) warnUnpriced(u report.Unpriced) {
	if n := render.UnpricedNote(u); n != "" {
		a.warn(strings.TrimPrefix(n, "⚠ "))
	}
}
