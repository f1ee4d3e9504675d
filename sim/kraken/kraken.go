package kraken

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/govalues/decimal"

	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/sim"
)

// Personality is the Kraken spot venue. The zero value is ready to use.
type Personality struct{}

// New returns the Kraken personality.
func New() Personality { return Personality{} }

// Name returns "kraken".
func (Personality) Name() string { return "kraken" }

// Symbols returns Kraken's simulated pairs with Kraken's price and volume
// grids: BTC/USD (XBTUSD), ETH/USD (ETHUSD), ETH/BTC (ETHXBT) and DOGE/USD
// (XDGUSD).
func (Personality) Symbols() []sim.SymbolSpec {
	return []sim.SymbolSpec{
		{Symbol: domain.NewSymbol("BTC", "USD"), TickSize: mustDec("0.1"), LotSize: mustDec("0.00000001"),
			StartPrice: mustDec("42000"), MeanQty: mustDec("0.02"), TradesPerSecond: 2},
		{Symbol: domain.NewSymbol("ETH", "USD"), TickSize: mustDec("0.01"), LotSize: mustDec("0.00000001"),
			StartPrice: mustDec("2300"), MeanQty: mustDec("0.5"), TradesPerSecond: 1.5},
		{Symbol: domain.NewSymbol("ETH", "BTC"), TickSize: mustDec("0.00001"), LotSize: mustDec("0.00000001"),
			StartPrice: mustDec("0.055"), MeanQty: mustDec("0.5"), TradesPerSecond: 0.5},
		{Symbol: domain.NewSymbol("DOGE", "USD"), TickSize: mustDec("0.0000001"), LotSize: mustDec("0.00000001"),
			StartPrice: mustDec("0.08"), MeanQty: mustDec("500"), TradesPerSecond: 0.5},
	}
}

// RateRules returns Kraken's public call counter: at most 15 calls
// outstanding, decaying by one call per second (Interval is the time a full
// counter takes to drain). Config.WeightLimit replaces the 15.
func (Personality) RateRules() []sim.RateRule {
	return []sim.RateRule{{Name: "PUBLIC_CALL_COUNTER", Interval: 15 * time.Second, Limit: 15}}
}

// Handler returns the Kraken REST + WebSocket v2 handler.
func (Personality) Handler(env *sim.Env) (http.Handler, error) {
	a := &api{env: env, byName: map[string]*pair{}}
	for _, sr := range env.Market.AllSeries() {
		p := newPair(sr)
		a.pairs = append(a.pairs, p)
		for _, n := range []string{p.key, p.altname, p.wsname, p.v2name} {
			a.byName[strings.ToUpper(n)] = p
		}
	}
	limit := 15
	if rules := env.Limiter.Rules(); len(rules) > 0 && rules[0].Limit > 0 {
		limit = rules[0].Limit
	}
	decay, err := strconv.ParseFloat(env.Option("decay", "1"), 64)
	if err != nil || decay <= 0 {
		return nil, fmt.Errorf("kraken option decay=%q: want a positive number of calls per second", env.Option("decay", "1"))
	}
	a.calls = &callCounters{max: float64(limit), decay: decay, clock: env.Clock, m: map[string]*callCounter{}}
	if a.streamTick, err = time.ParseDuration(env.Option("streamTick", "10ms")); err != nil || a.streamTick <= 0 {
		return nil, fmt.Errorf("kraken option streamTick=%q: want a positive duration like 10ms", env.Option("streamTick", "10ms"))
	}
	if a.heartbeat, err = time.ParseDuration(env.Option("heartbeat", "1s")); err != nil || a.heartbeat <= 0 {
		return nil, fmt.Errorf("kraken option heartbeat=%q: want a positive duration like 1s", env.Option("heartbeat", "1s"))
	}
	if s := env.Option("badChecksumEvery", "0"); s != "0" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("kraken option badChecksumEvery=%q: want a count (0 = never)", s)
		}
		a.badChecksumEvery = n
	}
	return a, nil
}

func mustDec(s string) decimal.Decimal { return decimal.MustParse(s) }

type api struct {
	env              *sim.Env
	pairs            []*pair
	byName           map[string]*pair
	calls            *callCounters
	streamTick       time.Duration
	heartbeat        time.Duration
	badChecksumEvery int
	connID           atomic.Int64
	// BadChecksums counts checksums corrupted on purpose.
	badChecksums atomic.Int64
}

// pair is one simulated Kraken pair and its names.
type pair struct {
	sr            *sim.Series
	key           string // XXBTZUSD
	altname       string // XBTUSD
	wsname        string // XBT/USD (v1)
	v2name        string // BTC/USD
	base, quote   string // XXBT, ZUSD
	priceDecimals int    // pair_decimals
	lotDecimals   int    // lot_decimals
	restPrice     int    // decimals of REST price strings
}

// assetCodes maps ISO asset codes to Kraken's asset codes and altnames.
var assetCodes = map[string][2]string{
	"BTC": {"XXBT", "XBT"}, "ETH": {"XETH", "ETH"}, "DOGE": {"XXDG", "XDG"}, "LTC": {"XLTC", "LTC"},
	"XRP": {"XXRP", "XRP"}, "USD": {"ZUSD", "USD"}, "EUR": {"ZEUR", "EUR"}, "GBP": {"ZGBP", "GBP"},
	"JPY": {"ZJPY", "JPY"}, "CAD": {"ZCAD", "CAD"},
}

func asset(iso string) (code, alt string) {
	if c, ok := assetCodes[iso]; ok {
		return c[0], c[1]
	}
	return iso, iso
}

func newPair(sr *sim.Series) *pair {
	s := sr.Symbol()
	bc, ba := asset(s.Base)
	qc, qa := asset(s.Quote)
	p := &pair{sr: sr, altname: ba + qa, wsname: ba + "/" + qa, v2name: s.Base + "/" + s.Quote, base: bc, quote: qc}
	// Kraken keys the classic pairs by their full asset codes (XXBTZUSD,
	// XETHXXBT) and newer ones by the altname (XDGUSD, SOLUSD).
	if len(bc) == 4 && len(qc) == 4 && bc != "XXDG" {
		p.key = bc + qc
	} else {
		p.key = p.altname
	}
	spec := sr.Spec()
	p.priceDecimals = spec.TickSize.Trim(0).Scale()
	p.lotDecimals = spec.LotSize.Trim(0).Scale()
	p.restPrice = max(p.priceDecimals, 5)
	return p
}

// lookup finds a pair by a REST pair parameter (altname or key, any case).
func (a *api) lookup(name string) *pair {
	p := a.byName[strings.ToUpper(strings.TrimSpace(name))]
	if p == nil || strings.Contains(name, "/") {
		return nil
	}
	return p
}

// lookupWS finds a pair by its WebSocket v2 name (BTC/USD).
func (a *api) lookupWS(name string) *pair {
	for _, p := range a.pairs {
		if p.v2name == name {
			return p
		}
	}
	return nil
}

// Kraken error strings.
const (
	eUnknownPair  = "EQuery:Unknown asset pair"
	eInvalidArgs  = "EGeneral:Invalid arguments"
	eTooMany      = "EGeneral:Too many requests"
	eUnknownMeth  = "EGeneral:Unknown method"
	eInternal     = "EGeneral:Internal error"
	publicPrefix  = "/0/public/"
	contentTypeJS = "application/json; charset=utf-8"
)

// endpoint is one public REST method.
type endpoint struct {
	perPair bool // counted per IP and pair (Trades, OHLC)
	serve   func(a *api, q url.Values, nowMs int64, b []byte) ([]byte, string)
}

var endpoints = map[string]endpoint{
	"Time":         {false, (*api).time},
	"SystemStatus": {false, (*api).systemStatus},
	"Assets":       {false, (*api).assets},
	"AssetPairs":   {false, (*api).assetPairs},
	"Ticker":       {false, (*api).ticker},
	"OHLC":         {true, (*api).ohlc},
	"Trades":       {true, (*api).trades},
	"Depth":        {false, (*api).depth},
}

func (a *api) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.EqualFold(r.Header.Get("Upgrade"), "websocket") && (r.URL.Path == "/" || r.URL.Path == "/v2") {
		a.serveWS(w, r)
		return
	}
	if r.URL.Path == "/v2" {
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte("Bad Request: a WebSocket upgrade is required"))
		return
	}
	method, ok := strings.CutPrefix(r.URL.Path, publicPrefix)
	ep, known := endpoints[method]
	if !ok || !known || (r.Method != http.MethodGet && r.Method != http.MethodPost && r.Method != http.MethodHead) {
		if strings.HasPrefix(r.URL.Path, "/0/private/") {
			writeEnvelope(w, http.StatusOK, nil, "EAPI:Invalid key")
			return
		}
		writeEnvelope(w, http.StatusNotFound, nil, eUnknownMeth)
		return
	}
	if err := r.ParseForm(); err != nil {
		writeEnvelope(w, http.StatusOK, nil, eInvalidArgs)
		return
	}
	q := r.Form
	key := clientKey(r)
	if ep.perPair {
		key += "|" + strings.ToUpper(q.Get("pair"))
	}
	// Fault injection (forced rate limits) and stats go through the core
	// limiter at zero cost; the decaying counter decides the rest.
	d := a.env.Limiter.Take(clientKey(r))
	if !d.Allowed || !a.calls.take(key) {
		writeEnvelope(w, http.StatusOK, nil, eTooMany)
		return
	}
	body, e := ep.serve(a, q, a.env.Market.NowMs(), make([]byte, 0, 4096))
	if e != "" {
		writeEnvelope(w, http.StatusOK, nil, e)
		return
	}
	writeEnvelope(w, http.StatusOK, body, "")
}

// writeEnvelope writes {"error":[...],"result":...}; a Kraken error body
// has no result.
func writeEnvelope(w http.ResponseWriter, status int, result []byte, errStr string) {
	var b []byte
	if errStr != "" {
		b = append(b, `{"error":[`...)
		b = strconv.AppendQuote(b, errStr)
		b = append(b, `]}`...)
	} else {
		b = append(make([]byte, 0, len(result)+24), `{"error":[],"result":`...)
		b = append(b, result...)
		b = append(b, '}')
	}
	w.Header().Set("Content-Type", contentTypeJS)
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func clientKey(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// callCounters are Kraken's public call counters: each call adds one, the
// counter decays by decay calls per second, and a call that would take it
// over max is refused ("EGeneral:Too many requests") — and still counted,
// so a client that keeps calling stays locked out longer.
type callCounters struct {
	max, decay float64
	clock      sim.Clock
	mu         sync.Mutex
	m          map[string]*callCounter
	refused    atomic.Int64
}

type callCounter struct {
	level float64
	at    time.Time
}

func (c *callCounters) take(key string) bool {
	now := c.clock.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	ct := c.m[key]
	if ct == nil {
		if len(c.m) > 100_000 {
			c.gcLocked(now)
		}
		ct = &callCounter{at: now}
		c.m[key] = ct
	}
	if el := now.Sub(ct.at).Seconds(); el > 0 {
		ct.level = max(0, ct.level-el*c.decay)
		ct.at = now
	}
	if ct.level+1 > c.max {
		ct.level = min(ct.level+1, 2*c.max)
		c.refused.Add(1)
		return false
	}
	ct.level++
	return true
}

func (c *callCounters) gcLocked(now time.Time) {
	for k, ct := range c.m {
		if ct.level-now.Sub(ct.at).Seconds()*c.decay <= 0 {
			delete(c.m, k)
		}
	}
}
