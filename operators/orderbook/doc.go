// Package orderbook maintains live L2 order books: an exact, allocation-free
// [Book], and one generic sync [Engine] that keeps books in step with any
// venue's snapshot + diff stream.
//
// # Book
//
// A [Book] holds price levels as [decimal.Decimal] values exactly as the
// venue wrote them ("0.0500" stays "0.0500"), which is what the checksum
// rules hash. Updates are O(log n) with no allocation in steady state; see
// the benchmarks in bench_test.go. Queries: best bid/ask, depth, top N,
// spread, mid, crossed check, VWAP, cost and worst price for an amount, and
// the amount available up to a price. Size-based queries take the taker's
// side: [domain.Buy] consumes asks, [domain.Sell] consumes bids.
//
// A Book is not safe for concurrent use.
//
// [decimal.Decimal]: https://pkg.go.dev/github.com/govalues/decimal#Decimal
package orderbook
