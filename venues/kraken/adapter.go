package kraken

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

// Adapter is an opened Kraken spot adapter. It implements
// venues.CandleBackfiller, TradeBackfiller, BookSnapshotter, MarketLister,
// TradeStreamer, CandleStreamer and BookStreamer. It is safe for concurrent
// use; one Adapter shares one connection pool, one rate limiter and one
// AssetPairs cache across all its calls.
type Adapter struct {
	cfg     venues.Config
	opt     options
	log     *slog.Logger
	restURL string
	wsURL   string
	rest    *httpc.Client
	limiter *RateLimiter
	offset  *operators.ClockOffset

	symbols atomic.Pointer[symbolTable]
	infoMu  sync.Mutex   // serialises AssetPairs loads
	infoAt  atomic.Int64 // last successful load, unix ns
	infoTry time.Time    // last attempt

	closeOnce sync.Once
}

// Option configures [Open] beyond venues.Config.
type Option func(*options)

type options struct {
	limiterClock ratelimit.Clock
	localClock   operators.Clock
	wsBackoff    ws.Backoff
	retries      int
	retryBase    time.Duration
	ratePause    time.Duration
	infoTTL      time.Duration
	skipInfo     bool
	derived      bool
	bookDepth    int
	silence      time.Duration
	resubTimeout time.Duration
	tradesPage   int // rows per Trades request (tests use small pages)
}

// WithLimiterClock sets the rate limiter's clock (tests).
func WithLimiterClock(c ratelimit.Clock) Option { return func(o *options) { o.limiterClock = c } }

// WithLocalClock sets the local clock the server-time offset corrects
// (tests with a virtual clock).
func WithLocalClock(c operators.Clock) Option { return func(o *options) { o.localClock = c } }

// WithWSBackoff sets the WebSocket reconnection backoff (tests use a short
// one; the default is 1 s → 60 s with jitter).
func WithWSBackoff(b ws.Backoff) Option { return func(o *options) { o.wsBackoff = b } }

// WithRetries sets how many times a failed REST request (network error,
// 5xx, "Too many requests", "EService:Unavailable") is tried in total, and
// the first backoff delay (default 8 and 500 ms; delays double up to 30 s,
// with full jitter).
func WithRetries(attempts int, base time.Duration) Option {
	return func(o *options) { o.retries, o.retryBase = attempts, base }
}

// WithRateLimitPause sets how long all requests pause after Kraken answered
// "EGeneral:Too many requests" (default RateLimitPause, 3 s).
func WithRateLimitPause(d time.Duration) Option { return func(o *options) { o.ratePause = d } }

// WithAssetPairsTTL sets how long the AssetPairs list is cached (default
// 1 h).
func WithAssetPairsTTL(d time.Duration) Option { return func(o *options) { o.infoTTL = d } }

// WithoutStartupInfo skips reading AssetPairs and the server time in Open;
// they are then loaded on first use.
func WithoutStartupInfo() Option { return func(o *options) { o.skipInfo = true } }

// WithDerivedCandles makes BackfillCandles serve the part of a range older
// than the OHLC endpoint's 720 most recent bars from the trade history
// (aggregated by DeriveCandles) instead of failing with a *HistoryError.
func WithDerivedCandles() Option { return func(o *options) { o.derived = true } }

// WithBookSubscriptionDepth sets the WebSocket book depth StreamBooks
// subscribes (10, 25, 100, 500 or 1000); by default the smallest one that
// holds StreamRequest.Depth and the 10 checksummed levels.
func WithBookSubscriptionDepth(n int) Option { return func(o *options) { o.bookDepth = n } }

// WithSilenceTimeout sets how long a WebSocket connection may stay silent
// before it is replaced (default 10 s; Kraken sends a heartbeat about every
// second while subscribed).
func WithSilenceTimeout(d time.Duration) Option { return func(o *options) { o.silence = d } }

// WithResubscribeTimeout sets how long a book waits for the fresh snapshot
// after a resubscription before asking again (default 10 s).
func WithResubscribeTimeout(d time.Duration) Option { return func(o *options) { o.resubTimeout = d } }

const startupTimeout = 10 * time.Second

// Open returns a Kraken spot adapter. Unless WithoutStartupInfo is given,
// it reads the server time and AssetPairs; if the venue cannot be reached
// it logs a warning and tries again on first use. Configuration errors fail
// at once. venues.Config.WeightLimit, when set, replaces PublicBurst (calls
// per PublicWindow on each counter).
func Open(ctx context.Context, cfg venues.Config, opts ...Option) (*Adapter, error) {
	o := options{retries: 8, retryBase: 500 * time.Millisecond, ratePause: RateLimitPause, infoTTL: time.Hour,
		silence: 10 * time.Second, resubTimeout: 10 * time.Second, tradesPage: MaxTrades}
	for _, f := range opts {
		f(&o)
	}
	if o.bookDepth != 0 && !containsInt(wsDepths, o.bookDepth) {
		return nil, fmt.Errorf("kraken: book subscription depth %d not accepted (accepted: %s)", o.bookDepth, joinInts(wsDepths))
	}
	if cfg.WeightLimit < 0 {
		return nil, fmt.Errorf("kraken: weight limit %d must be ≥ 0 (0 = %d calls per %v)", cfg.WeightLimit, PublicBurst, PublicWindow)
	}
	if cfg.Concurrency < 0 {
		return nil, fmt.Errorf("kraken: concurrency %d must be ≥ 0", cfg.Concurrency)
	}
	if o.retries <= 0 || o.ratePause < 0 || o.silence < 0 {
		return nil, fmt.Errorf("kraken: retries %d must be ≥ 1, rate-limit pause %v and silence timeout %v ≥ 0", o.retries, o.ratePause, o.silence)
	}
	a := &Adapter{cfg: cfg, opt: o}
	a.log = cfg.Logger
	if a.log == nil {
		a.log = slog.Default()
	}
	a.log = a.log.With("venue", Name)
	var err error
	if a.restURL, err = venues.BaseURL("kraken", cfg.RESTURL, DefaultRESTURL, "", "http", "https"); err != nil {
		return nil, err
	}
	if a.wsURL, err = venues.BaseURL("kraken", cfg.WSURL, DefaultWSURL, "", "ws", "wss", "http", "https"); err != nil {
		return nil, err
	}
	limit := PublicBurst
	if cfg.WeightLimit > 0 {
		limit = cfg.WeightLimit
	}
	var lopts []ratelimit.Option
	if o.limiterClock != nil {
		lopts = append(lopts, ratelimit.WithClock(o.limiterClock))
	}
	if a.limiter, err = NewRateLimiter(limit, PublicWindow, lopts...); err != nil {
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
			a.log.Warn("kraken: AssetPairs unavailable at start-up; symbols are checked on first use", "err", err)
		}
	}
	return a, nil
}

func containsInt(xs []int, x int) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

func joinInts(xs []int) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = fmt.Sprint(x)
	}
	return strings.Join(s, " ")
}

// Info describes the venue.
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

// Limiter returns the adapter's rate limiter.
func (a *Adapter) Limiter() *RateLimiter { return a.limiter }

// HTTPStats returns the REST client's counters (requests, retries, soft
// errors, ...).
func (a *Adapter) HTTPStats() httpc.Stats { return a.rest.Stats() }

func (a *Adapter) localNow() time.Time {
	if a.opt.localClock != nil {
		return a.opt.localClock.Now()
	}
	return time.Now()
}

// serverNow is the venue's clock (ns): local time corrected by the offset
// measured from GET /0/public/Time (whole seconds, so ±1 s).
func (a *Adapter) serverNow() int64 { return a.offset.Now().UnixNano() }

// ServerTimeOffset returns the measured venue clock minus the local clock.
func (a *Adapter) ServerTimeOffset() time.Duration { return a.offset.Offset() }

// ServerTime reads GET /0/public/Time (whole seconds) and feeds the clock
// offset. The sample is taken as the middle of the second Kraken reports.
func (a *Adapter) ServerTime(ctx context.Context) (time.Time, error) {
	send := a.localNow()
	body, err := a.get(ctx, pathTime, nil, publicCost())
	if err != nil {
		return time.Time{}, err
	}
	recv := a.localNow()
	st, err := parseTime(body)
	if err != nil {
		return time.Time{}, err
	}
	a.offset.AddSample(send, st.Add(500*time.Millisecond), recv)
	return st, nil
}

// Refresh reads the server time and AssetPairs now.
func (a *Adapter) Refresh(ctx context.Context) error {
	a.infoMu.Lock()
	defer a.infoMu.Unlock()
	return a.loadInfoLocked(ctx)
}

func (a *Adapter) loadInfoLocked(ctx context.Context) error {
	a.infoTry = time.Now()
	if _, err := a.ServerTime(ctx); err != nil {
		return fmt.Errorf("kraken: read server time: %w", err)
	}
	pairs, err := a.AssetPairs(ctx)
	if err != nil {
		return err
	}
	if len(pairs) > 0 {
		a.symbols.Store(newSymbolTable(pairs))
	}
	a.infoAt.Store(time.Now().UnixNano())
	return nil
}

// AssetPairs reads GET /0/public/AssetPairs (it does not update the
// adapter's cache; Refresh does).
func (a *Adapter) AssetPairs(ctx context.Context) ([]Pair, error) {
	body, err := a.get(ctx, pathAssetPairs, nil, publicCost())
	if err != nil {
		return nil, err
	}
	return parseAssetPairs(body)
}

// table returns the symbol table, loading or refreshing AssetPairs when it
// is missing or older than the TTL. A failed load is retried at most every
// 30 s; meanwhile the naming rule (XBT, XDG) is used unchecked.
func (a *Adapter) table(ctx context.Context) *symbolTable {
	t := a.symbols.Load()
	fresh := func() bool { return time.Since(time.Unix(0, a.infoAt.Load())) < a.opt.infoTTL }
	if t != nil && fresh() {
		return t
	}
	a.infoMu.Lock()
	defer a.infoMu.Unlock()
	if t = a.symbols.Load(); t != nil && fresh() {
		return t
	}
	if !a.infoTry.IsZero() && time.Since(a.infoTry) < 30*time.Second {
		return t
	}
	if err := a.loadInfoLocked(ctx); err != nil {
		a.log.Warn("kraken: AssetPairs unavailable; symbols are not checked locally", "err", err)
	}
	return a.symbols.Load()
}

// Pair returns the Kraken pair of a canonical symbol (BTC/USD → XBTUSD),
// checked against the cached AssetPairs. Unknown symbols fail with a
// *SymbolError (errors.Is ErrInvalidSymbol) with suggestions.
func (a *Adapter) Pair(ctx context.Context, sym domain.Symbol) (Pair, error) {
	return a.table(ctx).pair(sym)
}

// VenueSymbol maps a canonical symbol to Kraken's REST altname (BTC/USD →
// XBTUSD, DOGE/USD → XDGUSD, ETH/BTC → ETHXBT).
func (a *Adapter) VenueSymbol(ctx context.Context, sym domain.Symbol) (string, error) {
	p, err := a.Pair(ctx, sym)
	return p.Altname, err
}

// Symbol maps any Kraken name of a pair (XBTUSD, XXBTZUSD, XBT/USD or the
// WebSocket v2 BTC/USD; any case) to the canonical symbol.
func (a *Adapter) Symbol(ctx context.Context, venueSymbol string) (domain.Symbol, error) {
	if p, ok := a.table(ctx).lookup(venueSymbol); ok {
		return p.Symbol, nil
	}
	if b, q, ok := strings.Cut(venueSymbol, "/"); ok {
		if s, err := domain.ParseSymbol(isoAsset(b) + "/" + isoAsset(q)); err == nil && a.symbols.Load() == nil {
			return s, nil
		}
	}
	return domain.Symbol{}, &SymbolError{Symbol: venueSymbol}
}

// Markets lists the venue's spot pairs with their trading rules (from the
// cached AssetPairs).
func (a *Adapter) Markets(ctx context.Context) ([]domain.Market, error) {
	t := a.table(ctx)
	if t == nil {
		if err := a.Refresh(ctx); err != nil {
			return nil, err
		}
		t = a.symbols.Load()
	}
	if t == nil {
		return nil, fmt.Errorf("kraken: AssetPairs listed no pair")
	}
	out := make([]domain.Market, len(t.pairs))
	for i, p := range t.pairs {
		out[i] = p.Market()
	}
	return out, nil
}
