// Package operators is the uniform connector model shared by every venue
// adapter in pype: centralized exchanges, blockchains and DApps.
//
// The types, in the order a concrete operator meets them:
//
//   - [Platform] is a comparable value naming a venue (identifier, kind,
//     optional chain id, testnet flag). [OperatorConfiguration] holds at
//     least the platform; concrete operators embed it and add endpoints,
//     credential sources and limits.
//   - [Operator] is the interface every connector satisfies. Embedding
//     [*Base] (built by [NewBase]) provides all of it: configuration,
//     platform, names, the venue clock ([Operator.CurrentTimestamp], the
//     local clock corrected by a [ClockOffset]) and the event publisher.
//   - [MultiPublisher] is the operator's event bus: typed [Topic] values,
//     subscription by callback ([Subscribe]) or channel ([SubscribeChan]),
//     one delivery goroutine and queue per subscriber so a slow subscriber
//     never stalls the others. Lossless topics (orders, transactions) never
//     drop an event; lossy topics (market data) keep the newest events and
//     count what they drop.
//   - [OperatorProcessor] is the poll loop: wait for a poll request (a
//     ticker or [OperatorProcessor.Poll]), call [Fetcher.FetchUpdates],
//     and on error log, wait a retry delay and try again. It survives
//     errors and panics and stops with its context.
//   - [NonceCreator] issues strictly increasing nonces in seconds,
//     milliseconds or microseconds, lock-free, from any goroutine.
//   - [OperatorFactory] registers constructors by identifier and builds one
//     instance per identifier, once, even under concurrent [OperatorFactory.Get];
//     constructors may depend on other identifiers, and dependency cycles are
//     reported as [*DependencyCycleError] instead of deadlocking.
//
// Timestamps inside pype are int64 nanoseconds since the Unix epoch, UTC.
// Nothing in this package keeps package-level mutable state; every registry,
// publisher and clock is a value the caller constructs.
package operators
