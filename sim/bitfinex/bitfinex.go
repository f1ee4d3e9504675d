package bitfinex

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

// Personality is the Bitfinex venue. The zero value is ready to use.
type Personality struct{}

// New returns the Bitfinex personality.
func New() Personality { return Personality{} }

// Name returns "bitfinex".
func (Personality) Name() string { return "bitfinex" }

func dec(s string) decimal.Decimal { return decimal.MustParse(s) }

// Symbols returns the simulated pairs: tBTCUSD, tETHUSD, tBTCUST
// (BTC/USDT), tETHBTC and tDOGE:USD, with Bitfinex's five significant
// digits of price precision and 8 decimals of amount.
func (Personality) Symbols() []sim.SymbolSpec {
	lot := dec("0.00000001")
	return []sim.SymbolSpec{
		{Symbol: domain.NewSymbol("BTC", "USD"), TickSize: dec("1"), LotSize: lot, StartPrice: dec("42000"), MeanQty: dec("0.02"), TradesPerSecond: 2},
		{Symbol: domain.NewSymbol("ETH", "USD"), TickSize: dec("0.1"), LotSize: lot, StartPrice: dec("2300"), MeanQty: dec("0.5"), TradesPerSecond: 1},
		{Symbol: domain.NewSymbol("BTC", "USDT"), TickSize: dec("1"), LotSize: lot, StartPrice: dec("42010"), MeanQty: dec("0.01"), TradesPerSecond: 1},
		{Symbol: domain.NewSymbol("ETH", "BTC"), TickSize: dec("0.000001"), LotSize: lot, StartPrice: dec("0.055"), MeanQty: dec("0.5"), TradesPerSecond: 0.3},
		{Symbol: domain.NewSymbol("DOGE", "USD"), TickSize: dec("0.000001"), LotSize: lot, StartPrice: dec("0.08"), MeanQty: dec("2000"), TradesPerSecond: 0.5},
	}
}

// Endpoint kinds, each limited separately.
const (
	ruleCandles = iota
	ruleTrades
	ruleBook
	ruleConf
	ruleStatus
	ruleTicker
)

// requestUnits is the cost of one request per endpoint kind under the
// single rule of RateRules (720 units per minute): candles 24 (30/min),
// trades 48 (15/min), book 3 (240/min), conf 8 (90/min), platform status
// 24 (30/min), ticker 8 (90/min). Each endpoint has its own window per
// client, so this expresses Bitfinex's per-endpoint limits with one rule —
// and sim.Config.WeightLimit scales them all (72000 = 100× the limits).
var requestUnits = [...]int{ruleCandles: 24, ruleTrades: 48, ruleBook: 3, ruleConf: 8, ruleStatus: 24, ruleTicker: 8}

// UnitsPerMinute is the limit of the rate rule: 720 units per minute per
// client and endpoint.
const UnitsPerMinute = 720

// RateRules returns the one rule behind Bitfinex's per-endpoint limits
// (requests per minute per IP: candles 30, trades 15, book 240, configs
// 90, platform status 30, ticker 90): REQUEST_UNITS, 720 per minute,
// charged per endpoint (see requestUnits).
func (Personality) RateRules() []sim.RateRule {
	return []sim.RateRule{{Name: "REQUEST_UNITS", Interval: time.Minute, Limit: UnitsPerMinute}}
}

// Handler returns the Bitfinex REST + WebSocket handler.
func (Personality) Handler(env *sim.Env) (http.Handler, error) {
	a := &api{env: env, bySym: map[string]*sim.Series{}, blocked: map[string]time.Time{}}
	for _, sr := range env.Market.AllSeries() {
		vs := venueSymbol(sr.Symbol())
		a.bySym[vs] = sr
		a.order = append(a.order, vs)
	}
	var err error
	if a.block, err = durOption(env, "blockDuration", "60s"); err != nil {
		return nil, err
	}
	if a.streamTick, err = durOption(env, "streamTick", "20ms"); err != nil || a.streamTick <= 0 {
		return nil, fmt.Errorf("bitfinex option streamTick: want a positive duration like 20ms")
	}
	if a.hbEvery, err = durOption(env, "heartbeat", "15s"); err != nil || a.hbEvery <= 0 {
		return nil, fmt.Errorf("bitfinex option heartbeat: want a positive duration like 15s")
	}
	if a.csCorruptEvery, err = intOption(env, "csCorruptEvery"); err != nil {
		return nil, err
	}
	if a.bookCorruptEvery, err = intOption(env, "bookCorruptEvery"); err != nil {
		return nil, err
	}
	if a.reconnectAfter, err = intOption(env, "reconnectAfter"); err != nil {
		return nil, err
	}
	if a.maintAfter, err = intOption(env, "maintenanceAfter"); err != nil {
		return nil, err
	}
	if a.maintFor, err = durOption(env, "maintenanceFor", "2s"); err != nil {
		return nil, err
	}
	if a.maxChannels, err = intOption(env, "maxChannels"); err != nil {
		return nil, err
	}
	if a.maxChannels == 0 {
		a.maxChannels = 25
	}
	return a, nil
}

func durOption(env *sim.Env, key, def string) (time.Duration, error) {
	v := env.Option(key, def)
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("bitfinex option %s=%q: want a duration like %s", key, v, def)
	}
	return d, nil
}

func intOption(env *sim.Env, key string) (int, error) {
	v := env.Option(key, "0")
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("bitfinex option %s=%q: want a count ≥ 0", key, v)
	}
	return n, nil
}

// currencyCode maps usual currency codes to Bitfinex's.
var currencyCode = map[string]string{"USDT": "UST", "USDC": "UDC", "TUSD": "TSD", "DASH": "DSH", "IOTA": "IOT"}

func code(c string) string {
	if v, ok := currencyCode[c]; ok {
		return v
	}
	return c
}

// pairName is the conf name of a symbol: BTCUSD, BTCUST, DOGE:USD.
func pairName(s domain.Symbol) string {
	b, q := code(s.Base), code(s.Quote)
	if len(b) == 3 && len(q) == 3 {
		return b + q
	}
	return b + ":" + q
}

func venueSymbol(s domain.Symbol) string { return "t" + pairName(s) }

type api struct {
	env              *sim.Env
	bySym            map[string]*sim.Series
	order            []string
	block            time.Duration
	streamTick       time.Duration
	hbEvery          time.Duration
	csCorruptEvery   int
	bookCorruptEvery int
	reconnectAfter   int
	maintAfter       int
	maintFor         time.Duration
	maxChannels      int

	mu      sync.Mutex
	blocked map[string]time.Time // ip|rule → end of a 60 s block
	chanSeq int64
}

// apiError is a Bitfinex error: ["error", code, "msg"] with an HTTP status.
type apiError struct {
	status int
	code   int
	msg    string
}

func errParams(msg string) *apiError { return &apiError{status: 500, code: 10020, msg: msg} }

func writeError(w http.ResponseWriter, e *apiError) {
	b := []byte(`["error",`)
	b = strconv.AppendInt(b, int64(e.code), 10)
	b = append(b, ',')
	b = strconv.AppendQuote(b, e.msg)
	b = append(b, ']')
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(e.status)
	_, _ = w.Write(b)
}

func clientKey(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// route is one REST route: its rate-limit rule and handler.
type route struct {
	rule  int
	serve func(a *api, rest string, r *http.Request, now int64, b []byte) ([]byte, *apiError)
}

// routeOf finds the route of a path below /v2.
func routeOf(path string) (route, string, bool) {
	prefixes := []struct {
		p string
		r route
	}{
		{"/candles/", route{ruleCandles, (*api).candles}},
		{"/trades/", route{ruleTrades, (*api).trades}},
		{"/book/", route{ruleBook, (*api).book}},
		{"/conf/", route{ruleConf, (*api).conf}},
		{"/ticker/", route{ruleTicker, (*api).ticker}},
	}
	if path == "/platform/status" {
		return route{ruleStatus, (*api).status}, "", true
	}
	for _, x := range prefixes {
		if rest, ok := strings.CutPrefix(path, x.p); ok {
			return x.r, rest, true
		}
	}
	return route{}, "", false
}

const notFoundHTML = "<!DOCTYPE html><html><head><title>Bitfinex</title></head><body><h1>404 Not Found</h1></body></html>"

func (a *api) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	if path == "/ws/2" || path == "/ws" {
		a.serveWS(w, r)
		return
	}
	rel, ok := strings.CutPrefix(path, "/v2")
	var rt route
	var rest string
	if ok {
		rt, rest, ok = routeOf(rel)
	}
	if !ok || (r.Method != http.MethodGet && r.Method != http.MethodHead) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(notFoundHTML))
		return
	}
	if !a.allow(clientKey(r), rt.rule) {
		writeError(w, &apiError{status: http.StatusTooManyRequests, code: 11010, msg: "ratelimit: error"})
		return
	}
	body, aerr := rt.serve(a, rest, r, a.env.Market.NowMs(), make([]byte, 0, 4096))
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

// allow charges a request to its endpoint's window for the client. Over
// the limit the endpoint is blocked for the client for a.block (60 s), as
// Bitfinex does; injected 429s (faults) do not block.
func (a *api) allow(ip string, rule int) bool {
	key := ip + "|" + strconv.Itoa(rule)
	now := a.env.Clock.Now()
	a.mu.Lock()
	until, blocked := a.blocked[key]
	a.mu.Unlock()
	if blocked && now.Before(until) {
		a.env.Stats.Fault("429_blocked")
		return false
	}
	d := a.env.Limiter.Take(key, requestUnits[rule])
	if d.Allowed {
		return true
	}
	if !d.Forced && a.block > 0 {
		a.mu.Lock()
		a.blocked[key] = now.Add(a.block)
		a.mu.Unlock()
	}
	return false
}
