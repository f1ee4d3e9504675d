package bitfinex

import (
	"strings"
	"time"

	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/transport/ratelimit"
	"github.com/pype-go/pype/venues"
)

// Name is the venue's registry key.
const Name = "bitfinex"

// Default base URLs (override with venues.Config, PYPE_BITFINEX_REST_URL /
// PYPE_BITFINEX_WS_URL, or the CLI's --rest-url / --ws-url). The REST base
// includes the API version: paths are appended to it ("/candles/…").
const (
	DefaultRESTURL = "https://api-pub.bitfinex.com/v2"
	DefaultWSURL   = "wss://api-pub.bitfinex.com/ws/2"
)

// Page and connection limits of Bitfinex's public API v2.
const (
	MaxCandles        = 10000 // rows per /candles/…/hist page
	MaxTrades         = 10000 // rows per /trades/…/hist page
	MaxChannelsPerWS  = 25    // channels per public WebSocket connection (docs: "25 channels")
	MaxWSConnsPerMin  = 20    // new public WebSocket connections per minute
	ChecksumDepth     = 25    // levels per side covered by book checksums
	DefaultSnapshotLn = 25    // default REST and WebSocket book length
)

// BookLengths are the book lengths ("len") Bitfinex accepts for P0 books
// over REST; WebSocket book channels also accept 250.
var (
	BookLengths   = []int{1, 25, 100}
	WSBookLengths = []int{1, 25, 100, 250}
)

// WebSocket conf flags.
const (
	FlagSeqAll     = 65536  // SEQ_ALL: every frame ends with a sequence number
	FlagOBChecksum = 131072 // OB_CHECKSUM: book channels send [chanId,"cs",crc32]
)

// Rate-limit rule names: Bitfinex limits each REST endpoint separately.
const (
	RuleCandles = "CANDLES"
	RuleTrades  = "TRADES"
	RuleBook    = "BOOK"
	RuleConf    = "CONF"
	RuleStatus  = "PLATFORM_STATUS"
)

// DefaultRateLimits are Bitfinex's published per-endpoint limits for
// unauthenticated REST requests, per IP: candles 30/min, trades 15/min,
// book 240/min, configs 90/min, platform status 30/min. Exceeding one
// blocks that endpoint for 60 s (HTTP 429).
func DefaultRateLimits() []ratelimit.Rule {
	return []ratelimit.Rule{
		{Name: RuleCandles, Limit: 30, Interval: time.Minute},
		{Name: RuleTrades, Limit: 15, Interval: time.Minute},
		{Name: RuleBook, Limit: 240, Interval: time.Minute},
		{Name: RuleConf, Limit: 90, Interval: time.Minute},
		{Name: RuleStatus, Limit: 30, Interval: time.Minute},
	}
}

// DefaultBlockPause is how long an endpoint is paused after a 429 that
// carries no Retry-After: Bitfinex blocks the IP on that endpoint for 60 s.
const DefaultBlockPause = 60 * time.Second

// timeframe is one Bitfinex candle time frame.
type timeframe struct {
	name string
	span domain.Span
}

// timeframes are the candle time frames Bitfinex serves, shortest first.
var timeframes = []timeframe{
	{"1m", domain.Span1m}, {"5m", domain.Span5m}, {"15m", domain.Span15m}, {"30m", domain.Span30m},
	{"1h", domain.Span1h}, {"3h", 3 * domain.Span1h}, {"6h", domain.Span6h}, {"12h", domain.Span12h},
	{"1D", domain.Span1d}, {"1W", domain.Span1w}, {"14D", 2 * domain.Span1w}, {"1M", domain.Span1M},
}

// Spans returns the candle spans Bitfinex serves: 1m 5m 15m 30m 1h 3h 6h
// 12h 1d 1w 14d 1M.
func Spans() []domain.Span {
	out := make([]domain.Span, len(timeframes))
	for i, tf := range timeframes {
		out[i] = tf.span
	}
	return out
}

func timeframeNames() string {
	names := make([]string, len(timeframes))
	for i, tf := range timeframes {
		names[i] = tf.span.String() + " (" + tf.name + ")"
	}
	return strings.Join(names, ", ")
}

// Timeframe returns Bitfinex's time frame name for a span ("1m", "1D",
// "14D", "1M") or a *TimeframeError naming the accepted ones.
func Timeframe(s domain.Span) (string, error) {
	for _, tf := range timeframes {
		if tf.span == s {
			return tf.name, nil
		}
	}
	return "", &TimeframeError{Span: s.String()}
}

// SpanOf returns the span of a Bitfinex time frame name.
func SpanOf(name string) (domain.Span, bool) {
	for _, tf := range timeframes {
		if tf.name == name {
			return tf.span, true
		}
	}
	return 0, false
}

// Info describes the Bitfinex adapter: name, URLs and capabilities.
func Info() venues.Info {
	spot := []domain.MarketKind{domain.Spot}
	return venues.Info{
		Name:        Name,
		DisplayName: "Bitfinex (v2)",
		RESTURL:     DefaultRESTURL,
		WSURL:       DefaultWSURL,
		Capabilities: []domain.Capability{
			{DataType: domain.OHLC, Transport: domain.REST, Mode: domain.Backfill, History: domain.HistoryFull,
				MaxPerRequest: MaxCandles, Direction: domain.Ascending, Spans: Spans(), Markets: spot,
				Notes: "GET /candles/trade:{tf}:{sym}/hist sort=1, start/end inclusive (30 req/min); rows [mts,open,CLOSE,high,low,volume], no quote volume or trade count; bars with no trade are absent"},
			{DataType: domain.Trades, Transport: domain.REST, Mode: domain.Backfill, History: domain.HistoryFull,
				MaxPerRequest: MaxTrades, Direction: domain.Ascending, Markets: spot,
				Notes: "GET /trades/{sym}/hist sort=1 (15 req/min); no id cursor: pages restart AT the last millisecond and overlap is removed by trade id; ids are unique but not contiguous (a global sequence), so losses cannot be proven from ids"},
			{DataType: domain.Book, Transport: domain.REST, Mode: domain.Snapshot, History: domain.HistoryNone,
				MaxDepth: 100, Markets: spot,
				Notes: "GET /book/{sym}/P0?len=1|25|100 (240 req/min; any depth ≤ 100 is served from the smallest length holding it); price-aggregated levels"},
			{DataType: domain.Trades, Transport: domain.WebSocket, Mode: domain.Stream, History: domain.HistoryNone,
				Markets: spot, Notes: "trades channel (te events; tu repeats are dropped by id); holes after reconnects or sequence gaps are filled over REST"},
			{DataType: domain.OHLC, Transport: domain.WebSocket, Mode: domain.Stream, History: domain.HistoryNone,
				Spans: Spans(), Markets: spot, Notes: "candles channel trade:{tf}:{sym}; a bar is closed when a later bar starts; missed bars are fetched over REST"},
			{DataType: domain.Book, Transport: domain.WebSocket, Mode: domain.Stream, History: domain.HistoryNone,
				MaxDepth: 250, Markets: spot,
				Notes: "book channel P0 F0, len 1|25|100|250 (the smallest holding the depth asked), SEQ_ALL sequence numbers and OB_CHECKSUM CRC32 over the top 25 levels; a gap or mismatch resubscribes the channel"},
		},
		Notes: "Per-endpoint REST limits (candles 30, trades 15, book 240, configs 90 per minute); a 429 blocks only that endpoint for 60 s. Symbols come from conf/pub:list:pair:exchange (USDT is UST; names with a part longer than 3 letters are tBASE:QUOTE).",
	}
}
