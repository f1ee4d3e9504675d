package bitmex

import (
	"context"
	"errors"
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

// Adapter is an opened BitMEX adapter. It implements
// venues.CandleBackfiller, TradeBackfiller, BookSnapshotter, MarketLister,
// TradeStreamer, CandleStreamer and BookStreamer. It is safe for concurrent
// use; one Adapter shares one connection pool, one rate limiter and one
// instrument cache across all its calls.
type Adapter struct {
	cfg     venues.Config
	opt     options
	log     *slog.Logger
	restURL string
	wsURL   string
	rest    *httpc.Client
	limiter *ratelimit.Limiter
	limit   atomic.Int64 // requests per minute in force
	// tradeCap is the rows GET /trade serves per page (1000, or less if
	// the venue proved to cap pages lower); shortOK the largest short page
	// confirmed as a true end.
	tradeCap, shortOK atomic.Int64
	offset            *operators.ClockOffset

	symbols atomic.Pointer[symbolTable]
	infoMu  sync.Mutex   // serialises instrument loads
	infoAt  atomic.Int64 // last successful load, unix ns (local clock)
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
	infoTTL        time.Duration
	skipInfo       bool
	retries        int
	retryBase      time.Duration
	emptyBars      bool
	banPause       time.Duration
	pingInterval   time.Duration
	resubscribeTTL time.Duration
	tradeWindow    time.Duration
	windowTrades   int64 // target trades per sub-window (tests)
	bookQuiet      time.Duration
	bookMaxHold    time.Duration
}

// WithLimiterClock sets the rate limiter's clock (tests).
func WithLimiterClock(c ratelimit.Clock) Option { return func(o *options) { o.limiterClock = c } }

// WithLocalClock sets the local clock the server-time offset corrects
// (tests with a virtual clock).
func WithLocalClock(c operators.Clock) Option { return func(o *options) { o.localClock = c } }

// WithWSBackoff sets the WebSocket reconnection backoff (the default is
// 1 s → 60 s with jitter; BitMEX allows about 60 connections per hour).
func WithWSBackoff(b ws.Backoff) Option { return func(o *options) { o.wsBackoff = b } }

// WithInstrumentsTTL sets how long the instrument list is cached (default
// 1 h).
func WithInstrumentsTTL(d time.Duration) Option { return func(o *options) { o.infoTTL = d } }

// WithoutStartupInfo skips reading the instrument list and the server time
// in Open; they are then loaded on first use.
func WithoutStartupInfo() Option { return func(o *options) { o.skipInfo = true } }

// WithRetries sets how many times a failed REST request (network error,
// 5xx, 429) is tried in total, and the first backoff delay (default 8 and
// 500 ms; delays double up to 30 s, with full jitter).
func WithRetries(attempts int, base time.Duration) Option {
	return func(o *options) { o.retries, o.retryBase = attempts, base }
}

// WithEmptyBars keeps the buckets BitMEX serves for intervals without a
// trade (trades 0, a flat OHLC at the previous close, zero volume). By
// default they are dropped, like every other pype venue, which has no bar
// where nothing traded.
func WithEmptyBars(keep bool) Option { return func(o *options) { o.emptyBars = keep } }

// WithBanPause sets how long every request waits after an HTTP 403 without
// Retry-After (default 1 min; BitMEX's bans last an hour, but a 403 may
// also be a short-lived block).
func WithBanPause(d time.Duration) Option { return func(o *options) { o.banPause = d } }

// WithPingInterval sets the idle time after which the text "ping" is sent
// on a WebSocket (default 5 s, BitMEX's recipe); a connection silent for
// twice as long is replaced.
func WithPingInterval(d time.Duration) Option { return func(o *options) { o.pingInterval = d } }

// WithResubscribeTimeout sets how long a book waits for the partial after
// a resubscription before asking again (default 10 s).
func WithResubscribeTimeout(d time.Duration) Option { return func(o *options) { o.resubscribeTTL = d } }

// WithTradeWindow sets the length of the sub-windows BackfillTrades drains
// concurrently (default: sized to hold about 40,000 trades on the range's
// busiest day; short ranges are split into 2 × Concurrency parts).
func WithTradeWindow(d time.Duration) Option { return func(o *options) { o.tradeWindow = d } }

// WithBookFlush sets when StreamBooks reports a book change that no later
// timestamp has closed yet: after the symbol's book was quiet for quiet
// (default DefaultBookQuiet, 20 ms) with no frame waiting, and in any case
// after maxHold (default DefaultBookMaxHold, 1 s; at least quiet). A
// change followed by a message with a later timestamp is reported at once.
// Zero keeps a default.
func WithBookFlush(quiet, maxHold time.Duration) Option {
	return func(o *options) { o.bookQuiet, o.bookMaxHold = quiet, maxHold }
}

const (
	defaultConcurrency = 2
	startupTimeout     = 10 * time.Second
)

// Open returns a BitMEX adapter. Unless WithoutStartupInfo is given, it
// reads the server time and the active instruments; if the venue cannot
// be reached it logs a warning and tries again on first use.
// Configuration errors fail at once.
func Open(ctx context.Context, cfg venues.Config, opts ...Option) (*Adapter, error) {
	o := options{infoTTL: time.Hour, retries: 8, retryBase: 500 * time.Millisecond, banPause: time.Minute,
		pingInterval: PingInterval, resubscribeTTL: 10 * time.Second, windowTrades: windowTrades}
	for _, f := range opts {
		f(&o)
	}
	if o.bookQuiet <= 0 {
		o.bookQuiet = DefaultBookQuiet
	}
	if o.bookMaxHold <= 0 {
		o.bookMaxHold = DefaultBookMaxHold
	}
	o.bookMaxHold = max(o.bookMaxHold, o.bookQuiet)
	if cfg.Concurrency < 0 {
		return nil, fmt.Errorf("bitmex: concurrency %d must be ≥ 0 (0 = default %d)", cfg.Concurrency, defaultConcurrency)
	}
	if cfg.WeightLimit < 0 {
		return nil, fmt.Errorf("bitmex: request limit %d must be ≥ 0 (0 = the venue's limit, %d per minute unauthenticated)", cfg.WeightLimit, RequestsPerMinute)
	}
	if o.pingInterval <= 0 || o.banPause <= 0 || o.tradeWindow < 0 {
		return nil, fmt.Errorf("bitmex: ping interval %v, ban pause %v and trade window %v must be positive", o.pingInterval, o.banPause, o.tradeWindow)
	}
	a := &Adapter{cfg: cfg, opt: o, closed: make(chan struct{})}
	a.tradeCap.Store(MaxCount)
	a.log = cfg.Logger
	if a.log == nil {
		a.log = slog.Default()
	}
	a.log = a.log.With("venue", Name)
	var err error
	if a.restURL, err = venues.BaseURL("bitmex", cfg.RESTURL, DefaultRESTURL, "/api/v1", "http", "https"); err != nil {
		return nil, err
	}
	if a.wsURL, err = venues.BaseURL("bitmex", cfg.WSURL, DefaultWSURL, "", "ws", "wss", "http", "https"); err != nil {
		return nil, err
	}
	if !strings.HasSuffix(a.wsURL, "/realtime") {
		a.wsURL += "/realtime"
	}
	var lopts []ratelimit.Option
	if o.limiterClock != nil {
		lopts = append(lopts, ratelimit.WithClock(o.limiterClock))
	}
	if a.limiter, err = ratelimit.New(nil, lopts...); err != nil {
		return nil, err
	}
	if err := a.setLimit(RequestsPerMinute); err != nil {
		return nil, err
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
			a.log.Warn("bitmex: instrument list unavailable at start-up; it is read again on first use", "err", err)
		}
	}
	return a, nil
}

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

// Limiter returns the adapter's rate limiter.
func (a *Adapter) Limiter() *ratelimit.Limiter { return a.limiter }

// RateLimits returns the rules in force.
func (a *Adapter) RateLimits() []ratelimit.Rule { return a.limiter.Rules() }

func (a *Adapter) localNow() time.Time {
	if a.opt.localClock != nil {
		return a.opt.localClock.Now()
	}
	return time.Now()
}

func (a *Adapter) limiterNow() time.Time {
	if a.opt.limiterClock != nil {
		return a.opt.limiterClock.Now()
	}
	return time.Now()
}

// serverNow is the venue's clock (ns): local time corrected by the offset
// measured from server times.
func (a *Adapter) serverNow() int64 { return a.offset.Now().UnixNano() }

// ClockOffset returns the adapter's server-time estimator.
func (a *Adapter) ClockOffset() *operators.ClockOffset { return a.offset }

// ServerTime reads GET /api/v1/ ({"name":"BitMEX API",…,"timestamp":ms})
// and feeds the clock offset.
func (a *Adapter) ServerTime(ctx context.Context) (time.Time, error) {
	send := a.localNow()
	body, err := a.get(ctx, pathRoot, nil)
	if err != nil {
		return time.Time{}, err
	}
	recv := a.localNow()
	ns, err := parseRoot(body)
	if err != nil {
		return time.Time{}, err
	}
	st := time.Unix(0, ns).UTC()
	a.offset.AddSample(send, st, recv)
	return st, nil
}

// Refresh reads the server time and the active instruments now.
func (a *Adapter) Refresh(ctx context.Context) error {
	a.infoMu.Lock()
	defer a.infoMu.Unlock()
	return a.loadLocked(ctx)
}

func (a *Adapter) loadLocked(ctx context.Context) error {
	a.infoTry = time.Now()
	if _, err := a.ServerTime(ctx); err != nil {
		return fmt.Errorf("bitmex: read server time: %w", err)
	}
	insts, err := a.Instruments(ctx)
	if err != nil {
		return err
	}
	if len(insts) == 0 {
		return errors.New("bitmex: GET /instrument/active listed no instrument")
	}
	a.symbols.Store(newSymbolTable(insts, a.serverNow()))
	a.infoAt.Store(time.Now().UnixNano())
	return nil
}

// Instruments reads GET /instrument/active (it does not update the
// adapter's cache; Refresh does).
func (a *Adapter) Instruments(ctx context.Context) ([]Instrument, error) {
	body, err := a.get(ctx, pathInstruments, nil)
	if err != nil {
		return nil, err
	}
	return parseInstruments(body)
}

// table returns the symbol table, loading it when missing or older than
// the TTL. BitMEX answers a filter on an unknown symbol with an empty page,
// so symbols are always checked against the list: without it there is no
// table and an error.
func (a *Adapter) table(ctx context.Context) (*symbolTable, error) {
	fresh := func(t *symbolTable) bool {
		return t != nil && time.Since(time.Unix(0, a.infoAt.Load())) < a.opt.infoTTL
	}
	if t := a.symbols.Load(); fresh(t) {
		return t, nil
	}
	a.infoMu.Lock()
	defer a.infoMu.Unlock()
	t := a.symbols.Load()
	if fresh(t) {
		return t, nil
	}
	if t != nil && time.Since(a.infoTry) < 30*time.Second {
		return t, nil // a stale table while the venue is unreachable
	}
	if err := a.loadLocked(ctx); err != nil {
		if t != nil {
			a.log.Warn("bitmex: instrument list refresh failed; using the cached one", "err", err)
			return t, nil
		}
		return nil, fmt.Errorf("bitmex: the instrument list is needed to check symbols (BitMEX answers unknown symbols with empty pages): %w", err)
	}
	return a.symbols.Load(), nil
}

// VenueSymbol maps a canonical symbol (BTC/USD:perp) to BitMEX's (XBTUSD),
// checking it against the cached instrument list. Unknown symbols fail
// with a *SymbolError (errors.Is ErrInvalidSymbol) with suggestions; spot
// symbols with a *domain.CapabilityError.
func (a *Adapter) VenueSymbol(ctx context.Context, sym domain.Symbol) (string, error) {
	t, err := a.table(ctx)
	if err != nil {
		return "", err
	}
	return t.venueSymbol(sym)
}

// Symbol maps a BitMEX symbol (XBTUSD, any case) to the canonical one.
func (a *Adapter) Symbol(ctx context.Context, venueSymbol string) (domain.Symbol, error) {
	t, err := a.table(ctx)
	if err != nil {
		return domain.Symbol{}, err
	}
	return t.canonical(venueSymbol)
}

// Markets lists the markets the adapter serves (perpetual swaps and the two
// nearest quarterly futures per pair) with their trading rules. Amounts
// are contracts.
func (a *Adapter) Markets(ctx context.Context) ([]domain.Market, error) {
	t, err := a.table(ctx)
	if err != nil {
		return nil, err
	}
	return append([]domain.Market(nil), t.markets...), nil
}

// Market returns one market's trading rules and the instrument behind it.
func (a *Adapter) Market(ctx context.Context, sym domain.Symbol) (domain.Market, Instrument, error) {
	t, err := a.table(ctx)
	if err != nil {
		return domain.Market{}, Instrument{}, err
	}
	if _, err := t.venueSymbol(sym); err != nil {
		return domain.Market{}, Instrument{}, err
	}
	in, m, _ := t.instrument(sym)
	return m, in, nil
}
