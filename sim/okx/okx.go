package okx

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

// Personality is the OKX venue. The zero value is ready to use.
type Personality struct{}

// New returns the OKX personality.
func New() Personality { return Personality{} }

// Name returns "okx".
func (Personality) Name() string { return "okx" }

// BookDepth is the number of levels per side of the simulated books (the
// depth of OKX's books channel).
const BookDepth = 400

// Symbols returns OKX's simulated spot instruments with OKX's grids:
// BTC-USDT (tick 0.1, lot 0.00000001), ETH-USDT, ETH-BTC and SOL-USDT.
func (Personality) Symbols() []sim.SymbolSpec {
	d := decimal.MustParse
	return []sim.SymbolSpec{
		{Symbol: domain.NewSymbol("BTC", "USDT"), TickSize: d("0.1"), LotSize: d("0.00000001"),
			StartPrice: d("42000"), MeanQty: d("0.02"), TradesPerSecond: 2, BookDepth: BookDepth},
		{Symbol: domain.NewSymbol("ETH", "USDT"), TickSize: d("0.01"), LotSize: d("0.000001"),
			StartPrice: d("2300"), MeanQty: d("0.5"), TradesPerSecond: 1.5, BookDepth: BookDepth},
		{Symbol: domain.NewSymbol("ETH", "BTC"), TickSize: d("0.00001"), LotSize: d("0.000001"),
			StartPrice: d("0.055"), MeanQty: d("0.5"), TradesPerSecond: 0.5, BookDepth: BookDepth},
		{Symbol: domain.NewSymbol("SOL", "USDT"), TickSize: d("0.01"), LotSize: d("0.000001"),
			StartPrice: d("100"), MeanQty: d("5"), TradesPerSecond: 1, BookDepth: BookDepth},
	}
}

// Endpoint rate-limit rules, in the order of RateRules.
const (
	ruleHistoryCandles = iota
	ruleCandles
	ruleHistoryTrades
	ruleTrades
	ruleBooks
	ruleBooksFull
	ruleInstruments
	ruleTime
	ruleTicker
	numRules
)

// RateRules returns OKX's published per-endpoint IP limits (all per 2 s);
// the first (history-candles) is the one sim.Config.WeightLimit overrides.
func (Personality) RateRules() []sim.RateRule {
	r := func(name string, n int) sim.RateRule {
		return sim.RateRule{Name: name, Interval: 2 * time.Second, Limit: n}
	}
	return []sim.RateRule{
		ruleHistoryCandles: r("/api/v5/market/history-candles", 20),
		ruleCandles:        r("/api/v5/market/candles", 40),
		ruleHistoryTrades:  r("/api/v5/market/history-trades", 20),
		ruleTrades:         r("/api/v5/market/trades", 100),
		ruleBooks:          r("/api/v5/market/books", 40),
		ruleBooksFull:      r("/api/v5/market/books-full", 10),
		ruleInstruments:    r("/api/v5/public/instruments", 20),
		ruleTime:           r("/api/v5/public/time", 10),
		ruleTicker:         r("/api/v5/market/ticker", 20),
	}
}

// Handler returns the OKX REST + WebSocket handler.
func (Personality) Handler(env *sim.Env) (http.Handler, error) {
	a := &api{env: env, bySym: map[string]*sim.Series{}}
	a.bufs.New = func() any { b := make([]byte, 0, 64<<10); return &b }
	for _, sr := range env.Market.AllSeries() {
		a.bySym[InstID(sr.Symbol())] = sr
		a.order = append(a.order, sr)
	}
	var err error
	opt := func(key, def string, dst *time.Duration) {
		if err != nil {
			return
		}
		v := env.Option(key, def)
		d, e := time.ParseDuration(v)
		if e != nil || d <= 0 {
			err = fmt.Errorf("okx option %s=%q: want a positive duration like %s", key, v, def)
			return
		}
		*dst = d
	}
	opt("streamTick", "10ms", &a.streamTick)
	opt("idleTimeout", "30s", &a.idleTimeout)
	if err != nil {
		return nil, err
	}
	v := env.Option("checksumErrorEvery", "0")
	if a.badChecksumEvery, err = strconv.Atoi(v); err != nil || a.badChecksumEvery < 0 {
		return nil, fmt.Errorf("okx option checksumErrorEvery=%q: want a count ≥ 0 (0 = off)", v)
	}
	return a, nil
}

// InstID returns OKX's spot instrument id of a symbol: BTC-USDT.
func InstID(s domain.Symbol) string { return s.Base + "-" + s.Quote }

type api struct {
	env              *sim.Env
	bySym            map[string]*sim.Series
	order            []*sim.Series
	streamTick       time.Duration
	idleTimeout      time.Duration
	badChecksumEvery int
	bufs             sync.Pool
}

// apiError is an OKX error: HTTP status, code and message.
type apiError struct {
	status int
	code   string
	msg    string
}

func (e *apiError) Error() string { return fmt.Sprintf("%d %s %s", e.status, e.code, e.msg) }

func errParam(name string) *apiError {
	return &apiError{status: 400, code: "51000", msg: "Parameter " + name + " error"}
}

func errEmpty(name string) *apiError {
	return &apiError{status: 400, code: "50014", msg: "Parameter " + name + " can not be empty."}
}

var errInstrument = &apiError{status: 200, code: "51001", msg: "Instrument ID or Spread ID doesn't exist."}

// endpoint is one REST route: its rate-limit rule and handler.
type endpoint struct {
	rule  int
	serve func(a *api, q url.Values, now int64, b []byte) ([]byte, *apiError)
}

var endpoints map[string]endpoint

func init() {
	endpoints = map[string]endpoint{
		"/api/v5/public/time":            {ruleTime, (*api).time},
		"/api/v5/public/instruments":     {ruleInstruments, (*api).instruments},
		"/api/v5/market/candles":         {ruleCandles, (*api).candles},
		"/api/v5/market/history-candles": {ruleHistoryCandles, (*api).historyCandles},
		"/api/v5/market/trades":          {ruleTrades, (*api).trades},
		"/api/v5/market/history-trades":  {ruleHistoryTrades, (*api).historyTrades},
		"/api/v5/market/books":           {ruleBooks, (*api).books},
		"/api/v5/market/books-full":      {ruleBooksFull, (*api).booksFull},
		"/api/v5/market/ticker":          {ruleTicker, (*api).ticker},
	}
}

// ruleCosts[i] charges one request to rule i.
var ruleCosts = func() [numRules][]int {
	var c [numRules][]int
	for i := range c {
		c[i] = make([]int, numRules)
		c[i][i] = 1
	}
	return c
}()

func (a *api) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	if strings.HasPrefix(path, "/ws/v5/") {
		a.serveWS(w, r)
		return
	}
	ep, ok := endpoints[path]
	if !ok {
		writeJSON(w, 404, []byte(`{"msg":"Not Found","code":"50005"}`)) // OKX answers unknown routes with 404
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		writeError(w, &apiError{status: 405, code: "50115", msg: "Invalid request method."})
		return
	}
	d := a.env.Limiter.Take(clientKey(r), ruleCosts[ep.rule]...)
	if !d.Allowed {
		// OKX has no IP ban (418): a client over the limit keeps getting
		// 429 with code 50011 and no Retry-After header.
		writeError(w, &apiError{status: 429, code: "50011", msg: "Too Many Requests"})
		return
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		writeError(w, &apiError{status: 400, code: "50000", msg: "Invalid query string."})
		return
	}
	bp := a.bufs.Get().(*[]byte)
	defer func() {
		if cap(*bp) <= 4<<20 {
			a.bufs.Put(bp)
		}
	}()
	body, aerr := ep.serve(a, q, a.env.Market.NowMs(), (*bp)[:0])
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	*bp = body
	if r.Method == http.MethodHead {
		body = nil
	}
	writeJSON(w, 200, body)
}

func writeJSON(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// writeError writes OKX's error envelope: {"code":"51001","data":[],"msg":"…"}.
func writeError(w http.ResponseWriter, e *apiError) {
	b := []byte(`{"code":"`)
	b = append(b, e.code...)
	b = append(b, `","data":[],"msg":`...)
	b = strconv.AppendQuote(b, e.msg)
	b = append(b, '}')
	if e.status == 429 {
		b = append(b[:0], `{"msg":"Too Many Requests","code":"50011"}`...)
	}
	writeJSON(w, e.status, b)
}

func clientKey(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// series reads the mandatory instId parameter.
func (a *api) series(q url.Values) (*sim.Series, *apiError) {
	id := q.Get("instId")
	if id == "" {
		return nil, errEmpty("instId")
	}
	sr := a.bySym[id]
	if sr == nil {
		return nil, errInstrument
	}
	return sr, nil
}

// intParam reads an optional non-negative integer parameter.
func intParam(q url.Values, name string) (int64, bool, *apiError) {
	s := q.Get(name)
	if s == "" {
		return 0, false, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, false, errParam(name)
	}
	return n, true, nil
}

// limitParam reads limit: default def, at most max (OKX caps larger values
// silently only on some endpoints; the simulator rejects them, as the
// market endpoints do).
func limitParam(q url.Values, def, max int) (int, *apiError) {
	n, ok, err := intParam(q, "limit")
	if err != nil {
		return 0, err
	}
	if !ok {
		return def, nil
	}
	if n < 1 || n > int64(max) {
		return 0, errParam("limit")
	}
	return int(n), nil
}

// envelope opens {"code":"0","msg":"","data":[ .
func envelope(b []byte) []byte { return append(b, `{"code":"0","msg":"","data":[`...) }

// closeEnvelope closes what envelope opened.
func closeEnvelope(b []byte) []byte { return append(b, "]}"...) }
