package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/store"
	"github.com/pype-go/pype/venues"
)

// DefaultContiguousIDVenues are the venues whose public trade ids (as pype
// stores them) are consecutive integers, so a jump in ids is a lost trade:
// Binance aggregate-trade ids and Coinbase trade ids.
var DefaultContiguousIDVenues = []string{"binance", "coinbase"}

// App runs pype's operations. The zero value is not usable: set at least
// Venues and DataDir. An App is safe for concurrent use by several
// operations.
type App struct {
	// Venues finds venue adapters by name.
	Venues *venues.Registry
	// DataDir is the store's directory.
	DataDir string
	// StoreOptions tunes the Parquet store. Its Now and Logger default to
	// the App's.
	StoreOptions store.Options
	// Runs records backfill and stream runs; nil disables run history.
	Runs RunRecorder
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// Now is the clock (nil: time.Now). Backfills never ask a venue for bars
	// that have not closed or trades that are not settled at Now.
	Now func() time.Time
	// ToolVersion is recorded in provenance.
	ToolVersion string
	// ContiguousIDs reports whether a venue's trade ids are contiguous;
	// nil means membership in DefaultContiguousIDVenues.
	ContiguousIDs func(venue string) bool
	// TradeSettle is how far behind Now a trade backfill stops, so trades
	// still in flight at the venue are not declared complete. Zero means 2 s;
	// negative means none.
	TradeSettle time.Duration
}

func (a *App) log() *slog.Logger {
	if a.Logger != nil {
		return a.Logger
	}
	return slog.Default()
}

func (a *App) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

func (a *App) contiguous(venue string) bool {
	if a.ContiguousIDs != nil {
		return a.ContiguousIDs(venue)
	}
	return slices.Contains(DefaultContiguousIDVenues, strings.ToLower(venue))
}

func (a *App) tradeSettle() time.Duration {
	switch {
	case a.TradeSettle < 0:
		return 0
	case a.TradeSettle == 0:
		return 2 * time.Second
	}
	return a.TradeSettle
}

// OpenStore opens (creating if needed) the data directory for writing.
func (a *App) OpenStore() (*store.Store, error) {
	opts := a.StoreOptions
	if opts.Now == nil {
		opts.Now = a.now
	}
	if opts.Logger == nil {
		opts.Logger = a.log()
	}
	return store.Open(a.DataDir, opts)
}

// openStoreRead opens the data directory for reading. A directory that does
// not exist yields (nil, nil): there is no data yet.
func (a *App) openStoreRead() (*store.Store, error) {
	st, err := os.Stat(a.DataDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err == nil && !st.IsDir() {
		return nil, &store.DataDirError{Dir: a.DataDir, Err: errors.New("not a directory")}
	}
	return a.OpenStore()
}

// openVenue opens a venue adapter and returns it with its effective REST
// base URL (for provenance).
func (a *App) openVenue(ctx context.Context, name string, cfg venues.Config) (venues.Venue, string, error) {
	if a.Venues == nil {
		return nil, "", errors.New("app: no venue registry configured")
	}
	info, err := a.Venues.Info(name)
	if err != nil {
		return nil, "", err
	}
	if cfg.Logger == nil {
		cfg.Logger = a.log()
	}
	rest := cfg.RESTURL
	if rest == "" {
		getenv := a.Venues.Getenv
		if getenv == nil {
			getenv = os.Getenv
		}
		rest = getenv("PYPE_" + strings.ToUpper(info.Name) + "_REST_URL")
	}
	if rest == "" {
		rest = info.RESTURL
	}
	v, err := a.Venues.Open(ctx, name, cfg)
	if err != nil {
		return nil, "", err
	}
	return v, rest, nil
}

// sourceOf returns the host of a base URL for provenance ("api.binance.com").
func sourceOf(base string) string {
	u, err := url.Parse(base)
	if err != nil || u.Host == "" {
		return base
	}
	return u.Host
}

// NewRunID returns a sortable, readable run id: 20240201T120000Z-1a2b3c.
func NewRunID(now time.Time) string {
	var b [3]byte
	_, _ = rand.Read(b[:])
	return now.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b[:])
}

// UnknownSymbolError reports a symbol the venue does not list.
type UnknownSymbolError struct {
	Venue   string
	Symbol  domain.Symbol
	Similar []string // listed symbols with the same base or quote, a few
}

func (e *UnknownSymbolError) Error() string {
	msg := fmt.Sprintf("unknown symbol %s on %s", e.Symbol, e.Venue)
	if len(e.Similar) > 0 {
		msg += " (similar listed symbols: " + strings.Join(e.Similar, ", ") + ")"
	}
	return msg
}

// HistoryError reports a requested range a venue cannot serve because it
// keeps only recent history (or none) for that data type.
type HistoryError struct {
	Venue    string
	Type     domain.DataType
	Span     domain.Span
	From     int64 // requested start (ns)
	Earliest int64 // earliest instant served (ns); 0 if none at all
	Count    int   // the venue keeps only this many recent rows (when not by time)
	Detail   string
}

func (e *HistoryError) Error() string {
	what := string(e.Type)
	if e.Type.HasSpan() {
		what += " " + e.Span.String()
	}
	if e.Earliest == 0 && e.Count > 0 {
		return fmt.Sprintf("%s serves only its most recent %d %s over REST, so no range of history can be backfilled completely%s; record them live with pype stream --type %s",
			e.Venue, e.Count, what, suffix(e.Detail), e.Type)
	}
	if e.Earliest == 0 {
		return fmt.Sprintf("%s keeps no %s history over REST%s", e.Venue, what, suffix(e.Detail))
	}
	return fmt.Sprintf("%s serves %s only from %s on (recent history only), but --from is %s; use a later --from%s",
		e.Venue, what, domain.FormatNs(e.Earliest), domain.FormatNs(e.From), suffix(e.Detail))
}

// Unwrap makes errors.Is(err, domain.ErrNoCapability) true.
func (e *HistoryError) Unwrap() error { return domain.ErrNoCapability }

func suffix(s string) string {
	if s == "" {
		return ""
	}
	return " (" + s + ")"
}

// InputError reports an invalid request field.
type InputError struct {
	Field string
	Msg   string
}

func (e *InputError) Error() string { return e.Field + ": " + e.Msg }

// IsUsageError reports whether err was caused by bad input (unknown venue,
// symbol, span or data type, an invalid time or range, a capability or
// history the venue does not offer) rather than a runtime failure.
func IsUsageError(err error) bool {
	var (
		uv *venues.UnknownVenueError
		us *UnknownSymbolError
		se *domain.SymbolError
		sp *domain.SpanError
		te *domain.TimeError
		re *domain.RangeError
		ie *InputError
	)
	return errors.As(err, &uv) || errors.As(err, &us) || errors.As(err, &se) || errors.As(err, &sp) ||
		errors.As(err, &te) || errors.As(err, &re) || errors.As(err, &ie) || errors.Is(err, domain.ErrNoCapability)
}

// datasetID builds and validates the id of a dataset.
func datasetID(venue string, sym domain.Symbol, t domain.DataType, span domain.Span) (domain.DatasetID, error) {
	id := domain.DatasetID{Venue: strings.ToLower(venue), Symbol: sym, Type: t}
	if t.HasSpan() {
		if !span.Valid() {
			return id, &InputError{Field: "span", Msg: fmt.Sprintf("%s needs a span (e.g. 1m, 1h, 1d)", t)}
		}
		id.Span = span
	}
	return id, id.Validate()
}
