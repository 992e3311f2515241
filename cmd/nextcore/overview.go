package main

import (
	"context"
	"io"

	"github.com/spf13/cobra"

	"github.com/nextcore-ai/nextcore/pkg/report/render"
)

type overviewOptions struct {
	window    windowFlags
	watch     watchFlag
	compareTo string
	format    formatFlag
}

func (a *App) newOverviewCmd() *cobra.Command {
	opts := &overviewOptions{}
	cmd := &cobra.Command{
		Use:   "overview",
		Short: "The compact 2×2 widget: calls, tokens, cost, success rate",
		Long: `Show calls, tokens, cost and success rate with their changes in two short
lines, for a shell prompt, a MOTD or a tmux status line.`,
		Example: `  nextcore usage overview --period today
  nextcore usage overview --watch 1m`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runOverview(cmd.Context(), cmd, opts)
		},
	}
	opts.window.register(cmd)
	opts.watch.register(cmd)
	opts.format.register(cmd, render.OverviewReport().Formats()...)
	cmd.Flags().StringVar(&opts.compareTo, "compare-to", "", "compare with `FILE`, a saved 'usage stats --format json' report")
	return cmd
}

func (a *App) runOverview(ctx context.Context, cmd *cobra.Command, opts *overviewOptions) error {
	return a.watchLoop(ctx, cmd, opts.watch, func() error {
		var format render.Format
		wd, err := a.openWindowed(ctx, cmd, &opts.window, func(*settings) (err error) {
			format, err = opts.format.parse()
			return err
		})
		if err != nil {
			return err
		}
		s, span, rs := wd.s, wd.span, wd.rs
		defer rs.close()
		stats, err := a.dashboard(ctx, s, span, rs, 5, nil)
		if err != nil {
			return err
		}
		if err := readBaseline(opts.compareTo, func(f io.Reader, label string) (err error) {
			stats.Baseline, err = render.ReadBaseline(f, label)
			return err
		}); err != nil {
			return err
		}
		return a.emit(s, func(w io.Writer, st render.Style) error {
			return render.OverviewReport().Render(format, w, stats, render.Options{Meta: rs.meta, Style: st})
		})
	})
}
