// Package httpc is the HTTP client every venue adapter shares: one
// connection pool per venue, rate limiting, request signing, retries with
// backoff, Retry-After, typed errors and venue error decoding.
//
// A [Client] is built once per venue with [New] and is safe for concurrent
// use. [Client.Do] sends a [Request] and returns the whole body in a
// [Response]:
//
//	c, err := httpc.New("https://api.binance.com",
//		httpc.WithName("binance"),
//		httpc.WithLimiter(lim),                       // e.g. a *ratelimit.Limiter
//		httpc.WithUsageHeader("X-MBX-USED-WEIGHT-1M", "REQUEST_WEIGHT"),
//		httpc.WithErrorDecoder(decodeBinanceError),
//	)
//	resp, err := c.Get(ctx, "/api/v3/klines", q, ratelimit.Cost{{Rule: "REQUEST_WEIGHT", N: 2}})
//
// # What one Do does
//
// Before every attempt it waits on the [Limiter] for the request's Cost
// (each attempt reaches the server, so each one is charged). A signed
// request is signed afresh for every attempt by the venue's [Signer]. Each
// attempt has its own timeout, covering the headers and the whole body.
//
// Retried, with exponential backoff and full jitter (a delay drawn
// uniformly from [0, min(MaxDelay, BaseDelay·2^(retry-1))) ), up to
// RetryPolicy.MaxAttempts attempts in all, never sleeping after the last
// one, and stopping as soon as ctx ends:
//
//   - network errors, connection resets, timeouts, a server that closes the
//     connection without a response, truncated bodies;
//   - HTTP 5xx (honouring Retry-After when present);
//   - HTTP 429: the wait is Retry-After (seconds or an HTTP date; the
//     backoff ceiling without one), the venue's limiter is paused until then
//     so every request of the venue waits, and the request is retried.
//     When the attempts run out the error is an [*HTTPError] with Status 429;
//   - soft errors that the venue's classifier marks retryable.
//
// A request that is not idempotent (POST and PATCH, unless
// Request.Idempotent is set) is retried only when the venue certainly did
// not act on it: 429, a retryable soft error, or a connection that could not
// be established. A timed-out order placement is never sent twice.
//
// Not retried: HTTP 418 (an IP ban: the limiter is paused, the ban is logged
// at error level and returned as an [*HTTPError] matching [ErrBanned]),
// other 4xx (an [*HTTPError] carrying the venue's code and message from the
// [ErrorDecoder]), fatal soft errors, responses over the size limit,
// certificate errors.
//
// # Soft errors
//
// Several venues report errors inside HTTP 200 bodies (Kraken error[],
// Bybit retCode, OKX code). A venue [Classifier] inspects every 2xx body and
// returns a [*SoftError] (retryable or not) or nil. Do never turns such a
// body into a successful, empty response.
//
// # Secrets
//
// Signatures, API keys and similar query parameters are stripped from every
// URL that appears in errors and logs (see [WithRedactParams]); request
// headers are never logged or put into errors.
//
// # Testing
//
// The clock, the sleep function and the jitter source are injectable
// ([WithNow], [WithSleep], [WithRandom]), so tests assert the exact waits
// requested without sleeping.
package httpc
