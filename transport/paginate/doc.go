// Package paginate turns a venue's page-at-a-time REST endpoints into
// complete, ordered streams, written as Go iterators (iter.Seq2[T, error]).
//
// Four paginators cover the shapes venues use:
//
//   - [Forward] walks fixed time windows [start, end) whose grid starts at
//     the requested start snapped to a bar, optionally several windows at a
//     time, and yields items window by window in time order.
//   - [OHLC] is Forward specialised for candles: a window holds the venue's
//     per-request maximum of bars, the grid is aligned to the bar (never to
//     the window), calendar-month spans work, results are filtered to the
//     requested range, sorted and de-duplicated by open time, and a page the
//     venue truncated is detected and the missing part refetched.
//   - [Backward] follows an opaque cursor through newest-first pages.
//   - [Trades] drains one time window by the adapter's opaque cursor, filters
//     to the window, de-duplicates at page seams by trade id and never skips
//     trades that share a millisecond; [TradeWindows] drains sub-windows
//     concurrently and [CheckContiguous] verifies numeric id continuity.
//
// # Contracts
//
// Venue adapters plug in small fetcher functions. A fetcher performs one
// request and returns what the venue answered: rows (in any order for OHLC),
// or an error. A venue error (HTTP or a "soft" error inside an HTTP 200 body)
// must be returned as an error — it stops the iteration and is yielded
// wrapped in a [*FetchError] (errors.As still finds the venue's own type). An
// empty page is only ever an empty result, never a disguised error.
//
// # Errors, cancellation, goroutines
//
// Every iterator yields at most one error, as its last element. Cancelling
// the context stops the iteration promptly with the context's error. A
// consumer may break out of a range loop at any time; concurrent fetches are
// then cancelled and waited for before the loop statement returns, so no
// goroutine outlives the iteration. Fetch concurrency never exceeds the
// configured bound.
//
// # Callbacks
//
// Progress and Coverage callbacks run synchronously on the goroutine that
// ranges over the iterator, in time order, after the items they describe
// have been yielded. They need no locking; a slow callback slows the
// iteration.
package paginate
