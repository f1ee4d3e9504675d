package sim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"
)

// Personality is one venue's wire format on top of the core. Personalities
// are stateless values; Handler is called once per server start.
type Personality interface {
	// Name is the venue id ("binance"), used in flags, URLs and seeds.
	Name() string
	// Symbols returns the venue's default instruments (nil: DefaultSymbols).
	Symbols() []SymbolSpec
	// RateRules returns the venue's published request-rate rules; the
	// first is the one Config.WeightLimit overrides.
	RateRules() []RateRule
	// Handler returns the handler of the venue's REST and WebSocket API.
	// Long-lived handlers (WebSocket streams) must end when env.Done()
	// closes. Paths under /_sim/ are reserved for the core.
	Handler(env *Env) (http.Handler, error)
}

// Env is what the core gives a personality: the venue's market, faults,
// limiter, stats and settings.
type Env struct {
	Venue        string
	Market       *Market
	Faults       *FaultInjector
	Limiter      *Limiter
	Stats        *Stats
	Clock        Clock
	Log          *slog.Logger
	PingInterval time.Duration     // WebSocket server ping interval
	Options      map[string]string // venue options, keys without the "venue." prefix
	ctx          context.Context
	wg           sync.WaitGroup
}

// Track registers a long-lived goroutine or handler (a WebSocket
// connection); call done when it ends. [Server.Close] waits for all of them
// after closing Done.
func (e *Env) Track() (done func()) {
	e.wg.Add(1)
	var once sync.Once
	return func() { once.Do(e.wg.Done) }
}

// Done is closed when the server shuts down.
func (e *Env) Done() <-chan struct{} { return e.ctx.Done() }

// Context is cancelled when the server shuts down.
func (e *Env) Context() context.Context { return e.ctx }

// Option returns the venue option key, or def.
func (e *Env) Option(key, def string) string {
	if v, ok := e.Options[key]; ok {
		return v
	}
	return def
}

// ServerTimeMs is the venue's clock: the virtual now plus any injected
// clock skew.
func (e *Env) ServerTimeMs() int64 {
	return e.Market.NowMs() + e.Faults.ClockSkew().Milliseconds()
}

// NewEnv builds an Env outside a [Server] (for personality unit tests).
// Zero fields of cfg take their defaults.
func NewEnv(ctx context.Context, p Personality, cfg Config) (*Env, error) {
	cfg = cfg.withDefaults()
	return newEnv(ctx, p, cfg)
}

func newEnv(ctx context.Context, p Personality, cfg Config) (*Env, error) {
	name := p.Name()
	specs := cfg.Symbols[name]
	if len(specs) == 0 {
		specs = p.Symbols()
	}
	if len(specs) == 0 {
		specs = DefaultSymbols()
	}
	if cfg.TradesPerSecond > 0 {
		specs = append([]SymbolSpec(nil), specs...)
		for i := range specs {
			specs[i].TradesPerSecond = cfg.TradesPerSecond
		}
	}
	m, err := NewMarket(MarketConfig{Venue: name, Seed: cfg.Seed, Now: cfg.Now, History: cfg.History, Speed: cfg.Speed,
		Frozen: cfg.Frozen, Clock: cfg.Clock, Symbols: specs})
	if err != nil {
		return nil, fmt.Errorf("sim: %s: %w", name, err)
	}
	stats := NewStats()
	f, ok := cfg.Faults[name]
	if !ok {
		f = cfg.Faults["*"]
	}
	fi := NewFaultInjector(f, cfg.Seed^hashString(name), stats)
	lc := cfg.Limits
	lc.Rules = append([]RateRule(nil), p.RateRules()...)
	if cfg.WeightLimit > 0 && len(lc.Rules) > 0 {
		lc.Rules[0].Limit = cfg.WeightLimit
	}
	opts := map[string]string{}
	for k, v := range cfg.Options {
		if rest, ok := strings.CutPrefix(k, name+"."); ok {
			opts[rest] = v
		}
	}
	return &Env{Venue: name, Market: m, Faults: fi, Limiter: NewLimiter(lc, cfg.Clock, fi, stats), Stats: stats,
		Clock: cfg.Clock, Log: cfg.Logger.With("venue", name), PingInterval: cfg.PingInterval, Options: opts, ctx: ctx}, nil
}

// Registry maps venue names to personalities. Build one with
// [NewRegistry]; sim/simvenues provides the one with every venue.
type Registry struct {
	mu sync.RWMutex
	m  map[string]Personality
}

// NewRegistry returns a registry holding ps.
func NewRegistry(ps ...Personality) *Registry {
	r := &Registry{m: map[string]Personality{}}
	for _, p := range ps {
		if err := r.Register(p); err != nil {
			panic(err)
		}
	}
	return r
}

// Register adds p; a duplicate name is an error.
func (r *Registry) Register(p Personality) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.m[p.Name()]; dup {
		return fmt.Errorf("sim: venue %q registered twice", p.Name())
	}
	r.m[p.Name()] = p
	return nil
}

// Get returns the personality of venue.
func (r *Registry) Get(venue string) (Personality, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	p, ok := r.m[venue]
	return p, ok
}

// Names returns the registered venue names, sorted.
func (r *Registry) Names() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]string, 0, len(r.m))
	for k := range r.m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Config configures a simulator [Server]. The zero value (with a
// Registry) runs every registered venue on 127.0.0.1 with random ports,
// seed 0, 30 days of history up to the wall-clock now.
type Config struct {
	Registry *Registry
	Venues   []string          // default: all registered
	Listen   map[string]string // venue → host:port (port 0 = any); default 127.0.0.1:0
	Seed     uint64
	Now      time.Time     // virtual now at start (zero: wall clock)
	History  time.Duration // default 30 days
	Speed    float64       // virtual seconds per wall second (default 1)
	Frozen   bool          // stop the virtual clock at Now
	Clock    Clock         // default WallClock
	// TradesPerSecond overrides every symbol's rate when > 0.
	TradesPerSecond float64
	// Symbols overrides a venue's instruments.
	Symbols map[string][]SymbolSpec
	// Faults per venue; the key "*" applies to venues not listed.
	Faults map[string]Faults
	// WeightLimit overrides the venue's first rate rule (Binance:
	// REQUEST_WEIGHT per minute) when > 0.
	WeightLimit int
	// Limits sets ban escalation and can disable enforcement.
	Limits LimiterConfig
	// PingInterval is the WebSocket server ping interval (default 20 s).
	PingInterval time.Duration
	// Options are venue options "venue.key" → value (see each venue's doc).
	Options map[string]string
	Logger  *slog.Logger
	// Prewarm generates the candle aggregates of the whole history in the
	// background after start (see [Market.Prewarm]), so a first candle
	// backfill is as fast as later ones. It costs CPU at start (about 0.4 s
	// for 30 days of the four default symbols, spread over the cores).
	Prewarm bool
}

func (c Config) withDefaults() Config {
	if c.Clock == nil {
		c.Clock = WallClock
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.PingInterval <= 0 {
		c.PingInterval = 20 * time.Second
	}
	if c.Now.IsZero() {
		c.Now = c.Clock.Now()
	}
	return c
}

// Venue is one running venue listener.
type Venue struct {
	Name    string
	Addr    string // bound host:port
	RESTURL string // http://host:port
	WSURL   string // ws://host:port
	Env     *Env
	srv     *http.Server
	ln      net.Listener
}

// Truth returns the venue's ground truth.
func (v *Venue) Truth() *Truth { return &Truth{m: v.Env.Market} }

// SetFaults replaces the venue's injected faults.
func (v *Venue) SetFaults(f Faults) { v.Env.Faults.Set(f) }

// Stats returns a snapshot of the venue's counters.
func (v *Venue) Stats() StatsSnapshot {
	s := v.Env.Stats.Snapshot()
	s.Venue = v.Name
	return s
}

// Server is a running simulator: one listener per venue.
type Server struct {
	venues []*Venue
	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once
}

// Start starts a listener per venue and returns once all are bound.
func Start(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.Registry == nil {
		return nil, errors.New("sim: Config.Registry is nil (use simvenues.Registry())")
	}
	cfg = cfg.withDefaults()
	names := cfg.Venues
	if len(names) == 0 {
		names = cfg.Registry.Names()
	}
	if len(names) == 0 {
		return nil, errors.New("sim: no venue to run")
	}
	for k := range cfg.Listen {
		if !contains(names, k) {
			return nil, fmt.Errorf("sim: --listen names venue %q which is not running (running: %s)", k, strings.Join(names, ", "))
		}
	}
	sctx, cancel := context.WithCancel(context.Background())
	s := &Server{cancel: cancel}
	for _, name := range names {
		p, ok := cfg.Registry.Get(name)
		if !ok {
			s.Close()
			return nil, fmt.Errorf("sim: unknown venue %q (known: %s)", name, strings.Join(cfg.Registry.Names(), ", "))
		}
		env, err := newEnv(sctx, p, cfg)
		if err != nil {
			s.Close()
			return nil, err
		}
		h, err := p.Handler(env)
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("sim: %s: %w", name, err)
		}
		addr := cfg.Listen[name]
		if addr == "" {
			addr = "127.0.0.1:0"
		}
		var lc net.ListenConfig
		ln, err := lc.Listen(ctx, "tcp", addr)
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("sim: %s: listen %s: %w", name, addr, err)
		}
		v := &Venue{Name: name, Addr: ln.Addr().String(), Env: env, ln: ln}
		v.RESTURL, v.WSURL = "http://"+v.Addr, "ws://"+v.Addr
		v.srv = &http.Server{Handler: coreHandler(v, h), ReadHeaderTimeout: 10 * time.Second,
			ErrorLog:    slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelDebug),
			BaseContext: func(net.Listener) context.Context { return sctx }}
		s.venues = append(s.venues, v)
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			_ = v.srv.Serve(ln)
		}()
		if cfg.Prewarm {
			done := env.Track()
			go func() {
				defer done()
				_ = env.Market.Prewarm(sctx, 0)
			}()
		}
	}
	return s, nil
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// Venues returns the running venues in start order.
func (s *Server) Venues() []*Venue { return s.venues }

// Venue returns the running venue name, or nil.
func (s *Server) Venue(name string) *Venue {
	for _, v := range s.venues {
		if v.Name == name {
			return v
		}
	}
	return nil
}

// Close stops every listener, ends WebSocket streams and waits for the
// servers to finish.
func (s *Server) Close() error {
	var err error
	s.once.Do(func() {
		s.cancel()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		for _, v := range s.venues {
			if e := v.srv.Shutdown(ctx); e != nil {
				_ = v.srv.Close()
				err = errors.Join(err, e)
			}
		}
		s.wg.Wait()
		for _, v := range s.venues {
			v.Env.wg.Wait()
		}
	})
	return err
}

// Run starts the simulator, prints one line per venue to out
// ("binance rest=http://127.0.0.1:PORT ws=ws://127.0.0.1:PORT"), and blocks
// until ctx ends; then it shuts down.
func Run(ctx context.Context, cfg Config, out io.Writer) error {
	s, err := Start(ctx, cfg)
	if err != nil {
		return err
	}
	for _, v := range s.venues {
		fmt.Fprintf(out, "%s rest=%s ws=%s\n", v.Name, v.RESTURL, v.WSURL)
	}
	<-ctx.Done()
	return s.Close()
}

// coreHandler adds the /_sim/ routes, stats and faults around the
// personality's handler.
func coreHandler(v *Venue, h http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /_sim/stats", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, v.Stats())
	})
	mux.HandleFunc("GET /_sim/faults", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]string{"faults": v.Env.Faults.Get().String()})
	})
	mux.HandleFunc("POST /_sim/faults", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<16))
		spec := r.URL.Query().Get("set")
		if spec == "" {
			spec = strings.TrimSpace(string(body))
		}
		f, err := ParseFaults(spec)
		if err != nil {
			writeJSON(w, 400, map[string]string{"error": err.Error()})
			return
		}
		v.Env.Faults.Set(f)
		writeJSON(w, 200, map[string]string{"faults": f.String()})
	})
	mux.HandleFunc("GET /_sim/info", func(w http.ResponseWriter, r *http.Request) {
		m := v.Env.Market
		var syms []string
		for _, sr := range m.AllSeries() {
			syms = append(syms, sr.Symbol().String())
		}
		writeJSON(w, 200, map[string]any{"venue": v.Name, "now_ms": m.NowMs(), "history_start_ms": m.StartMs(),
			"speed": m.Speed(), "symbols": syms, "faults": v.Env.Faults.Get().String()})
	})
	truthRoutes(mux, v)
	mux.Handle("/", v.Env.Faults.Middleware(h))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/_sim/") {
			v.Env.Stats.Request(r.URL.Path)
		}
		mux.ServeHTTP(w, r)
	})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}
