package bybit

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/govalues/decimal"
	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/sim"
)

// Personality is the Bybit v5 venue. The zero value is ready to use.
type Personality struct{}

// New returns the Bybit personality.
func New() Personality { return Personality{} }

// Name returns "bybit".
func (Personality) Name() string { return "bybit" }

// Symbols returns the simulated instruments: the default spot symbols and
// the USDT perpetuals BTC/USDT:perp and ETH/USDT:perp.
func (Personality) Symbols() []sim.SymbolSpec {
	d := func(s string) decimal.Decimal { return decimal.MustParse(s) }
	perp := func(base, quote string) domain.Symbol {
		return domain.Symbol{Base: base, Quote: quote, Market: domain.Perp}
	}
	return append(sim.DefaultSymbols(),
		sim.SymbolSpec{Symbol: perp("BTC", "USDT"), TickSize: d("0.1"), LotSize: d("0.001"), StartPrice: d("42010"),
			MeanQty: d("0.05"), TradesPerSecond: 3},
		sim.SymbolSpec{Symbol: perp("ETH", "USDT"), TickSize: d("0.01"), LotSize: d("0.01"), StartPrice: d("2301"),
			MeanQty: d("1"), TradesPerSecond: 2},
	)
}

// IPLimit is Bybit's HTTP limit per IP: 600 requests per 5 s window.
const (
	IPLimit  = 600
	IPWindow = 5 * time.Second
)

// RateRules returns Bybit's published IP limit: 600 requests per 5 s.
func (Personality) RateRules() []sim.RateRule {
	return []sim.RateRule{{Name: "IP", Interval: IPWindow, Limit: IPLimit}}
}

// endpointLimit is the per-second endpoint limit a forced retCode 10006
// reports in X-Bapi-Limit.
const endpointLimit = 10

// Categories.
const (
	catSpot    = "spot"
	catLinear  = "linear"
	catInverse = "inverse"
)

// instrument is one simulated instrument with its Bybit names.
type instrument struct {
	sr       *sim.Series
	cat      string
	name     string // BTCUSDT, BTCUSD
	pxDec    int    // decimals printed for prices (the tick's)
	qtyDec   int    // decimals printed for sizes (the lot's)
	quoteDec int
}

// categoryOf returns the Bybit category serving sym.
func categoryOf(sym domain.Symbol) string {
	switch {
	case sym.Market == domain.Spot:
		return catSpot
	case sym.Quote == "USD":
		return catInverse
	}
	return catLinear
}

// VenueSymbol returns the Bybit name of a simulated symbol (BTCUSDT,
// BTCUSD) and its category.
func VenueSymbol(sym domain.Symbol) (category, name string) {
	return categoryOf(sym), sym.Base + sym.Quote
}

// TradeID returns the public trade id ("i", "execId") Bybit's simulator
// gives the sim trade id in a category: the decimal id on spot, a
// UUID-shaped string derived from it on linear and inverse (as Bybit's
// derivative trade ids are UUIDs). Tests use it to compare with the truth.
func TradeID(category string, id int64) string {
	if category == catSpot {
		return strconv.FormatInt(id, 10)
	}
	return string(appendUUID(nil, id))
}

func appendUUID(b []byte, id int64) []byte {
	h1 := mix(uint64(id) ^ 0x6279626974)
	h2 := mix(h1 ^ uint64(id))
	const hexd = "0123456789abcdef"
	put := func(v uint64, n int) {
		for i := n - 1; i >= 0; i-- {
			b = append(b, hexd[(v>>(4*uint(i)))&15])
		}
	}
	put(h1>>32, 8)
	b = append(b, '-')
	put(h1>>16, 4)
	b = append(b, '-', '5')
	put(h1, 3)
	b = append(b, '-')
	put(8|(h2>>60)&3, 1)
	put(h2>>48, 3)
	b = append(b, '-')
	put(h2, 12)
	return b
}

func mix(z uint64) uint64 {
	z += 0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

func decimalsOf(d decimal.Decimal) int { return d.Trim(0).Scale() }

type api struct {
	env          *sim.Env
	byCat        map[string]map[string]*instrument // category → name → instrument
	order        []*instrument
	streamTick   time.Duration
	restartEvery int
	bufs         sync.Pool
	candles      sync.Pool
	connSeq      uint64
	connMu       sync.Mutex
}

// Handler returns the Bybit REST + WebSocket handler.
func (Personality) Handler(env *sim.Env) (http.Handler, error) {
	a := &api{env: env, byCat: map[string]map[string]*instrument{catSpot: {}, catLinear: {}, catInverse: {}}}
	a.bufs.New = func() any { b := make([]byte, 0, 128<<10); return &b }
	a.candles.New = func() any { c := make([]sim.Candle, 0, 1000); return &c }
	for _, sr := range env.Market.AllSeries() {
		spec := sr.Spec()
		cat, name := VenueSymbol(sr.Symbol())
		in := &instrument{sr: sr, cat: cat, name: name, pxDec: decimalsOf(spec.TickSize), qtyDec: decimalsOf(spec.LotSize)}
		in.quoteDec = min(in.pxDec+in.qtyDec, 8)
		if _, dup := a.byCat[cat][name]; dup {
			return nil, fmt.Errorf("bybit: two simulated instruments named %s in category %s", name, cat)
		}
		a.byCat[cat][name] = in
		a.order = append(a.order, in)
	}
	t := env.Option("streamTick", "20ms")
	var err error
	if a.streamTick, err = time.ParseDuration(t); err != nil || a.streamTick <= 0 {
		return nil, fmt.Errorf("bybit option streamTick=%q: want a positive duration like 20ms", t)
	}
	r := env.Option("restartEvery", "0")
	if a.restartEvery, err = strconv.Atoi(r); err != nil || a.restartEvery < 0 {
		return nil, fmt.Errorf("bybit option restartEvery=%q: want a count of deltas ≥ 0 (0 = never)", r)
	}
	return a, nil
}

// apiError is a Bybit error: retCode/retMsg inside an HTTP 200 body unless
// status says otherwise.
type apiError struct {
	status int // 0 = 200
	code   int
	msg    string
}

func (e *apiError) Error() string { return fmt.Sprintf("%d %s", e.code, e.msg) }

func paramErr(format string, args ...any) *apiError {
	return &apiError{code: 10001, msg: fmt.Sprintf(format, args...)}
}

var (
	errSymbol   = paramErr("Not supported symbols")
	errCategory = paramErr("Illegal category")
	errInterval = paramErr("Invalid period!")
)

// params is a parsed query string.
type params struct{ v url.Values }

func (p params) str(name string) string { return p.v.Get(name) }

// long reads an optional integer parameter.
func (p params) long(name string) (int64, bool, *apiError) {
	s := p.str(name)
	if s == "" {
		return 0, false, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, false, paramErr("params error: %s invalid", name)
	}
	return n, true, nil
}

// limit reads limit: default def, valid 1…max.
func (p params) limit(def, maxN int) (int, *apiError) {
	n, ok, err := p.long("limit")
	if err != nil {
		return 0, err
	}
	if !ok {
		return def, nil
	}
	if n < 1 || n > int64(maxN) {
		return 0, paramErr("params error: limit must be in [1, %d]", maxN)
	}
	return int(n), nil
}

// category reads category (default linear, as on Bybit).
func (p params) category() (string, *apiError) {
	c := p.str("category")
	switch c {
	case "":
		return catLinear, nil
	case catSpot, catLinear, catInverse:
		return c, nil
	}
	return "", errCategory
}

// instrument reads category and the mandatory symbol.
func (a *api) instrument(p params) (*instrument, *apiError) {
	cat, err := p.category()
	if err != nil {
		return nil, err
	}
	s := p.str("symbol")
	if s == "" {
		return nil, paramErr("params error: symbol is required")
	}
	in := a.byCat[cat][s]
	if in == nil {
		return nil, errSymbol
	}
	return in, nil
}

type endpoint func(a *api, p params, now int64, b []byte) ([]byte, *apiError)

var endpoints = map[string]endpoint{
	"/v5/market/time":             (*api).time,
	"/v5/market/instruments-info": (*api).instruments,
	"/v5/market/kline":            (*api).kline,
	"/v5/market/recent-trade":     (*api).recentTrade,
	"/v5/market/orderbook":        (*api).orderbook,
}

func (a *api) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	if cat, ok := strings.CutPrefix(path, "/v5/public/"); ok {
		a.serveWS(w, r, cat)
		return
	}
	ep, ok := endpoints[path]
	h := w.Header()
	if !ok || (r.Method != http.MethodGet && r.Method != http.MethodHead) {
		h.Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(`{"retCode":404,"retMsg":"Not Found"}`))
		return
	}
	d := a.env.Limiter.Take(clientKey(r), 1)
	lim := a.env.Limiter.Rules()[0].Limit
	used := 0
	if len(d.Used) > 0 {
		used = d.Used[0]
	}
	nowMs := a.env.ServerTimeMs()
	h.Set("X-Bapi-Limit", strconv.Itoa(lim))
	h.Set("X-Bapi-Limit-Status", strconv.Itoa(max(lim-used, 0)))
	h.Set("X-Bapi-Limit-Reset-Timestamp", strconv.FormatInt(nowMs, 10))
	h.Set("Content-Type", "application/json; charset=utf-8")
	if !d.Allowed {
		switch {
		case d.Forced && (d.RetryAfter/time.Second)%2 == 0:
			// As a per-second endpoint limit (Bybit's per-UID limits)
			// refuses: its own limit in the headers, nothing left.
			h.Set("X-Bapi-Limit", strconv.Itoa(endpointLimit))
			h.Set("X-Bapi-Limit-Status", "0")
			// Bybit's API limits are per-second windows: come back at the
			// next second.
			h.Set("X-Bapi-Limit-Reset-Timestamp", strconv.FormatInt((nowMs/1000+1)*1000, 10))
			a.writeEnvelope(w, 0, 10006, "Too many visits!", nil)
		case d.Forced:
			h.Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(http.StatusTooManyRequests)
			_, _ = w.Write([]byte("System level frequency protection. Please retry."))
		default:
			h.Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(http.StatusForbidden)
			_, _ = w.Write([]byte("access too frequent"))
		}
		return
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		a.writeEnvelope(w, 0, 10001, "params error: malformed query", nil)
		return
	}
	bp := a.bufs.Get().(*[]byte)
	defer func() {
		if cap(*bp) <= 4<<20 {
			a.bufs.Put(bp)
		}
	}()
	body, aerr := ep(a, params{q}, a.env.Market.NowMs(), (*bp)[:0])
	if aerr != nil {
		a.writeEnvelope(w, aerr.status, aerr.code, aerr.msg, nil)
		return
	}
	*bp = body
	a.writeEnvelope(w, 0, 0, "OK", body)
}

// writeEnvelope writes {"retCode":…,"retMsg":…,"result":…,"retExtInfo":{},
// "time":…} with HTTP status (0 = 200); a nil result is {}.
func (a *api) writeEnvelope(w http.ResponseWriter, status, code int, msg string, result []byte) {
	b := make([]byte, 0, len(result)+128)
	b = append(b, `{"retCode":`...)
	b = strconv.AppendInt(b, int64(code), 10)
	b = append(b, `,"retMsg":`...)
	b = strconv.AppendQuote(b, msg)
	b = append(b, `,"result":`...)
	if result == nil {
		b = append(b, "{}"...)
	} else {
		b = append(b, result...)
	}
	b = append(b, `,"retExtInfo":{},"time":`...)
	b = strconv.AppendInt(b, a.env.ServerTimeMs(), 10)
	b = append(b, '}')
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	if status != 0 {
		w.WriteHeader(status)
	}
	_, _ = w.Write(b)
}

func clientKey(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
