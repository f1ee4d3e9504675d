// Package exchange is the centralized-exchange layer of the operators
// model: what every exchange connector shares, independent of the venue.
//
//   - Capability interfaces ([MarketLister], [RulesProvider],
//     [BalanceReader], [OrderPlacer], [OrderCanceler], [OrderGetter],
//     [OpenOrderLister], [FillLister]) are the raw venue calls a connector
//     implements; [ExchangeOperator] is an operators.Operator with trading
//     rules and an order tracker, [Trader] one that can also place, cancel
//     and query orders.
//   - [Base] embeds operators.Base and gives a connector trading rules
//     ([TradingRules]: tick, lot, min/max amount, price and notional, order
//     types, time in force; quantization and validation with errors naming
//     the value and the rule), client order ids ([ClientOrderIDs], from the
//     operator's nonce, in the venue's charset and length), and the wiring
//     of the raw calls to the tracker: [Base.PlaceTracked],
//     [Base.CancelTracked], [Base.RefreshOrders], [Base.RefreshFills].
//   - [OrderTracker] follows every order through ONE transition table
//     ([CanTransition]: PENDING_CREATE, OPEN, PARTIALLY_FILLED,
//     PENDING_CANCEL, FILLED, CANCELED, FAILED, EXPIRED), matches updates by
//     client or exchange id, ignores stale updates, de-duplicates fills by
//     trade id, publishes exactly one terminal event per order, keeps lost
//     orders aside until the venue reports them again, and snapshots its
//     state as JSON for restarts. Its events ([OrderEvent]) go to lossless
//     topics on the operator's publisher ([OrderEvents] and per type).
//
// Subpackage exchangetest holds a conformance kit every connector runs
// against itself, and an in-memory paper exchange that passes it.
package exchange
