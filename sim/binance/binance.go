package binance

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/sim"
)

// Personality is the Binance spot venue. The zero value is ready to use.
type Personality struct{}

// New returns the Binance personality.
func New() Personality { return Personality{} }

// Name returns "binance".
func (Personality) Name() string { return "binance" }

// Symbols returns Binance's simulated instruments: BTCUSDT, ETHUSDT,
// ETHBTC and SOLUSDT.
func (Personality) Symbols() []sim.SymbolSpec { return sim.DefaultSymbols() }

// RateRules returns Binance's published IP limits: REQUEST_WEIGHT 6000 per
// minute and RAW_REQUESTS 61000 per 5 minutes.
func (Personality) RateRules() []sim.RateRule {
	return []sim.RateRule{
		{Name: "REQUEST_WEIGHT", Interval: time.Minute, Limit: 6000},
		{Name: "RAW_REQUESTS", Interval: 5 * time.Minute, Limit: 61000},
	}
}

// Handler returns the Binance REST + WebSocket handler.
func (Personality) Handler(env *sim.Env) (http.Handler, error) {
	a := &api{env: env, bySym: map[string]*sim.Series{}}
	a.bufs.New = func() any { b := make([]byte, 0, 256<<10); return &b }
	a.candles.New = func() any { c := make([]sim.Candle, 0, 1000); return &c }
	a.aggs.New = func() any { c := make([]sim.AggTrade, 0, 1000); return &c }
	for _, sr := range env.Market.AllSeries() {
		a.bySym[venueSymbol(sr.Symbol())] = sr
		a.order = append(a.order, sr)
	}
	w := env.Option("aggTradesMaxWindow", "1h")
	d, err := time.ParseDuration(w)
	if err != nil || d < 0 {
		return nil, fmt.Errorf("binance option aggTradesMaxWindow=%q: want a duration like 1h (0 disables)", w)
	}
	a.aggWindowMs = d.Milliseconds()
	mb := env.Option("klineCacheMB", "64")
	n, err := strconv.Atoi(mb)
	if err != nil || n < 0 {
		return nil, fmt.Errorf("binance option klineCacheMB=%q: want a size in MiB like 64 (0 disables)", mb)
	}
	if n > 0 {
		a.rows = newRowCache(n << 20)
	}
	t := env.Option("streamTick", "10ms")
	if a.streamTick, err = time.ParseDuration(t); err != nil || a.streamTick <= 0 {
		return nil, fmt.Errorf("binance option streamTick=%q: want a positive duration like 10ms", t)
	}
	return a, nil
}

func venueSymbol(s domain.Symbol) string { return s.Base + s.Quote }

type api struct {
	env         *sim.Env
	bySym       map[string]*sim.Series
	order       []*sim.Series
	aggWindowMs int64
	streamTick  time.Duration
	bufs        sync.Pool // response buffers (a klines page of 1000 rows is ~170 KB)
	candles     sync.Pool // *[]sim.Candle scratch for klines
	aggs        sync.Pool // *[]sim.AggTrade scratch for /aggTrades
	rows        *rowCache // formatted rows of closed klines (nil: off)
	frames      frameRings
}

// apiError is a Binance error body with its HTTP status.
type apiError struct {
	status int
	code   int
	msg    string
}

func (e *apiError) Error() string { return fmt.Sprintf("%d %d %s", e.status, e.code, e.msg) }

func badRequest(code int, format string, args ...any) *apiError {
	return &apiError{status: 400, code: code, msg: fmt.Sprintf(format, args...)}
}

func errMandatory(name string) *apiError {
	return badRequest(-1102, "Mandatory parameter '%s' was not sent, was empty/null, or malformed.", name)
}

func errIllegal(name, legal string) *apiError {
	return badRequest(-1100, "Illegal characters found in parameter '%s'; legal range is '%s'.", name, legal)
}

func errInvalid(name string) *apiError {
	return badRequest(-1130, "Data sent for parameter '%s' is not valid.", name)
}

var errInvalidSymbol = badRequest(-1121, "Invalid symbol.")

const (
	symbolRange = `^[A-Z0-9-_.]{1,20}$`
	numberRange = `^[0-9]{1,20}$`
)

var symbolRE = regexp.MustCompile(symbolRange)

// params is a parsed query string.
type params struct{ v url.Values }

func parseParams(r *http.Request) (params, *apiError) {
	v, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return params{}, badRequest(-1100, "Illegal characters found in a parameter.")
	}
	for _, vals := range v {
		if len(vals) > 1 {
			return params{}, badRequest(-1101, "Duplicate values for a parameter detected.")
		}
	}
	return params{v}, nil
}

func (p params) has(name string) bool { _, ok := p.v[name]; return ok }

func (p params) str(name string) string { return p.v.Get(name) }

// long reads an optional integer parameter.
func (p params) long(name string) (int64, bool, *apiError) {
	if !p.has(name) {
		return 0, false, nil
	}
	s := p.v.Get(name)
	if s == "" {
		return 0, false, badRequest(-1105, "Parameter '%s' was empty.", name)
	}
	if len(s) > 20 || strings.TrimLeft(s, "0123456789") != "" {
		return 0, false, errIllegal(name, numberRange)
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, false, errInvalid(name)
	}
	return n, true, nil
}

// limit reads the limit parameter: default def, valid 1…max.
func (p params) limit(def, max int) (int, *apiError) {
	n, ok, err := p.long("limit")
	if err != nil {
		return 0, err
	}
	if !ok {
		return def, nil
	}
	if n < 1 || n > int64(max) {
		return 0, errInvalid("limit")
	}
	return int(n), nil
}

// series reads the mandatory symbol parameter.
func (a *api) series(p params) (*sim.Series, *apiError) {
	s := p.str("symbol")
	if s == "" {
		return nil, errMandatory("symbol")
	}
	if !symbolRE.MatchString(s) {
		return nil, errIllegal("symbol", symbolRange)
	}
	sr := a.bySym[s]
	if sr == nil {
		return nil, errInvalidSymbol
	}
	return sr, nil
}

// endpoint describes one REST route.
type endpoint struct {
	weight func(p params) int
	serve  func(a *api, p params, now int64, b []byte) ([]byte, *apiError)
}

func fixed(w int) func(params) int { return func(params) int { return w } }

var endpoints map[string]endpoint

func init() {
	endpoints = map[string]endpoint{
		"/api/v3/ping":              {fixed(1), (*api).ping},
		"/api/v3/time":              {fixed(1), (*api).time},
		"/api/v3/exchangeInfo":      {fixed(20), (*api).exchangeInfo},
		"/api/v3/depth":             {depthWeight, (*api).depth},
		"/api/v3/trades":            {fixed(25), (*api).trades},
		"/api/v3/historicalTrades":  {fixed(25), (*api).historicalTrades},
		"/api/v3/aggTrades":         {fixed(4), (*api).aggTrades},
		"/api/v3/klines":            {fixed(2), (*api).klines},
		"/api/v3/uiKlines":          {fixed(2), (*api).klines},
		"/api/v3/avgPrice":          {fixed(2), (*api).avgPrice},
		"/api/v3/ticker/price":      {tickerWeight(2, 4), (*api).tickerPrice},
		"/api/v3/ticker/bookTicker": {tickerWeight(2, 4), (*api).bookTicker},
		"/api/v3/ticker/24hr":       {tickerWeight(2, 80), (*api).ticker24h},
	}
}

func depthWeight(p params) int {
	n, err := strconv.Atoi(p.str("limit"))
	switch {
	case err != nil || n <= 100:
		return 5
	case n <= 500:
		return 25
	case n <= 1000:
		return 50
	}
	return 250
}

func tickerWeight(one, all int) func(params) int {
	return func(p params) int {
		if p.has("symbol") {
			return one
		}
		return all
	}
}

const notFoundHTML = "<html><body><h2>404 Not found</h2></body></html>"

func (a *api) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	if path == "/ws" || path == "/stream" || strings.HasPrefix(path, "/ws/") {
		a.serveWS(w, r)
		return
	}
	ep, ok := endpoints[path]
	if !ok || (r.Method != http.MethodGet && r.Method != http.MethodHead) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(notFoundHTML))
		return
	}
	p, perr := parseParams(r)
	weight := 1
	if perr == nil {
		weight = ep.weight(p)
	}
	d := a.env.Limiter.Take(clientKey(r), weight, 1)
	h := w.Header()
	h.Set("Content-Type", "application/json;charset=UTF-8")
	if len(d.Used) > 0 {
		h.Set("X-MBX-USED-WEIGHT-1M", strconv.Itoa(d.Used[0]))
	}
	if !d.Allowed {
		h.Set("Retry-After", strconv.FormatInt(int64(d.RetryAfter/time.Second), 10))
		if d.Banned {
			writeError(w, &apiError{status: 418, code: -1003, msg: fmt.Sprintf(
				"Way too much request weight used; IP banned until %d. Please use WebSocket Streams for live updates to avoid bans.",
				d.BanUntil.UnixMilli())})
			return
		}
		rule := a.env.Limiter.Rules()[max(d.Rule, 0)]
		writeError(w, &apiError{status: 429, code: -1003, msg: fmt.Sprintf(
			"Too much request weight used; current limit is %d request weight per %s. Please use WebSocket Streams for live updates to avoid polling the API.",
			rule.Limit, intervalText(rule.Interval))})
		return
	}
	if perr != nil {
		writeError(w, perr)
		return
	}
	bp := a.bufs.Get().(*[]byte)
	defer a.putBuf(bp)
	body, aerr := ep.serve(a, p, a.env.Market.NowMs(), (*bp)[:0])
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	*bp = body
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

// putBuf returns a response buffer to the pool (unless it grew huge).
func (a *api) putBuf(bp *[]byte) {
	if cap(*bp) <= 4<<20 {
		a.bufs.Put(bp)
	}
}

func intervalText(d time.Duration) string {
	switch {
	case d%(24*time.Hour) == 0:
		return fmt.Sprintf("%d DAY", d/(24*time.Hour))
	case d%time.Hour == 0:
		return fmt.Sprintf("%d HOUR", d/time.Hour)
	case d%time.Minute == 0:
		return fmt.Sprintf("%d MINUTE", d/time.Minute)
	}
	return fmt.Sprintf("%d SECOND", d/time.Second)
}

func writeError(w http.ResponseWriter, e *apiError) {
	b := []byte(`{"code":`)
	b = strconv.AppendInt(b, int64(e.code), 10)
	b = append(b, `,"msg":`...)
	b = strconv.AppendQuote(b, e.msg)
	b = append(b, '}')
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
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
