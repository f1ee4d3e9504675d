// Package okx is the OKX v5 personality of the pype simulator (see package
// sim): the public REST market-data API under /api/v5 and the public and
// business WebSocket endpoints, with OKX's JSON envelopes
// ({"code":"0","msg":"","data":[…]}), decimal strings, error codes, per
// endpoint rate limits and book sequence numbers and checksums.
//
// REST (GET): /api/v5/public/time, /api/v5/public/instruments,
// /api/v5/market/candles, /history-candles, /trades, /history-trades,
// /books, /books-full, /ticker.
//
//   - Candles: bar 1s 1m 3m 5m 15m 30m 1H 2H 4H, the Hong Kong (UTC+8)
//     aligned 6H 12H 1D 2D 3D 1W 1M 3M and the UTC aligned 6Hutc … 3Mutc;
//     after/before are exclusive open-time bounds, rows are newest first
//     and the bar in progress has confirm "0". /candles serves only the
//     latest 1440 bars (limit ≤ 300), /history-candles everything (limit ≤
//     100). Bars without trades are omitted.
//   - Trades: /history-trades type=1 (default) pages by tradeId, type=2 by
//     timestamp (after only: "before" with type=2 is error 50039); after
//     and before are exclusive; rows newest first, limit ≤ 100. Trade ids
//     are the market model's fill ids (contiguous per instrument).
//   - Books: sz ≤ 400 (/books) or ≤ 5000 (/books-full); rows
//     [px, sz, "0", orders] (/books-full: [px, sz, orders]).
//
// Rate limits are enforced per endpoint and client IP as OKX publishes them
// (history-candles 20 / 2 s, candles 40 / 2 s, history-trades 20 / 2 s,
// trades 100 / 2 s, books 40 / 2 s, books-full 10 / 2 s, instruments
// 20 / 2 s, time 10 / 2 s, ticker 20 / 2 s). Over the limit the answer is
// HTTP 429 {"msg":"Too Many Requests","code":"50011"} without Retry-After
// (OKX sends none). OKX does not ban with 418: a client the core's
// escalation bans (it kept sending while refused) is answered 429 too,
// for the ban's duration (such answers count as 418 in /_sim/stats).
// sim.Config.WeightLimit overrides the history-candles limit.
//
// Errors use OKX's codes and statuses: 51001 "Instrument ID or Spread ID
// doesn't exist." (HTTP 200), 51000 "Parameter {name} error" (HTTP 400),
// 50014 "Parameter {name} can not be empty." (HTTP 400), 50039 (HTTP 200).
//
// WebSocket: /ws/v5/public (books, books5, bbo-tbt, trades) and
// /ws/v5/business (trades-all, candle<bar>). {"op":"subscribe"|
// "unsubscribe","args":[{"channel":…,"instId":…}]} is acknowledged per
// argument with {"event":"subscribe","arg":…,"connId":…}; errors are
// {"event":"error","code":"600xx","msg":…}. A channel on the wrong
// endpoint gets 64001/64002, an unknown instrument 60018. The text "ping"
// is answered with "pong"; a connection with nothing sent or received for
// 30 s is closed (code 4004), as on OKX.
//
// The books channel sends a 400-level snapshot (prevSeqId -1) then one
// update per 100 ms book step, with seqId/prevSeqId chained from the
// market's update ids and the CRC32 checksum (signed 32-bit) of the top 25
// levels interleaved bid:ask as OKX computes it over the printed strings.
// trades is one message per taker order and price (tradeId = last fill,
// count = fills), trades-all one message per fill. Candle channels push
// the bar in progress (confirm "0") at most once a second when it changed
// and every closed bar once with confirm "1".
//
// Faults (sim.Faults) apply: depthgap skips books updates, wsdrop, wsdup
// and wsdelay act on every channel. Options (sim.Config.Options, prefixed
// "okx."):
//
//   - checksumErrorEvery=N: send a wrong checksum on every Nth books
//     update of a connection (default 0, off).
//   - streamTick: how often live streams are flushed (default "10ms").
//   - idleTimeout: the silence after which a connection is closed
//     (default "30s").
//
// Not simulated: signed endpoints, private channels, books-l2-tbt /
// books50-l2-tbt (they need a VIP login; the simulator answers 60011),
// the 480 subscribe requests per hour per connection limit, the 3
// connections per second limit.
package okx
