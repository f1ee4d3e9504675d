package binance

import (
	"time"

	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/transport/ratelimit"
	"github.com/pype-go/pype/venues"
)

// Name is the venue's registry key.
const Name = "binance"

// Default base URLs (override with venues.Config, PYPE_BINANCE_REST_URL /
// PYPE_BINANCE_WS_URL, or the CLI's --rest-url / --ws-url).
const (
	DefaultRESTURL = "https://api.binance.com"
	DefaultWSURL   = "wss://stream.binance.com:9443"
	TestnetRESTURL = "https://testnet.binance.vision"
	TestnetWSURL   = "wss://stream.testnet.binance.vision"
)

// Page and connection limits of Binance spot.
const (
	MaxKlines          = 1000 // rows per /api/v3/klines page
	MaxAggTrades       = 1000 // rows per /api/v3/aggTrades page
	MaxDepth           = 5000 // deepest /api/v3/depth snapshot
	MaxStreamsPerConn  = 1024 // streams per WebSocket connection
	MaxWSMessagesPerS  = 5    // client messages per second per connection
	ConnectionLifetime = 24 * time.Hour
	// aggTradesWindow is the old rule "startTime and endTime less than
	// 1 hour apart" (error -1127), which pype still honours.
	aggTradesWindow = time.Hour
)

// Endpoint weights (REQUEST_WEIGHT units) as published for Binance spot.
const (
	WeightKlines           = 2
	WeightAggTrades        = 4
	WeightTrades           = 25
	WeightHistoricalTrades = 25
	WeightExchangeInfo     = 20
	WeightTime             = 1
)

// DepthWeight returns the weight of GET /api/v3/depth for a limit:
// 1–100 → 5, 101–500 → 25, 501–1000 → 50, 1001–5000 → 250.
func DepthWeight(limit int) int {
	switch {
	case limit <= 100:
		return 5
	case limit <= 500:
		return 25
	case limit <= 1000:
		return 50
	default:
		return 250
	}
}

// DefaultRateLimits are Binance's published spot limits, used only until
// (or if) exchangeInfo.rateLimits can be read.
func DefaultRateLimits() []ratelimit.Rule {
	return []ratelimit.Rule{
		{Name: "REQUEST_WEIGHT_1M", Limit: 6000, Interval: time.Minute},
		{Name: "ORDERS_10S", Limit: 50, Interval: 10 * time.Second},
		{Name: "ORDERS_1D", Limit: 160000, Interval: 24 * time.Hour},
		{Name: "RAW_REQUESTS_5M", Limit: 61000, Interval: 5 * time.Minute},
	}
}

// spans Binance serves, shortest first; the interval string is Span.String().
var intervalSpans = []domain.Span{
	domain.Span1s, domain.Span1m, domain.Span3m, domain.Span5m, domain.Span15m, domain.Span30m,
	domain.Span1h, domain.Span2h, domain.Span4h, domain.Span6h, domain.Span8h, domain.Span12h,
	domain.Span1d, domain.Span3d, domain.Span1w, domain.Span1M,
}

// Spans returns the candle spans Binance serves.
func Spans() []domain.Span { return append([]domain.Span(nil), intervalSpans...) }

func intervalNames() []string {
	out := make([]string, len(intervalSpans))
	for i, s := range intervalSpans {
		out[i] = s.String()
	}
	return out
}

// Interval returns Binance's interval name for a span ("1m", "1M", ...) or
// an *IntervalError naming the accepted ones.
func Interval(s domain.Span) (string, error) {
	for _, sp := range intervalSpans {
		if sp == s {
			return s.String(), nil
		}
	}
	return "", &IntervalError{Span: s.String()}
}

// Info describes the Binance spot adapter: name, URLs and capabilities.
func Info() venues.Info {
	spot := []domain.MarketKind{domain.Spot}
	return venues.Info{
		Name:        Name,
		DisplayName: "Binance (spot)",
		RESTURL:     DefaultRESTURL,
		WSURL:       DefaultWSURL,
		Capabilities: []domain.Capability{
			{DataType: domain.OHLC, Transport: domain.REST, Mode: domain.Backfill, History: domain.HistoryFull,
				MaxPerRequest: MaxKlines, Direction: domain.Ascending, Spans: Spans(), Markets: spot,
				Notes: "GET /api/v3/klines (weight 2); bars with no trades may be missing"},
			{DataType: domain.Trades, Transport: domain.REST, Mode: domain.Backfill, History: domain.HistoryFull,
				MaxPerRequest: MaxAggTrades, Direction: domain.Ascending, Markets: spot,
				Notes: "aggregate trades GET /api/v3/aggTrades (weight 4): first id by time, then contiguous ids (fromId); long ranges are split and drained concurrently"},
			{DataType: domain.Book, Transport: domain.REST, Mode: domain.Snapshot, History: domain.HistoryNone,
				MaxDepth: MaxDepth, Markets: spot,
				Notes: "GET /api/v3/depth, weight 5/25/50/250 for limit ≤100/≤500/≤1000/≤5000"},
			{DataType: domain.Trades, Transport: domain.WebSocket, Mode: domain.Stream, History: domain.HistoryNone,
				Markets: spot, Notes: "<sym>@aggTrade (default) or <sym>@trade; holes after reconnects are filled over REST by id"},
			{DataType: domain.OHLC, Transport: domain.WebSocket, Mode: domain.Stream, History: domain.HistoryNone,
				Spans: Spans(), Markets: spot, Notes: "<sym>@kline_<interval>; closed bars, optionally forming ones"},
			{DataType: domain.Book, Transport: domain.WebSocket, Mode: domain.Stream, History: domain.HistoryNone,
				MaxDepth: MaxDepth, Markets: spot,
				Notes: "local book: <sym>@depth@100ms diffs + REST snapshot, U/u continuity, resync on gaps"},
		},
		Notes: "REQUEST_WEIGHT and RAW_REQUESTS limits are read from exchangeInfo at start-up; X-MBX-USED-WEIGHT-1M corrects the local count.",
	}
}
