package main

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/pype-go/pype/app/config"
	"github.com/pype-go/pype/app/render"
)

func (c *cli) venuesCommand() *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "venues",
		Short: "List venues and what they offer",
		Long: `List the built-in venues with their capabilities: how much OHLC and trade
history each serves over REST, book snapshot depth, live streams and candle
spans. Base URLs can be overridden per venue (flags, config, or
PYPE_<VENUE>_REST_URL / PYPE_<VENUE>_WS_URL).`,
		Example: `  pype venues
  pype venues --format json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := render.ParseFormat(format, render.Table, render.JSON)
			if err != nil {
				return err
			}
			list := c.env.registry().List()
			if f == render.JSON {
				enc := json.NewEncoder(c.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(list)
			}
			return render.Venues(c.stdout, list)
		},
	}
	cmd.Flags().StringVar(&format, "format", "table", "output format: table or json")
	return cmd
}

func (c *cli) configCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Show the effective configuration (secrets hidden)",
		Long: `Show the configuration pype uses after merging defaults, the config file
and the environment, with API keys and secrets replaced by ***. Flags given
to a command override it.

Config file in YAML (.yaml/.yml), TOML (.toml) or JSON (.json), chosen by
its extension, found at --config, $PYPE_CONFIG, ./pype.{yaml,yml,toml,json}
or ~/.config/pype/config.{yaml,yml,toml,json}. Print an example with
"pype config example [--format yaml|toml|json]".

Environment: PYPE_CONFIG, PYPE_DATA, PYPE_LOG_LEVEL, and per venue
PYPE_<VENUE>_REST_URL, PYPE_<VENUE>_WS_URL, PYPE_<VENUE>_API_KEY,
PYPE_<VENUE>_API_SECRET (keep secrets in the environment).`,
		Example: `  pype config
  pype config example > pype.yaml
  pype config example --format toml > pype.toml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			red := c.cfg.Redacted()
			red.Data = c.dataDir
			src := "defaults"
			if len(c.cfg.Source) > 0 {
				src = fmt.Sprint(c.cfg.Source)
			}
			fmt.Fprintf(c.stderr, "# sources: %s\n", src)
			enc := json.NewEncoder(c.stdout)
			enc.SetIndent("", "  ")
			return enc.Encode(red)
		},
	}
	var exampleFormat string
	example := &cobra.Command{
		Use:   "example",
		Short: "Print an example config file (YAML by default)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var body string
			switch strings.ToLower(exampleFormat) {
			case "yaml", "yml":
				body = config.ExampleYAML
			case "toml":
				body = config.ExampleTOML
			case "json":
				body = config.Example
			default:
				return usagef("invalid --format %q (accepted: yaml, toml, json)", exampleFormat)
			}
			_, err := fmt.Fprint(c.stdout, body)
			return err
		},
	}
	example.Flags().StringVar(&exampleFormat, "format", "yaml", "example format: yaml, toml or json")
	cmd.AddCommand(example)
	return cmd
}

func (c *cli) versionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			_, err := fmt.Fprintf(c.stdout, "pype %s\n", version)
			return err
		},
	}
}
