// Package bitfinex is pype's Bitfinex (public API v2) venue adapter:
// candle and trade backfills, book snapshots and the pair list over REST
// (https://api-pub.bitfinex.com/v2), and live trades, candles and
// checksummed order books over WebSocket (wss://api-pub.bitfinex.com/ws/2).
//
// [Open] returns an [Adapter] implementing venues.CandleBackfiller,
// TradeBackfiller, BookSnapshotter, MarketLister, TradeStreamer,
// CandleStreamer and BookStreamer. [Info] declares its capabilities.
//
// # Symbols
//
// Canonical symbols map to Bitfinex trading symbols through the venue's
// pair list (conf/pub:list:pair:exchange) and currency map
// (conf/pub:map:currency:sym), read at Open and cached for an hour:
// BTC/USD ⇄ tBTCUSD, BTC/USDT ⇄ tBTCUST (Tether is UST), DOGE/USD ⇄
// tDOGE:USD (a code longer than three letters takes the colon form).
// Symbols are always checked locally: Bitfinex answers trades and candles
// requests for an unknown symbol with an empty list, which would pass for
// "nothing traded". Without a pair list the adapter refuses symbols.
//
// # REST
//
// Candles: GET /candles/trade:{tf}:{sym}/hist?start&end&limit=10000&sort=1.
// Rows are [MTS, OPEN, CLOSE, HIGH, LOW, VOLUME] — close before high and
// low. start and end are inclusive milliseconds; windows of 10000 bars on a
// grid aligned to the bar (paginate.OHLC) are fetched two at a time. Time
// frames 1m 5m 15m 30m 1h 3h 6h 12h 1D 1W 14D 1M map to pype's 1m … 12h,
// 1d, 1w, 14d, 1M.
//
// Trades: GET /trades/{sym}/hist?start&end&limit=10000&sort=1, rows [ID,
// MTS, AMOUNT, PRICE] with a negative amount for a taker sell. There is no
// id cursor: each page restarts AT the last millisecond of the previous
// one and the overlap is removed by trade id (paginate.Trades), so trades
// sharing a millisecond at a seam are neither lost nor duplicated. A page
// whose trades all share one millisecond is completed with a descending
// page of that millisecond; more than two pages' worth in one millisecond
// fails with a [*SameMillisecondError] (after yielding everything before
// it) rather than skipping trades.
//
// Book: GET /book/{sym}/P0?len=1|25|100, rows [PRICE, COUNT, AMOUNT],
// amount > 0 a bid.
//
// Rate limits are per endpoint (candles 30, trades 15, book 240, configs
// 90 requests per minute per IP); the adapter keeps one FIFO limiter per
// endpoint, so a slow trades backfill never delays candles. Over a limit
// Bitfinex answers HTTP 429 ["error",11010,"ratelimit: error"] (older
// answers: {"error":"ERR_RATE_LIMIT"}) and blocks that endpoint for 60 s:
// the adapter pauses only that endpoint's limiter and retries after the
// block. Errors are typed: [*APIError] (errors.Is [ErrInvalidSymbol],
// [ErrInvalidParameter], [ErrTooManyRequests], [ErrMaintenance],
// [ErrVenueUnavailable], …), [*SymbolError], [*TimeframeError]
// (errors.Is domain.ErrNoCapability). Errors inside HTTP 200 bodies are
// errors, never empty pages.
//
// # WebSocket
//
// Channels are spread over connections of at most 25. Each connection
// sends {"event":"conf","flags":196608}: SEQ_ALL (every frame ends with a
// sequence number, one counter per connection) and OB_CHECKSUM (book
// channels send [chanId,"cs",crc32] of the top 25 levels). A skipped
// sequence number means a frame of that connection was lost on an unknown
// channel: every book of the connection is resubscribed and every trade
// stream of the connection is refilled over REST. Repeated sequence numbers
// (duplicates) are dropped. Heartbeats keep a 30 s silence watchdog fed.
// Info 20051 (server restart) and 20061 (maintenance over) reconnect at
// once; 20060 (maintenance) pauses the connection's streams.
//
// Books go through operators/orderbook's engine: in-band snapshots,
// orderbook.BitfinexChecksum on every "cs" frame, and on a mismatch, a
// crossed book or a malformed frame, unsubscribe + subscribe of just that
// channel. Trades yield each trade once ("te"; the "tu" repeat is dropped
// by id) and fill reconnection holes over REST. Candles yield a bar as
// closed when a later bar starts, and take bars missed around a hole from
// REST.
//
// # Where Bitfinex's documentation and this adapter differ or are silent
//
//   - The candles page has said 90 and 30 requests per minute in different
//     versions; the adapter uses 30 (the current page). The trades page
//     says 15, the book page 240.
//   - Bitfinex reports parameter errors as HTTP 500 ["error",10020,"limit:
//     invalid"]. The adapter does not retry them (its transport wrapper
//     turns them into 400; the original status is kept in
//     [APIError.Status] and the X-Bitfinex-Status header).
//   - The alignment of 1W and 14D candles is not documented. pype opens
//     weeks on Monday 00:00 UTC and 14-day bars on pype's 14d grid; a bar
//     the venue returns off that grid fails the backfill with an
//     [*AlignmentError] instead of being stored under a shifted time.
//   - Bitfinex's public API has no server-time endpoint; "now" (which bars
//     are closed, how far a range is covered) is the local clock
//     ([WithClock] overrides it).
//   - Trade ids are one global sequence (unique, increasing, not contiguous
//     per pair), so a loss cannot be proven from ids as on Binance;
//     completeness is reported by covered ranges. The live stream assumes
//     ids increase with time per pair, which recorded frames confirm.
//   - No recorded payload carries a "cs" checksum frame. Checksums are
//     verified against the documented algorithm (operators/orderbook, with
//     the documentation's example, JavaScript number formatting and
//     negative ask amounts) and against the simulator (sim/bitfinex).
//   - The REST book carries no sequence number or timestamp (Seq 0, Time =
//     receive time); live books are built from the WebSocket snapshot only.
//   - The docs cap public connections at 25 channels (older posts said 50,
//     then 30) and 20 new connections per minute; both are enforced
//     locally ([WithChannelsPerConnection], [WithConnectionsPerMinute]).
//
// Funding symbols (fUSD), precisions P1–P4 and raw books (R0), tickers and
// authenticated endpoints are not implemented.
package bitfinex
