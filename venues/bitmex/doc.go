// Package bitmex is pype's BitMEX venue adapter for public market data of
// perpetual swaps and quarterly futures.
//
// Symbols: BitMEX contracts map to BASE/QUOTE:market with XBT read as BTC —
// XBTUSD (inverse) is BTC/USD:perp, XBTUSDT (linear) BTC/USDT:perp, ETHUSD
// ETH/USD:perp; the nearest and the next quarterly future of a pair are
// :quarter and :next_quarter (e.g. XBTU21). The mapping comes from GET
// /instrument/active, cached for an hour, and every symbol is checked
// against it before a request: BitMEX's symbol parameter is a filter, so an
// unknown symbol is answered with an empty page, never an error. Spot pairs
// (XBT_USDT, …) are listed by BitMEX but not served (domain.ErrNoCapability).
//
// Quantities are BitMEX contracts, as the venue reports them, not base
// units: Trade.Amount is the trade's size, BookLevel.Amount the level's
// size and OHLCBar.Volume the bucket's volume (XBTUSD: 1 contract = 1 USD;
// linear contracts are a fixed fraction of the base, see Instrument and
// domain.Market.AmountStep). OHLCBar.QuoteVolume is foreignNotional, which
// BitMEX computes in floating point; it is read with at most 15
// significant digits (236.63312793999998 → 236.63312794). Prices keep the
// venue's digits; no value goes through a float.
//
// REST (https://www.bitmex.com/api/v1; 30 requests per minute
// unauthenticated, a token bucket): candles from GET /trade/bucketed
// (binSize 1m, 5m, 1h, 1d; count ≤ 1000; partial=false). A bucket is
// stamped with its CLOSE: the adapter asks for stamps in [start + span,
// end + span) and sets OpenTime = timestamp − span — reading the stamp as
// the open shifts every bar by one span. BitMEX lists buckets without a
// trade (trades 0, the previous close as a flat OHLC, null vwap, or null
// prices before the first trade); they are dropped unless WithEmptyBars.
// Trades from GET /trade (count ≤ 1000) walked by startTime plus the row
// offset start: a page ending inside a millisecond continues at that
// millisecond with the offset of the trades already read there
// ([TradeCursor]), so trades sharing a millisecond are never skipped ("last
// timestamp + 1 ms" would) nor merged (ids are trdMatchID UUIDs, distinct
// per match). The ids are not contiguous, so completeness rests on the
// cursor — and on page sizes: a short page ends a walk only once a probe
// has shown that the venue does not cap pages below 1000 rows at that size
// (a cap is learned, not mistaken for the end). Books from GET
// /orderBook/L2 (depth per side, 0 = full).
//
// Rate limit: one rule of 30 requests per rolling minute (never more than
// BitMEX's bucket admits); x-ratelimit-limit replaces it with the venue's
// announced limit (authenticated clients get 120) unless venues.Config
// WeightLimit overrides it, and limit − x-ratelimit-remaining corrects the
// local count. HTTP 429 (RateLimitError, Retry-After) pauses every request
// of the adapter and is retried; HTTP 403 — BitMEX's ban after many error
// answers, usually an hour, or a region block — is returned as ErrIPBanned
// and pauses the adapter (Retry-After, else WithBanPause, default 1 min).
// Errors are {"error":{"message":…,"name":…}} bodies, returned as
// *APIError (errors.Is ErrInvalidInterval, ErrInvalidParameter,
// ErrTooManyRequests, ErrVenueUnavailable, …). BitMEX reports no errors
// inside HTTP 200 bodies, so no soft-error classifier is needed; the
// adapter's guard against empty-page errors is the local symbol check.
//
// WebSocket (wss://ws.bitmex.com/realtime): one connection per stream call,
// {"op":"subscribe","args":[…]} sent on every (re)connection, the text
// "ping" after 5 s of silence (the "pong" is filtered) and a reconnection
// after 11 s without any frame. Trades (trade:<SYM>): the partial sent on
// subscription is history and not yielded; after a reconnection every
// symbol is caught up over REST from its last trade's millisecond before
// live trades resume, and duplicates are dropped by trdMatchID. Candles
// (tradeBin<bin>:<SYM>) are closed bars only — BitMEX publishes no forming
// bar — refilled over REST after a break. Books (orderBookL2_25:<SYM> for
// depths ≤ 25, else orderBookL2:<SYM>) run through operators/orderbook's
// engine with NoContinuity and in-band partials: BitMEX sends no sequence
// number or checksum, so the adapter keeps each level's id → price map and
// checks every message against it (an update or delete of an unknown id, a
// clashing insert, a price or side changed under an id, more than 25 levels
// on an orderBookL2_25 side); a message that does not fit, a crossed book
// or a dropped connection resubscribes for a fresh partial. A lost size
// update of a known level cannot be detected on BitMEX's feed; it is
// corrected by the level's next update.
//
// Differences from the documentation and the recorded payloads, and
// choices where the documentation is silent:
//
//   - The documentation does not say whether endTime is inclusive: the
//     adapter asks one millisecond (trades) or one span (buckets) beyond
//     what it needs and drops what lies outside the window, which is right
//     either way.
//   - Update and delete rows of the recorded 2021 feed carry no price (the
//     id encoded it); current documentation shows a price on every row.
//     Both are read: the price in a row is checked against the id map.
//   - Empty buckets and their null prices are not in any recorded page;
//     their shape comes from BitMEX's documentation and issue reports.
//   - The server time comes from GET /api/v1 ({"timestamp":ms}).
package bitmex
