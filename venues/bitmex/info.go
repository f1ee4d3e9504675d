package bitmex

import (
	"time"

	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/transport/ratelimit"
	"github.com/pype-go/pype/venues"
)

// Name is the venue's registry key.
const Name = "bitmex"

// Default base URLs (override with venues.Config, PYPE_BITMEX_REST_URL /
// PYPE_BITMEX_WS_URL, or the CLI's --rest-url / --ws-url). The REST base
// includes the /api/v1 prefix; the WebSocket base is the /realtime
// endpoint's host (the adapter appends /realtime).
const (
	DefaultRESTURL = "https://www.bitmex.com/api/v1"
	DefaultWSURL   = "wss://ws.bitmex.com"
	TestnetRESTURL = "https://testnet.bitmex.com/api/v1"
	TestnetWSURL   = "wss://ws.testnet.bitmex.com"
)

// Page and rate limits of BitMEX's public API.
const (
	MaxCount = 1000 // rows per /trade and /trade/bucketed page ("count")
	// RequestsPerMinute is BitMEX's published limit for unauthenticated
	// REST requests (a token bucket of 30 refilled at one every 2 s;
	// authenticated users get 120).
	RequestsPerMinute = 30
	// BookTopicDepth is the depth of the orderBookL2_25 topic; deeper live
	// books use the full orderBookL2 topic.
	BookTopicDepth = 25
	// PingInterval is how long a connection may stay silent before the
	// adapter sends the text "ping" (BitMEX's documented 5 s heartbeat
	// recipe); the answer "pong" is expected within as long again.
	PingInterval = 5 * time.Second
)

// ruleRequests names the adapter's one rate-limit rule.
const ruleRequests = "REQUESTS_1M"

// DefaultRateLimits is BitMEX's unauthenticated REST limit: 30 requests per
// rolling minute. A sliding window of 30 per minute never admits more than
// BitMEX's token bucket (30 tokens, one back every 2 s) does.
func DefaultRateLimits() []ratelimit.Rule {
	return []ratelimit.Rule{{Name: ruleRequests, Limit: RequestsPerMinute, Interval: time.Minute}}
}

// binSizes are the bucket sizes GET /trade/bucketed and the tradeBin
// topics serve, shortest first; the binSize string is Span.String().
var binSizes = []domain.Span{domain.Span1m, domain.Span5m, domain.Span1h, domain.Span1d}

// Spans returns the candle spans BitMEX serves: 1m, 5m, 1h, 1d.
func Spans() []domain.Span { return append([]domain.Span(nil), binSizes...) }

func binSizeNames() []string {
	out := make([]string, len(binSizes))
	for i, s := range binSizes {
		out[i] = s.String()
	}
	return out
}

// BinSize returns BitMEX's binSize for a span ("1m", "5m", "1h", "1d") or
// an *IntervalError naming the accepted ones.
func BinSize(s domain.Span) (string, error) {
	for _, sp := range binSizes {
		if sp == s {
			return s.String(), nil
		}
	}
	return "", &IntervalError{Span: s.String()}
}

// Info describes the BitMEX adapter: name, URLs and capabilities.
func Info() venues.Info {
	markets := []domain.MarketKind{domain.Perp, domain.Quarter, domain.NextQuarter}
	return venues.Info{
		Name:        Name,
		DisplayName: "BitMEX (perpetual swaps and futures)",
		RESTURL:     DefaultRESTURL,
		WSURL:       DefaultWSURL,
		Capabilities: []domain.Capability{
			{DataType: domain.OHLC, Transport: domain.REST, Mode: domain.Backfill, History: domain.HistoryFull,
				MaxPerRequest: MaxCount, Direction: domain.Ascending, Spans: Spans(), Markets: markets,
				Notes: "GET /trade/bucketed (binSize 1m, 5m, 1h, 1d; partial=false); the bucket timestamp is its CLOSE, open = timestamp − span; " +
					"empty buckets (trades 0) are dropped unless WithEmptyBars; Volume is in contracts (XBTUSD: USD), QuoteVolume is foreignNotional"},
			{DataType: domain.Trades, Transport: domain.REST, Mode: domain.Backfill, History: domain.HistoryFull,
				MaxPerRequest: MaxCount, Direction: domain.Ascending, Markets: markets,
				Notes: "GET /trade paged by startTime + row offset (start), re-anchored at the last page's millisecond; ids are trdMatchID UUIDs (no id continuity); Amount is size in contracts"},
			{DataType: domain.Book, Transport: domain.REST, Mode: domain.Snapshot, History: domain.HistoryNone,
				Markets: markets, Notes: "GET /orderBook/L2 (depth per side, 0 = the full book); amounts in contracts"},
			{DataType: domain.Trades, Transport: domain.WebSocket, Mode: domain.Stream, History: domain.HistoryNone,
				Markets: markets, Notes: "trade:<SYM>; after a reconnection the hole is filled over REST from the last trade's millisecond, de-duplicated by trdMatchID"},
			{DataType: domain.OHLC, Transport: domain.WebSocket, Mode: domain.Stream, History: domain.HistoryNone,
				Spans: Spans(), Markets: markets, Notes: "tradeBin<1m|5m|1h|1d>:<SYM>: closed bars only (BitMEX publishes no forming bar); missed bars are refetched over REST"},
			{DataType: domain.Book, Transport: domain.WebSocket, Mode: domain.Stream, History: domain.HistoryNone,
				Markets: markets,
				Notes: "orderBookL2_25 (depth ≤ 25) or orderBookL2 (full): partial + insert/update/delete keyed by level id; no sequence numbers or checksum — " +
					"structural checks (unknown ids, duplicate inserts, > 25 levels, crossed book) and reconnections resubscribe for a fresh partial"},
		},
		Notes: "Unauthenticated REST limit 30 requests/min (x-ratelimit-* headers correct the local count; 429 Retry-After pauses the adapter; 403 = IP ban). " +
			"Spot pairs (XBT_USDT, …) are not served. Quantities are BitMEX contracts, not base units.",
	}
}
