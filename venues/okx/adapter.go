package okx

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/operators"
	"github.com/pype-go/pype/transport/httpc"
	"github.com/pype-go/pype/transport/ratelimit"
	"github.com/pype-go/pype/transport/ws"
	"github.com/pype-go/pype/venues"
)

// Adapter is an opened OKX adapter (spot). It implements
// venues.CandleBackfiller, TradeBackfiller, BookSnapshotter, MarketLister,
// TradeStreamer, CandleStreamer and BookStreamer. It is safe for concurrent
// use; one Adapter shares one connection pool, one rate limiter and one
// instrument cache across all its calls.
type Adapter struct {
	cfg     venues.Config
	opt     options
	log     *slog.Logger
	restURL string
	wsURL   string // host base, without /ws/v5/…
	rest    *httpc.Client
	limiter *ratelimit.Limiter
	costs   map[string]ratelimit.Cost
	offset  *operators.ClockOffset

	symbols atomic.Pointer[symbolTable]
	infoMu  sync.Mutex   // serialises instrument loads
	infoAt  atomic.Int64 // last successful load, unix ns
	infoTry time.Time    // last attempt

	closeOnce sync.Once
}

// Option configures [Open] beyond venues.Config.
type Option func(*options)

type options struct {
	limiterClock  ratelimit.Clock
	localClock    operators.Clock
	wsBackoff     ws.Backoff
	infoTTL       time.Duration
	skipInfo      bool
	retries       int
	retryBase     time.Duration
	tradeWindow   time.Duration
	tradeHistory  time.Duration
	pingInterval  time.Duration
	booksPerConn  int
	argsPerConn   int
	connectStride time.Duration
}

// WithLimiterClock sets the rate limiter's clock (tests).
func WithLimiterClock(c ratelimit.Clock) Option { return func(o *options) { o.limiterClock = c } }

// WithLocalClock sets the local clock the server-time offset corrects
// (tests with a virtual clock).
func WithLocalClock(c operators.Clock) Option { return func(o *options) { o.localClock = c } }

// WithWSBackoff sets the WebSocket reconnection backoff (tests use a short
// one; the default is 1 s → 60 s with jitter).
func WithWSBackoff(b ws.Backoff) Option { return func(o *options) { o.wsBackoff = b } }

// WithInstrumentsTTL sets how long the instrument list is cached (default
// 1 h).
func WithInstrumentsTTL(d time.Duration) Option { return func(o *options) { o.infoTTL = d } }

// WithoutStartupInfo skips reading the instruments and the server time in
// Open; they are then loaded on first use.
func WithoutStartupInfo() Option { return func(o *options) { o.skipInfo = true } }

// WithRetries sets how many times a failed REST request (network error,
// 5xx, 429, a retryable code in a 200 body) is tried in total, and the
// first backoff delay (default 8 and 250 ms; delays double up to 30 s, with
// full jitter).
func WithRetries(attempts int, base time.Duration) Option {
	return func(o *options) { o.retries, o.retryBase = attempts, base }
}

// WithTradeWindow sets the length of the sub-windows a trades backfill
// drains concurrently (default 30 min). Each is walked newest first and
// buffered until yielded, so shorter windows bound memory on busy pairs.
func WithTradeWindow(d time.Duration) Option { return func(o *options) { o.tradeWindow = d } }

// WithTradeHistory sets how far back history-trades is trusted to serve
// (default 90 days, OKX's "last 3 months"); a backfill starting earlier
// fails with a *domain.CapabilityError instead of returning a silently
// incomplete range. 0 disables the check.
func WithTradeHistory(d time.Duration) Option { return func(o *options) { o.tradeHistory = d } }

// WithPingInterval sets how long a WebSocket connection may be silent
// before the adapter sends OKX's "ping" (default 20 s; OKX drops a
// connection after 30 s without traffic).
func WithPingInterval(d time.Duration) Option { return func(o *options) { o.pingInterval = d } }

// WithBooksPerConnection caps the books subscriptions per WebSocket
// connection (default 20; OKX asks for fewer than 30 deep-book channels per
// connection).
func WithBooksPerConnection(n int) Option { return func(o *options) { o.booksPerConn = n } }

// Open returns an OKX adapter. Unless WithoutStartupInfo is given, it reads
// the spot instrument list and the server time; if the venue cannot be
// reached it logs a warning and tries again on first use. Configuration
// errors fail at once.
func Open(ctx context.Context, cfg venues.Config, opts ...Option) (*Adapter, error) {
	o := options{infoTTL: time.Hour, retries: 8, retryBase: 250 * time.Millisecond, tradeWindow: 30 * time.Minute,
		tradeHistory: TradeHistory, pingInterval: 20 * time.Second, booksPerConn: maxBooksPerConn, argsPerConn: maxArgsPerConn,
		connectStride: 400 * time.Millisecond}
	for _, f := range opts {
		f(&o)
	}
	switch {
	case cfg.Concurrency < 0:
		return nil, fmt.Errorf("okx: concurrency %d must be ≥ 0 (0 = default %d)", cfg.Concurrency, defaultConcurrency)
	case cfg.WeightLimit < 0:
		return nil, fmt.Errorf("okx: weight limit %d must be ≥ 0 (0 = OKX's published per-endpoint limits)", cfg.WeightLimit)
	case o.tradeWindow < time.Second:
		return nil, fmt.Errorf("okx: trade window %v must be at least 1s", o.tradeWindow)
	case o.tradeHistory < 0:
		return nil, fmt.Errorf("okx: trade history %v must be ≥ 0 (0 disables the check)", o.tradeHistory)
	case o.pingInterval <= 0 || o.pingInterval >= 30*time.Second:
		return nil, fmt.Errorf("okx: ping interval %v out of range (accepted: more than 0 and less than 30s, OKX's idle cut)", o.pingInterval)
	case o.booksPerConn <= 0 || o.booksPerConn > 29:
		return nil, fmt.Errorf("okx: books per connection %d out of range (accepted: 1 to 29)", o.booksPerConn)
	}
	a := &Adapter{cfg: cfg, opt: o}
	a.log = cfg.Logger
	if a.log == nil {
		a.log = slog.Default()
	}
	a.log = a.log.With("venue", Name)
	var err error
	if a.restURL, err = venues.BaseURL("okx", cfg.RESTURL, DefaultRESTURL, "", "http", "https"); err != nil {
		return nil, err
	}
	if a.wsURL, err = venues.BaseURL("okx", cfg.WSURL, DefaultWSURL, "", "ws", "wss", "http", "https"); err != nil {
		return nil, err
	}
	// A WebSocket base given with an endpoint path keeps only the host.
	for _, p := range []string{PublicPath, BusinessPath, "/ws/v5/private"} {
		a.wsURL = strings.TrimSuffix(a.wsURL, p)
	}
	var lopts []ratelimit.Option
	if o.limiterClock != nil {
		lopts = append(lopts, ratelimit.WithClock(o.limiterClock))
	}
	rules := a.rules()
	if a.limiter, err = ratelimit.New(rules, lopts...); err != nil {
		return nil, fmt.Errorf("okx: rate limits: %w", err)
	}
	a.costs = make(map[string]ratelimit.Cost, len(rules))
	for _, r := range rules {
		a.costs[r.Name] = ratelimit.Cost{{Rule: r.Name, N: 1}}
	}
	if a.rest, err = a.newHTTPClient(); err != nil {
		return nil, err
	}
	a.offset = operators.NewClockOffset(o.localClock)
	if !o.skipInfo {
		sctx, cancel := context.WithTimeout(ctx, startupTimeout)
		err := a.Refresh(sctx)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			a.log.Warn("okx: instruments unavailable at start-up; symbols are checked on first use", "err", err)
		}
	}
	return a, nil
}

const (
	defaultConcurrency = 4 // the history endpoints allow 10 requests per second
	startupTimeout     = 10 * time.Second
)

func (a *Adapter) concurrency() int {
	if a.cfg.Concurrency > 0 {
		return a.cfg.Concurrency
	}
	return defaultConcurrency
}

// Info describes the venue with the URLs in use.
func (a *Adapter) Info() venues.Info {
	i := Info()
	i.RESTURL, i.WSURL = a.restURL, a.wsURL
	return i
}

// Close releases idle connections. Streams end with their contexts.
func (a *Adapter) Close() error {
	a.closeOnce.Do(a.rest.Close)
	return nil
}

// Limiter returns the adapter's rate limiter (one rule per endpoint).
func (a *Adapter) Limiter() *ratelimit.Limiter { return a.limiter }

// serverNow is the venue's clock (ns).
func (a *Adapter) serverNow() int64 { return a.offset.Now().UnixNano() }

// ClockOffset returns the adapter's server-time estimator.
func (a *Adapter) ClockOffset() *operators.ClockOffset { return a.offset }

func (a *Adapter) localNow() time.Time {
	if a.opt.localClock != nil {
		return a.opt.localClock.Now()
	}
	return time.Now()
}

// ServerTime reads GET /api/v5/public/time and feeds the clock offset.
func (a *Adapter) ServerTime(ctx context.Context) (time.Time, error) {
	send := a.localNow()
	body, err := a.get(ctx, epTime, nil)
	if err != nil {
		return time.Time{}, err
	}
	recv := a.localNow()
	ns, err := parseServerTime(body)
	if err != nil {
		return time.Time{}, err
	}
	st := time.Unix(0, ns).UTC()
	a.offset.AddSample(send, st, recv)
	return st, nil
}

// Refresh reads the spot instrument list and the server time now.
func (a *Adapter) Refresh(ctx context.Context) error {
	a.infoMu.Lock()
	defer a.infoMu.Unlock()
	return a.loadLocked(ctx)
}

func (a *Adapter) loadLocked(ctx context.Context) error {
	a.infoTry = time.Now()
	if _, err := a.ServerTime(ctx); err != nil {
		return fmt.Errorf("okx: read server time: %w", err)
	}
	ms, err := a.Instruments(ctx, "SPOT")
	if err != nil {
		return err
	}
	if len(ms) > 0 {
		a.symbols.Store(newSymbolTable(ms))
	}
	a.infoAt.Store(time.Now().UnixNano())
	return nil
}

// Instruments reads GET /api/v5/public/instruments for an instrument type
// (SPOT, SWAP, …) without touching the adapter's cache.
func (a *Adapter) Instruments(ctx context.Context, instType string) ([]domain.Market, error) {
	q := url.Values{}
	q.Set("instType", instType)
	body, err := a.get(ctx, epInstruments, q)
	if err != nil {
		return nil, err
	}
	return parseInstruments(body)
}

// table returns the symbol table, loading or refreshing it when it is
// missing or older than the TTL. A failed load is retried at most every
// 30 s; meanwhile the naive mapping (BASE-QUOTE) is used.
func (a *Adapter) table(ctx context.Context) *symbolTable {
	fresh := func(t *symbolTable) bool {
		return t != nil && time.Since(time.Unix(0, a.infoAt.Load())) < a.opt.infoTTL
	}
	if t := a.symbols.Load(); fresh(t) {
		return t
	}
	a.infoMu.Lock()
	defer a.infoMu.Unlock()
	if t := a.symbols.Load(); fresh(t) {
		return t
	}
	if !a.infoTry.IsZero() && time.Since(a.infoTry) < 30*time.Second {
		return a.symbols.Load()
	}
	if err := a.loadLocked(ctx); err != nil {
		a.log.Warn("okx: instruments unavailable; symbols are not checked locally", "err", err)
	}
	return a.symbols.Load()
}

// VenueSymbol maps a canonical spot symbol (BTC/USDT) to OKX's instrument
// id (BTC-USDT), checking it against the cached instrument list. Unknown
// symbols fail with a *SymbolError (errors.Is ErrInvalidSymbol) with
// suggestions; non-spot symbols with a *domain.CapabilityError.
func (a *Adapter) VenueSymbol(ctx context.Context, sym domain.Symbol) (string, error) {
	return a.table(ctx).instID(sym)
}

// Symbol maps an OKX instrument id (BTC-USDT, BTC-USDT-SWAP) to the
// canonical symbol.
func (a *Adapter) Symbol(ctx context.Context, instID string) (domain.Symbol, error) {
	return a.table(ctx).canonical(instID)
}

// Markets lists OKX's spot markets with their trading rules (from the
// cached instrument list).
func (a *Adapter) Markets(ctx context.Context) ([]domain.Market, error) {
	t := a.table(ctx)
	if t == nil {
		if err := a.Refresh(ctx); err != nil {
			return nil, err
		}
		t = a.symbols.Load()
	}
	if t == nil {
		return nil, fmt.Errorf("okx: the instrument list is empty")
	}
	return append([]domain.Market(nil), t.markets...), nil
}

// Market returns one spot market's trading rules.
func (a *Adapter) Market(ctx context.Context, sym domain.Symbol) (domain.Market, error) {
	t := a.table(ctx)
	if _, err := t.instID(sym); err != nil {
		return domain.Market{}, err
	}
	m, ok := t.market(sym)
	if !ok {
		return domain.Market{}, &SymbolError{Symbol: sym.String()}
	}
	return m, nil
}

// The interfaces the adapter implements.
var (
	_ venues.Venue            = (*Adapter)(nil)
	_ venues.CandleBackfiller = (*Adapter)(nil)
	_ venues.TradeBackfiller  = (*Adapter)(nil)
	_ venues.BookSnapshotter  = (*Adapter)(nil)
	_ venues.MarketLister     = (*Adapter)(nil)
	_ venues.TradeStreamer    = (*Adapter)(nil)
	_ venues.CandleStreamer   = (*Adapter)(nil)
	_ venues.BookStreamer     = (*Adapter)(nil)
)
