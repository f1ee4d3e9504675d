package coinbase

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

// Personality is the Coinbase Exchange venue. The zero value is ready to
// use.
type Personality struct{}

// New returns the Coinbase personality.
func New() Personality { return Personality{} }

// Name returns "coinbase".
func (Personality) Name() string { return "coinbase" }

// Symbols returns Coinbase's simulated products: BTC-USD, ETH-USD, ETH-BTC
// and SOL-USD, with Coinbase's increments (base amounts to 8 decimals).
func (Personality) Symbols() []sim.SymbolSpec {
	return []sim.SymbolSpec{
		{Symbol: domain.NewSymbol("BTC", "USD"), TickSize: dec("0.01"), LotSize: dec("0.00000001"),
			StartPrice: dec("42000"), MeanQty: dec("0.02"), TradesPerSecond: 2},
		{Symbol: domain.NewSymbol("ETH", "USD"), TickSize: dec("0.01"), LotSize: dec("0.00000001"),
			StartPrice: dec("2300"), MeanQty: dec("0.5"), TradesPerSecond: 1.5},
		{Symbol: domain.NewSymbol("ETH", "BTC"), TickSize: dec("0.00001"), LotSize: dec("0.00000001"),
			StartPrice: dec("0.055"), MeanQty: dec("0.5"), TradesPerSecond: 0.5},
		{Symbol: domain.NewSymbol("SOL", "USD"), TickSize: dec("0.01"), LotSize: dec("0.001"),
			StartPrice: dec("100"), MeanQty: dec("5"), TradesPerSecond: 1},
	}
}

// RateRules returns Coinbase's public limit, 10 requests per second per IP
// with bursts up to 15 (a token bucket), as rolling windows: at most 15 in
// any second and 115 in any ten. sim.Config.WeightLimit replaces the
// per-second count.
func (Personality) RateRules() []sim.RateRule {
	return []sim.RateRule{
		{Name: "PUBLIC_1S", Interval: time.Second, Limit: 15},
		{Name: "PUBLIC_10S", Interval: 10 * time.Second, Limit: 115},
	}
}

// Handler returns the Coinbase REST + WebSocket handler.
func (Personality) Handler(env *sim.Env) (http.Handler, error) {
	a := &api{env: env, byID: map[string]*product{}}
	for _, sr := range env.Market.AllSeries() {
		p := newProduct(sr)
		a.byID[p.id] = p
		a.order = append(a.order, p)
	}
	var err error
	v := env.Option("candlesMax", "300")
	if a.candlesMax, err = strconv.Atoi(v); err != nil || a.candlesMax < 1 {
		return nil, fmt.Errorf("coinbase option candlesMax=%q: want a positive count (default 300)", v)
	}
	switch v := env.Option("candlesOverLimit", "reject"); v {
	case "reject":
	case "truncate":
		a.truncate = true
	default:
		return nil, fmt.Errorf("coinbase option candlesOverLimit=%q: want reject (the documented 400) or truncate (the newest candlesMax bars)", v)
	}
	switch v := env.Option("candlesEnd", "exclusive"); v {
	case "exclusive":
	case "inclusive":
		a.endInclusive = true
	default:
		return nil, fmt.Errorf("coinbase option candlesEnd=%q: want exclusive or inclusive", v)
	}
	t := env.Option("streamTick", "10ms")
	if a.streamTick, err = time.ParseDuration(t); err != nil || a.streamTick <= 0 {
		return nil, fmt.Errorf("coinbase option streamTick=%q: want a positive duration like 10ms", t)
	}
	hb := env.Option("heartbeat", "1s")
	if a.heartbeat, err = time.ParseDuration(hb); err != nil || a.heartbeat <= 0 {
		return nil, fmt.Errorf("coinbase option heartbeat=%q: want a positive duration like 1s", hb)
	}
	return a, nil
}

func dec(s string) decimal.Decimal { return decimal.MustParse(s) }

type api struct {
	env          *sim.Env
	byID         map[string]*product
	order        []*product
	candlesMax   int
	truncate     bool
	endInclusive bool
	streamTick   time.Duration
	heartbeat    time.Duration
	bufs         sync.Pool
}

// product is one simulated product with its formatting scales.
type product struct {
	id        string // BTC-USD
	sr        *sim.Series
	tickScale int // quote_increment decimals
	lotScale  int // base_increment decimals
	tick, lot string
	minFunds  string
}

func newProduct(sr *sim.Series) *product {
	s := sr.Symbol()
	spec := sr.Spec()
	p := &product{id: s.Base + "-" + s.Quote, sr: sr}
	p.tickScale = spec.TickSize.Trim(0).Scale()
	p.lotScale = spec.LotSize.Trim(0).Scale()
	p.tick = spec.TickSize.Trim(0).Pad(p.tickScale).String()
	p.lot = spec.LotSize.Trim(0).Pad(p.lotScale).String()
	p.minFunds = "1"
	if s.Quote == "BTC" {
		p.minFunds = "0.00001"
	}
	return p
}

// apiError is a Coinbase error body {"message":...} with its HTTP status.
type apiError struct {
	status int
	msg    string
}

func (e *apiError) Error() string { return fmt.Sprintf("%d %s", e.status, e.msg) }

func badRequest(format string, args ...any) *apiError {
	return &apiError{status: http.StatusBadRequest, msg: fmt.Sprintf(format, args...)}
}

var errNotFound = &apiError{status: http.StatusNotFound, msg: "NotFound"}

func writeError(w http.ResponseWriter, e *apiError) {
	b := []byte(`{"message":`)
	b = strconv.AppendQuote(b, e.msg)
	b = append(b, '}')
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(e.status)
	_, _ = w.Write(b)
}

// route is one REST endpoint: serve appends the JSON body to b.
type route func(a *api, r *http.Request, p *product, now int64, b []byte, h http.Header) ([]byte, *apiError)

// resolve maps a path to its route and product (nil for /time and
// /products).
func (a *api) resolve(path string) (route, *product, *apiError) {
	switch path {
	case "/time":
		return (*api).time, nil, nil
	case "/products", "/products/":
		return (*api).products, nil, nil
	}
	rest, ok := strings.CutPrefix(path, "/products/")
	if !ok {
		return nil, nil, errNotFound
	}
	id, sub, _ := strings.Cut(rest, "/")
	p := a.byID[strings.ToUpper(id)]
	var rt route
	switch sub {
	case "":
		rt = (*api).product
	case "candles":
		rt = (*api).candles
	case "trades":
		rt = (*api).trades
	case "book":
		rt = (*api).book
	case "ticker":
		rt = (*api).ticker
	default:
		return nil, nil, errNotFound
	}
	if p == nil {
		return nil, nil, errNotFound
	}
	return rt, p, nil
}

func (a *api) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
		a.serveWS(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		writeError(w, errNotFound)
		return
	}
	d := a.env.Limiter.Take(clientKey(r), 1, 1)
	if !d.Allowed {
		// Coinbase answers 429 with this body and no Retry-After, and has
		// no 418 ban: the core's ban escalation is answered as a 429 too.
		writeError(w, &apiError{status: http.StatusTooManyRequests, msg: "Public rate limit exceeded"})
		return
	}
	rt, p, aerr := a.resolve(r.URL.Path)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	bp, _ := a.bufs.Get().(*[]byte)
	if bp == nil {
		b := make([]byte, 0, 64<<10)
		bp = &b
	}
	defer func() {
		if cap(*bp) <= 4<<20 {
			a.bufs.Put(bp)
		}
	}()
	h := w.Header()
	body, aerr := rt(a, r, p, a.env.ServerTimeMs(), (*bp)[:0], h)
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

// appendTime writes ms as Coinbase writes times: RFC 3339 UTC with
// microseconds.
func appendTime(b []byte, ms int64) []byte {
	return time.UnixMilli(ms).UTC().AppendFormat(b, "2006-01-02T15:04:05.000000Z")
}
