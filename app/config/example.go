package config

// Example is an example configuration in JSON (JSON has no comments; the
// keys are explained in [ExampleYAML] and the package documentation). It
// loads to the same [Config] as [ExampleYAML] and [ExampleTOML].
const Example = `{
  "data": "./pype-data",
  "log_level": "info",
  "venues": {
    "binance": {
      "rest_url": "https://api.binance.com",
      "ws_url": "wss://stream.binance.com:9443",
      "concurrency": 4
    }
  },
  "jobs": [
    {"name": "btc-hourly", "kind": "backfill", "venue": "binance", "symbols": ["BTC/USDT", "ETH/USDT"],
     "type": "ohlc", "span": "1h", "from": "2024-01-01"},
    {"name": "btc-trades-live", "kind": "stream", "venue": "binance", "symbols": ["BTC/USDT"],
     "type": "trades", "duration": "1h"}
  ]
}
`

// ExampleYAML is the commented example configuration in YAML, the same as
// docs/pype.example.yaml in the repository. Save it as ./pype.yaml or
// ~/.config/pype/config.yaml.
const ExampleYAML = `# pype configuration (YAML). Save as ./pype.yaml or ~/.config/pype/config.yaml,
# or pass --config FILE (or set $PYPE_CONFIG). TOML (.toml) and JSON (.json)
# take the same keys. Precedence, later wins: built-in defaults, this file,
# environment variables, command-line flags. Unknown keys are an error.
# "pype config" shows the merged result (secrets hidden).

# Data directory for datasets and run history.     env: PYPE_DATA   flag: --data
data: ./pype-data

# debug, info, warn or error.                       env: PYPE_LOG_LEVEL   flag: --log-level
log_level: info

# Per-venue settings, keyed by venue name (see "pype venues"; case-insensitive).
venues:
  binance:
    # Base URLs: point them at a testnet, a proxy or "pype sim".
    # env: PYPE_BINANCE_REST_URL, PYPE_BINANCE_WS_URL   flags: --rest-url, --ws-url
    rest_url: https://api.binance.com
    ws_url: wss://stream.binance.com:9443
    # Max concurrent requests in backfills (0 = venue default).   flag: --concurrency
    concurrency: 4
    # Request-weight (or request-count) limit per window (0 = the venue's own).
    # weight_limit: 600
    # Credentials are secrets: keep them out of files and set them in the
    # environment instead (PYPE_BINANCE_API_KEY, PYPE_BINANCE_API_SECRET).
    # If you must, quote them:
    # api_key: "..."
    # api_secret: "..."

# Named jobs: "pype backfill --job NAME" / "pype stream --job NAME". Each field
# takes what the flag of the same name takes; flags given on the command line win.
jobs:
  - name: btc-hourly
    kind: backfill            # backfill (default) or stream
    venue: binance
    symbols: [BTC/USDT, ETH/USDT]
    type: ohlc                # ohlc, trades or book
    span: 1h                  # candle span for ohlc: 1m 5m 1h 4h 1d 1w 1M ...
    from: 2024-01-01          # RFC 3339, a date (midnight UTC) or Unix time
    # to: 2024-02-01T00:00:00Z  # exclusive; empty or absent: now
  - name: btc-trades-live
    kind: stream
    venue: binance
    symbols: [BTC/USDT]
    type: trades
    duration: 1h              # stop after this long; absent: until Ctrl-C
    # depth: 20               # book levels per side (type: book)
`

// ExampleTOML is [ExampleYAML] in TOML. Save it as ./pype.toml or
// ~/.config/pype/config.toml.
const ExampleTOML = `# pype configuration (TOML); the keys are explained in the YAML example
# (pype.example.yaml) and in "go doc github.com/pype-go/pype/app/config".
data = "./pype-data"
log_level = "info"

[venues.binance]
rest_url = "https://api.binance.com"
ws_url = "wss://stream.binance.com:9443"
concurrency = 4
# weight_limit = 600
# Credentials: set PYPE_BINANCE_API_KEY and PYPE_BINANCE_API_SECRET instead.

[[jobs]]
name = "btc-hourly"
kind = "backfill"
venue = "binance"
symbols = ["BTC/USDT", "ETH/USDT"]
type = "ohlc"
span = "1h"
from = 2024-01-01 # a TOML date; "2024-01-01" works too

[[jobs]]
name = "btc-trades-live"
kind = "stream"
venue = "binance"
symbols = ["BTC/USDT"]
type = "trades"
duration = "1h"
`
