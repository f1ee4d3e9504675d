// Package bybit is pype's Bybit v5 venue adapter for public market data of
// the spot, linear (USDT/USDC perpetuals and futures) and inverse
// categories.
//
// Symbols: BTC/USDT is spot BTCUSDT, BTC/USDT:perp linear BTCUSDT,
// BTC/USDC:perp linear BTCPERP, BTC/USD:perp inverse BTCUSD, and
// :quarter/:next_quarter the two nearest quarterly futures; the mapping is
// checked against GET /v5/market/instruments-info (cached, 1 h).
//
// REST (https://api.bybit.com): candles from /v5/market/kline (13 spans,
// 1000 rows per page, newest first, start and end inclusive — windows are
// requested as [start, end−1 ms] and a truncated page is refetched by the
// paginator); order-book snapshots from /v5/market/orderbook (spot ≤ 200
// levels, linear/inverse ≤ 500). Trades: Bybit has no deep public trade
// history over REST — /v5/market/recent-trade serves the latest 60 spot
// trades (1000 on linear/inverse) — so BackfillTrades serves a range only
// when those trades provably cover it and otherwise fails with a
// *TradeHistoryError (errors.Is domain.ErrNoCapability) naming Bybit's
// public archive (https://public.bybit.com/, daily CSV files), never with
// partial data.
//
// Errors: Bybit answers HTTP 200 with retCode ≠ 0. The transport's
// soft-error hook classifies them: 10000/10016 (server) and 10006/10018/
// 10429 (rate limits; 10006 waits until X-Bapi-Limit-Reset-Timestamp and
// pauses the adapter) are retried, everything else is surfaced as an
// *APIError (errors.Is ErrInvalidSymbol, ErrInvalidInterval,
// ErrInvalidParameter, ...) — a soft error is never an empty page. HTTP 403
// "access too frequent" (600 requests per 5 s per IP exceeded) pauses every
// request for 10 minutes and is returned as ErrIPBanned.
//
// Rate limit: one rule, 600 requests per rolling 5 s (venues.Config
// WeightLimit overrides it); X-Bapi-Limit / X-Bapi-Limit-Status correct the
// local count when they describe that limit.
//
// WebSocket (wss://stream.bybit.com/v5/public/<category>): topics are
// spread over connections of at most 200 topics, subscribed 10 per request
// (spot's limit); {"op":"ping"} every 20 s keeps them alive (the pong is
// filtered), a silent connection is replaced; a refused subscription ends
// the stream with a *SubscribeError. Trades (publicTrade.<SYM>) are
// de-duplicated by trade id; after a reconnection each symbol is refilled
// from recent-trade — once the venue has acknowledged the new
// subscription, holding live trades meanwhile, so nothing falls between
// the refill and the subscription — as far as recent-trade reaches, and
// anything older that may be missing is reported as a venues.Gap (Bybit
// trade ids are not contiguous, so only a reconnection can reveal a
// hole). Candles (kline.<interval>.<SYM>, confirm = closed) fill missed
// closed bars over REST; a bar before a confirmed one counts as closed
// whatever the local clock estimate says. Books (orderbook.<depth>.<SYM>) run through operators/orderbook's
// engine with the Bybit continuity rule: a snapshot (or u = 1) resets the
// book, every delta must carry u = previous + 1, size 0 deletes; a gap, a
// crossed book or a dropped connection resubscribes just that topic for a
// fresh snapshot. Bybit books carry no checksum.
//
// Differences from the documentation and recorded payloads, and choices
// where the documentation is silent:
//
//   - With start and end both set and more bars in between than limit, the
//     documentation does not say which bars come back (Bybit keeps the
//     newest). The adapter never asks for more than 1000 bars per window;
//     a full page is completed by the paginator, and a short page that
//     starts after its window is followed by a request for what lies
//     before it (one extra request when a window's first bar is missing),
//     so no bar is lost even if fewer rows than asked are served.
//   - The documentation does not say whether minutes without trades get a
//     flat zero-volume bar or no row; the simulator omits them. Both are
//     handled: completeness is tracked by the ranges answered.
//   - Bybit's docs list spot book depths 1, 50, 200 (newer pages add
//     1000); the adapter declares 1, 50, 200 for spot and 1, 50, 200, 500
//     for linear/inverse.
//   - ccxt's recorded v5 responses carry retCode and time as strings; real
//     Bybit sends numbers. Parsers accept both.
//   - Inverse klines report volume in contracts (USD) and turnover in the
//     base coin; they are mapped to QuoteVolume and Volume.
package bybit
