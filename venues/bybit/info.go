package bybit

import (
	"strings"
	"time"

	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/transport/ratelimit"
	"github.com/pype-go/pype/venues"
)

// Name is the venue's registry key.
const Name = "bybit"

// Default base URLs (override with venues.Config, PYPE_BYBIT_REST_URL /
// PYPE_BYBIT_WS_URL, or the CLI's --rest-url / --ws-url). The WebSocket
// base is the host: the adapter appends /v5/public/<category>; a full
// public URL such as wss://stream.bybit.com/v5/public/spot is accepted too.
const (
	DefaultRESTURL = "https://api.bybit.com"
	DefaultWSURL   = "wss://stream.bybit.com"
	TestnetRESTURL = "https://api-testnet.bybit.com"
	TestnetWSURL   = "wss://stream-testnet.bybit.com"
)

// ArchiveURL is Bybit's public data archive: daily CSV files of every
// public trade per symbol (spot under /spot/, derivatives under /trading/).
// It is where trade history older than /v5/market/recent-trade lives.
const ArchiveURL = "https://public.bybit.com/"

// Category is a Bybit v5 product category.
type Category string

// Categories the adapter serves.
const (
	Spot    Category = "spot"
	Linear  Category = "linear"  // USDT and USDC perpetuals and futures
	Inverse Category = "inverse" // coin-margined perpetuals and futures
)

// Page and connection limits of Bybit v5.
const (
	MaxKlines            = 1000 // rows per /v5/market/kline page
	MaxRecentSpot        = 60   // /v5/market/recent-trade on spot
	MaxRecentDerivatives = 1000 // /v5/market/recent-trade on linear and inverse
	MaxDepthSpot         = 200  // /v5/market/orderbook on spot
	MaxDepthDerivatives  = 500  // /v5/market/orderbook on linear and inverse
	MaxInstruments       = 1000 // rows per /v5/market/instruments-info page
	// MaxArgsPerSubscribe is the most topics one subscribe request may
	// carry (Bybit's spot rule; applied to every category).
	MaxArgsPerSubscribe = 10
	// MaxTopicsPerConn is how many topics the adapter puts on one
	// WebSocket connection (Bybit caps a connection's args at 21,000
	// characters).
	MaxTopicsPerConn = 200
	// PingInterval is how often the adapter sends {"op":"ping"}, as Bybit
	// recommends (the server cuts silent connections).
	PingInterval = 20 * time.Second
)

// IP rate limit: 600 requests in any 5 s window for all of api.bybit.com.
// Exceeding it earns HTTP 403 "access too frequent" and a ban of about 10
// minutes.
const (
	IPLimit    = 600
	IPWindow   = 5 * time.Second
	IPBanPause = 10 * time.Minute
	ruleIP     = "IP_5S"
)

// DefaultRateLimits are Bybit's published public limits.
func DefaultRateLimits() []ratelimit.Rule {
	return []ratelimit.Rule{{Name: ruleIP, Limit: IPLimit, Interval: IPWindow}}
}

// bookDepths are the orderbook.<depth> topics per category.
var bookDepths = map[Category][]int{
	Spot:    {1, 50, 200},
	Linear:  {1, 50, 200, 500},
	Inverse: {1, 50, 200, 500},
}

// BookDepths returns the WebSocket order-book depths Bybit serves in cat.
func BookDepths(cat Category) []int { return append([]int(nil), bookDepths[cat]...) }

// intervals are the kline intervals Bybit serves, shortest first.
var intervals = []struct {
	span domain.Span
	name string
}{
	{domain.Span1m, "1"}, {domain.Span3m, "3"}, {domain.Span5m, "5"}, {domain.Span15m, "15"},
	{domain.Span30m, "30"}, {domain.Span1h, "60"}, {domain.Span2h, "120"}, {domain.Span4h, "240"},
	{domain.Span6h, "360"}, {domain.Span12h, "720"}, {domain.Span1d, "D"}, {domain.Span1w, "W"},
	{domain.Span1M, "M"},
}

// Spans returns the candle spans Bybit serves: 1m 3m 5m 15m 30m 1h 2h 4h
// 6h 12h 1d 1w 1M. Weeks open on Monday 00:00 UTC and months on the 1st,
// as domain.Span.Floor aligns them.
func Spans() []domain.Span {
	out := make([]domain.Span, len(intervals))
	for i, iv := range intervals {
		out[i] = iv.span
	}
	return out
}

// Interval returns Bybit's interval name for a span ("1", "60", "D", "W",
// "M") or an *IntervalError naming the accepted spans.
func Interval(s domain.Span) (string, error) {
	for _, iv := range intervals {
		if iv.span == s {
			return iv.name, nil
		}
	}
	return "", &IntervalError{Span: s.String()}
}

func acceptedSpans() string { return domain.FormatSpans(Spans()) }

// Info describes the Bybit adapter: name, URLs and capabilities. The
// capabilities give spot's limits; the derivative categories' are in the
// notes.
func Info() venues.Info {
	kinds := []domain.MarketKind{domain.Spot, domain.Perp, domain.Quarter, domain.NextQuarter}
	return venues.Info{
		Name:        Name,
		DisplayName: "Bybit (v5: spot, linear, inverse)",
		RESTURL:     DefaultRESTURL,
		WSURL:       DefaultWSURL,
		Capabilities: []domain.Capability{
			{DataType: domain.OHLC, Transport: domain.REST, Mode: domain.Backfill, History: domain.HistoryFull,
				MaxPerRequest: MaxKlines, Direction: domain.Descending, Spans: Spans(), Markets: kinds,
				Notes: "GET /v5/market/kline, newest first, start and end inclusive; weeks open Monday 00:00 UTC"},
			{DataType: domain.Trades, Transport: domain.REST, Mode: domain.Backfill, History: domain.HistoryRecent,
				MaxPerRequest: MaxRecentSpot, Direction: domain.Descending, RecentCount: MaxRecentSpot, Markets: kinds,
				Notes: "GET /v5/market/recent-trade serves only the latest 60 spot trades (1000 on linear/inverse); " +
					"a range older than that fails with a capability error. Full trade history is in Bybit's public archive " +
					ArchiveURL + " (daily CSV per symbol: spot/, trading/)"},
			{DataType: domain.Book, Transport: domain.REST, Mode: domain.Snapshot, History: domain.HistoryNone,
				MaxDepth: MaxDepthSpot, Markets: kinds,
				Notes: "GET /v5/market/orderbook, spot ≤ 200 levels, linear/inverse ≤ 500"},
			{DataType: domain.Trades, Transport: domain.WebSocket, Mode: domain.Stream, History: domain.HistoryNone,
				Markets: kinds, Notes: "publicTrade.<SYM>; after a reconnect the hole is refilled from recent-trade as far as it reaches, older losses are reported as gaps"},
			{DataType: domain.OHLC, Transport: domain.WebSocket, Mode: domain.Stream, History: domain.HistoryNone,
				Spans: Spans(), Markets: kinds, Notes: "kline.<interval>.<SYM>; confirm = closed bar; missed closed bars are refetched over REST"},
			{DataType: domain.Book, Transport: domain.WebSocket, Mode: domain.Stream, History: domain.HistoryNone,
				MaxDepth: MaxDepthSpot, Markets: kinds,
				Notes: "any report depth up to 200 (500 on linear/inverse), served from the smallest orderbook.<1|50|200|500>.<SYM> topic holding it: snapshot + deltas, update id u contiguous, a snapshot or u = 1 resets; resubscribe on gaps"},
		},
		Notes: "IP limit 600 requests per 5 s (HTTP 403 and a ~10 min ban past it); venue errors arrive in HTTP 200 bodies (retCode) and are retried or surfaced, never read as empty pages.",
	}
}

// categoryOf returns the category serving sym: spot for spot symbols,
// inverse for coin-margined contracts (quote USD), linear otherwise.
func categoryOf(sym domain.Symbol) Category {
	switch {
	case sym.Market == domain.Spot:
		return Spot
	case sym.Quote == "USD":
		return Inverse
	}
	return Linear
}

// ParseCategory reads "spot", "linear" or "inverse".
func ParseCategory(s string) (Category, error) {
	switch c := Category(strings.ToLower(strings.TrimSpace(s))); c {
	case Spot, Linear, Inverse:
		return c, nil
	}
	return "", &domain.CapabilityError{Venue: Name, What: "category " + s, Accept: "spot, linear, inverse"}
}

func maxRecent(cat Category) int {
	if cat == Spot {
		return MaxRecentSpot
	}
	return MaxRecentDerivatives
}

func maxDepth(cat Category) int {
	if cat == Spot {
		return MaxDepthSpot
	}
	return MaxDepthDerivatives
}
