package bybit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
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

// Adapter is an opened Bybit v5 adapter for public market data of the
// spot, linear and inverse categories. It implements
// venues.CandleBackfiller, TradeBackfiller (recent trades only, see
// [Adapter.BackfillTrades]), BookSnapshotter, MarketLister, TradeStreamer,
// CandleStreamer and BookStreamer. It is safe for concurrent use; one
// Adapter shares one connection pool, one rate limiter and one instrument
// cache across all its calls.
type Adapter struct {
	cfg     venues.Config
	opt     options
	log     *slog.Logger
	restURL string
	wsURL   string // base: scheme://host[:port][/prefix], without /v5/public/<category>
	rest    *httpc.Client
	limiter *ratelimit.Limiter
	ipLimit int
	offset  *operators.ClockOffset

	symbols atomic.Pointer[symbolTable]
	infoMu  sync.Mutex   // serialises instrument loads
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
	topicsPerConn  int
	infoTTL        time.Duration
	skipInfo       bool
	retries        int
	retryBase      time.Duration
	categories     []Category
	bookDepth      int
	silence        time.Duration
	pingInterval   time.Duration
	resubscribeTTL time.Duration
}

// WithLimiterClock sets the rate limiter's clock (tests).
func WithLimiterClock(c ratelimit.Clock) Option { return func(o *options) { o.limiterClock = c } }

// WithLocalClock sets the local clock the server-time offset corrects
// (tests with a virtual clock).
func WithLocalClock(c operators.Clock) Option { return func(o *options) { o.localClock = c } }

// WithWSBackoff sets the WebSocket reconnection backoff (tests use a short
// one; the default is 1 s → 60 s with jitter).
func WithWSBackoff(b ws.Backoff) Option { return func(o *options) { o.wsBackoff = b } }

// WithTopicsPerConnection caps the topics multiplexed on one WebSocket
// connection (default [MaxTopicsPerConn]).
func WithTopicsPerConnection(n int) Option { return func(o *options) { o.topicsPerConn = n } }

// WithInstrumentsTTL sets how long the instrument list is cached (default
// 1 h).
func WithInstrumentsTTL(d time.Duration) Option { return func(o *options) { o.infoTTL = d } }

// WithoutStartupInfo skips reading the instrument list and the server time
// in Open; they are then loaded on first use.
func WithoutStartupInfo() Option { return func(o *options) { o.skipInfo = true } }

// WithRetries sets how many times a failed REST request (network error,
// 5xx, 429, transient retCode) is tried in total, and the first backoff
// delay (default 8 and 250 ms; delays double up to 30 s, with full jitter).
func WithRetries(attempts int, base time.Duration) Option {
	return func(o *options) { o.retries, o.retryBase = attempts, base }
}

// WithCategories limits the instrument list (and so the symbols accepted)
// to some categories (default spot, linear and inverse).
func WithCategories(cats ...Category) Option {
	return func(o *options) { o.categories = append([]Category(nil), cats...) }
}

// WithBookDepth sets the orderbook.<depth> topic StreamBooks subscribes
// (spot 1, 50, 200; linear/inverse 1, 50, 200, 500). The default is the
// smallest depth that holds the requested report depth.
func WithBookDepth(n int) Option { return func(o *options) { o.bookDepth = n } }

// WithHeartbeat sets the {"op":"ping"} interval (default 20 s, Bybit's
// advice) and the silence after which a connection is replaced (default
// 60 s).
func WithHeartbeat(ping, silence time.Duration) Option {
	return func(o *options) { o.pingInterval, o.silence = ping, silence }
}

// WithResubscribeTimeout sets how long a book waits for the fresh snapshot
// after resubscribing before asking again (default 10 s).
func WithResubscribeTimeout(d time.Duration) Option { return func(o *options) { o.resubscribeTTL = d } }

// Open returns a Bybit adapter. Unless WithoutStartupInfo is given, it
// reads the server time and the instrument lists; if the venue cannot be
// reached it logs a warning and tries again on first use. Configuration
// errors fail at once.
func Open(ctx context.Context, cfg venues.Config, opts ...Option) (*Adapter, error) {
	o := options{topicsPerConn: MaxTopicsPerConn, infoTTL: time.Hour, retries: 8, retryBase: 250 * time.Millisecond,
		categories: []Category{Spot, Linear, Inverse}, silence: time.Minute, pingInterval: PingInterval,
		resubscribeTTL: 10 * time.Second}
	for _, f := range opts {
		f(&o)
	}
	switch {
	case o.topicsPerConn <= 0:
		return nil, fmt.Errorf("bybit: topics per connection %d out of range (accepted: 1 or more, default %d)", o.topicsPerConn, MaxTopicsPerConn)
	case cfg.Concurrency < 0:
		return nil, fmt.Errorf("bybit: concurrency %d must be ≥ 0 (0 = default %d)", cfg.Concurrency, defaultConcurrency)
	case cfg.WeightLimit < 0:
		return nil, fmt.Errorf("bybit: request limit %d must be ≥ 0 (0 = Bybit's %d per 5 s)", cfg.WeightLimit, IPLimit)
	case len(o.categories) == 0:
		return nil, errors.New("bybit: WithCategories needs at least one category (spot, linear, inverse)")
	case o.pingInterval <= 0 || o.silence <= 0:
		return nil, fmt.Errorf("bybit: heartbeat %v and silence timeout %v must be positive", o.pingInterval, o.silence)
	}
	for _, c := range o.categories {
		if _, err := ParseCategory(string(c)); err != nil {
			return nil, err
		}
	}
	if o.bookDepth != 0 && o.bookDepth != 1 && o.bookDepth != 50 && o.bookDepth != 200 && o.bookDepth != 500 {
		return nil, fmt.Errorf("bybit: book depth %d is not a Bybit orderbook topic (accepted: 1, 50, 200; 500 on linear/inverse)", o.bookDepth)
	}
	a := &Adapter{cfg: cfg, opt: o, closed: make(chan struct{})}
	a.log = cfg.Logger
	if a.log == nil {
		a.log = slog.Default()
	}
	a.log = a.log.With("venue", Name)
	var err error
	if a.restURL, err = venues.BaseURL("bybit", cfg.RESTURL, DefaultRESTURL, "", "http", "https"); err != nil {
		return nil, err
	}
	if a.wsURL, err = venues.BaseURL("bybit", cfg.WSURL, DefaultWSURL, "", "ws", "wss", "http", "https"); err != nil {
		return nil, err
	}
	a.wsURL = trimPublicPath(a.wsURL)
	var lopts []ratelimit.Option
	if o.limiterClock != nil {
		lopts = append(lopts, ratelimit.WithClock(o.limiterClock))
	}
	rules := DefaultRateLimits()
	if cfg.WeightLimit > 0 {
		rules[0].Limit = cfg.WeightLimit
	}
	a.ipLimit = rules[0].Limit
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
			a.log.Warn("bybit: instrument list unavailable at start-up; symbols are mapped by Bybit's naming rule until it can be read", "err", err)
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

// trimPublicPath strips a trailing /v5/public[/<category>] so a full
// public stream URL works as the base.
func trimPublicPath(u string) string {
	for _, c := range []string{"/spot", "/linear", "/inverse", "/option", ""} {
		if s, ok := strings.CutSuffix(u, "/v5/public"+c); ok {
			return s
		}
	}
	return u
}

// wsEndpoint is the public stream URL of a category.
func (a *Adapter) wsEndpoint(cat Category) string { return a.wsURL + "/v5/public/" + string(cat) }

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

// serverNow is the venue's clock (ns): local time corrected by the offset
// measured from server times.
func (a *Adapter) serverNow() int64 { return a.offset.Now().UnixNano() }

// ClockOffset returns the adapter's server-time estimator.
func (a *Adapter) ClockOffset() *operators.ClockOffset { return a.offset }

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

// ServerTime reads GET /v5/market/time and feeds the clock offset.
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

// Refresh reads the server time and the instrument lists now.
func (a *Adapter) Refresh(ctx context.Context) error {
	a.infoMu.Lock()
	defer a.infoMu.Unlock()
	return a.loadLocked(ctx)
}

func (a *Adapter) loadLocked(ctx context.Context) error {
	a.infoTry = time.Now()
	if _, err := a.ServerTime(ctx); err != nil {
		return fmt.Errorf("bybit: read server time: %w", err)
	}
	var all []Market
	for _, c := range a.opt.categories {
		ms, err := a.Instruments(ctx, c)
		if err != nil {
			return err
		}
		all = append(all, ms...)
	}
	if len(all) > 0 {
		a.symbols.Store(newSymbolTable(all))
	}
	a.infoAt.Store(time.Now().UnixNano())
	return nil
}

// Instruments reads every page of GET /v5/market/instruments-info for a
// category (it does not update the adapter's cache; Refresh does).
func (a *Adapter) Instruments(ctx context.Context, cat Category) ([]Market, error) {
	var rows []instrument
	cursor := ""
	for page := 0; ; page++ {
		q := url.Values{}
		q.Set("category", string(cat))
		if cat != Spot {
			q.Set("limit", strconv.Itoa(MaxInstruments))
		}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		body, err := a.get(ctx, epInstruments, q)
		if err != nil {
			return nil, err
		}
		list, next, err := parseInstruments(body)
		if err != nil {
			return nil, err
		}
		rows = append(rows, list...)
		if next == "" || next == cursor || len(list) == 0 {
			break
		}
		if page > 100 {
			return nil, fmt.Errorf("bybit: instruments-info %s: more than 100 pages", cat)
		}
		cursor = next
	}
	return marketsFromInstruments(cat, rows), nil
}

// table returns the symbol table, loading or refreshing it when missing or
// older than the TTL. A failed load is retried at most every 30 s;
// meanwhile Bybit's naming rule is used.
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
	if err := a.loadLocked(ctx); err != nil {
		a.log.Warn("bybit: instrument list unavailable; symbols are not checked locally", "err", err)
	}
	return a.symbols.Load()
}

// VenueSymbol maps a canonical symbol to Bybit's category and name:
// BTC/USDT → (spot, BTCUSDT), BTC/USDT:perp → (linear, BTCUSDT),
// BTC/USDC:perp → (linear, BTCPERP), BTC/USD:perp → (inverse, BTCUSD),
// BTC/USD:quarter → (inverse, e.g. BTCUSDH25). Unknown symbols fail with a
// *SymbolError (errors.Is ErrInvalidSymbol) with suggestions.
func (a *Adapter) VenueSymbol(ctx context.Context, sym domain.Symbol) (Category, string, error) {
	return a.table(ctx).venueSymbol(sym)
}

// Symbol maps a Bybit name (BTCUSDT, any case) in a category to the
// canonical symbol.
func (a *Adapter) Symbol(ctx context.Context, cat Category, venueSymbol string) (domain.Symbol, error) {
	return a.table(ctx).canonical(cat, venueSymbol)
}

// Markets lists the venue's markets with their trading rules (from the
// cached instrument lists). Dated futures other than the two nearest
// quarterlies have no canonical name and are left out; [Adapter.AllMarkets]
// lists them too.
func (a *Adapter) Markets(ctx context.Context) ([]domain.Market, error) {
	ms, err := a.AllMarkets(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]domain.Market, 0, len(ms))
	for _, m := range ms {
		if !m.Symbol.IsZero() {
			out = append(out, m.Market)
		}
	}
	return out, nil
}

// AllMarkets lists every instrument of the loaded categories with its
// category and contract type.
func (a *Adapter) AllMarkets(ctx context.Context) ([]Market, error) {
	t := a.table(ctx)
	if t == nil {
		if err := a.Refresh(ctx); err != nil {
			return nil, err
		}
		t = a.symbols.Load()
	}
	if t == nil {
		return nil, errors.New("bybit: instruments-info listed no instrument")
	}
	return append([]Market(nil), t.markets...), nil
}

// Market returns one market's trading rules.
func (a *Adapter) Market(ctx context.Context, sym domain.Symbol) (Market, error) {
	t := a.table(ctx)
	if _, _, err := t.venueSymbol(sym); err != nil {
		return Market{}, err
	}
	m, ok := t.market(sym)
	if !ok {
		return Market{}, &SymbolError{Symbol: sym.String(), Reason: "the instrument list is not available"}
	}
	return m, nil
}
