// Package bitfinex is the Bitfinex (API v2) personality of the pype
// simulator (see package sim): the public REST API under /v2 and the
// public WebSocket API at /ws/2, with Bitfinex's positional JSON arrays,
// numbers printed as JavaScript prints them ("0.00003", "5e-8"), error
// bodies ["error", code, "msg"], per-endpoint rate limits and SEQ_ALL /
// OB_CHECKSUM WebSocket options.
//
// REST (GET): /v2/platform/status, /v2/conf/{key}[,{key}…] (keys
// pub:list:pair:exchange, pub:map:currency:sym, pub:list:currency),
// /v2/candles/trade:{tf}:{sym}/hist|last (tf 1m 5m 15m 30m 1h 3h 6h 12h 1D
// 1W 14D 1M; rows [MTS, OPEN, CLOSE, HIGH, LOW, VOLUME]), /v2/trades/{sym}/hist
// (rows [ID, MTS, ±AMOUNT, PRICE]), /v2/book/{sym}/P0?len=1|25|100 (rows
// [PRICE, COUNT, ±AMOUNT]), /v2/ticker/{sym}. start and end are inclusive
// milliseconds, limit ≤ 10000, sort -1 (default, newest first) or 1.
// Unknown symbols get [] from candles and trades (as Bitfinex does) and
// HTTP 500 ["error",10020,"symbol: invalid"] from book; bad parameters
// HTTP 500 ["error",10020,"limit: invalid"] and the like.
//
// Rate limits are per endpoint and client IP (candles 30, trades 15, book
// 240, conf 90, platform status 30, ticker 90 per minute), expressed as one
// rule of 720 units per minute charged per endpoint (trades 48 units, …),
// so sim.Config.WeightLimit scales every endpoint's limit; a request over
// the limit gets HTTP 429 ["error",11010,"ratelimit: error"] without
// Retry-After and blocks that endpoint for the client for 60 s.
//
// WebSocket: {"event":"info"} on connect; conf (flags 65536 SEQ_ALL: every
// data frame ends with a per-connection sequence number; 131072
// OB_CHECKSUM: [chanId,"cs",crc32] after each book step), ping/pong,
// subscribe/unsubscribe for trades (snapshot of the last 30 trades, then
// "te" per trade and "tu" repeats), book (P0, F0, len 1/25/100/250:
// snapshot, then one [price,count,±amount] frame per changed level every
// 100 ms step, count 0 to remove), candles (key trade:{tf}:{sym}: snapshot
// of up to 240 bars newest first, then updates of the bars that traded);
// heartbeats [chanId,"hb"] every 15 s on quiet channels; at most 25
// channels per connection (error 10305).
//
// Faults: the core's WebSocket faults apply (wsdrop, wsdup, wsdelay;
// depthgap skips a book update frame but consumes its sequence number).
// Options (sim.Config.Options, prefixed "bitfinex."):
//
//   - csCorruptEvery=N: every Nth book checksum is wrong;
//   - bookCorruptEvery=N: every Nth book level update carries a wrong
//     amount (a silent corruption: the sequence is intact, only the next
//     checksum reveals it);
//   - reconnectAfter=N: after N data frames send info 20051 and close 2 s
//     later;
//   - maintenanceAfter=N, maintenanceFor=2s: after N data frames send info
//     20060, pause the data, then send 20061;
//   - blockDuration (default 60s), streamTick (20ms), heartbeat (15s),
//     maxChannels (25).
//
// Not simulated: authenticated endpoints and channels, funding symbols,
// book precisions P1–P4 and R0, the ticker channel, the 20 connections per
// minute limit.
package bitfinex
