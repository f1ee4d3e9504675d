// Package kraken is the Kraken spot personality of the pype simulator (see
// package sim): the public REST API under /0/public/ and the WebSocket v2
// market-data API, with Kraken's JSON shapes, decimal strings, pair names,
// error arrays inside HTTP 200 bodies and public call counters.
//
// REST (GET or POST): /0/public/Time, SystemStatus, Assets, AssetPairs,
// Ticker, OHLC (the 720 most recent bars, the newest still forming; since
// is exclusive, in seconds), Trades (since is an exclusive nanosecond
// cursor — or seconds — and last the newest trade's time in ns; count ≤
// 1000; rows [price, volume, time, b/s, m/l, misc, trade_id]) and Depth
// (count ≤ 500). Pairs: BTC/USD (key XXBTZUSD, altname XBTUSD, wsname
// XBT/USD), ETH/USD (XETHZUSD), ETH/BTC (XETHXXBT, ETHXBT) and DOGE/USD
// (XDGUSD); the pair parameter takes the altname or the key, any case.
// Errors are Kraken's: HTTP 200 with {"error":["EQuery:Unknown asset
// pair"]}, "EGeneral:Invalid arguments", "EGeneral:Too many requests";
// unknown methods answer HTTP 404 "EGeneral:Unknown method".
//
// Rate limits: a call counter per IP (per IP and pair for Trades and OHLC)
// that each call raises by one and that decays by one per second (option
// decay); a call that would lift it over 15 (sim.Config.WeightLimit) is
// refused with "EGeneral:Too many requests" and still counted, so a client
// that keeps calling stays locked out longer. Injected 429 faults are
// answered the same way.
//
// WebSocket v2 at / and /v2: a status message on connect; methods
// subscribe, unsubscribe and ping (→ pong); channels trade, ohlc (interval
// 1…21600 minutes, updates on trades, interval_begin is the bar's open)
// and book (depth 10, 25, 100, 500, 1000: a snapshot, then updates holding
// the levels that changed inside the subscribed depth, levels pushed out of
// it are not deleted, and every message carries the CRC32 checksum of the
// top 10 levels); heartbeats every second while subscribed. Prices and
// quantities are JSON numbers printed with the pair's precision. Faults:
// depthgap skips book updates (the client's checksum then fails), wsdrop,
// wsdelay and wsdup apply to every message, and option badChecksumEvery=N
// corrupts every Nth book checksum.
//
// Options (sim.Config.Options, prefixed "kraken."): decay (calls per
// second, default 1), streamTick (default 10ms), heartbeat (default 1s),
// badChecksumEvery (default 0).
//
// Not simulated: private endpoints (answered "EAPI:Invalid key"), the
// WebSocket v1 API, the ticker/instrument/level3 channels.
package kraken
