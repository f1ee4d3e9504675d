// Package kraken is pype's Kraken spot venue adapter: REST backfills of
// candles and trades, REST book snapshots, the pair list with trading
// rules, and WebSocket v2 streams of trades, candles and synchronised order
// books.
//
//	a, err := kraken.Open(ctx, venues.Config{})
//	for bar, err := range a.BackfillCandles(ctx, venues.CandleRequest{
//		Symbol: domain.NewSymbol("BTC", "USD"), Span: domain.Span1h, Range: r}) { ... }
//
// # Venue facts (checked against Kraken's documentation)
//
// REST https://api.kraken.com/0/public/ (GET; POST works too). Every
// answer is {"error":[...],"result":...}, and errors normally arrive with
// HTTP 200: the transport's classifier reads the error array of every 2xx
// body, so a venue error is retried ("EGeneral:Too many requests",
// "EAPI:Rate limit exceeded", "EGeneral:Temporary lockout" with a pause of
// RateLimitPause, "EService:Unavailable", "EService:Busy",
// "EGeneral:Internal error") or surfaced as an *APIError ("EQuery:Unknown
// asset pair" → ErrInvalidSymbol, "EGeneral:Invalid arguments" →
// ErrInvalidParameter) — never read as an empty page. Warnings (W...) alone
// are not errors.
//
//   - OHLC pair, interval (minutes 1 5 15 30 60 240 1440 10080 21600), since
//     (seconds, exclusive). Only the 720 most recent bars are served, the
//     newest one still forming and always present. Rows [time, open, high,
//     low, close, vwap, volume, count]; last is the newest committed bar.
//     Capability: History recent, RecentCount 720. A backfill reaching
//     further back fails with a *HistoryError before any request — or, with
//     WithDerivedCandles, the older part is aggregated from trades
//     (DeriveCandles), which reaches the pair's listing and serves any span.
//   - Trades pair, since (nanoseconds, exclusive; seconds accepted), count
//     ≤ 1000. Rows [price, volume, time (decimal seconds), b/s, m/l, misc,
//     trade_id]; last is the newest trade's exact time in ns. pype asks for
//     the next page from last−1, so trades sharing the boundary instant are
//     served again and de-duplicated by trade_id, never skipped or merged
//     (the time float in the rows is rounded and is never used as a cursor).
//     Full history. Trade times are parsed from the decimal text exactly.
//   - Depth pair, count ≤ 500; rows [price, volume, timestamp].
//   - AssetPairs: result keys (XXBTZUSD), altnames (XBTUSD), wsname (XBT/USD),
//     pair_decimals, lot_decimals, ordermin, costmin, tick_size, status.
//     REST pair names are altnames with BTC→XBT and DOGE→XDG on both sides
//     (XBTUSD, ETHXBT, XDGUSD); WebSocket v2 uses BTC/USD and DOGE/USD.
//     pype's canonical symbol is BASE/QUOTE with ISO codes (BTC, DOGE; the
//     X/Z class prefixes of XXBT or ZUSD removed), which is also the v2 name.
//   - Rate limits: "calling the public endpoints at a frequency of 1 per
//     second (or less) would remain within the rate limits"; Trades and OHLC
//     are counted per IP and pair, the other public endpoints per IP. The
//     limit is a call counter that each call raises and that decays; Kraken
//     does not publish the public counter's size or send usage headers.
//     pype enforces, per counter, at most PublicBurst (15) calls in any
//     PublicWindow (16 s) — a burst of 15, then one call per second and a
//     bit — with a separate limiter per pair (RateLimiter), and pauses every
//     counter for RateLimitPause after "Too many requests".
//     venues.Config.WeightLimit replaces the 15.
//
// WebSocket v2 wss://ws.kraken.com/v2: {"method":"subscribe","params":
// {"channel":"book","symbol":["BTC/USD"],"depth":10}} (depths 10 25 100 500
// 1000), channels trade, ohlc (interval_begin is the bar's open; the
// deprecated timestamp its end) and book. Book messages carry the CRC32
// checksum of the top 10 asks then bids, each price and quantity with the
// decimal point and leading zeros removed — the same rule as v1 — on the
// snapshot and on every update; levels that fall out of the subscribed
// depth are not deleted, so the book is truncated after every update.
// Prices and quantities are JSON numbers printed with the pair's precision;
// the parser keeps their digits (no float) and the checksum rule pads to
// pair_decimals and lot_decimals in case an intermediary dropped trailing
// zeros. A heartbeat arrives about every second while subscribed: a
// connection silent for 10 s is replaced.
//
// # Deviations and choices
//
//   - The public counter's parameters are not published; the defaults above
//     follow the "1 per second" guidance (and the private Starter tier's
//     counter of 15). The simulator models the same counter.
//   - OHLC rows for intervals without trades (count 0, volume 0) are
//     dropped, as derived candles have none. OHLC bars carry no quote
//     volume (Kraken reports a VWAP: see OHLC); derived bars carry the exact
//     Σ price × amount, so a mixed backfill has QuoteVolume only for its
//     derived part.
//   - Derived weekly bars start on Monday (pype's convention); Kraken's own
//     10080-minute bars are taken as served.
//   - Trades of one pair are drained by a single cursor: the per-pair
//     counter makes parallel windows of one pair pointless.
//     venues.Config.Concurrency is not used.
//   - If more than one page of trades (1000) shares one instant, the time
//     cursor cannot reach past the page within that instant: the walk moves
//     on and reports the instant to TradeRequest.Gap.
//   - Trade streams treat trade ids as sequential (Kraken's v2
//     documentation); a jump is filled over REST Trades. A pair whose ids
//     turn out not to be contiguous falls back to filling after
//     reconnections only.
//   - The WebSocket book checksum covers 10 levels: deeper levels are as
//     good as the updates that built them.
//
// The fixtures behind the tests: live AssetPairs and WebSocket v1 book
// captures (all 862 recorded checksums verify through the v2 parser), and
// ccxt's static OHLC and Trades responses. No recorded WebSocket v2 payload
// exists; v2 shapes come from Kraken's documentation (see
// testdata/README.md) and the simulator (sim/kraken).
package kraken
