// Package ws is pype's reconnecting WebSocket client, the transport every
// venue stream adapter (Binance, Bybit, OKX, Kraken, Coinbase, Bitfinex,
// BitMEX) builds on.
//
// A [Client] owns at most one logical stream made of successive physical
// connections ("generations"). It dials, runs the [Config.OnConnect] hook
// (which (re)sends the subscriptions, or authenticates) on every connection,
// reads frames and hands them to the consumer through [Client.StreamRaw] or
// the generic [Stream], and reconnects when the connection breaks:
//
//   - exponential backoff with jitter between [ExpBackoff.Min] (1 s) and
//     [ExpBackoff.Max] (60 s); the attempt counter is reset only after a
//     connection stayed up for [Config.HealthyAfter], so a server that
//     accepts and immediately closes (cleanly or not) never causes a hot loop;
//   - protocol pings ([Config.PingInterval], [Config.PongTimeout]) and venue
//     application heartbeats ([Heartbeat], e.g. OKX "ping", Bybit
//     {"op":"ping"}) whose replies are filtered out by [Config.IsControl];
//   - a silence watchdog ([Config.SilenceTimeout]): no frame (data, control
//     or protocol ping/pong) for that long ⇒ reconnect;
//   - planned, make-before-break reconnection before a venue's connection
//     lifetime ends ([Config.MaxLifetime], Binance cuts at 24 h): the new
//     connection is dialled and subscribed while the old one still delivers,
//     and the old one is closed [Config.Overlap] later.
//
// Every frame carries its local receive time (Unix ns) and its connection
// generation ([Frame.Gen]); every state change is reported as an [Event]
// (Connected, Disconnected, Reconnecting, DialFailed, PlannedReconnect) so
// order-book maintainers know to resync and trade streams know to backfill
// the hole over REST. A Disconnected event whose error is [ErrRetired] is the
// end of a planned overlap and leaves no gap.
//
// # Why github.com/coder/websocket
//
// The client is built on github.com/coder/websocket (formerly
// nhooyr.io/websocket) rather than gorilla/websocket or gobwas/ws because:
//
//   - its API is context-native: Dial, Read, Write and Ping take a
//     context.Context, which is what pype's "cancel ⇒ stop promptly" rule
//     needs, with no SetDeadline juggling;
//   - a Conn is safe for concurrent writers (Write, Ping, Close may be called
//     from several goroutines), so Send from OnConnect, from heartbeats and
//     from consumers (live SUBSCRIBE/UNSUBSCRIBE) needs no extra write lock
//     (gorilla allows one concurrent writer only);
//   - it answers server pings while reading (Binance pings every 20 s) and
//     exposes ping/pong hooks used here to feed the silence watchdog;
//   - it is small, has no dependencies and is actively maintained by Coder
//     (gorilla was archived for a while; gobwas is a low-level toolkit).
//
// # Venue starting points
//
// Adapters set these (verify against the venue docs and
// shared/venues.md):
//
//   - Binance: server pings every 20 s (answered automatically, counted as
//     activity) ⇒ SilenceTimeout 60 s; MaxLifetime 23h30m (cut at 24 h);
//     SendRate 5 (5 incoming messages/s per connection, pings included);
//     combined streams via URLFunc, or SUBSCRIBE batches in OnConnect;
//     IsControl for {"result":null,"id":N} acks if the parser ignores them.
//   - Bybit: Heartbeat{Interval: 20 s, Message: {"op":"ping"}}; IsControl
//     for the {"op":"ping",...,"ret_msg":"pong"} reply; SilenceTimeout 60 s.
//   - OKX: Heartbeat{Interval: 20 s, IdleOnly: true, Message: "ping"};
//     IsControl: data == "pong"; SilenceTimeout 45 s (the server closes after
//     30 s without traffic).
//   - Kraken v2: {"channel":"heartbeat"} about every second while
//     subscribed ⇒ SilenceTimeout 10 s, IsControl for it.
//   - Bitfinex: [chanId,"hb"] every 15 s per channel ⇒ SilenceTimeout 30 s;
//     keep hb frames if the adapter tracks sequence numbers through them.
//   - Coinbase: subscribe the heartbeat(s) channel (1/s) ⇒ SilenceTimeout
//     10 s.
//   - BitMEX: text "ping"/"pong" like OKX, Heartbeat IdleOnly 5 s.
//
// # Stopping
//
// Cancelling the context given to StreamRaw/Stream (or breaking out of the
// range loop) stops the client promptly: connections are closed without a
// close handshake (the handshake may wait seconds on a bad peer) and every
// goroutine the client started has exited when the iterator returns.
//
// # Secrets
//
// Dial headers (API keys) are never logged. URLs appear in events, errors and
// logs with their user info removed and passed through [Config.RedactURL]
// (set it when a URL carries a token, e.g. a Binance listenKey).
package ws
