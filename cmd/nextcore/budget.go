package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/mail"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	"github.com/nextcore-ai/nextcore/pkg/report"
	"github.com/nextcore-ai/nextcore/pkg/report/render"
	"github.com/nextcore-ai/nextcore/pkg/source"
)

// ConfigBudget is a budget in the config file:
//
//	budgets:
//	  - name: search-monthly
//	    scope: {project: search}  # any of model, key, user, region, project, tag, provider
//	    limit: {spend: 50}        # or {calls: N} or {tokens: N}
//	    period: month             # day | week | month | rolling-Nd
//	    thresholds: [50, 80, 100]
type ConfigBudget struct {
	Name       string                `yaml:"name"`
	Scope      map[string]stringList `yaml:"scope"`
	Limit      map[string]string     `yaml:"limit"`
	Period     string                `yaml:"period"`
	Thresholds []string              `yaml:"thresholds"`
	// Email and Webhook, when set, are where the budget's alerts go
	// instead of alerts.email (smtp.to) and alerts.webhook.
	Email   []string `yaml:"email"`
	Webhook string   `yaml:"webhook"`
}

// stringList is a YAML value that is one string or a list of them.
type stringList []string

func (l *stringList) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		*l = stringList{n.Value}
		return nil
	}
	var vals []string
	if err := n.Decode(&vals); err != nil {
		return err
	}
	*l = vals
	return nil
}

// budgetDims are the dimensions a budget's scope may name.
var budgetDims = []string{"model", "key", "user", "region", "project", "tag", "provider"}

// budget reads a budget of the config file.
func (b ConfigBudget) budget() (report.Budget, error) {
	name := strings.TrimSpace(b.Name)
	if name == "" {
		return report.Budget{}, errors.New("a budget has no name")
	}
	fail := func(format string, args ...any) (report.Budget, error) {
		return report.Budget{}, fmt.Errorf("budget %q: "+format, append([]any{name}, args...)...)
	}
	out := report.Budget{Name: name}
	for _, k := range slices.Sorted(maps.Keys(b.Scope)) {
		d, ok := report.DimOf(k)
		if !ok || !slices.Contains(budgetDims, k) {
			return fail("scope %q is not a dimension (use %s)", k, strings.Join(budgetDims, ", "))
		}
		if len(b.Scope[k]) == 0 {
			return fail("scope %s has no value", k)
		}
		if out.Scope == nil {
			out.Scope = source.Filter{}
		}
		for _, v := range b.Scope[k] {
			if v == report.None {
				v = ""
			}
			out.Scope[d] = append(out.Scope[d], v)
		}
	}
	if len(b.Limit) != 1 {
		return fail("limit is one of {spend: USD}, {calls: N} or {tokens: N}")
	}
	for k, v := range b.Limit {
		switch k {
		case report.BudgetSpend:
			u, err := parseSpendLimit("limit spend", v)
			if err != nil || u == nil {
				return fail("limit spend: %q is not a positive dollar amount", v)
			}
			out.Metric, out.Limit = k, int64(*u)
		case report.BudgetCalls, report.BudgetTokens:
			n, err := parseCountLimit("limit "+k, v)
			if err != nil || n == nil {
				return fail("limit %s: %q is not a positive whole number", k, v)
			}
			out.Metric, out.Limit = k, *n
		default:
			return fail("limit %q: use spend, calls or tokens", k)
		}
	}
	period := b.Period
	if period == "" {
		period = "month"
	}
	p, err := report.ParseBudgetPeriod(period)
	if err != nil {
		return fail("%v", err)
	}
	out.Period = p
	for _, e := range b.Email {
		if _, err := mail.ParseAddress(e); err != nil {
			return fail("email: %q is not an address", e)
		}
	}
	if b.Webhook != "" {
		if err := checkConfigValue("alerts.webhook", b.Webhook); err != nil {
			return fail("webhook must be an http:// or https:// URL, not %q", b.Webhook)
		}
	}
	out.Thresholds = report.DefaultBudgetThresholds()
	if len(b.Thresholds) > 0 {
		if out.Thresholds, err = parseThresholds(strings.Join(b.Thresholds, ",")); err != nil {
			return fail("thresholds: %v", errors.Unwrap(err))
		}
	}
	return out, nil
}

// budgets are the config file's budgets, each checked; names are unique.
func (c *Config) budgets() ([]report.Budget, error) {
	var out []report.Budget
	seen := map[string]bool{}
	for _, cb := range c.Budgets {
		b, err := cb.budget()
		if err != nil {
			return nil, fmt.Errorf("config %s: %w", c.path, err)
		}
		if seen[b.Name] {
			return nil, fmt.Errorf("config %s: two budgets are named %q", c.path, b.Name)
		}
		seen[b.Name] = true
		out = append(out, b)
	}
	return out, nil
}

type budgetsOptions struct {
	failOn string
	names  []string
	format formatFlag
}

func (a *App) newBudgetsCmd() *cobra.Command {
	opts := &budgetsOptions{}
	cmd := &cobra.Command{
		Use:   "budgets",
		Short: "Every budget's use so far, with its forecast to the period's end",
		Long: `Show each budget of the config file (nextcore budget set) at now: what
its scope used in the period so far against its limit, the level (ok,
warning from its highest threshold below 100%, exceeded from 100%), the
projection to the period's end at the period's run-rate, and the day the
limit is (or at that rate will be) reached.

Periods are calendar periods in the report's time zone: day, week (from
Monday), month; rolling-Nd is today and the N-1 days before it.

With --fail-on, the command exits with code 3 when the check fails, for CI:
  warning    a budget is at the warning level or over
  exceeded   a budget is at 100% or over
  projected  a budget is exceeded now or by its period's end`,
		Example: `  nextcore budget set search-monthly --scope project=search --spend 50 --period month
  nextcore usage budgets
  nextcore usage budgets --fail-on projected --format markdown >> "$GITHUB_STEP_SUMMARY"`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runBudgets(cmd.Context(), cmd, opts)
		},
	}
	f := cmd.Flags()
	opts.format.register(cmd, render.BudgetsReport().Formats()...)
	f.StringVar(&opts.failOn, "fail-on", "", "exit 3 when the check fails: warning, exceeded or projected")
	f.StringSliceVar(&opts.names, "budget", nil, "only the budget `NAME` (repeat for more)")
	return cmd
}

func (a *App) runBudgets(ctx context.Context, cmd *cobra.Command, opts *budgetsOptions) error {
	s, err := a.settings(cmd)
	if err != nil {
		return err
	}
	format, err := opts.format.parse()
	if err != nil {
		return err
	}
	a.annotate = format == render.GitHub
	switch opts.failOn {
	case "", "warning", "exceeded", "projected":
	default:
		return usagef("--fail-on: unknown check %q (use warning, exceeded or projected)", opts.failOn)
	}
	budgets, err := s.cfg.budgets()
	if err != nil {
		return err
	}
	if len(opts.names) > 0 {
		var picked []report.Budget
		for _, n := range opts.names {
			i := slices.IndexFunc(budgets, func(b report.Budget) bool { return b.Name == n })
			if i < 0 {
				return usagef("--budget: no budget named %q (%s)", n, budgetNames(budgets))
			}
			picked = append(picked, budgets[i])
		}
		budgets = picked
	}
	rs, err := a.openSource(ctx, s)
	if err != nil {
		return err
	}
	defer rs.close()
	r, err := report.BuildBudgets(ctx, rs.src, rs.tenant, s.clock, budgets, rs.money)
	if err != nil {
		return err
	}
	err = a.emit(s, func(w io.Writer, st render.Style) error {
		return render.BudgetsReport().Render(format, w, r, render.Options{Meta: rs.meta, Style: st})
	})
	if err != nil {
		return err
	}
	if err := a.stepSummary(func(w io.Writer) error { return render.BudgetsMarkdown(w, r, render.Options{Meta: rs.meta}) }); err != nil {
		return err
	}
	if err := a.unpriced(r.Unpriced, format, ""); err != nil {
		return err
	}
	if opts.failOn != "" && report.BudgetsFail(r.Budgets, opts.failOn) {
		var parts []string
		for _, b := range r.Budgets {
			if report.BudgetsFail([]report.BudgetStatus{b}, opts.failOn) {
				what := fmt.Sprintf("%s at %s", b.Name, report.Pct(b.Percent))
				if b.Level != report.LevelExceeded && b.ProjectedLevel == report.LevelExceeded && opts.failOn == "projected" {
					what = fmt.Sprintf("%s projected at %s", b.Name, report.Pct(b.ProjectedPercent()))
				}
				parts = append(parts, what)
			}
		}
		return budgetError{"budget check failed (--fail-on " + opts.failOn + "): " + strings.Join(parts, ", ")}
	}
	return nil
}

func budgetNames(bs []report.Budget) string {
	if len(bs) == 0 {
		return "there are none; set one with nextcore budget set"
	}
	var names []string
	for _, b := range bs {
		names = append(names, b.Name)
	}
	slices.Sort(names)
	return "budgets: " + strings.Join(names, ", ")
}

type budgetSetOptions struct {
	scope                []string
	spend, calls, tokens string
	period, thresholds   string
	email                []string
	webhook              string
}

func (a *App) newBudgetCmd() *cobra.Command {
	group := &cobra.Command{
		Use:   "budget",
		Short: "Set, list and remove budgets (kept in the config file)",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return cmd.Help()
		},
	}
	opts := &budgetSetOptions{}
	set := &cobra.Command{
		Use:   "set NAME",
		Short: "Set a budget: a limit on spend, calls or tokens of a scope over a period",
		Long: `Set the budget NAME in the config file (replacing one of that name),
keeping the rest of the file as it is. A budget limits one of spend (USD),
calls or tokens, of its scope (any of model, key, user, region, project, tag
and provider; none: the whole tenant), over a period: day, week (from
Monday), month (calendar, in the report's time zone), or rolling-Nd (today
and the N-1 days before). 'usage budgets' shows them; thresholds (percent,
default 50,80,100) are when alerts go out, and the highest below 100 is the
warning level.`,
		Example: `  nextcore budget set search-monthly --scope project=search --spend 50
  nextcore budget set ci-daily --scope key=ci --calls 20000 --period day
  nextcore budget set gpt5-week --scope model=gpt-5,region=eu-west --tokens 2e8 --period rolling-7d --thresholds 80,100`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usagef("budget set takes the budget's NAME; got %d arguments", len(args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.budgetSet(args[0], opts)
		},
	}
	f := set.Flags()
	f.StringArrayVar(&opts.scope, "scope", nil, "what the budget covers: `DIM=VALUE`[,DIM=VALUE…] (model, key, user, region, project, tag, provider); repeatable")
	f.StringVar(&opts.spend, "spend", "", "limit spend to `USD`")
	f.StringVar(&opts.calls, "calls", "", "limit calls to `N`")
	f.StringVar(&opts.tokens, "tokens", "", "limit tokens to `N`")
	f.StringVar(&opts.period, "period", "month", "day, week, month or rolling-Nd")
	f.StringVar(&opts.thresholds, "thresholds", "", "alert thresholds in percent (default 50,80,100)")
	f.StringSliceVar(&opts.email, "email", nil, "send this budget's alerts to these `ADDRESSES` (default: alerts.email, else smtp.to)")
	f.StringVar(&opts.webhook, "webhook", "", "POST this budget's alerts to `URL` (default: alerts.webhook)")
	var listFormat formatFlag
	list := &cobra.Command{
		Use:   "list",
		Short: "List the budgets of the config file",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.budgetList(cmd, listFormat)
		},
	}
	listFormat.register(list, render.Table, render.JSON)
	rm := &cobra.Command{
		Use:   "rm NAME",
		Short: "Remove a budget from the config file",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usagef("budget rm takes the budget's NAME; got %d arguments", len(args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.budgetRemove(args[0])
		},
		ValidArgsFunction: func(cmd *cobra.Command, args []string, prefix string) ([]string, cobra.ShellCompDirective) {
			if len(args) > 0 {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			return a.completeBudget(cmd, args, prefix)
		},
	}
	group.AddCommand(set, list, rm)
	return group
}

// budgetSet writes a budget into the config file.
func (a *App) budgetSet(name string, opts *budgetSetOptions) error {
	cb := ConfigBudget{Name: strings.TrimSpace(name), Limit: map[string]string{}, Period: opts.period, Email: opts.email, Webhook: opts.webhook}
	for k, v := range map[string]string{report.BudgetSpend: opts.spend, report.BudgetCalls: opts.calls, report.BudgetTokens: opts.tokens} {
		if v != "" {
			cb.Limit[k] = v
		}
	}
	if len(cb.Limit) != 1 {
		return usagef("give one limit: --spend USD, --calls N or --tokens N")
	}
	if len(opts.scope) > 0 {
		f, err := report.ParseFilter(opts.scope)
		if err != nil {
			return flagError("--scope", err)
		}
		cb.Scope = map[string]stringList{}
		for d, vals := range f {
			cb.Scope[report.DimName(d)] = vals
		}
	}
	if opts.thresholds != "" {
		for _, t := range strings.Split(opts.thresholds, ",") {
			cb.Thresholds = append(cb.Thresholds, strings.TrimSpace(t))
		}
	}
	b, err := cb.budget()
	if err != nil {
		return usageError{err}
	}
	// The limit as the file keeps it: 50, 12.5, 20000.
	cb.Limit = map[string]string{b.Metric: render.BudgetAmount(b, b.Limit).String()}
	replaced := false
	path, err := a.editConfig(func(doc *yaml.Node) error {
		list, node := budgetsNode(doc), cb.node()
		for i, n := range list.Content {
			if budgetNodeName(n) == cb.Name {
				list.Content[i], replaced = node, true
			}
		}
		if !replaced {
			list.Content = append(list.Content, node)
		}
		return nil
	}, func(c *Config) error { _, err := c.budgets(); return err })
	if err != nil {
		return err
	}
	verb := "added"
	if replaced {
		verb = "replaced"
	}
	fmt.Fprintf(a.Stderr, "%s budget %s in %s\n", verb, render.Safe(cb.Name), path)
	return nil
}

// budgetRemove takes a budget out of the config file.
func (a *App) budgetRemove(name string) error {
	path, err := a.editConfig(func(doc *yaml.Node) error {
		list := budgetsNode(doc)
		var names []string
		kept := list.Content[:0:0]
		for _, n := range list.Content {
			if budgetNodeName(n) == name {
				continue
			}
			names = append(names, budgetNodeName(n))
			kept = append(kept, n)
		}
		if len(kept) == len(list.Content) {
			slices.Sort(names)
			what := "there are none"
			if len(names) > 0 {
				what = "budgets: " + strings.Join(names, ", ")
			}
			return usagef("no budget named %q (%s)", name, what)
		}
		list.Content = kept
		return nil
	}, nil)
	if err != nil {
		return err
	}
	fmt.Fprintf(a.Stderr, "removed budget %s from %s\n", render.Safe(name), path)
	return nil
}

// budgetList prints the config file's budgets.
func (a *App) budgetList(cmd *cobra.Command, ff formatFlag) error {
	s, err := a.settings(cmd)
	if err != nil {
		return err
	}
	format, err := ff.parse()
	if err != nil {
		return err
	}
	budgets, err := s.cfg.budgets()
	if err != nil {
		return err
	}
	report.SortBudgets(budgets)
	if format == render.JSON {
		return render.WriteJSON(a.Stdout, render.BudgetListData(budgets))
	}
	return render.BudgetListTable(a.Stdout, budgets, render.Options{Style: a.style(s, false)})
}

// budgetsNode is the config document's budgets list, made when missing.
func budgetsNode(doc *yaml.Node) *yaml.Node {
	m := doc.Content[0]
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == "budgets" {
			if m.Content[i+1].Kind != yaml.SequenceNode {
				m.Content[i+1] = &yaml.Node{Kind: yaml.SequenceNode}
			}
			return m.Content[i+1]
		}
	}
	list := &yaml.Node{Kind: yaml.SequenceNode}
	m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: "budgets"}, list)
	return list
}

// budgetNodeName is the name of a budget in the config document.
func budgetNodeName(n *yaml.Node) string {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == "name" {
			return strings.TrimSpace(n.Content[i+1].Value)
		}
	}
	return ""
}

// node is the budget as the config file writes it (the shape of the
// docs: flow mappings for scope and limit).
func (b ConfigBudget) node() *yaml.Node {
	str := func(v string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Value: v, Tag: "!!str"} }
	num := func(v string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Value: v} }
	n := &yaml.Node{Kind: yaml.MappingNode}
	add := func(k string, v *yaml.Node) { n.Content = append(n.Content, str(k), v) }
	add("name", str(b.Name))
	if len(b.Scope) > 0 {
		scope := &yaml.Node{Kind: yaml.MappingNode, Style: yaml.FlowStyle}
		for _, k := range slices.Sorted(maps.Keys(b.Scope)) {
			v := str(b.Scope[k][0])
			if len(b.Scope[k]) > 1 {
				v = &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle}
				for _, s := range b.Scope[k] {
					v.Content = append(v.Content, str(s))
				}
			}
			scope.Content = append(scope.Content, str(k), v)
		}
		add("scope", scope)
	}
	limit := &yaml.Node{Kind: yaml.MappingNode, Style: yaml.FlowStyle}
	for k, v := range b.Limit {
		limit.Content = append(limit.Content, str(k), num(strings.TrimPrefix(v, "$")))
	}
	add("limit", limit)
	add("period", str(b.Period))
	if len(b.Thresholds) > 0 {
		th := &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle}
		for _, t := range b.Thresholds {
			th.Content = append(th.Content, num(strings.TrimSuffix(t, "%")))
		}
		add("thresholds", th)
	}
	if len(b.Email) > 0 {
		to := &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle}
		for _, e := range b.Email {
			to.Content = append(to.Content, str(e))
		}
		add("email", to)
	}
	if b.Webhook != "" {
		add("webhook", str(b.Webhook))
	}
	return n
}
