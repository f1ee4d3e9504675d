// Package bitmex is the BitMEX personality of the pype simulator (see
// package sim): the public REST API under /api/v1 and the realtime
// WebSocket at /realtime, with BitMEX's JSON shapes (numbers as bare JSON
// numbers, ISO 8601 timestamps), error bodies {"error":{"message":…,
// "name":…}}, rate-limit headers and 429/403 escalation.
//
// Instruments: the perpetual swaps XBTUSD (inverse, BTC/USD:perp, 1
// contract = 1 USD, tick 0.5, lot 100), XBTUSDT, ETHUSDT and SOLUSDT
// (linear, BASE/USDT:perp). Quantities are contracts: the simulator's lots
// are contracts. GET /instrument/active also lists the spot pair XBT_USDT
// (typ IFXXXP), which serves no data.
//
// REST (GET): /api/v1 (root: name, version, timestamp), /instrument/active,
// /trade (symbol, startTime, endTime — both inclusive —, count 1…1000,
// default 100, start offset, reverse), /trade/bucketed (binSize 1m, 5m,
// 1h, 1d; the row timestamp is the bucket's CLOSE and startTime/endTime
// filter on it; partial; empty buckets listed with the previous close as a
// flat OHLC, null vwap/lastSize, or null prices before the first trade),
// /orderBook/L2 (symbol, depth default 25, 0 = full; sorted by id: asks
// from the highest price, then bids). trdMatchID is a UUID whose last
// group counts trades (BitMEX's current form; see TrdMatchID). A symbol
// that is not listed is answered with [] — BitMEX's symbol parameter is a
// filter — which is why clients must check symbols against
// /instrument/active.
//
// Rate limit: 30 requests per rolling minute per IP (Config.WeightLimit
// overrides it), x-ratelimit-limit / -remaining / -reset on every answer,
// 429 {"error":{"message":"Rate limit exceeded, retry in N seconds.",
// "name":"RateLimitError"}} with Retry-After, then HTTP 403 with the load
// balancer's HTML page for clients that keep going (the ban).
//
// WebSocket /realtime: the welcome message, {"op":"subscribe"|
// "unsubscribe","args":…} (also ?subscribe=a,b on the URL), acks
// {"success":true,"subscribe":topic,"request":…}, errors {"status":400,
// "error":…,"meta":{},"request":…}, the text "ping" answered "pong".
// Topics trade:<SYM> (partial with the latest trade, then inserts),
// tradeBin1m|5m|1h|1d:<SYM> (partial with the last closed bucket, an
// insert per closed bucket), orderBookL2_25:<SYM> and orderBookL2:<SYM>
// (partial, then per 100 ms book step a delete, an insert and an update
// message with level ids; no sequence numbers, as on BitMEX). WebSocket
// faults apply to table messages; depthgap skips order-book change
// messages.
//
// Options (sim.Config.Options, prefixed "bitmex."):
//
//   - streamTick: how often live streams are flushed (default "10ms").
//   - legacyL2: "true" omits price from update and delete rows (the feed
//     before 2022, where clients map ids to prices themselves).
//
// Not simulated: signed endpoints, the filter and columns parameters,
// requests and subscriptions without a symbol (answered 400), root-symbol
// filters such as "XBT", quote/instrument/orderBook10 topics, futures. The
// notional fields of inverse buckets are approximated (volume²/Σ price ×
// size), and tickDirection is derived from the previous trade only.
package bitmex
