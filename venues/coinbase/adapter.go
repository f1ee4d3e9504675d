package coinbase

import (
	"context"
	"fmt"
	"log/slog"
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

// Adapter is an opened Coinbase Exchange adapter. It implements
// venues.CandleBackfiller, TradeBackfiller, BookSnapshotter, MarketLister,
// TradeStreamer, CandleStreamer and BookStreamer. It is safe for concurrent
// use; one Adapter shares one connection pool, one rate limiter and one
// product cache across all its calls.
type Adapter struct {
	cfg     venues.Config
	opt     options
	log     *slog.Logger
	restURL string
	wsURL   string
	rest    *httpc.Client
	limiter *ratelimit.Limiter
	offset  *operators.ClockOffset

	symbols atomic.Pointer[symbolTable]
	infoMu  sync.Mutex   // serialises /products loads
	infoAt  atomic.Int64 // last successful load, unix ns
	infoTry time.Time    // last attempt

	closeOnce sync.Once
	closed    chan struct{}
}

// Option configures [Open] beyond venues.Config.
type Option func(*options)

type options struct {
	limiterClock ratelimit.Clock
	localClock   operators.Clock
	wsBackoff    ws.Backoff
	infoTTL      time.Duration
	skipInfo     bool
	retries      int
	retryBase    time.Duration
	chunkPages   int           // trade pages per concurrently drained id chunk
	bookRefresh  time.Duration // periodic level2 resubscription (0 = off)
	seedPages    int           // REST pages allowed to seed a streamed candle
	fillPages    int           // REST pages allowed to fill one trade-stream hole
	silence      time.Duration // WebSocket silence watchdog
	// onSnapshot, if set, is told the synthetic sequence number of each
	// level2 snapshot StreamBooks applies (tests).
	onSnapshot func(sym domain.Symbol, seq int64)
}

// WithLimiterClock sets the rate limiter's clock (tests).
func WithLimiterClock(c ratelimit.Clock) Option { return func(o *options) { o.limiterClock = c } }

// WithLocalClock sets the local clock the server-time offset corrects
// (tests with a virtual clock).
func WithLocalClock(c operators.Clock) Option { return func(o *options) { o.localClock = c } }

// WithWSBackoff sets the WebSocket reconnection backoff (tests use a short
// one; the default is 1 s → 60 s with jitter).
func WithWSBackoff(b ws.Backoff) Option { return func(o *options) { o.wsBackoff = b } }

// WithProductsTTL sets how long the /products list is cached (default 1 h).
func WithProductsTTL(d time.Duration) Option { return func(o *options) { o.infoTTL = d } }

// WithoutStartupInfo skips reading /products and /time in Open; they are
// then loaded on first use.
func WithoutStartupInfo() Option { return func(o *options) { o.skipInfo = true } }

// WithRetries sets how many times a failed REST request (network error,
// 5xx, 429) is tried in total, and the first backoff delay (default 8 and
// 250 ms; delays double up to 30 s, with full jitter).
func WithRetries(attempts int, base time.Duration) Option {
	return func(o *options) { o.retries, o.retryBase = attempts, base }
}

// WithTradeChunk sets how many 1000-trade pages one concurrently drained
// id chunk of a trades backfill holds (default 20).
func WithTradeChunk(pages int) Option { return func(o *options) { o.chunkPages = pages } }

// WithBookRefresh makes StreamBooks resubscribe each product's level2_batch
// every d, replacing the book by the venue's fresh snapshot. level2 updates
// carry no sequence number, so a message the venue failed to deliver can
// only be healed this way (or by a crossed book); 0 (the default) relies on
// reconnects and crossed-book checks alone.
func WithBookRefresh(d time.Duration) Option { return func(o *options) { o.bookRefresh = d } }

// WithCandleSeedPages bounds the REST pages StreamCandles may read to seed
// the bar in progress when it starts (default 20; the bar is skipped when
// it needs more).
func WithCandleSeedPages(n int) Option { return func(o *options) { o.seedPages = n } }

// WithSilenceTimeout sets the WebSocket watchdog: no frame for d ⇒
// reconnect (default 10 s; the heartbeat channel sends one per product per
// second).
func WithSilenceTimeout(d time.Duration) Option { return func(o *options) { o.silence = d } }

// Open returns a Coinbase Exchange adapter. Unless WithoutStartupInfo is
// given, it reads /time and /products; if the venue cannot be reached it
// logs a warning and tries again on first use. Configuration errors fail
// at once.
func Open(ctx context.Context, cfg venues.Config, opts ...Option) (*Adapter, error) {
	o := options{infoTTL: time.Hour, retries: 8, retryBase: 250 * time.Millisecond, chunkPages: 20,
		seedPages: 20, fillPages: 1000, silence: 10 * time.Second}
	for _, f := range opts {
		f(&o)
	}
	switch {
	case cfg.Concurrency < 0:
		return nil, fmt.Errorf("coinbase: concurrency %d must be ≥ 0 (0 = default %d)", cfg.Concurrency, defaultConcurrency)
	case cfg.WeightLimit < 0:
		return nil, fmt.Errorf("coinbase: request limit %d must be ≥ 0 (0 = the published %d per second)", cfg.WeightLimit, PublicRatePerSecond)
	case o.chunkPages <= 0:
		return nil, fmt.Errorf("coinbase: trade chunk of %d pages must be ≥ 1", o.chunkPages)
	case o.bookRefresh < 0:
		return nil, fmt.Errorf("coinbase: book refresh %v must be ≥ 0 (0 = off)", o.bookRefresh)
	case o.seedPages < 0:
		return nil, fmt.Errorf("coinbase: candle seed pages %d must be ≥ 0", o.seedPages)
	}
	a := &Adapter{cfg: cfg, opt: o, closed: make(chan struct{})}
	a.log = cfg.Logger
	if a.log == nil {
		a.log = slog.Default()
	}
	a.log = a.log.With("venue", Name)
	var err error
	if a.restURL, err = venues.BaseURL("coinbase", cfg.RESTURL, DefaultRESTURL, "", "http", "https"); err != nil {
		return nil, err
	}
	if a.wsURL, err = venues.BaseURL("coinbase", cfg.WSURL, DefaultWSURL, "", "ws", "wss", "http", "https"); err != nil {
		return nil, err
	}
	rules := DefaultRateLimits()
	if cfg.WeightLimit > 0 {
		rules[0].Limit = cfg.WeightLimit
	}
	var lopts []ratelimit.Option
	if o.limiterClock != nil {
		lopts = append(lopts, ratelimit.WithClock(o.limiterClock))
	}
	if a.limiter, err = ratelimit.New(rules, lopts...); err != nil {
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
			a.log.Warn("coinbase: /products unavailable at start-up; symbols are checked on first use", "err", err)
		}
	}
	return a, nil
}

const (
	defaultConcurrency = 4
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

// Limiter returns the adapter's rate limiter (its Stats show usage and
// waits).
func (a *Adapter) Limiter() *ratelimit.Limiter { return a.limiter }

// serverNow is the venue's clock (ns): local time corrected by the offset
// measured from /time.
func (a *Adapter) serverNow() int64 { return a.offset.Now().UnixNano() }

// ServerTimeOffset returns the measured venue clock minus the local clock.
func (a *Adapter) ServerTimeOffset() time.Duration { return a.offset.Offset() }

func (a *Adapter) localNow() time.Time {
	if a.opt.localClock != nil {
		return a.opt.localClock.Now()
	}
	return time.Now()
}

// ServerTime reads GET /time and feeds the clock offset.
func (a *Adapter) ServerTime(ctx context.Context) (time.Time, error) {
	send := a.localNow()
	resp, err := a.get(ctx, epTime, "", nil)
	if err != nil {
		return time.Time{}, err
	}
	recv := a.localNow()
	ns, err := parseServerTime(resp.Body)
	if err != nil {
		return time.Time{}, err
	}
	st := time.Unix(0, ns).UTC()
	a.offset.AddSample(send, st, recv)
	return st, nil
}

// Refresh reads the server time and the product list now.
func (a *Adapter) Refresh(ctx context.Context) error {
	a.infoMu.Lock()
	defer a.infoMu.Unlock()
	return a.loadInfoLocked(ctx)
}

func (a *Adapter) loadInfoLocked(ctx context.Context) error {
	a.infoTry = time.Now()
	if _, err := a.ServerTime(ctx); err != nil {
		return fmt.Errorf("coinbase: read server time: %w", err)
	}
	ms, err := a.Products(ctx)
	if err != nil {
		return err
	}
	if len(ms) > 0 {
		a.symbols.Store(newSymbolTable(ms))
	}
	a.infoAt.Store(time.Now().UnixNano())
	return nil
}

// Products reads GET /products (it does not update the adapter's cache;
// Refresh does).
func (a *Adapter) Products(ctx context.Context) ([]domain.Market, error) {
	resp, err := a.get(ctx, epProducts, "", nil)
	if err != nil {
		return nil, err
	}
	return parseProducts(resp.Body)
}

// table returns the product table, loading or refreshing it when missing
// or older than the TTL. A failed load is retried at most every 30 s;
// meanwhile symbols map by the naming rule (BASE-QUOTE) and the venue
// judges them.
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
	if !a.infoTry.IsZero() && time.Since(a.infoTry) < 30*time.Second {
		return t
	}
	if err := a.loadInfoLocked(ctx); err != nil {
		a.log.Warn("coinbase: /products unavailable; symbols are not checked locally", "err", err)
	}
	return a.symbols.Load()
}

// VenueSymbol maps a canonical symbol (BTC/USD) to Coinbase's product id
// (BTC-USD), checking it against the cached /products list. Unknown
// symbols fail with a *SymbolError (errors.Is ErrInvalidSymbol) with
// suggestions.
func (a *Adapter) VenueSymbol(ctx context.Context, sym domain.Symbol) (string, error) {
	return a.table(ctx).venueSymbol(sym)
}

// Symbol maps a Coinbase product id (BTC-USD, any case) to the canonical
// symbol.
func (a *Adapter) Symbol(ctx context.Context, productID string) (domain.Symbol, error) {
	return a.table(ctx).canonical(productID)
}

// Markets lists the venue's products with their trading rules (from the
// cached /products list).
func (a *Adapter) Markets(ctx context.Context) ([]domain.Market, error) {
	t := a.table(ctx)
	if t == nil {
		if err := a.Refresh(ctx); err != nil {
			return nil, err
		}
		t = a.symbols.Load()
	}
	if t == nil {
		return nil, fmt.Errorf("coinbase: /products listed no product")
	}
	return append([]domain.Market(nil), t.markets...), nil
}

// Market returns one product's trading rules, read fresh from GET
// /products/{id}. Unknown products fail with ErrInvalidSymbol.
func (a *Adapter) Market(ctx context.Context, sym domain.Symbol) (domain.Market, error) {
	product, err := a.VenueSymbol(ctx, sym)
	if err != nil {
		return domain.Market{}, err
	}
	resp, err := a.get(ctx, epProduct, product, nil)
	if err != nil {
		return domain.Market{}, err
	}
	m, ok, err := parseProduct(resp.Body)
	if err != nil {
		return domain.Market{}, err
	}
	if !ok {
		return domain.Market{}, &SymbolError{Symbol: sym.String(), VenueSymbol: product}
	}
	return m, nil
}
