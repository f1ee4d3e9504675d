package kraken

import (
	"slices"
	"strconv"
	"time"

	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/venues"
)

// Name is the venue's registry key.
const Name = "kraken"

// Default base URLs (override with venues.Config, PYPE_KRAKEN_REST_URL /
// PYPE_KRAKEN_WS_URL, or the CLI's --rest-url / --ws-url). The REST base
// is the host: paths are /0/public/...; the WebSocket URL is the v2
// endpoint itself.
const (
	DefaultRESTURL = "https://api.kraken.com"
	DefaultWSURL   = "wss://ws.kraken.com/v2"
)

// Page and book limits of Kraken spot.
const (
	MaxOHLC   = 720  // OHLC serves the 720 most recent bars (the last one still forming)
	MaxTrades = 1000 // rows per Trades page (count ≤ 1000)
	MaxDepth  = 500  // deepest REST Depth snapshot (count ≤ 500)
	// ChecksumDepth is the number of levels per side the WebSocket book
	// checksum covers, whatever the subscribed depth.
	ChecksumDepth = 10
)

// Public rate limits. Kraken publishes that calling the public endpoints
// about once per second stays within limits; the limit is a call counter
// per IP (per IP and pair for Trades and OHLC) that each call raises by one
// and that decays over time. pype models it as at most PublicBurst calls
// in any PublicWindow, which never exceeds a counter of PublicBurst
// decaying at one call per second.
const (
	PublicBurst  = 15
	PublicWindow = 16 * time.Second // one second of slack for network jitter
	// RateLimitPause is how long every request waits after Kraken answered
	// "EGeneral:Too many requests" (the venue sends no Retry-After).
	RateLimitPause = 3 * time.Second
)

// WSDepths are the book depths the WebSocket v2 book channel accepts.
var wsDepths = []int{10, 25, 100, 500, 1000}

// WSDepths returns the depths the WebSocket v2 book channel accepts.
func WSDepths() []int { return slices.Clone(wsDepths) }

// spans Kraken serves (OHLC interval in minutes = span in minutes; 21600
// minutes is 15 days).
var intervalSpans = []domain.Span{
	domain.Span1m, domain.Span5m, domain.Span15m, domain.Span30m, domain.Span1h, domain.Span4h,
	domain.Span1d, domain.Span1w, 15 * domain.Span1d,
}

// Spans returns the candle spans Kraken serves.
func Spans() []domain.Span { return slices.Clone(intervalSpans) }

func intervalNames() []string {
	out := make([]string, len(intervalSpans))
	for i, s := range intervalSpans {
		out[i] = s.String()
	}
	return out
}

// Interval returns Kraken's interval (minutes) for a span, or an
// *IntervalError naming the accepted spans.
func Interval(s domain.Span) (int, error) {
	if slices.Contains(intervalSpans, s) {
		return int(time.Duration(s) / time.Minute), nil
	}
	return 0, &IntervalError{Span: s.String()}
}

// Info describes the Kraken spot adapter: name, URLs and capabilities.
func Info() venues.Info {
	spot := []domain.MarketKind{domain.Spot}
	depths := make([]string, len(wsDepths))
	for i, d := range wsDepths {
		depths[i] = strconv.Itoa(d)
	}
	return venues.Info{
		Name:        Name,
		DisplayName: "Kraken (spot)",
		RESTURL:     DefaultRESTURL,
		WSURL:       DefaultWSURL,
		Capabilities: []domain.Capability{
			{DataType: domain.OHLC, Transport: domain.REST, Mode: domain.Backfill, History: domain.HistoryRecent,
				MaxPerRequest: MaxOHLC, RecentCount: MaxOHLC, Direction: domain.Ascending, Spans: Spans(), Markets: spot,
				Notes: "GET /0/public/OHLC serves only the 720 most recent bars; older candles are derived from the full trade history " +
					"when the adapter is opened WithDerivedCandles() (or with DeriveCandles)"},
			{DataType: domain.Trades, Transport: domain.REST, Mode: domain.Backfill, History: domain.HistoryFull,
				MaxPerRequest: MaxTrades, Direction: domain.Ascending, Markets: spot,
				Notes: "GET /0/public/Trades by nanosecond cursor (since/last) back to the pair's listing; trade_id kept; about 1 request/s per pair"},
			{DataType: domain.Book, Transport: domain.REST, Mode: domain.Snapshot, History: domain.HistoryNone,
				MaxDepth: MaxDepth, Markets: spot, Notes: "GET /0/public/Depth, count 1 to 500"},
			{DataType: domain.Trades, Transport: domain.WebSocket, Mode: domain.Stream, History: domain.HistoryNone,
				Markets: spot, Notes: "WebSocket v2 trade channel; holes after reconnects are filled over REST Trades"},
			{DataType: domain.OHLC, Transport: domain.WebSocket, Mode: domain.Stream, History: domain.HistoryNone,
				Spans: Spans(), Markets: spot, Notes: "WebSocket v2 ohlc channel; a bar is closed when the next one starts or its time is over; missed bars are fetched over REST"},
			{DataType: domain.Book, Transport: domain.WebSocket, Mode: domain.Stream, History: domain.HistoryNone,
				MaxDepth: wsDepths[len(wsDepths)-1], Depths: WSDepths(), Markets: spot,
				Notes: "WebSocket v2 book channel (depths " + joinStr(depths) + "): in-band snapshot, CRC32 checksum of the top 10 levels on every message; resubscribe on mismatch"},
		},
		Notes: "Public REST: about 1 request/s per IP (Trades and OHLC per IP and pair) with a burst of " + strconv.Itoa(PublicBurst) +
			"; errors arrive in HTTP 200 bodies (error[]). Pairs: REST altnames (XBTUSD, XDGUSD), WebSocket v2 BTC/USD.",
	}
}

func joinStr(xs []string) string {
	out := ""
	for i, x := range xs {
		if i > 0 {
			out += " "
		}
		out += x
	}
	return out
}
