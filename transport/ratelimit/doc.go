// Package ratelimit is an exact, multi-rule, FIFO rate limiter for one venue.
//
// A [Limiter] enforces several [Rule]s at once, for example Binance's
//
//	REQUEST_WEIGHT 6000 per minute
//	ORDERS_10S     50 per 10 s
//	ORDERS_1D      160000 per day
//	RAW_REQUESTS   61000 per 5 min
//
// and every request declares its [Cost] per rule:
//
//	cost := ratelimit.Cost{{Rule: "REQUEST_WEIGHT", N: 2}, {Rule: "RAW_REQUESTS", N: 1}}
//	if err := lim.Wait(ctx, cost); err != nil { ... }
//
// Rule names are unique within a limiter; a venue with two limits of the
// same kind (Binance ORDERS per 10 s and per day) gives them distinct names.
//
// # Algorithm: sliding-window log
//
// For each rule the limiter keeps a log of what it granted: entries of
// (time, units) in a ring buffer, plus the running sum of the units still
// inside the window. A request of n units is granted at time t only if, for
// every rule it names, the units granted in the half-open window
// (t-interval, t] plus n do not exceed the limit. An entry stops counting
// exactly one interval after it was granted. Hence, for every rule and every
// rolling window [s, s+interval), the units granted inside it never exceed
// the limit — from the very first request (there is no bucket that starts
// full and lets 2×limit through across a window boundary, which token
// buckets and GCRA both allow). Venues that count in fixed windows (Binance
// resets its counter every minute) are served correctly too, because every
// fixed window is one of the rolling windows.
//
// To bound memory (a "per day" rule could otherwise log 160000 entries), a
// grant that comes less than interval/1000 after the start of the newest
// entry is merged into that entry, and the merged entry takes the time of its
// latest grant. Merging only ever makes units count for longer, never
// shorter, so it can delay a request by at most 0.1 % of the interval but can
// never let one through early; the log holds at most about 1000 entries per
// rule. The hot path (a request that fits, nobody waiting) takes one mutex,
// reads the clock once and does not allocate.
//
// # Fairness
//
// Waiters are served strictly in arrival order: while anybody is queued, a
// new request queues behind them even if it would fit, so a large request is
// never starved by a stream of small ones. Only the head of the queue runs a
// timer (set to the moment its cost will fit); when it is served, cancelled,
// or the rules change, the next waiter becomes head.
//
// # Server feedback
//
// [Limiter.Observe] takes the venue's own usage count (a header such as
// X-MBX-USED-WEIGHT-1M): when the server has counted more than the limiter,
// the difference is logged as granted at that moment, so the server's count
// wins. [Limiter.PauseUntil] (on HTTP 429/418 with Retry-After) blocks every
// request until the given time. [Limiter.SetRules] changes the limits at run
// time (a venue reads them from its exchange info at start-up) and keeps the
// log of rules that remain.
//
// Time comes from an injectable [Clock]; package ratelimittest has a manual
// clock for tests that must not sleep. The zero Limiter has no rules, uses
// the system clock and is ready to use (it only honours pauses).
package ratelimit
