// Package coinbase is the Coinbase Exchange personality of the pype
// simulator (see package sim): the public REST API of
// api.exchange.coinbase.com and the WebSocket feed of
// ws-feed.exchange.coinbase.com, with Coinbase's JSON shapes, decimal
// strings, {"message":...} error bodies, cursor headers and rate limit.
//
// REST (GET): /time, /products, /products/{id}, /products/{id}/candles,
// /products/{id}/trades, /products/{id}/book, /products/{id}/ticker.
// Product ids are BTC-USD, ETH-USD, ETH-BTC and SOL-USD (any case).
//
//   - Candles: granularity 60 300 900 3600 21600 86400 (else 400
//     "Unsupported granularity"); rows [time, low, high, open, close,
//     volume] as bare JSON numbers, newest first, the bar in progress
//     included, bars without trades omitted. start and end (ISO 8601 or
//     Unix seconds) select bars opening in [floor(start), end) — the
//     recorded payload (start 00:00, end 06:00, 1h) holds 00:00 to 05:00;
//     option candlesEnd=inclusive serves end's bar too. A range of more
//     than 300 bars is answered 400 "granularity too small for the
//     requested time range. Count of aggregations requested exceeds 300"
//     as documented; option candlesOverLimit=truncate instead serves its
//     newest 300 bars silently (the trap some clients describe), and
//     candlesMax changes the 300. Without start and end the latest 300
//     bars are served.
//   - Trades: newest first; after=X serves the ids below X, before=X the
//     ids just above X, limit 1…1000 (default 1000); CB-BEFORE and
//     CB-AFTER carry the page's newest and oldest ids. side is the MAKER's
//     side ("buy" = a resting buy was hit, the taker sold). Trade ids are
//     the market model's fill ids (contiguous per product); times have
//     millisecond precision written with microseconds.
//   - Book: level=1 (default, best bid and ask), 2 (the full aggregated
//     book, rows [price, size, num_orders]), 3 (rows [price, size,
//     order_id]); sequence grows with every book update and trade.
//
// Errors: 404 {"message":"NotFound"} for unknown products and paths, 400
// {"message":...} for bad parameters. Rate limit: 10 requests per second
// per IP with bursts to 15 (a token bucket), enforced as at most 15 in any
// second and 115 in any ten; over it, 429 {"message":"Public rate limit
// exceeded"} without Retry-After. Coinbase does not ban with 418, so the
// core's ban escalation is answered with 429 too.
//
// WebSocket at "/": {"type":"subscribe"|"unsubscribe","product_ids":[..],
// "channels":[name | {"name":..,"product_ids":[..]}]}, acknowledged with
// {"type":"subscriptions",...}; a client that has not subscribed within 5
// s is disconnected. Channels: heartbeat (one per product per second of
// wall time: sequence, last_trade_id, time), matches (last_match on
// subscribing, then match messages with sequence), level2_batch (a full
// snapshot on subscribing, then one l2update per 100 ms book step with
// changes [side, price, size]; no sequence number, as on Coinbase).
// level2, full, level3, user and rfq_matches are refused as needing
// authentication; other channels as not simulated. Errors are
// {"type":"error","message":"Failed to subscribe","reason":...}.
//
// Faults (sim.Faults): REST faults as in the core; wsdrop closes the
// connection, depthgap silently drops an l2update (undetectable by a
// client, since level2 carries no sequence — only a fresh snapshot heals
// it), wsdup and wsdelay apply to every feed message.
//
// Options (sim.Config.Options, prefixed "coinbase."): candlesMax,
// candlesOverLimit (reject|truncate), candlesEnd (exclusive|inclusive),
// streamTick (default 10ms), heartbeat (default 1s).
package coinbase
