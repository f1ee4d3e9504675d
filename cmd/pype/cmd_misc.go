package main

import (
	"encoding/json"
	"fmt"

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

Config file (JSON), found at --config, $PYPE_CONFIG, ./pype.json or
~/.config/pype/config.json. Print an example with "pype config example".

Environment: PYPE_CONFIG, PYPE_DATA, PYPE_LOG_LEVEL, and per venue
PYPE_<VENUE>_REST_URL, PYPE_<VENUE>_WS_URL, PYPE_<VENUE>_API_KEY,
PYPE_<VENUE>_API_SECRET (keep secrets in the environment).`,
		Example: `  pype config
  pype config example > pype.json`,
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
	cmd.AddCommand(&cobra.Command{
		Use:   "example",
		Short: "Print an example config file",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			_, err := fmt.Fprint(c.stdout, config.Example)
			return err
		},
	})
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
