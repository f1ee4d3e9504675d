// Package bybit is the Bybit v5 personality of the pype simulator (see
// package sim): the public market REST API under /v5/market and the public
// WebSocket streams under /v5/public/{spot,linear,inverse}, with Bybit's
// JSON envelope ({"retCode","retMsg","result","retExtInfo","time"}),
// decimal strings, error codes inside HTTP 200 bodies, usage headers and
// rate limit.
//
// Instruments: the spot symbols of sim.DefaultSymbols (BTCUSDT, ETHUSDT,
// ETHBTC, SOLUSDT, category spot) and the USDT perpetuals BTC/USDT:perp and
// ETH/USDT:perp (category linear, BTCUSDT and ETHUSDT). Every instrument is
// its own deterministic market, so spot BTCUSDT and linear BTCUSDT differ.
// The inverse category answers (empty instrument list, "Not supported
// symbols"): inverse volumes are in contracts and turnovers in the base
// coin, which the core market does not aggregate.
//
// REST (GET): /v5/market/time, /v5/market/instruments-info,
// /v5/market/kline (rows newest first; with more bars in [start, end] than
// limit the newest limit bars are served), /v5/market/recent-trade (only
// the latest trades: spot 1…60, default 60; linear/inverse 1…1000, default
// 500 — deeper history is not served, as on Bybit), /v5/market/orderbook
// (spot limit 1…200, default 1; linear/inverse 1…500, default 25). A
// missing category means linear, as on Bybit.
//
// Errors are HTTP 200 with retCode ≠ 0: 10001 for bad parameters ("Not
// supported symbols", "Invalid period!", ...). The IP limit is 600
// requests per rolling 5 s (sim.Config.WeightLimit overrides it); past it
// the answer is HTTP 403 "access too frequent" and, for clients that keep
// going, a ban. Every response carries X-Bapi-Limit (the limit),
// X-Bapi-Limit-Status (requests left) and X-Bapi-Limit-Reset-Timestamp (ms).
// An injected rate-limit fault (sim.Faults.RateLimitRate) answers either
// HTTP 200 with retCode 10006 "Too many visits!", X-Bapi-Limit 10,
// X-Bapi-Limit-Status 0 and X-Bapi-Limit-Reset-Timestamp set to the next
// whole second (as Bybit's per-second endpoint limits answer), or HTTP 429
// "System level frequency protection" (alternately, seeded).
//
// WebSocket: {"op":"subscribe"|"unsubscribe","args":[…],"req_id":…} with
// acknowledgements {"success":…,"ret_msg":…,"conn_id":…,"req_id":…,
// "op":…} (spot allows at most 10 args per request); {"op":"ping"} is
// answered with {"success":true,"ret_msg":"pong",…,"op":"ping"} on spot
// and {"op":"pong","args":["<ms>"],…} on linear/inverse. Topics:
// publicTrade.<SYM> (arrays of trades, ids "i" numeric strings on spot and
// UUID-shaped on derivatives, see [TradeID]), kline.<interval>.<SYM>
// (confirm = closed; forming bars every second of virtual time) and
// orderbook.<depth>.<SYM> (spot depths 1, 50, 200; linear/inverse 1, 50,
// 200, 500): a snapshot on subscribe, then a delta per 100 ms step in
// which the top depth levels changed, update id u contiguous (+1 per
// message), size "0" deleting a level.
//
// Faults: the core's REST faults; on WebSocket, sim.Faults.DepthGapEvery
// skips an orderbook delta while still counting its update id (a gap the
// client must heal by resubscribing), WSDropEvery, WSDuplicateRate and
// WSDelay as documented in package sim.
//
// Options (sim.Config.Options, prefixed "bybit."):
//
//   - streamTick: how often live streams are flushed (default "20ms").
//   - restartEvery: after every N orderbook deltas of a subscription, send
//     a snapshot with u = 1, as Bybit does after a service restart
//     (default 0: never).
//
// Not simulated: inverse instruments, signed endpoints, option and spread
// categories, the level-1 linear snapshot resent every 3 s, tickers and
// liquidation topics, per-UID endpoint limits (apart from the forced 10006
// above), the trade "seq" field. The simulator omits bars without trades
// (as the core does for every venue); Bybit's messages (retMsg texts, the
// 403 body) follow its documentation where it gives them and are
// best-effort otherwise.
package bybit
