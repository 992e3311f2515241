package main

import (
	"strings"

	"github.com/spf13/cobra"

	"github.com/nextcore-ai/nextcore/pkg/report/render"
)

// formatFlag is -f/--format: one meaning on every command (the format of
// the output), with the formats that command renders, its default first.
type formatFlag struct {
	value   string
	formats render.Formats
}

func (f *formatFlag) register(cmd *cobra.Command, formats ...render.Format) {
	f.formats = formats
	cmd.Flags().StringVarP(&f.value, "format", "f", "", "output format: "+f.formats.String()+" (default "+string(formats[0])+")")
	cmd.RegisterFlagCompletionFunc("format", fixedValues(f.names()...))
}

func (f *formatFlag) names() []string {
	out := make([]string, len(f.formats))
	for i, x := range f.formats {
		out[i] = string(x)
	}
	return out
}

// parse checks the flag, before anything is opened: a format the command
// does not render is a usage error.
func (f *formatFlag) parse() (render.Format, error) {
	format, err := f.formats.Parse(f.value)
	if err != nil {
		return "", usagef("%s: %v", "--format", err)
	}
	return format, nil
}

// fixedValues completes a flag from a fixed list.
func fixedValues(values ...string) func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	return func(_ *cobra.Command, _ []string, prefix string) ([]string, cobra.ShellCompDirective) {
		var out []string
		for _, v := range values {
			if strings.HasPrefix(v, prefix) {
				out = append(out, v)
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}
