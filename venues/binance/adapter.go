package binance

import (
	"context"
	"fmt"
	"log/slog"
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

// Adapter is an opened Binance spot adapter. It implements
// venues.CandleBackfiller, TradeBackfiller, BookSnapshotter, MarketLister,
// TradeStreamer, CandleStreamer and BookStreamer. It is safe for concurrent
// use; one Adapter shares one connection pool, one rate limiter and one
// symbol cache across all its calls.
type Adapter struct {
	cfg     venues.Config
	opt     options
	log     *slog.Logger
	restURL string
	wsURL   string
	rest    *httpc.Client
	limiter *ratelimit.Limiter
	costs   atomic.Pointer[costTable]
	offset  *operators.ClockOffset

	symbols atomic.Pointer[symbolTable]
	infoMu  sync.Mutex   // serialises exchangeInfo loads
	infoAt  atomic.Int64 // last successful load, unix ns
	infoTry time.Time    // last attempt

	closeOnce sync.Once
	closed    chan struct{}
}

// Option configures [Open] beyond venues.Config.
type Option func(*options)

type options struct {
	limiterClock   ratelimit.Clock
	localClock     operators.Clock
	wsBackoff      ws.Backoff
	streamsPerConn int
	rawTrades      bool
	infoTTL        time.Duration
	skipInfo       bool
	wsLifetime     time.Duration
	wsOverlap      time.Duration
	depthSnapshot  int
	retries        int
	retryBase      time.Duration
	windowTrades   int64 // trades per concurrently drained sub-window
	urlLimit       int   // longest combined-stream URL (tests force SUBSCRIBE mode)
}

// WithLimiterClock sets the rate limiter's clock (tests).
func WithLimiterClock(c ratelimit.Clock) Option { return func(o *options) { o.limiterClock = c } }

// WithLocalClock sets the local clock the server-time offset corrects
// (tests with a virtual clock).
func WithLocalClock(c operators.Clock) Option { return func(o *options) { o.localClock = c } }

// WithWSBackoff sets the WebSocket reconnection backoff (tests use a short
// one; the default is 1 s → 60 s with jitter).
func WithWSBackoff(b ws.Backoff) Option { return func(o *options) { o.wsBackoff = b } }

// WithStreamsPerConnection caps the streams multiplexed on one WebSocket
// connection (default and maximum 1024, Binance's limit).
func WithStreamsPerConnection(n int) Option { return func(o *options) { o.streamsPerConn = n } }

// WithRawTrades makes StreamTrades use the <sym>@trade stream (one event
// per fill, ids t) instead of <sym>@aggTrade (ids a, the default, which
// match BackfillTrades). Holes are then filled from
// /api/v3/historicalTrades.
func WithRawTrades(raw bool) Option { return func(o *options) { o.rawTrades = raw } }

// WithExchangeInfoTTL sets how long the exchangeInfo symbol list and rate
// limits are cached (default 1 h).
func WithExchangeInfoTTL(d time.Duration) Option { return func(o *options) { o.infoTTL = d } }

// WithoutStartupInfo skips reading exchangeInfo and the server time in
// Open; they are then loaded on first use.
func WithoutStartupInfo() Option { return func(o *options) { o.skipInfo = true } }

// WithConnectionLifetime replaces each WebSocket connection after d with a
// make-before-break overlap (default 23 h 50 min: Binance cuts at 24 h).
func WithConnectionLifetime(d, overlap time.Duration) Option {
	return func(o *options) { o.wsLifetime, o.wsOverlap = d, overlap }
}

// WithBookSnapshotDepth sets the depth of the REST snapshots the local book
// syncs from (default 1000, weight 50; max 5000, weight 250).
func WithBookSnapshotDepth(n int) Option { return func(o *options) { o.depthSnapshot = n } }

// WithRetries sets how many times a failed REST request (network error,
// 5xx, 429) is tried in total, and the first backoff delay (default 8 and
// 250 ms; delays double up to 30 s, with full jitter).
func WithRetries(attempts int, base time.Duration) Option {
	return func(o *options) { o.retries, o.retryBase = attempts, base }
}

// Open returns a Binance spot adapter. Unless WithoutStartupInfo is given,
// it reads exchangeInfo (rate limits and symbols) and the server time; if
// the venue cannot be reached it logs a warning, uses the built-in limits
// and tries again on first use. Configuration errors fail at once.
func Open(ctx context.Context, cfg venues.Config, opts ...Option) (*Adapter, error) {
	o := options{streamsPerConn: MaxStreamsPerConn, infoTTL: time.Hour, wsLifetime: ConnectionLifetime - 10*time.Minute,
		wsOverlap: 5 * time.Second, depthSnapshot: 1000, retries: 8, retryBase: 250 * time.Millisecond,
		windowTrades: windowTrades, urlLimit: maxURLLen}
	for _, f := range opts {
		f(&o)
	}
	if o.streamsPerConn <= 0 || o.streamsPerConn > MaxStreamsPerConn {
		return nil, fmt.Errorf("binance: streams per connection %d out of range (accepted: 1 to %d)", o.streamsPerConn, MaxStreamsPerConn)
	}
	if o.depthSnapshot <= 0 || o.depthSnapshot > MaxDepth {
		return nil, fmt.Errorf("binance: book snapshot depth %d out of range (accepted: 1 to %d)", o.depthSnapshot, MaxDepth)
	}
	if cfg.Concurrency < 0 {
		return nil, fmt.Errorf("binance: concurrency %d must be ≥ 0 (0 = default %d)", cfg.Concurrency, defaultConcurrency)
	}
	if cfg.WeightLimit < 0 {
		return nil, fmt.Errorf("binance: weight limit %d must be ≥ 0 (0 = the venue's announced limit)", cfg.WeightLimit)
	}
	a := &Adapter{cfg: cfg, opt: o, closed: make(chan struct{})}
	a.log = cfg.Logger
	if a.log == nil {
		a.log = slog.Default()
	}
	a.log = a.log.With("venue", Name)
	var err error
	if a.restURL, err = venues.BaseURL("binance", cfg.RESTURL, DefaultRESTURL, "", "http", "https"); err != nil {
		return nil, err
	}
	if a.wsURL, err = venues.BaseURL("binance", cfg.WSURL, DefaultWSURL, "", "ws", "wss", "http", "https"); err != nil {
		return nil, err
	}
	// Accept the stream endpoints themselves as the base (…/ws, …/stream).
	a.wsURL = strings.TrimSuffix(strings.TrimSuffix(a.wsURL, "/ws"), "/stream")
	var lopts []ratelimit.Option
	if o.limiterClock != nil {
		lopts = append(lopts, ratelimit.WithClock(o.limiterClock))
	}
	if a.limiter, err = ratelimit.New(nil, lopts...); err != nil {
		return nil, err
	}
	if err := a.setRules(DefaultRateLimits()); err != nil {
		return nil, err
	}
	if a.rest, err = a.newHTTPClient(); err != nil {
		return nil, err
	}
	a.offset = operators.NewClockOffset(o.localClock)
	if !o.skipInfo {
		// Bounded: an unreachable venue should not hold Open for the
		// whole retry schedule.
		sctx, cancel := context.WithTimeout(ctx, startupTimeout)
		err := a.Refresh(sctx)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			a.log.Warn("binance: exchangeInfo unavailable at start-up; using built-in rate limits until it can be read", "err", err)
		}
	}
	return a, nil
}

const (
	defaultConcurrency = 8
	startupTimeout     = 10 * time.Second
)

func (a *Adapter) concurrency() int {
	if a.cfg.Concurrency > 0 {
		return a.cfg.Concurrency
	}
	return defaultConcurrency
}

// Info describes the venue.
func (a *Adapter) Info() venues.Info {
	i := Info()
	i.RESTURL, i.WSURL = a.restURL, a.wsURL
	return i
}

// Close releases idle connections. Streams end with their contexts.
func (a *Adapter) Close() error {
	a.closeOnce.Do(func() {
		close(a.closed)
		a.rest.Close()
	})
	return nil
}

// Limiter returns the adapter's rate limiter (its rules come from
// exchangeInfo.rateLimits; its Stats show usage and waits).
func (a *Adapter) Limiter() *ratelimit.Limiter { return a.limiter }

// RateLimits returns the rules in force.
func (a *Adapter) RateLimits() []ratelimit.Rule { return a.limiter.Rules() }

// serverNow is the venue's clock (ns): local time corrected by the offset
// measured from server times.
func (a *Adapter) serverNow() int64 { return a.offset.Now().UnixNano() }

// ServerTimeOffset returns the measured venue clock minus the local clock.
func (a *Adapter) ServerTimeOffset() time.Duration { return a.offset.Offset() }

// ClockOffset returns the adapter's server-time estimator.
func (a *Adapter) ClockOffset() *operators.ClockOffset { return a.offset }

// ServerTime reads GET /api/v3/time and feeds the clock offset.
func (a *Adapter) ServerTime(ctx context.Context) (time.Time, error) {
	local := a.localNow
	send := local()
	body, err := a.get(ctx, epTime, nil)
	if err != nil {
		return time.Time{}, err
	}
	recv := local()
	ns, err := parseServerTime(body)
	if err != nil {
		return time.Time{}, err
	}
	st := time.Unix(0, ns).UTC()
	a.offset.AddSample(send, st, recv)
	return st, nil
}

func (a *Adapter) localNow() time.Time {
	if a.opt.localClock != nil {
		return a.opt.localClock.Now()
	}
	return time.Now()
}

// Refresh reads exchangeInfo (symbols, trading rules and rate limits) and
// the server time now.
func (a *Adapter) Refresh(ctx context.Context) error {
	a.infoMu.Lock()
	defer a.infoMu.Unlock()
	return a.loadInfoLocked(ctx)
}

func (a *Adapter) loadInfoLocked(ctx context.Context) error {
	a.infoTry = time.Now()
	if _, err := a.ServerTime(ctx); err != nil {
		return fmt.Errorf("binance: read server time: %w", err)
	}
	info, err := a.ExchangeInfo(ctx)
	if err != nil {
		return err
	}
	if len(info.RateLimits) > 0 {
		if err := a.setRules(info.RateLimits); err != nil {
			a.log.Warn("binance: announced rate limits rejected; keeping the previous ones", "err", err)
		}
	}
	if len(info.Markets) > 0 {
		a.symbols.Store(newSymbolTable(info.Markets, info.Rules))
	}
	a.infoAt.Store(time.Now().UnixNano())
	return nil
}

// ExchangeInfo reads GET /api/v3/exchangeInfo (it does not update the
// adapter's caches; Refresh does).
func (a *Adapter) ExchangeInfo(ctx context.Context) (ExchangeInfo, error) {
	body, err := a.get(ctx, epExchangeInfo, nil)
	if err != nil {
		return ExchangeInfo{}, err
	}
	return parseExchangeInfo(body)
}

// table returns the symbol table, loading or refreshing exchangeInfo when
// it is missing or older than the TTL. A failed load is retried at most
// every 30 s; meanwhile the naive mapping (BASE+QUOTE) is used.
func (a *Adapter) table(ctx context.Context) *symbolTable {
	t := a.symbols.Load()
	if t != nil && time.Since(time.Unix(0, a.infoAt.Load())) < a.opt.infoTTL {
		return t
	}
	a.infoMu.Lock()
	defer a.infoMu.Unlock()
	if t = a.symbols.Load(); t != nil && time.Since(time.Unix(0, a.infoAt.Load())) < a.opt.infoTTL {
		return t
	}
	if time.Since(a.infoTry) < 30*time.Second && !a.infoTry.IsZero() {
		return t
	}
	if err := a.loadInfoLocked(ctx); err != nil {
		a.log.Warn("binance: exchangeInfo unavailable; symbols are not checked locally", "err", err)
	}
	return a.symbols.Load()
}

// VenueSymbol maps a canonical symbol (BTC/USDT) to Binance's (BTCUSDT),
// checking it against the cached exchangeInfo symbol list. Unknown symbols
// fail with a *SymbolError (errors.Is ErrInvalidSymbol) with suggestions.
func (a *Adapter) VenueSymbol(ctx context.Context, sym domain.Symbol) (string, error) {
	return a.table(ctx).venueSymbol(sym)
}

// Symbol maps a Binance symbol (BTCUSDT, any case) to the canonical one.
func (a *Adapter) Symbol(ctx context.Context, venueSymbol string) (domain.Symbol, error) {
	return a.table(ctx).canonical(venueSymbol)
}

// Markets lists the venue's spot markets with their trading rules (from
// the cached exchangeInfo).
func (a *Adapter) Markets(ctx context.Context) ([]domain.Market, error) {
	t := a.table(ctx)
	if t == nil {
		if err := a.Refresh(ctx); err != nil {
			return nil, err
		}
		t = a.symbols.Load()
	}
	if t == nil {
		return nil, fmt.Errorf("binance: exchangeInfo listed no symbols")
	}
	return append([]domain.Market(nil), t.markets...), nil
}

// Market returns one market's trading rules.
func (a *Adapter) Market(ctx context.Context, sym domain.Symbol) (domain.Market, error) {
	t := a.table(ctx)
	if _, err := t.venueSymbol(sym); err != nil {
		return domain.Market{}, err
	}
	m, ok := t.market(sym)
	if !ok {
		return domain.Market{}, &SymbolError{Symbol: sym.String()}
	}
	return m, nil
}
