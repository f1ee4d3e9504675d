package config_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/pype-go/pype/app/config"
)

func ExampleLoad() {
	dir, _ := os.MkdirTemp("", "pype-config")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "pype.yaml")
	_ = os.WriteFile(path, []byte(`
data: /srv/pype
venues:
  binance:
    rest_url: http://127.0.0.1:8080   # pype sim
jobs:
  - name: btc-hourly
    venue: binance
    symbols: [BTC/USDT]
    type: ohlc
    span: 1h
    from: 2024-01-01
`), 0o600)

	env := map[string]string{"PYPE_BINANCE_API_KEY": "secret-key"}
	c, err := config.Load(config.Options{
		Path:    path,
		Getenv:  func(k string) string { return env[k] },
		Environ: func() []string { return []string{"PYPE_BINANCE_API_KEY=secret-key"} },
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	j, _ := c.Job("btc-hourly")
	fmt.Println(c.Data, c.Venue("binance").RESTURL, j.Symbols, j.From)
	r := c.Redacted() // for display: secrets hidden
	fmt.Println("api key:", r.Venue("binance").APIKey)
	// Output:
	// /srv/pype http://127.0.0.1:8080 [BTC/USDT] 2024-01-01
	// api key: ***
}

func ExampleLoad_unknownKey() {
	dir, _ := os.MkdirTemp("", "pype-config")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "pype.toml")
	_ = os.WriteFile(path, []byte("[venues.binance]\nresturl = \"http://127.0.0.1:8080\"\n"), 0o600)

	_, err := config.Load(config.Options{Path: path})
	fmt.Println(err != nil)
	var uk *config.UnknownKeyError
	if errors.As(err, &uk) {
		fmt.Println(uk.Key, "in", uk.Section)
	}
	// Output:
	// true
	// resturl in venues.binance
}
