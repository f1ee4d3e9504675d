// Package app holds pype's operations on market data — the logic behind the
// pype CLI, written so that a service can reuse it:
//
//   - [App.Backfill] fetches historical candles, trades or a book snapshot
//     from a venue into the store. It asks the store what is already covered
//     and fetches only the missing ranges (interior holes included), so a run
//     resumes where an earlier one stopped and running it twice changes
//     nothing.
//   - [App.Stream] records live trades, candles or books, flushing
//     periodically and filling holes after reconnects over REST.
//   - [App.ReadOHLC], [App.ReadTrades], [App.ReadBooks] query a range across
//     partitions.
//   - [App.Inventory] lists what exists, with coverage and gaps.
//   - [App.Verify] proves completeness: the OHLC grid (venue gaps inside the
//     fetched coverage are accepted, bars never fetched are not), trade-id
//     continuity on venues whose ids are contiguous, duplicates and
//     out-of-order rows.
//
// An [App] is a value holding a venue registry, a data directory and
// optional run history; it has no global state. Input errors are typed
// (venue, symbol, span, time, range, capability and history errors) so a
// caller can tell bad input from runtime failures with [IsUsageError].
package app
