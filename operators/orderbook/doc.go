// Package orderbook maintains live L2 order books: an exact,
// allocation-free [Book], one generic sync [Engine] that keeps books in step
// with any venue's snapshot + diff stream, and the [OrderbookExchange]
// connector interface.
//
// # Book
//
// A [Book] holds price levels as [decimal.Decimal] values exactly as the
// venue wrote them ("0.0500" stays "0.0500"), which is what the checksum
// rules hash. Each side is a two-level B+-tree of 64-level blocks searched
// through integer price keys: an update is O(log n) and allocates nothing
// once the book has reached its working size (≈ 6–15 million level updates
// per second on one core for a 1,000-level book; see bench_test.go).
// Queries: best bid/ask, depth, top N, spread, mid, crossed check, and for
// a taker's size VWAP, cost and worst price, plus the amount available up
// to a price. Size queries take the taker's side: [domain.Buy] consumes
// asks, [domain.Sell] consumes bids. A Book is not safe for concurrent use.
//
// # Sync engine
//
// A venue adapter creates one [Engine] per venue connection with the
// venue's rules and feeds it parsed deltas with [Engine.Handle]:
//
//   - Snapshot source: a [SnapshotFunc] (REST: Binance, Coinbase), or
//     in-band snapshots — deltas with Reset set or [Engine.HandleSnapshot]
//     (Kraken, OKX, Bybit, Bitfinex, BitMEX partial) — with an optional
//     [ResubscribeFunc] the engine calls to get a fresh one.
//   - A [ContinuityRule]: [BinanceContinuity] (U/u),
//     [BinanceFuturesContinuity] (pu), [BybitContinuity] (u, u = 1 resets),
//     [OKXContinuity] (seqId/prevSeqId), [CoinbaseContinuity] (sequence),
//     [NoContinuity].
//   - A [ChecksumRule]: [KrakenChecksum], [OKXChecksum],
//     [BitfinexChecksum], computed over the venue's original strings and
//     checked on every delta that carries a checksum.
//
// While a symbol syncs, diffs are buffered; the snapshot is bridged to the
// buffer (stale diffs skipped, a snapshot older than the stream refetched).
// Every invalidation ([Engine.Resync], e.g. on a lost connection, a gap,
// a mismatch, Remove) starts a new sync generation: diffs buffered before
// it are dropped and a snapshot requested before it is cancelled and, if
// it still arrives, discarded ([ReasonSuperseded]), so a book never goes
// live from a snapshot and diffs of a connection that is gone.
// A gap, checksum mismatch, malformed delta or crossed book invalidates
// just that symbol's book and resyncs it, with backoff when a stream keeps
// failing. States ([Syncing], [Live], [Resyncing], [Stopped]) are
// observable through [Engine.State], [Engine.Stats] and [Event]s published
// losslessly on [StateEvents].
//
// Readers use a [View]: every read takes the symbol's read lock (the engine
// applies each delta under the write lock, so a half-applied update is
// never visible) and fails with [ErrNotLive] unless the book is live. A
// book that is not live is cleared, never shown.
//
// [decimal.Decimal]: https://pkg.go.dev/github.com/govalues/decimal#Decimal
package orderbook
