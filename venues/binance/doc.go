// Package binance is pype's Binance spot venue adapter, and the template
// the other venue adapters follow.
//
// # Opening
//
// [Open] returns an [*Adapter]; venues/all registers it under "binance" so
// the CLI finds it, with the REST and WebSocket base URLs overridable by
// venues.Config, PYPE_BINANCE_REST_URL / PYPE_BINANCE_WS_URL, or --rest-url
// / --ws-url (that is how the simulator and the testnet are used):
//
//	a, err := binance.Open(ctx, venues.Config{RESTURL: "http://127.0.0.1:8081", WSURL: "ws://127.0.0.1:8081"})
//
// At start-up the adapter reads exchangeInfo: the symbol list (canonical
// BTC/USDT ⇄ BTCUSDT, cached for an hour, unknown symbols rejected with
// suggestions), the trading rules, and the rate limits the venue announces
// (REQUEST_WEIGHT, RAW_REQUESTS, ORDERS), which replace the built-in
// defaults ([DefaultRateLimits]) — so a venue or simulator announcing a
// lower limit is respected without a 429. It also measures the server-time
// offset.
//
// # REST
//
// Every request goes through transport/httpc with the adapter's
// transport/ratelimit limiter: each endpoint declares its weight (klines 2,
// aggTrades 4, depth 5/25/50/250 by limit, exchangeInfo 20, time 1), the
// X-MBX-USED-WEIGHT-1M header corrects the local count, 429/418 pause every
// request until Retry-After, and network errors, resets, truncated bodies
// and 5xx are retried with backoff. Binance error bodies become [*APIError]
// values that errors.Is maps to [ErrInvalidSymbol], [ErrInvalidInterval],
// [ErrTooManyRequests], [ErrIPBanned], [ErrInvalidParameter],
// [ErrUnauthorized] and [ErrVenueUnavailable] (errors.As also finds the
// *httpc.HTTPError). Spans Binance does not serve fail with an
// [*IntervalError] (also domain.ErrNoCapability) before any request.
//
//   - [Adapter.BackfillCandles]: closed candles of any span (1s … 1M),
//     windows of 1000 bars aligned to the bar, fetched concurrently and
//     yielded in order; truncated pages are refetched; bars still forming
//     are not history and are not yielded.
//   - [Adapter.BackfillTrades]: aggregate trades (Trade.ID is the aggregate
//     id "a"). The range's first and last ids are found by time within the
//     old "< 1 hour between startTime and endTime" rule (a lone startTime
//     jump is used only when verified by the id before it), then the range
//     is cut into sub-windows of about 40 pages whose first ids are found
//     by time, drained by fromId concurrently within the rate limit, and
//     stitched with an id-continuity check: no trade is lost or duplicated
//     at a seam, same-millisecond bursts included. A hole in the venue's
//     ids is refetched once and otherwise reported to TradeRequest.Gap.
//   - [Adapter.BookSnapshot], [Adapter.Markets], [Adapter.ExchangeInfo],
//     [Adapter.ServerTime], [Adapter.Klines], [Adapter.AggTrades].
//
// # Streams
//
// Streams use transport/ws combined streams: up to 1024 streams per
// connection (more connections when needed), subscribed in the URL or,
// when it would be too long, with SUBSCRIBE messages paced under Binance's
// 5 messages/s. Connections are replaced before Binance's 24 h cut with a
// make-before-break overlap whose duplicate frames are held back and
// dropped, so a planned reconnection leaves neither a gap nor a duplicate.
//
//   - [Adapter.StreamTrades] (@aggTrade, or @trade with [WithRawTrades]):
//     an id jump — a dropped connection, a lost frame — is filled over REST
//     by id before the next live trade, and each symbol is caught up over
//     REST right after a reconnection, so a live capture has no gap.
//   - [Adapter.StreamCandles] (@kline_<interval>): every closed bar once,
//     in order (missed ones fetched over REST), optionally forming bars.
//   - [Adapter.StreamBooks] (@depth@100ms): local books kept by the
//     operators/orderbook engine with Binance's U/u rule — diffs buffered
//     while the snapshot is fetched (only once the stream delivers), stale
//     diffs dropped, the first applied diff straddling lastUpdateId, every
//     later one continuing it, and a resync of just the affected books on a
//     gap, a crossed book or a broken connection. A book is never reported
//     live while it is not known to be consistent.
//
// # Operator
//
// [NewExchange] returns the market-data side of an orderbook
// OrderbookExchange: trading rules from exchangeInfo, live books
// (SubscribeBook / Book, many per connection), and CurrentTimestamp
// corrected by the measured server-time offset. Order placement is added by
// the trading work.
//
// # Benchmarks
//
// Parsing and book maintenance (one core):
//
//	go test -run XXX -bench 'DepthParse|BookFeedFrame|AggTradesPage|KlinesPage' ./venues/binance/
//
// End to end against the simulator (minutes each, one at a time):
//
//	go test -run XXX -bench BenchmarkCandleBackfillRateLimit -benchtime 1x -timeout 30m ./venues/binance/
//	go test -run XXX -bench BenchmarkTradesBackfill -benchtime 1x -timeout 60m ./venues/binance/
//	go test -run XXX -bench BenchmarkBookStreamLatency -benchtime 1x ./venues/binance/
//
// PYPE_BENCH_WEIGHT, PYPE_BENCH_WINDOWS, PYPE_BENCH_TRADES, PYPE_BENCH_SINGLE
// and PYPE_BENCH_EVENTS size them (see each benchmark's comment).
package binance
