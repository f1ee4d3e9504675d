// Package okx is pype's OKX v5 venue adapter (spot).
//
// It serves historical candles and trades, REST book snapshots, the spot
// instrument list, and live trades, candles and locally synchronised order
// books:
//
//	a, err := okx.Open(ctx, venues.Config{})
//	for bar, err := range a.BackfillCandles(ctx, venues.CandleRequest{
//		Symbol: domain.MustParseSymbol("BTC/USDT"), Span: domain.Span1d, Range: r}) { … }
//
// # Symbols
//
// Canonical BTC/USDT is OKX's instrument BTC-USDT; the mapping is checked
// against GET /api/v5/public/instruments?instType=SPOT (cached for an
// hour). BTC-USDT-SWAP maps back to BTC/USDT:perp, but derivatives (whose
// sizes are contracts) are not served yet.
//
// # REST
//
//   - Candles: GET /api/v5/market/history-candles (limit ≤ 100, rows newest
//     first, after/before exclusive bounds on the open time). OKX's 6H 12H
//     1D 1W 1M bars open at Hong Kong midnight (UTC+8); pype always asks
//     for the UTC-aligned 6Hutc 12Hutc 1Dutc 1Wutc 1Mutc 3Mutc, so bars
//     open where domain.Span.Floor says (weeks on Monday 00:00 UTC). Only
//     confirmed bars (confirm "1") are yielded. /market/candles (the latest
//     1440 bars, limit 300) is not used: history-candles covers the recent
//     bars too. 1s bars exist for the last 3 months only.
//   - Trades: GET /api/v5/market/history-trades, newest first, last 3
//     months only (older: https://www.okx.com/data-download). Each
//     sub-window is walked backward: its first page by time (type=2,
//     after = window end) — the only way to find a trade id near an
//     arbitrary instant — and every further page by trade id (type=1,
//     after = the smallest id seen). Paging by id never skips trades that
//     share a millisecond (the "last ts ± 1 ms" trap); the backward walk is
//     used because "after" alone is unambiguous, while OKX documents that a
//     lone "before" returns the latest data rather than the page after the
//     cursor.
//   - Books: GET /api/v5/market/books (≤ 400 levels) or /books-full (≤ 5000).
//
// Every answer is an envelope {"code":"0","msg":"","data":[…]}. A code other
// than "0" — in an HTTP 200 body or with a 4xx — is an error, never an
// empty page: the transport's classifier retries 50011 (rate limit), 50040,
// 50001, 50004, 50013 and 50026 with backoff and returns the rest as an
// *APIError (errors.Is ErrInvalidSymbol for 51001, ErrInvalidInterval for
// "Parameter bar error", ErrInvalidParameter, ErrTooManyRequests, …).
//
// Rate limits are per endpoint and IP (history-candles and history-trades
// 20 requests / 2 s, books 40 / 2 s, books-full 10 / 2 s, instruments 20 /
// 2 s, time 10 / 2 s): the adapter's limiter has one rule per endpoint, so
// a candle backfill never waits for a trade backfill. Each window is taken
// 200 ms longer than published: OKX counts requests on arrival, and
// requests sent exactly at the limit would otherwise be refused now and
// then after uneven network delays. OKX answers an exceeded limit with HTTP
// 429 (or 200) and code 50011, without Retry-After; the transport then
// pauses and retries with backoff.
//
// # WebSocket
//
// Two endpoints under the WebSocket base URL (default
// wss://ws.okx.com:8443): /ws/v5/public for books and /ws/v5/business for
// candles (candle<bar>) and trades-all. The adapter sends the text "ping"
// after 20 s without traffic (OKX closes a connection silent for 30 s) and
// drops the "pong"; subscriptions are re-sent on every reconnect.
//
//   - Trades come from trades-all (one message per fill, the ids of
//     history-trades). The public trades channel aggregates the fills of a
//     taker order per price (tradeId = the last fill, count = fills) and is
//     not used, so streamed and backfilled trades share one key. OKX trade
//     ids are consecutive per instrument (seen in every recorded payload,
//     not documented): a jump is filled over REST before the next live
//     trade, and so is the hole of a reconnection.
//   - Books come from the books channel: an in-band snapshot, then updates
//     every 100 ms chained by seqId/prevSeqId (operators/orderbook's
//     OKXContinuity) and checked with OKX's CRC32 of the top 25 levels
//     (OKXChecksum, a signed 32-bit value on the wire). A gap or mismatch
//     makes the engine resubscribe the symbol (unsubscribe + subscribe) for
//     a fresh snapshot. Messages without seqId (captures before OKX added
//     it, like the 2022 recordings in testdata) chain trivially and are
//     guarded by the checksum alone. At most 20 books per connection.
//
// # Differences from the documentation and the issue brief
//
//   - OKX's docs list 2D/3D (and 2Dutc/3Dutc) bars without saying how they
//     are aligned; pype does not offer them rather than guess.
//   - history-trades answers only the last 3 months; a backfill starting
//     earlier fails with a *domain.CapabilityError naming the data-download
//     page, instead of returning a silently incomplete range.
//   - The ccxt static payloads in testdata stringify numbers freely; OKX
//     itself sends every market-data number as a string except seqId,
//     prevSeqId and checksum (checked against the recorded WebSocket
//     frames). The parsers accept both forms.
//   - REST candle rows from before 2023 have 7 or 8 columns (no confirm);
//     such bars are judged closed by the venue's clock.
package okx
