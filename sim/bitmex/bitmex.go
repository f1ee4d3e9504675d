package bitmex

import (
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/govalues/decimal"

	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/sim"
)

// Personality is the BitMEX venue. The zero value is ready to use.
type Personality struct{}

// New returns the BitMEX personality.
func New() Personality { return Personality{} }

// Name returns "bitmex".
func (Personality) Name() string { return "bitmex" }

// instrument is the static description of one simulated contract.
type instrument struct {
	venue      string // XBTUSD
	underlying string // XBT
	quote      string // USD
	settl      string // XBt or USDt
	inverse    bool
	// contract is the base amount of one contract for linear contracts
	// (XBTUSDT: 0.000001 XBT); unused for inverse ones (1 contract = 1 USD).
	contract decimal.Decimal
	// multiplier as BitMEX lists it (XBTUSD -100000000; linear: contract
	// value in settlement units).
	multiplier  int64
	maxOrderQty int64
	index       int64 // order-book level ids are (88+index)·10⁸ − price ticks
	spec        sim.SymbolSpec
}

func perp(base, quote string) domain.Symbol {
	return domain.Symbol{Base: base, Quote: quote, Market: domain.Perp}
}

func d(s string) decimal.Decimal { return decimal.MustParse(s) }

// instruments are the simulated contracts, in listing order. Quantities
// are contracts, as on BitMEX: the simulator's "lots" are contracts.
var instruments = []instrument{
	{venue: "XBTUSD", underlying: "XBT", quote: "USD", settl: "XBt", inverse: true, multiplier: -100000000, maxOrderQty: 10000000, index: 0,
		spec: sim.SymbolSpec{Symbol: perp("BTC", "USD"), TickSize: d("0.5"), LotSize: d("100"), StartPrice: d("42000"), MeanQty: d("3000"), TradesPerSecond: 2}},
	{venue: "XBTUSDT", underlying: "XBT", quote: "USDT", settl: "USDt", contract: d("0.000001"), multiplier: 1, maxOrderQty: 10000000000, index: 1,
		spec: sim.SymbolSpec{Symbol: perp("BTC", "USDT"), TickSize: d("0.5"), LotSize: d("1000"), StartPrice: d("42010"), MeanQty: d("40000"), TradesPerSecond: 1}},
	{venue: "ETHUSDT", underlying: "ETH", quote: "USDT", settl: "USDt", contract: d("0.00001"), multiplier: 1, maxOrderQty: 1000000000, index: 2,
		spec: sim.SymbolSpec{Symbol: perp("ETH", "USDT"), TickSize: d("0.05"), LotSize: d("1000"), StartPrice: d("2300"), MeanQty: d("50000"), TradesPerSecond: 1}},
	{venue: "SOLUSDT", underlying: "SOL", quote: "USDT", settl: "USDt", contract: d("0.0001"), multiplier: 1, maxOrderQty: 1000000000, index: 3,
		spec: sim.SymbolSpec{Symbol: perp("SOL", "USDT"), TickSize: d("0.01"), LotSize: d("1000"), StartPrice: d("100"), MeanQty: d("100000"), TradesPerSecond: 0.5}},
}

// Symbols returns BitMEX's simulated contracts: the perpetual swaps XBTUSD
// (inverse, BTC/USD:perp), XBTUSDT, ETHUSDT and SOLUSDT (linear).
func (Personality) Symbols() []sim.SymbolSpec {
	out := make([]sim.SymbolSpec, len(instruments))
	for i, in := range instruments {
		out[i] = in.spec
	}
	return out
}

// RateRules returns BitMEX's unauthenticated REST limit: 30 requests per
// minute.
func (Personality) RateRules() []sim.RateRule {
	return []sim.RateRule{{Name: "REQUESTS", Interval: time.Minute, Limit: 30}}
}

// Handler returns the BitMEX REST + WebSocket handler.
func (Personality) Handler(env *sim.Env) (http.Handler, error) {
	a := &api{env: env, bySym: map[string]*contract{}}
	a.bufs.New = func() any { b := make([]byte, 0, 256<<10); return &b }
	for _, in := range instruments {
		sr := env.Market.Series(in.spec.Symbol)
		if sr == nil {
			continue // the market was configured with other symbols
		}
		c := &contract{instrument: in, sr: sr}
		a.bySym[in.venue] = c
		a.order = append(a.order, c)
	}
	for _, sr := range env.Market.AllSeries() {
		if a.find(sr) == nil {
			// A symbol configured by the user: a linear perpetual named
			// BASEQUOTE (XBT for BTC).
			in := instrument{venue: venueAsset(sr.Symbol().Base) + sr.Symbol().Quote, underlying: venueAsset(sr.Symbol().Base),
				quote: sr.Symbol().Quote, settl: "USDt", contract: d("1"), multiplier: 1, maxOrderQty: 1000000000, index: int64(10 + len(a.order)), spec: sr.Spec()}
			c := &contract{instrument: in, sr: sr}
			a.bySym[in.venue] = c
			a.order = append(a.order, c)
		}
	}
	t := env.Option("streamTick", "10ms")
	var err error
	if a.streamTick, err = time.ParseDuration(t); err != nil || a.streamTick <= 0 {
		return nil, fmt.Errorf("bitmex option streamTick=%q: want a positive duration like 10ms", t)
	}
	switch v := env.Option("legacyL2", "false"); v {
	case "true", "false":
		a.legacyL2 = v == "true"
	default:
		return nil, fmt.Errorf("bitmex option legacyL2=%q: want true or false", v)
	}
	return a, nil
}

func venueAsset(a string) string {
	if a == "BTC" {
		return "XBT"
	}
	return a
}

// contract is an instrument with its market series.
type contract struct {
	instrument
	sr *sim.Series
}

type api struct {
	env        *sim.Env
	bySym      map[string]*contract
	order      []*contract
	streamTick time.Duration
	legacyL2   bool      // omit price from L2 update/delete rows (the pre-2022 feed)
	bufs       sync.Pool // response buffers
}

func (a *api) find(sr *sim.Series) *contract {
	for _, c := range a.order {
		if c.sr == sr {
			return c
		}
	}
	return nil
}

// apiError is a BitMEX error body with its HTTP status.
type apiError struct {
	status int
	name   string
	msg    string
}

func (e *apiError) Error() string { return fmt.Sprintf("%d %s %s", e.status, e.name, e.msg) }

func badRequest(format string, args ...any) *apiError {
	return &apiError{status: 400, name: "HTTPError", msg: fmt.Sprintf(format, args...)}
}

func writeError(w http.ResponseWriter, e *apiError) {
	b := []byte(`{"error":{"message":`)
	b = strconv.AppendQuote(b, e.msg)
	b = append(b, `,"name":`...)
	b = strconv.AppendQuote(b, e.name)
	b = append(b, `}}`...)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(e.status)
	_, _ = w.Write(b)
}

// forbiddenHTML is what BitMEX's load balancer answers a banned IP.
const forbiddenHTML = "<html>\r\n<head><title>403 Forbidden</title></head>\r\n<body>\r\n<center><h1>403 Forbidden</h1></center>\r\n</body>\r\n</html>\r\n"

// route is one REST endpoint.
type route func(a *api, p params, now int64, b []byte) ([]byte, *apiError)

var routes map[string]route

func init() {
	routes = map[string]route{
		"/api/v1":                   (*api).root,
		"/api/v1/":                  (*api).root,
		"/api/v1/instrument/active": (*api).instrumentsActive,
		"/api/v1/trade":             (*api).trades,
		"/api/v1/trade/bucketed":    (*api).bucketed,
		"/api/v1/orderBook/L2":      (*api).orderBookL2,
	}
}

func (a *api) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/realtime" || r.URL.Path == "/realtime/" {
		a.serveWS(w, r)
		return
	}
	rt, ok := routes[r.URL.Path]
	if !ok && !strings.HasPrefix(r.URL.Path, "/api/v1/") {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte("<html><body><h2>404 Not found</h2></body></html>"))
		return
	}
	dec := a.env.Limiter.Take(clientKey(r), 1)
	h := w.Header()
	if dec.Banned {
		h.Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write([]byte(forbiddenHTML))
		return
	}
	limit := a.env.Limiter.Rules()[0].Limit
	used := 0
	if len(dec.Used) > 0 {
		used = dec.Used[0]
	}
	nowS := a.env.Clock.Now().Unix()
	h.Set("X-RateLimit-Limit", strconv.Itoa(limit))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(max(limit-used, 0)))
	h.Set("X-RateLimit-Reset", strconv.FormatInt(nowS+int64((used*60+limit-1)/max(limit, 1)), 10))
	if !dec.Allowed {
		secs := int64(max(dec.RetryAfter/time.Second, 1))
		h.Set("Retry-After", strconv.FormatInt(secs, 10))
		writeError(w, &apiError{status: http.StatusTooManyRequests, name: "RateLimitError",
			msg: fmt.Sprintf("Rate limit exceeded, retry in %d seconds.", secs)})
		return
	}
	if !ok || (r.Method != http.MethodGet && r.Method != http.MethodHead) {
		writeError(w, &apiError{status: http.StatusNotFound, name: "HTTPError", msg: "Not Found"})
		return
	}
	p, perr := parseParams(r)
	if perr != nil {
		writeError(w, perr)
		return
	}
	bp := a.bufs.Get().(*[]byte)
	defer func() {
		if cap(*bp) <= 4<<20 {
			a.bufs.Put(bp)
		}
	}()
	body, aerr := rt(a, p, a.env.Market.NowMs(), (*bp)[:0])
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	*bp = body
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

func clientKey(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
