// Package binance is the Binance spot personality of the pype simulator
// (see package sim): the REST API under /api/v3 and the market streams
// under /ws and /stream, with Binance's JSON shapes, decimal strings, error
// bodies, weights, X-MBX-USED-WEIGHT-1M headers and 429/418 escalation.
//
// REST: GET /api/v3/ping, /time, /exchangeInfo, /depth, /trades,
// /historicalTrades, /aggTrades, /klines, /uiKlines, /avgPrice,
// /ticker/price, /ticker/bookTicker, /ticker/24hr.
//
// Streams: <symbol>@aggTrade, @trade, @kline_<interval>, @depth,
// @depth@100ms, @depth<5|10|20>[@100ms], @bookTicker; raw at
// /ws/<stream>[/<stream>…], combined at /stream?streams=a/b with
// {"stream":…,"data":…} frames; live SUBSCRIBE, UNSUBSCRIBE,
// LIST_SUBSCRIPTIONS, SET_PROPERTY/GET_PROPERTY combined; server pings.
//
// Options (sim.Config.Options, prefixed "binance."):
//
//   - aggTradesMaxWindow: the largest endTime−startTime /aggTrades accepts
//     (default "1h", the historical -1127 rule; "0" disables the rule).
//   - streamTick: how often live streams are flushed (default "10ms").
//   - klineCacheMB: memory for formatted /klines rows of bars that are all
//     closed, kept least-recently-used first out (default "64"; "0" turns
//     the cache off). Pages are byte-identical either way.
//
// Performance: kline rows of closed bars are cached in chunks of 256 bars;
// the frames of each live stream flush are written with few system calls;
// depth-diff payloads are formatted once per step and shared by every
// connection streaming them.
//
// Not simulated: signed endpoints (orders, account), user data streams,
// the 24 h connection cut, klines timeZone other than UTC (rejected with
// -1130).
package binance
