package coinbase

import (
	"strconv"
	"strings"
	"time"

	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/transport/ratelimit"
	"github.com/pype-go/pype/venues"
)

// Name is the venue's registry key.
const Name = "coinbase"

// Default base URLs (override with venues.Config, PYPE_COINBASE_REST_URL /
// PYPE_COINBASE_WS_URL, or the CLI's --rest-url / --ws-url).
const (
	DefaultRESTURL = "https://api.exchange.coinbase.com"
	DefaultWSURL   = "wss://ws-feed.exchange.coinbase.com"
	SandboxRESTURL = "https://api-public.sandbox.exchange.coinbase.com"
	SandboxWSURL   = "wss://ws-feed-public.sandbox.exchange.coinbase.com"
)

// Page limits of the Exchange REST API.
const (
	// MaxCandles is the most candles one /candles request may cover: a
	// larger start..end range is rejected with HTTP 400 "granularity too
	// small for the requested time range. Count of aggregations requested
	// exceeds 300", and a request without a range answers the latest 300.
	MaxCandles = 300
	// MaxTrades is the largest limit of /trades (the default is 1000 per the
	// pagination docs; pype always sends it).
	MaxTrades = 1000
)

// Published public REST limits (per IP): 10 requests per second, bursts up
// to 15, counted by a lazy-fill token bucket. pype's limiter enforces the
// sustained rate exactly over every rolling second, which never exceeds the
// bucket; the burst allowance is left unused on purpose.
const (
	PublicRatePerSecond = 10
	PublicBurst         = 15
)

// Rate-limit rule names.
const (
	RulePublic = "PUBLIC_1S"
)

// DefaultRateLimits returns the public REST limit as limiter rules.
// venues.Config.WeightLimit replaces the per-second count.
func DefaultRateLimits() []ratelimit.Rule {
	return []ratelimit.Rule{{Name: RulePublic, Limit: PublicRatePerSecond, Interval: time.Second}}
}

// granularities are the candle widths Coinbase serves, in seconds, with
// their spans (the /candles granularity parameter).
var granularities = []struct {
	span domain.Span
	sec  int
}{
	{domain.Span1m, 60}, {domain.Span5m, 300}, {domain.Span15m, 900},
	{domain.Span1h, 3600}, {domain.Span6h, 21600}, {domain.Span1d, 86400},
}

// Spans returns the candle spans Coinbase serves: 1m 5m 15m 1h 6h 1d.
func Spans() []domain.Span {
	out := make([]domain.Span, len(granularities))
	for i, g := range granularities {
		out[i] = g.span
	}
	return out
}

func granularityNames() string {
	var b strings.Builder
	for i, g := range granularities {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(g.span.String() + " (" + strconv.Itoa(g.sec) + ")")
	}
	return b.String()
}

// Granularity returns Coinbase's granularity (seconds) for a span, or a
// *GranularityError naming the accepted ones.
func Granularity(s domain.Span) (int, error) {
	for _, g := range granularities {
		if g.span == s {
			return g.sec, nil
		}
	}
	return 0, &GranularityError{Span: s.String()}
}

// Info describes the Coinbase Exchange adapter: name, URLs and
// capabilities.
func Info() venues.Info {
	spot := []domain.MarketKind{domain.Spot}
	return venues.Info{
		Name:        Name,
		DisplayName: "Coinbase (Exchange API)",
		RESTURL:     DefaultRESTURL,
		WSURL:       DefaultWSURL,
		Capabilities: []domain.Capability{
			{DataType: domain.OHLC, Transport: domain.REST, Mode: domain.Backfill, History: domain.HistoryFull,
				MaxPerRequest: MaxCandles, Direction: domain.Descending, Spans: Spans(), Markets: spot,
				Notes: "GET /products/{id}/candles: at most 300 bars per request (a larger range is rejected), windows sized to 300 and truncation detected; no quote volume, no trade count; no row where nothing traded"},
			{DataType: domain.Trades, Transport: domain.REST, Mode: domain.Backfill, History: domain.HistoryFull,
				MaxPerRequest: MaxTrades, Direction: domain.Descending, Markets: spot,
				Notes: "GET /products/{id}/trades newest first, walked by trade-id cursor (after); the range's first and last ids are found by interpolation search over the contiguous ids, then id chunks are drained concurrently"},
			{DataType: domain.Book, Transport: domain.REST, Mode: domain.Snapshot, History: domain.HistoryNone,
				Markets: spot, Notes: "GET /products/{id}/book?level=2: the full aggregated book (depth applied locally); level=1 for depth 1"},
			{DataType: domain.Trades, Transport: domain.WebSocket, Mode: domain.Stream, History: domain.HistoryNone,
				Markets: spot, Notes: "matches channel; trade ids are contiguous, so holes (reconnects, lost frames, heartbeat last_trade_id ahead) are filled over REST by id"},
			{DataType: domain.OHLC, Transport: domain.WebSocket, Mode: domain.Stream, History: domain.HistoryNone,
				Spans: Spans(), Markets: spot,
				Notes: "Coinbase Exchange has no candle channel: bars are built locally from the gap-filled matches stream and closed by heartbeat time; the bar in progress at start is seeded from REST trades"},
			{DataType: domain.Book, Transport: domain.WebSocket, Mode: domain.Stream, History: domain.HistoryNone,
				Markets: spot,
				Notes:   "level2_batch (public; level2 needs authentication): in-band snapshot + l2update, which carry no sequence number; resync by resubscribing on reconnect, crossed book or periodic refresh"},
		},
		Notes: "Public REST limit 10 requests/s per IP (bursts to 15); pype paces at 10/s. No per-response usage header.",
	}
}
