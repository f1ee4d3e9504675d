// Package coinbase is pype's Coinbase Exchange venue adapter: the public
// REST API of api.exchange.coinbase.com and the WebSocket feed of
// ws-feed.exchange.coinbase.com (sandbox: SandboxRESTURL, SandboxWSURL).
// Open returns an [*Adapter] implementing every venues interface
// (CandleBackfiller, TradeBackfiller, BookSnapshotter, MarketLister,
// TradeStreamer, CandleStreamer, BookStreamer). Symbols are canonical
// (BTC/USD) and mapped to product ids (BTC-USD) from the cached /products
// list; an unknown one fails with a *SymbolError naming listed
// alternatives.
//
// # Rate limit and errors
//
// Public endpoints allow 10 requests per second per IP, bursts up to 15
// (a lazy-fill token bucket). The adapter's limiter paces every request at
// 10 per rolling second (venues.Config.WeightLimit changes the count) and
// pauses on HTTP 429 ({"message":"Public rate limit exceeded"}); 5xx,
// resets and 429s are retried with backoff. Coinbase sends no usage header
// and, as far as its documentation says, no Retry-After. Errors are
// {"message":...} bodies, returned as *APIError matching ErrInvalidSymbol
// (404 NotFound on a product path), ErrInvalidGranularity,
// ErrTooManyCandles, ErrTooManyRequests, ErrInvalidParameter,
// ErrVenueUnavailable; a bare {"message":...} object in a 200 body is a
// (soft) error, never an empty page.
//
// # Candles
//
// GET /products/{id}/candles?granularity=&start=&end= serves spans 1m 5m
// 15m 1h 6h 1d (granularity 60 … 86400) as rows [time, low, high, open,
// close, volume] of bare JSON numbers, newest first, read as decimals from
// their text. There is no quote volume and no trade count. At most 300
// bars per request: the documentation and several clients report a larger
// range rejected with HTTP 400 "... Count of aggregations requested exceeds
// 300", others describe it as silently cut, and a request without start
// and end answers the latest 300. BackfillCandles never asks for more than
// 300 bars (windows aligned to the bar, fetched concurrently, default 4);
// a 400 of that kind splits the window to the maximum the message names,
// and a page that comes back full or short without holes is checked by the
// OHLC paginator, so no bar is skipped. Candles (one page) refuses a
// window of more than 300 bars locally.
//
// Bounds: start is the first bar's open and end is one second before the
// next window's first bar. The recorded payload (start 00:00, end 06:00,
// 1h → bars 00:00 … 05:00) shows end treated as exclusive, while
// venues.md and other clients call it inclusive; this end selects exactly
// the window's bars under either reading, so seams neither lose nor repeat
// a bar. The bar still forming (by the venue clock, from GET /time) is
// not history and is not yielded.
//
// # Trades
//
// GET /products/{id}/trades is newest first and paginated by trade id:
// after=X serves ids below X (older), before=X ids above; CB-AFTER and
// CB-BEFORE carry the next cursors; limit ≤ 1000. Trade ids are
// contiguous per product and grow with time, so the whole history is
// reachable and a hole is detectable. side is the MAKER order's side ("buy"
// is a down-tick: a resting buy was hit), so pype records the opposite as
// the taker side.
//
// BackfillTrades finds the range's first id and end id (the first trades
// at or after Start and End) by searching ids: each probe (after=m+1,
// limit=1) returns the trade with the largest id ≤ m and its time; the
// search gallops back from the newest trade extrapolating the local trade
// rate, then interpolates on time, bisecting whenever a step fails to
// halve the bracket. Over 10^9 synthetic ids spread over eight years with
// a 50-fold rate change it takes at most 19 requests (1 to 2 s at the
// public limit). The ids between are cut into chunks of 20 pages drained
// concurrently, each page asking for exactly the ids it still needs
// (after=, limit=), and stitched in id order: duplicates are dropped, a
// hole is refetched once by id and otherwise reported to req.Gap (an
// *IDGapError message) and excluded from coverage. Seams are ids, never
// times, so trades sharing a microsecond are neither lost nor merged.
//
// # Books
//
// BookSnapshot reads GET /products/{id}/book: level=1 for depth 1, else
// level=2 (the full aggregated book, rows [price, size, num_orders]) cut
// to depth locally; Seq is the book's sequence.
//
// StreamBooks subscribes level2_batch (the public channel: level2 itself
// needs authentication since 2023, per the Exchange WebSocket docs) with
// heartbeat. Its snapshot and l2update messages carry no sequence number
// (the documented "sequence" belongs to the full channel, also
// authenticated now, and to the REST book), so the sequence rule cannot
// be applied to them. What the adapter proves instead: a book is built
// from the snapshot the feed sends on subscribing plus the l2updates of
// the same connection, in order (TCP; the docs say level2 delivery is
// guaranteed), numbered per connection and checked by the orderbook
// engine's Coinbase rule; any reconnection invalidates every book until
// the new connection's snapshot arrives; a crossed book is resynced by
// unsubscribing and resubscribing the product (a fresh snapshot); and
// WithBookRefresh replaces each book by a fresh snapshot periodically,
// bounding any divergence the venue could cause silently. Coinbase has no
// book checksum.
//
// # Trade and candle streams
//
// StreamTrades subscribes matches and heartbeat, all products on one
// connection (the feed drops a client that has not subscribed within 5
// s; the heartbeat channel, once per product per second, feeds a 10 s
// silence watchdog). Trade ids are contiguous, so a jump — a reconnection,
// a lost message, or a heartbeat whose last_trade_id runs ahead of the
// stream twice in a row — is filled over REST by id before the next trade
// is yielded; last_trade_id 0 (reported from production) is ignored. The
// feed has no candle channel: StreamCandles builds bars from the same
// gapless trade flow, closes them on a later trade or a heartbeat past
// their end, seeds the bar in progress at start from REST trades (at most
// WithCandleSeedPages pages) and skips, with a req.Gap report, a bar that
// lost trades REST could not recover.
package coinbase
