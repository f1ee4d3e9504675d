// Package domain holds pype's pure value types: symbols, markets, candle
// spans, data types, market-data records (candles, trades, book levels,
// snapshots and deltas), venue capabilities, dataset identifiers and
// provenance, plus nanosecond time helpers.
//
// It performs no I/O and imports nothing else of pype, so every other
// package can depend on it.
//
// Conventions:
//   - Timestamps are int64 nanoseconds since the Unix epoch, UTC.
//   - Prices and amounts are [decimal.Decimal] values parsed from the venue's
//     decimal strings; they keep the venue's scale ("1.500" stays "1.500"),
//     which checksum rules that hash the original strings rely on.
package domain
