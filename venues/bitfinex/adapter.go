package bitfinex

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/transport/httpc"
	"github.com/pype-go/pype/transport/ratelimit"
	"github.com/pype-go/pype/transport/ws"
	"github.com/pype-go/pype/venues"
)

// Adapter is an opened Bitfinex adapter. It implements
// venues.CandleBackfiller, TradeBackfiller, BookSnapshotter, MarketLister,
// TradeStreamer, CandleStreamer and BookStreamer. It is safe for
// concurrent use; one Adapter shares one connection pool, one rate limiter
// per endpoint and one symbol cache across all its calls.
type Adapter struct {
	cfg           venues.Config
	opt           options
	log           *slog.Logger
	restURL       string
	wsURL         string
	rest          *httpc.Client
	lim           *limiters
	baseTransport http.RoundTripper
	ownTransport  bool
	dials         *ratelimit.Limiter // WebSocket connections per minute

	symbols atomic.Pointer[symbolTable]
	confMu  sync.Mutex
	confAt  atomic.Int64 // last successful load, unix ns
	confTry time.Time

	closeOnce sync.Once
}

// Option configures [Open] beyond venues.Config.
type Option func(*options)

type options struct {
	limiterClock    ratelimit.Clock
	clock           func() time.Time
	wsBackoff       ws.Backoff
	channelsPerConn int
	retries         int
	retryBase       time.Duration
	blockPause      time.Duration
	rules           []ratelimit.Rule
	confTTL         time.Duration
	skipConf        bool
	dialsPerMin     int
	resubTimeout    time.Duration
	candlesLimit    int
	tradesLimit     int
	bookBackoff     func(attempt int) time.Duration
	bookQuiet       time.Duration
	bookMaxHold     time.Duration
	onBookStream    func(*bookStream) // tests
}

// WithBookFlush sets when StreamBooks reports book updates that no
// checksum frame closes: after the channel was quiet for quiet (default
// DefaultBookQuiet, 20 ms) with no frame waiting, and in any case after
// maxHold (default DefaultBookMaxHold, 1 s; at least quiet) — also how long
// a channel that sends checksums may go without one before it is treated
// as sending none. Zero keeps a default.
func WithBookFlush(quiet, maxHold time.Duration) Option {
	return func(o *options) { o.bookQuiet, o.bookMaxHold = quiet, maxHold }
}

// WithLimiterClock sets the rate limiters' clock (tests).
func WithLimiterClock(c ratelimit.Clock) Option { return func(o *options) { o.limiterClock = c } }

// WithClock sets the adapter's notion of the venue's current time, which
// decides whether a bar has closed and how far a range can be answered
// (default time.Now; Bitfinex's public API has no server-time endpoint).
func WithClock(now func() time.Time) Option { return func(o *options) { o.clock = now } }

// WithWSBackoff sets the WebSocket reconnection backoff (default 1 s → 60 s
// with jitter).
func WithWSBackoff(b ws.Backoff) Option { return func(o *options) { o.wsBackoff = b } }

// WithChannelsPerConnection caps the channels subscribed on one WebSocket
// connection (default and maximum 25, Bitfinex's limit).
func WithChannelsPerConnection(n int) Option { return func(o *options) { o.channelsPerConn = n } }

// WithRetries sets how many times a failed REST request (network error,
// 5xx, 429) is tried in total, and the first backoff delay (default 6 and
// 500 ms; delays double up to 30 s, with full jitter).
func WithRetries(attempts int, base time.Duration) Option {
	return func(o *options) { o.retries, o.retryBase = attempts, base }
}

// WithBlockPause sets how long an endpoint is paused after an HTTP 429
// without Retry-After (default 60 s, the block Bitfinex imposes).
func WithBlockPause(d time.Duration) Option { return func(o *options) { o.blockPause = d } }

// WithRateLimits replaces default per-endpoint rules by name (RuleCandles,
// RuleTrades, RuleBook, RuleConf, RuleStatus).
func WithRateLimits(rules ...ratelimit.Rule) Option {
	return func(o *options) { o.rules = append(o.rules, rules...) }
}

// WithConfTTL sets how long the pair list is cached (default 1 h).
func WithConfTTL(d time.Duration) Option { return func(o *options) { o.confTTL = d } }

// WithoutStartupConf skips reading the pair list in Open; it is then loaded
// on first use.
func WithoutStartupConf() Option { return func(o *options) { o.skipConf = true } }

// WithConnectionsPerMinute bounds new WebSocket connections (default 20,
// Bitfinex's limit for api-pub).
func WithConnectionsPerMinute(n int) Option { return func(o *options) { o.dialsPerMin = n } }

// WithResubscribeTimeout sets how long a book waits for the snapshot of a
// resubscription before asking again (default 10 s).
func WithResubscribeTimeout(d time.Duration) Option { return func(o *options) { o.resubTimeout = d } }

// WithBookBackoff sets the wait before the n-th resubscription in a row of
// a book that keeps failing (default: orderbook.DefaultBackoff, 250 ms
// doubling to 30 s with jitter).
func WithBookBackoff(f func(attempt int) time.Duration) Option {
	return func(o *options) { o.bookBackoff = f }
}

// WithPageLimits sets the rows asked per candles and trades page (default
// and maximum 10000 each). Smaller pages only cost more requests; tests use
// them to put page seams inside bursts of same-millisecond trades.
func WithPageLimits(candles, trades int) Option {
	return func(o *options) { o.candlesLimit, o.tradesLimit = candles, trades }
}

const (
	defaultConcurrency = 2 // per-endpoint limits of 15–30 requests per minute make more pointless
	startupTimeout     = 10 * time.Second
)

// Open returns a Bitfinex adapter. Base URLs without a path get the API's
// ("https://host" → "https://host/v2", "wss://host" → "wss://host/ws/2").
// cfg.WeightLimit, when set, is the requests per minute allowed on every
// REST endpoint (instead of the published per-endpoint limits);
// cfg.Concurrency bounds concurrent candle windows (default 2).
// Unless WithoutStartupConf is given it
// reads the pair list and currency map; if the venue cannot be reached it
// logs a warning and tries again on first use. Configuration errors fail at
// once.
func Open(ctx context.Context, cfg venues.Config, opts ...Option) (*Adapter, error) {
	o := options{channelsPerConn: MaxChannelsPerWS, retries: 6, retryBase: 500 * time.Millisecond, blockPause: DefaultBlockPause,
		confTTL: time.Hour, dialsPerMin: MaxWSConnsPerMin, resubTimeout: 10 * time.Second, candlesLimit: MaxCandles, tradesLimit: MaxTrades}
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
	switch {
	case o.channelsPerConn <= 0 || o.channelsPerConn > MaxChannelsPerWS:
		return nil, fmt.Errorf("bitfinex: channels per connection %d out of range (accepted: 1 to %d)", o.channelsPerConn, MaxChannelsPerWS)
	case cfg.Concurrency < 0:
		return nil, fmt.Errorf("bitfinex: concurrency %d must be ≥ 0 (0 = default %d)", cfg.Concurrency, defaultConcurrency)
	case cfg.WeightLimit < 0:
		return nil, fmt.Errorf("bitfinex: request limit %d must be ≥ 0 (0 = the published per-endpoint limits)", cfg.WeightLimit)
	case o.blockPause < 0:
		return nil, fmt.Errorf("bitfinex: block pause %v must be ≥ 0", o.blockPause)
	case o.candlesLimit <= 0 || o.candlesLimit > MaxCandles || o.tradesLimit <= 0 || o.tradesLimit > MaxTrades:
		return nil, fmt.Errorf("bitfinex: page limits %d (candles) and %d (trades) out of range (accepted: 1 to %d)", o.candlesLimit, o.tradesLimit, MaxCandles)
	case o.dialsPerMin <= 0:
		return nil, fmt.Errorf("bitfinex: connections per minute %d must be > 0", o.dialsPerMin)
	}
	a := &Adapter{cfg: cfg, opt: o}
	a.log = cfg.Logger
	if a.log == nil {
		a.log = slog.Default()
	}
	a.log = a.log.With("venue", Name)
	var err error
	if a.restURL, err = venues.BaseURL("bitfinex", cfg.RESTURL, DefaultRESTURL, "/v2", "http", "https"); err != nil {
		return nil, err
	}
	if a.wsURL, err = venues.BaseURL("bitfinex", cfg.WSURL, DefaultWSURL, "/ws/2", "ws", "wss", "http", "https"); err != nil {
		return nil, err
	}
	rules, err := mergeRules(DefaultRateLimits(), o.rules, cfg.WeightLimit)
	if err != nil {
		return nil, err
	}
	var lopts []ratelimit.Option
	if o.limiterClock != nil {
		lopts = append(lopts, ratelimit.WithClock(o.limiterClock))
	}
	if a.lim, err = newLimiters(rules, lopts...); err != nil {
		return nil, err
	}
	if a.dials, err = ratelimit.New([]ratelimit.Rule{{Name: "WS_CONNECTIONS", Limit: o.dialsPerMin, Interval: time.Minute}}, lopts...); err != nil {
		return nil, err
	}
	if a.rest, err = a.newHTTPClient(); err != nil {
		return nil, err
	}
	if !o.skipConf {
		sctx, cancel := context.WithTimeout(ctx, startupTimeout)
		err := a.Refresh(sctx)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			a.log.Warn("bitfinex: pair list unavailable at start-up; symbols will be checked on first use", "err", err)
		}
	}
	return a, nil
}

// mergeRules applies overrides by name and the global per-endpoint limit.
func mergeRules(def, over []ratelimit.Rule, limit int) ([]ratelimit.Rule, error) {
	out := append([]ratelimit.Rule(nil), def...)
	for _, r := range over {
		found := false
		for i := range out {
			if out[i].Name == r.Name {
				out[i], found = r, true
			}
		}
		if !found {
			return nil, fmt.Errorf("bitfinex: unknown rate-limit rule %q (accepted: %s, %s, %s, %s, %s)", r.Name, RuleCandles, RuleTrades, RuleBook, RuleConf, RuleStatus)
		}
	}
	if limit > 0 {
		for i := range out {
			out[i].Limit = limit
		}
	}
	return out, nil
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
		a.rest.Close()
		if t, ok := a.baseTransport.(interface{ CloseIdleConnections() }); ok && a.ownTransport {
			t.CloseIdleConnections()
		}
	})
	return nil
}

// RateLimits returns the per-endpoint rules in force.
func (a *Adapter) RateLimits() []ratelimit.Rule {
	a.lim.mu.RLock()
	defer a.lim.mu.RUnlock()
	return append([]ratelimit.Rule(nil), a.lim.rules...)
}

// LimiterStats returns each endpoint limiter's counters, by rule name.
func (a *Adapter) LimiterStats() map[string]ratelimit.Stats { return a.lim.stats() }

// now is the venue's clock as the adapter knows it.
func (a *Adapter) now() time.Time {
	if a.opt.clock != nil {
		return a.opt.clock()
	}
	return time.Now()
}

func (a *Adapter) nowNs() int64 { return a.now().UnixNano() }

// confPath reads the exchange pair list and the currency code map in one
// request.
const confPath = "/conf/pub:list:pair:exchange,pub:map:currency:sym"

// Refresh reads the pair list and the currency map now.
func (a *Adapter) Refresh(ctx context.Context) error {
	a.confMu.Lock()
	defer a.confMu.Unlock()
	return a.loadConfLocked(ctx)
}

func (a *Adapter) loadConfLocked(ctx context.Context) error {
	a.confTry = time.Now()
	body, err := a.get(ctx, confPath, nil)
	if err != nil {
		return err
	}
	pairs, cur, err := parseConf(body)
	if err != nil {
		return err
	}
	if len(pairs) == 0 {
		return fmt.Errorf("bitfinex: conf/pub:list:pair:exchange listed no pair")
	}
	a.symbols.Store(newSymbolTable(pairs, cur))
	a.confAt.Store(time.Now().UnixNano())
	return nil
}

// table returns the symbol table, loading or refreshing it when missing or
// older than the TTL. A failed load is retried at most every 30 s.
func (a *Adapter) table(ctx context.Context) *symbolTable {
	t := a.symbols.Load()
	if t != nil && time.Since(time.Unix(0, a.confAt.Load())) < a.opt.confTTL {
		return t
	}
	a.confMu.Lock()
	defer a.confMu.Unlock()
	if t = a.symbols.Load(); t != nil && time.Since(time.Unix(0, a.confAt.Load())) < a.opt.confTTL {
		return t
	}
	if !a.confTry.IsZero() && time.Since(a.confTry) < 30*time.Second {
		return t
	}
	if err := a.loadConfLocked(ctx); err != nil {
		a.log.Warn("bitfinex: pair list unavailable", "err", err)
	}
	return a.symbols.Load()
}

// VenueSymbol maps a canonical symbol (BTC/USDT) to Bitfinex's trading
// symbol (tBTCUST), checking it against the cached pair list. Unknown
// symbols fail with a *SymbolError (errors.Is ErrInvalidSymbol): Bitfinex
// itself answers unknown symbols with empty pages, which would look like
// "no trades".
func (a *Adapter) VenueSymbol(ctx context.Context, sym domain.Symbol) (string, error) {
	return a.table(ctx).venueSymbol(sym)
}

// Symbol maps a Bitfinex symbol (tBTCUST, BTCUST, tDOGE:USD) to the
// canonical one.
func (a *Adapter) Symbol(ctx context.Context, venueSymbol string) (domain.Symbol, error) {
	return a.table(ctx).canonical(venueSymbol)
}

// Markets lists the venue's exchange (spot) pairs.
func (a *Adapter) Markets(ctx context.Context) ([]domain.Market, error) {
	t := a.table(ctx)
	if t == nil {
		if err := a.Refresh(ctx); err != nil {
			return nil, err
		}
		t = a.symbols.Load()
	}
	return append([]domain.Market(nil), t.markets...), nil
}
