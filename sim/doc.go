// Package sim is pype's local exchange simulator core: a deterministic,
// seeded market model (trades, candles, order books) with random access in
// time, venue rate-limit enforcement, fault injection, ground truth and
// statistics, and a server runner that hosts one listener per venue.
//
// Venue wire formats live in "personalities" (sub-packages such as
// sim/binance) that implement [Personality]: given an [Env] (the venue's
// [Market], [Faults], [Limiter], [Stats] and clock) they return the
// http.Handler serving the venue's REST and WebSocket API. The core knows
// nothing about any venue's JSON.
//
// # Market model
//
// Each (venue, symbol) has a stream of taker orders ("aggregate trades"),
// each filled by one or more trades at one price and one millisecond. The
// stream is generated per hour bucket from a hash of (seed, venue, symbol,
// hour); per-hour counts and the hour's opening and closing price anchors
// are O(1) functions of the hash, so any hour of a multi-month history is
// computed without generating what precedes it, while trade ids stay
// contiguous (prefix counts are cached per day). Bursts put many trades in
// one millisecond; quiet seconds, minutes and whole quiet hours occur; the
// price is a bridged random walk on the symbol's tick grid. Candles of every
// span are aggregated from exactly these trades (per-minute aggregates are
// cached; [Market.Prewarm] computes them for the whole history up front,
// which [Config.Prewarm] does in the background after start). After the
// virtual "now" the same generator continues, and trades
// become visible as the virtual clock passes them.
//
// The order book is a pure function of a 100 ms step index: a dense ladder
// of BookDepth levels per side around the last trade price whose quantities
// change on a per-level schedule. Update ids are contiguous across steps
// (U of step s = u of step s-1 + 1), so a snapshot at step s plus the diffs
// of steps > s reproduce the book exactly.
//
// All prices are integer ticks and all amounts integer lots internally;
// they are converted to decimals at the edges (see [SymbolSpec]).
package sim
