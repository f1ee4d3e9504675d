// Package venues defines what a venue adapter offers pype and a registry to
// find adapters by name.
//
// An adapter (venues/binance, venues/coinbase, …) declares its [Info]:
// name, capabilities per data type, transport and mode, and default base
// URLs, and implements the small interfaces below that fit what the venue
// serves: [CandleBackfiller], [TradeBackfiller], [BookSnapshotter],
// [TradeStreamer], [CandleStreamer], [BookStreamer], [MarketLister]. The
// app layer asks for the interface it needs with a type assertion, and a
// venue that lacks it is reported with domain.ErrNoCapability.
//
// Registries are values: [NewRegistry] makes an empty one and
// venues/all.Registry returns one with every built-in adapter registered.
package venues

import (
	"context"
	"fmt"
	"iter"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"

	"github.com/pype-go/pype/domain"
)

// Info describes a venue adapter.
type Info struct {
	Name         string // registry key, lower case: "binance"
	DisplayName  string // "Binance (spot)"
	RESTURL      string // default REST base URL
	WSURL        string // default WebSocket base URL
	Capabilities []domain.Capability
	Notes        string
}

// Capability returns the capability for a data type, transport and mode.
func (i Info) Capability(t domain.DataType, tr domain.Transport, m domain.Mode) (domain.Capability, bool) {
	for _, c := range i.Capabilities {
		if c.DataType == t && c.Transport == tr && c.Mode == m {
			return c, true
		}
	}
	return domain.Capability{}, false
}

// Config is what a venue adapter is opened with. The zero value uses the
// venue's defaults.
type Config struct {
	RESTURL     string       // overrides Info.RESTURL
	WSURL       string       // overrides Info.WSURL
	HTTPClient  *http.Client // optional transport override (tests, proxies)
	Logger      *slog.Logger // defaults to slog.Default()
	Concurrency int          // max concurrent requests for backfills; 0 = venue default
	// WeightLimit overrides the venue's request-weight (or request-count)
	// limit per its window; 0 = venue announced/default limit.
	WeightLimit int
	UserAgent   string
}

// Venue is an opened adapter. Close releases its connections.
type Venue interface {
	Info() Info
	Close() error
}

// Progress reports how far a backfill has come.
type Progress struct {
	Items    int64 // records yielded so far
	Done     int   // windows or pages done
	Total    int   // windows total, 0 if unknown
	Position int64 // time (ns) reached so far
}

// Gap is a hole found while collecting: a time range (or id range) the venue
// did not serve although it should have.
type Gap struct {
	Symbol   domain.Symbol
	Range    domain.Range
	FirstID  string // for id-contiguous venues: first missing id
	LastID   string // last missing id
	Reason   string
	Reported int64 // ns
}

// CandleRequest asks for closed candles of one symbol and span in a range.
type CandleRequest struct {
	Symbol   domain.Symbol
	Span     domain.Span
	Range    domain.Range
	Progress func(Progress)     // optional
	Covered  func(domain.Range) // optional: a range fully answered by the venue
}

// TradeRequest asks for all public trades of one symbol in a range.
type TradeRequest struct {
	Symbol   domain.Symbol
	Range    domain.Range
	Progress func(Progress) // optional
	Covered  func(domain.Range)
	Gap      func(Gap) // optional: holes detected (e.g. non-contiguous ids)
}

// CandleBackfiller serves historical candles, complete and in time order.
type CandleBackfiller interface {
	BackfillCandles(ctx context.Context, req CandleRequest) iter.Seq2[domain.OHLCBar, error]
}

// TradeBackfiller serves historical trades, complete and in time order.
type TradeBackfiller interface {
	BackfillTrades(ctx context.Context, req TradeRequest) iter.Seq2[domain.Trade, error]
}

// BookSnapshotter fetches a REST order-book snapshot of up to depth levels.
type BookSnapshotter interface {
	BookSnapshot(ctx context.Context, sym domain.Symbol, depth int) (domain.BookSnapshot, error)
}

// MarketLister lists the venue's markets with their trading rules.
type MarketLister interface {
	Markets(ctx context.Context) ([]domain.Market, error)
}

// TradeEvent is a streamed trade with its symbol.
type TradeEvent struct {
	Symbol domain.Symbol
	Trade  domain.Trade
}

// CandleEvent is a streamed candle (closed or forming) with its symbol.
type CandleEvent struct {
	Symbol domain.Symbol
	Span   domain.Span
	Bar    domain.OHLCBar
}

// BookEvent is the state of a synchronised book after an update.
// Live is false while the book is syncing or resyncing; consumers must not
// treat Book as valid then.
type BookEvent struct {
	Symbol domain.Symbol
	Live   bool
	Book   domain.BookSnapshot // top Depth levels
}

// StreamRequest configures a live stream.
type StreamRequest struct {
	Symbols []domain.Symbol
	Span    domain.Span // candles
	Depth   int         // books: levels to report
	// Partial asks candle streams for forming bars as well as closed ones.
	Partial bool
	// Gap is told about holes the adapter could not fill.
	Gap func(Gap)
}

// TradeStreamer streams live trades; after a reconnect the adapter fills the
// hole over REST so the stream has no gap.
type TradeStreamer interface {
	StreamTrades(ctx context.Context, req StreamRequest) iter.Seq2[TradeEvent, error]
}

// CandleStreamer streams live candles.
type CandleStreamer interface {
	StreamCandles(ctx context.Context, req StreamRequest) iter.Seq2[CandleEvent, error]
}

// BookStreamer streams a locally synchronised order book per symbol.
type BookStreamer interface {
	StreamBooks(ctx context.Context, req StreamRequest) iter.Seq2[BookEvent, error]
}

// OpenFunc opens a venue adapter.
type OpenFunc func(ctx context.Context, cfg Config) (Venue, error)

type entry struct {
	info Info
	open OpenFunc
}

// Registry maps venue names to adapters. The zero value is ready to use and
// safe for concurrent use.
type Registry struct {
	mu      sync.RWMutex
	entries map[string]entry
	// Getenv reads environment overrides; nil means os.Getenv.
	Getenv func(string) string
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{} }

// UnknownVenueError reports a venue name that is not registered.
type UnknownVenueError struct {
	Name  string
	Known []string
}

func (e *UnknownVenueError) Error() string {
	return fmt.Sprintf("unknown venue %q (accepted: %s)", e.Name, strings.Join(e.Known, ", "))
}

// Register adds a venue. It returns an error if the name is empty or taken.
func (r *Registry) Register(info Info, open OpenFunc) error {
	name := strings.ToLower(info.Name)
	if name == "" || open == nil {
		return fmt.Errorf("venues: register: name and open function are required")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.entries == nil {
		r.entries = map[string]entry{}
	}
	if _, dup := r.entries[name]; dup {
		return fmt.Errorf("venues: venue %q registered twice", name)
	}
	info.Name = name
	r.entries[name] = entry{info: info, open: open}
	return nil
}

// Names returns the registered venue names, sorted.
func (r *Registry) Names() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	names := make([]string, 0, len(r.entries))
	for n := range r.entries {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Info returns a venue's description.
func (r *Registry) Info(name string) (Info, error) {
	e, err := r.lookup(name)
	return e.info, err
}

// List returns every venue's description, sorted by name.
func (r *Registry) List() []Info {
	var out []Info
	for _, n := range r.Names() {
		i, _ := r.Info(n)
		out = append(out, i)
	}
	return out
}

func (r *Registry) lookup(name string) (entry, error) {
	r.mu.RLock()
	e, ok := r.entries[strings.ToLower(strings.TrimSpace(name))]
	r.mu.RUnlock()
	if !ok {
		return entry{}, &UnknownVenueError{Name: name, Known: r.Names()}
	}
	return e, nil
}

// Open opens a venue adapter. URLs are resolved in this order: cfg, then the
// environment (PYPE_<VENUE>_REST_URL, PYPE_<VENUE>_WS_URL), then the
// venue's defaults.
func (r *Registry) Open(ctx context.Context, name string, cfg Config) (Venue, error) {
	e, err := r.lookup(name)
	if err != nil {
		return nil, err
	}
	getenv := r.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	prefix := "PYPE_" + strings.ToUpper(e.info.Name) + "_"
	if cfg.RESTURL == "" {
		cfg.RESTURL = getenv(prefix + "REST_URL")
	}
	if cfg.WSURL == "" {
		cfg.WSURL = getenv(prefix + "WS_URL")
	}
	if cfg.RESTURL == "" {
		cfg.RESTURL = e.info.RESTURL
	}
	if cfg.WSURL == "" {
		cfg.WSURL = e.info.WSURL
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	v, err := e.open(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open venue %s: %w", e.info.Name, err)
	}
	return v, nil
}
