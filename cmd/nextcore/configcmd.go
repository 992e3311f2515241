package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	"github.com/nextcore-ai/nextcore/pkg/notify"
	"github.com/nextcore-ai/nextcore/pkg/report"
)

// configKeys are the settings 'config set' writes, as dotted paths into the
// file. Secrets are read from standard input, never from the command line,
// where the process list and the shell history would show them.
var configKeys = map[string]struct {
	list   bool // a comma-separated list
	secret bool // always a secret (token); smtp.url is one when it holds a password
}{
	"tenant": {}, "api_url": {}, "token": {secret: true}, "timezone": {}, "cache": {}, "warn_at": {},
	"limits.api_calls": {}, "limits.tokens": {}, "limits.spend": {},
	"smtp.url": {}, "smtp.from": {}, "smtp.to": {list: true}, "smtp.insecure": {}, "smtp.retry_for": {},
	"alerts.thresholds": {list: true}, "alerts.email": {list: true}, "alerts.webhook": {}, "alerts.anomalies": {},
	"pricing.file": {}, "cost": {},
}

func (a *App) newConfigCmd() *cobra.Command {
	group := &cobra.Command{
		Use:   "config",
		Short: "Show where the config file is, and set values in it",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return cmd.Help()
		},
	}
	group.AddCommand(&cobra.Command{
		Use:   "path",
		Short: "Print the config file's path",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			fmt.Fprintln(a.Stdout, a.configPath())
			return nil
		},
	}, &cobra.Command{
		Use:   "set KEY [VALUE]",
		Short: "Set a value in the config file (secrets are read from standard input)",
		Long: `Set KEY to VALUE in the config file, creating it (mode 0600, in a folder
only you can enter) or keeping the rest of it as it is. The file is always
written with mode 0600.

The API token, and an SMTP URL with a password, are read from standard
input rather than the command line, where the process list and the shell
history would keep them. Keys: ` + strings.Join(sortedKeys(), ", ") + `.`,
		Example: `  nextcore config set tenant acme
  nextcore config set api_url https://api.nextcore.example
  nextcore config set token < ~/nextcore-token.txt
  printf '%s\n' "$SMTP_URL" | nextcore config set smtp.url
  nextcore config set smtp.to finance@acme.example,cto@acme.example`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) < 1 || len(args) > 2 {
				return usagef("config set takes KEY and VALUE (or KEY, with the value on standard input); got %d arguments", len(args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.configSet(args)
		},
		ValidArgsFunction: func(_ *cobra.Command, args []string, prefix string) ([]string, cobra.ShellCompDirective) {
			if len(args) > 0 {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			return withPrefix(sortedKeys(), prefix), cobra.ShellCompDirectiveNoFileComp
		},
	})
	return group
}

func sortedKeys() []string { return slices.Sorted(maps.Keys(configKeys)) }

// configPath is the config file in use: --config, NEXTCORE_CONFIG, or the
// default.
func (a *App) configPath() string {
	return firstOf(a.flags.config, a.env("NEXTCORE_CONFIG"), defaultConfigPath(a.env))
}

func (a *App) configSet(args []string) error {
	key := args[0]
	spec, ok := configKeys[key]
	if !ok {
		return usagef("unknown config key %q (keys: %s)", key, strings.Join(sortedKeys(), ", "))
	}
	var value string
	if len(args) == 2 && args[1] != "-" {
		value = args[1]
		if spec.secret || (key == "smtp.url" && strings.Contains(value, "@")) {
			return usagef("%s is a secret: give it on standard input, not the command line (which the process list and shell history keep): nextcore config set %s < FILE", key, key)
		}
	} else {
		line, err := bufio.NewReader(io.LimitReader(a.Stdin, 64<<10)).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("read the value of %s: %w", key, err)
		}
		value = strings.TrimSpace(line)
		if value == "" {
			return usagef("no value for %s on standard input", key)
		}
	}
	if err := checkConfigValue(key, value); err != nil {
		return usageError{err}
	}
	var node *yaml.Node
	if spec.list {
		node = &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle}
		for _, v := range strings.Split(value, ",") {
			if v = strings.TrimSpace(v); v != "" {
				node.Content = append(node.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: v})
			}
		}
	} else {
		node = &yaml.Node{Kind: yaml.ScalarNode, Value: value, Tag: "!!str"}
		if key == "smtp.insecure" || key == "alerts.anomalies" {
			if value != "true" && value != "false" {
				return usagef("%s is true or false, not %q", key, value)
			}
			node.Tag = "!!bool"
		}
	}
	path, err := a.editConfig(func(doc *yaml.Node) error {
		setPath(doc.Content[0], strings.Split(key, "."), node)
		return nil
	}, nil)
	if err != nil {
		return err
	}
	shown := value
	if spec.secret || key == "smtp.url" {
		shown = "(from standard input, not shown)"
	}
	fmt.Fprintf(a.Stderr, "set %s = %s in %s (mode 0600)\n", key, shown, path)
	return nil
}

// checkConfigValue checks a value as the commands that use it will.
func checkConfigValue(key, value string) error {
	var err error
	switch key {
	case "timezone":
		if _, ok := zone(value); !ok {
			err = fmt.Errorf("unknown time zone %q (use an IANA name such as Europe/Berlin or UTC)", value)
		}
	case "limits.api_calls", "limits.tokens":
		_, err = parseCountLimit(key, value)
	case "limits.spend":
		_, err = parseSpendLimit(key, value)
	case "warn_at":
		_, err = parsePercent(key, value)
	case "alerts.thresholds":
		_, err = parseThresholds(value)
	case "smtp.url":
		_, err = notify.ParseSMTPURL(value)
	case "cost":
		_, err = report.ParseCostMode(value)
	case "smtp.retry_for":
		_, err = parseRetryFor("smtp.retry_for", value)
	case "api_url", "alerts.webhook":
		if u, perr := url.Parse(value); perr != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			err = fmt.Errorf("%s must be an http:// or https:// URL, not %q", key, value)
		}
	}
	return err
}

// editConfig reads the config file as a YAML document, has edit change it,
// and writes it (writeConfigNode); it returns the file's path.
func (a *App) editConfig(edit func(doc *yaml.Node) error, check func(*Config) error) (string, error) {
	path := a.configPath()
	if path == "" {
		return "", errors.New("no place for a config file: set HOME or pass --config")
	}
	doc, err := readConfigNode(path)
	if err != nil {
		return "", err
	}
	if err := edit(doc); err != nil {
		return "", err
	}
	return path, writeConfigNode(path, doc, check)
}

// writeConfigNode writes the config file from its YAML document, mode
// 0600, once it reads back with the checks every command makes (and
// check's, when given).
func writeConfigNode(path string, doc *yaml.Node, check func(*Config) error) error {
	var out bytes.Buffer
	enc := yaml.NewEncoder(&out)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("config %s: %w", path, err)
	}
	cfg, err := parseConfig(out.Bytes(), path)
	if err == nil && check != nil {
		err = check(cfg)
	}
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("create the config folder: %w", unwrapPath(err))
	}
	_, err = writeFileMode(path, true, 0o600, func(w io.Writer) error {
		_, err := w.Write(out.Bytes())
		return err
	})
	return err
}

// readConfigNode reads the config file as a YAML document, keeping its
// comments and order; a missing or empty file is an empty mapping.
func readConfigNode(path string) (*yaml.Node, error) {
	data, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("read config: %w", err)
	}
	if len(bytes.TrimSpace(data)) > 0 {
		if _, err := parseConfig(data, path); err != nil {
			return nil, fmt.Errorf("%w; fix it before setting values", err)
		}
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("config %s: %s", path, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		doc = yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{{Kind: yaml.MappingNode}}}
	}
	if doc.Content[0].Kind != yaml.MappingNode {
		return nil, fmt.Errorf("config %s: not a mapping of settings", path)
	}
	return &doc, nil
}

// setPath sets the value at a dotted path in a mapping, adding the
// mappings on the way.
func setPath(m *yaml.Node, path []string, value *yaml.Node) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value != path[0] {
			continue
		}
		if len(path) == 1 {
			m.Content[i+1] = value
			return
		}
		if m.Content[i+1].Kind != yaml.MappingNode {
			m.Content[i+1] = &yaml.Node{Kind: yaml.MappingNode}
		}
		setPath(m.Content[i+1], path[1:], value)
		return
	}
	k := &yaml.Node{Kind: yaml.ScalarNode, Value: path[0]}
	if len(path) == 1 {
		m.Content = append(m.Content, k, value)
		return
	}
	child := &yaml.Node{Kind: yaml.MappingNode}
	m.Content = append(m.Content, k, child)
	setPath(child, path[1:], value)
}
