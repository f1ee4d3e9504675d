package okx

import (
	"time"

	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/venues"
)

// Name is the venue's registry key.
const Name = "okx"

// Default base URLs (override with venues.Config, PYPE_OKX_REST_URL /
// PYPE_OKX_WS_URL, or the CLI's --rest-url / --ws-url). The WebSocket base
// is the host: the adapter appends /ws/v5/public (books, trades) and
// /ws/v5/business (candles, trades-all).
const (
	DefaultRESTURL = "https://www.okx.com"
	DefaultWSURL   = "wss://ws.okx.com:8443"
	// Paths of the two WebSocket endpoints under the WebSocket base.
	PublicPath   = "/ws/v5/public"
	BusinessPath = "/ws/v5/business"
)

// Page limits of the OKX v5 market endpoints.
const (
	MaxHistoryCandles = 100  // rows per /api/v5/market/history-candles page
	MaxHistoryTrades  = 100  // rows per /api/v5/market/history-trades page
	MaxBooks          = 400  // deepest /api/v5/market/books snapshot
	MaxBooksFull      = 5000 // deepest /api/v5/market/books-full snapshot
	// BooksChannelDepth is the depth of the books WebSocket channel.
	BooksChannelDepth = 400
	// TradeHistory is how far back /api/v5/market/history-trades (and 1s
	// candles) reach: "the last 3 months". Older trades are only in OKX's
	// daily files at https://www.okx.com/data-download.
	TradeHistory = 90 * 24 * time.Hour
	// maxBooksPerConn: OKX asks for fewer than 30 channels of 400-level
	// books per connection.
	maxBooksPerConn = 20
	// maxArgsPerConn caps the other channels per connection.
	maxArgsPerConn = 500
)

// Spans returns the candle spans pype reads from OKX, shortest first. Spans
// of 6 hours and more use OKX's UTC-aligned bars (6Hutc … 3Mutc), never the
// Hong Kong aligned 6H … 3M; weeks start on Monday 00:00 UTC, months on
// the 1st. 2D and 3D bars are not offered: OKX does not document how they
// are aligned.
func Spans() []domain.Span { return append([]domain.Span(nil), barSpans...) }

var barSpans = []domain.Span{
	domain.Span1s, domain.Span1m, domain.Span3m, domain.Span5m, domain.Span15m, domain.Span30m,
	domain.Span1h, domain.Span2h, domain.Span4h, domain.Span6h, domain.Span12h, domain.Span1d,
	domain.Span1w, domain.Span1M, domain.Months(3),
}

var barNames = map[domain.Span]string{
	domain.Span1s: "1s", domain.Span1m: "1m", domain.Span3m: "3m", domain.Span5m: "5m",
	domain.Span15m: "15m", domain.Span30m: "30m", domain.Span1h: "1H", domain.Span2h: "2H",
	domain.Span4h: "4H", domain.Span6h: "6Hutc", domain.Span12h: "12Hutc", domain.Span1d: "1Dutc",
	domain.Span1w: "1Wutc", domain.Span1M: "1Mutc", domain.Months(3): "3Mutc",
}

// Bar returns OKX's bar name for a span: "1m", "1H", "1Dutc", "1Mutc" …
// (the UTC-aligned variants from 6 hours up), or a *BarError naming the
// accepted spans.
func Bar(s domain.Span) (string, error) {
	if b, ok := barNames[s]; ok {
		return b, nil
	}
	return "", &BarError{Span: s.String()}
}

func spanNames() string { return domain.FormatSpans(barSpans) }

// Info describes the OKX adapter: name, URLs and capabilities.
func Info() venues.Info {
	spot := []domain.MarketKind{domain.Spot}
	return venues.Info{
		Name:        Name,
		DisplayName: "OKX (spot)",
		RESTURL:     DefaultRESTURL,
		WSURL:       DefaultWSURL,
		Capabilities: []domain.Capability{
			{DataType: domain.OHLC, Transport: domain.REST, Mode: domain.Backfill, History: domain.HistoryFull,
				MaxPerRequest: MaxHistoryCandles, Direction: domain.Descending, Spans: Spans(), Markets: spot,
				Notes: "GET /api/v5/market/history-candles (20 req / 2 s); UTC-aligned bars (1Dutc …); 1s bars only for the last 3 months; bars with no trades may be missing"},
			{DataType: domain.Trades, Transport: domain.REST, Mode: domain.Backfill, History: domain.HistoryRecent,
				MaxPerRequest: MaxHistoryTrades, Direction: domain.Descending, Markets: spot, RecentWindow: TradeHistory,
				Notes: "GET /api/v5/market/history-trades (20 req / 2 s), walked by trade id (type=1) from each window's end; last 3 months only — older trades: https://www.okx.com/data-download"},
			{DataType: domain.Book, Transport: domain.REST, Mode: domain.Snapshot, History: domain.HistoryNone,
				MaxDepth: MaxBooksFull, Markets: spot,
				Notes: "GET /api/v5/market/books (≤ 400 levels, 40 req / 2 s) or /books-full (≤ 5000, 10 req / 2 s); no sequence id"},
			{DataType: domain.Trades, Transport: domain.WebSocket, Mode: domain.Stream, History: domain.HistoryNone,
				Markets: spot, Notes: "trades-all on /ws/v5/business (one message per fill, the ids of history-trades); holes after reconnects are filled over REST by id"},
			{DataType: domain.OHLC, Transport: domain.WebSocket, Mode: domain.Stream, History: domain.HistoryNone,
				Spans: Spans(), Markets: spot, Notes: "candle<bar> on /ws/v5/business; closed bars (confirm 1), optionally forming ones; holes filled over REST"},
			{DataType: domain.Book, Transport: domain.WebSocket, Mode: domain.Stream, History: domain.HistoryNone,
				MaxDepth: BooksChannelDepth, Markets: spot,
				Notes: "books on /ws/v5/public: in-band 400-level snapshot + 100 ms updates, seqId/prevSeqId continuity and CRC32 checksum of the top 25 levels; resubscribe on gap or mismatch"},
		},
		Notes: "Per-endpoint IP limits (history-candles and history-trades 20 / 2 s) are enforced locally; errors in HTTP 200 bodies (code ≠ \"0\") are classified, never turned into empty pages.",
	}
}
