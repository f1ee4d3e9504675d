package binance_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/sim"
	"github.com/pype-go/pype/sim/simtest"
)

func TestBadInputGetsBinanceErrors(t *testing.T) {
	s := frozen(t)
	base := s.REST("binance")
	cases := []struct {
		path   string
		status int
		code   int
		msg    string
	}{
		{"/api/v3/klines?interval=1m", 400, -1102, "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed."},
		{"/api/v3/klines?symbol=BTCUSDT", 400, -1102, "Mandatory parameter 'interval' was not sent, was empty/null, or malformed."},
		{"/api/v3/klines?symbol=BTCUSDT&interval=2m", 400, -1120, "Invalid interval."},
		{"/api/v3/klines?symbol=NOPE&interval=1m", 400, -1121, "Invalid symbol."},
		{"/api/v3/klines?symbol=btcusdt&interval=1m", 400, -1100, "Illegal characters found in parameter 'symbol'; legal range is '^[A-Z0-9-_.]{1,20}$'."},
		{"/api/v3/klines?symbol=BTCUSDT&interval=1m&limit=1001", 400, -1130, "Data sent for parameter 'limit' is not valid."},
		{"/api/v3/klines?symbol=BTCUSDT&interval=1m&limit=0", 400, -1130, "Data sent for parameter 'limit' is not valid."},
		{"/api/v3/klines?symbol=BTCUSDT&interval=1m&limit=abc", 400, -1100, "Illegal characters found in parameter 'limit'; legal range is '^[0-9]{1,20}$'."},
		{"/api/v3/klines?symbol=BTCUSDT&interval=1m&startTime=-5", 400, -1100, "Illegal characters found in parameter 'startTime'; legal range is '^[0-9]{1,20}$'."},
		{"/api/v3/klines?symbol=BTCUSDT&interval=1m&startTime=99999999999999999999", 400, -1130, "Data sent for parameter 'startTime' is not valid."},
		{"/api/v3/klines?symbol=BTCUSDT&interval=1m&endTime=", 400, -1105, "Parameter 'endTime' was empty."},
		{"/api/v3/klines?symbol=BTCUSDT&symbol=ETHUSDT&interval=1m", 400, -1101, "Duplicate values for a parameter detected."},
		{"/api/v3/aggTrades?symbol=BTCUSDT&startTime=0&endTime=3600001", 400, -1127, "More than 1 hours between startTime and endTime."},
		{"/api/v3/aggTrades?symbol=BTCUSDT&fromId=5&startTime=0", 400, -1128, "Combination of optional parameters invalid."},
		{"/api/v3/aggTrades?symbol=BTCUSDT&limit=1001", 400, -1130, "Data sent for parameter 'limit' is not valid."},
		{"/api/v3/depth?symbol=BTCUSDT&limit=0", 400, -1130, "Data sent for parameter 'limit' is not valid."},
		{"/api/v3/depth", 400, -1102, "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed."},
		{"/api/v3/trades?symbol=XYZUSDT", 400, -1121, "Invalid symbol."},
		{"/api/v3/historicalTrades?symbol=BTCUSDT&fromId=x", 400, -1100, "Illegal characters found in parameter 'fromId'; legal range is '^[0-9]{1,20}$'."},
		{"/api/v3/exchangeInfo?symbol=NOPE", 400, -1121, "Invalid symbol."},
		{"/api/v3/exchangeInfo?symbols=BTCUSDT", 400, -1100, `Illegal characters found in parameter 'symbols'; legal range is '^\[("[A-Z0-9-_.]{1,20}"(,"[A-Z0-9-_.]{1,20}"){0,}){0,1}\]$'.`},
		{"/api/v3/ticker/price?symbol=BTCUSDT&symbols=[%22BTCUSDT%22]", 400, -1128, "Combination of optional parameters invalid."},
		{"/api/v3/klines?symbol=BTCUSDT&interval=1m&a=%zz", 400, -1100, "Illegal characters found in a parameter."},
	}
	for _, c := range cases {
		r := get(t, base+c.path)
		var e struct {
			Code int    `json:"code"`
			Msg  string `json:"msg"`
		}
		if err := json.Unmarshal(r.body, &e); err != nil {
			t.Errorf("%s: body %q is not an error object", c.path, r.body)
			continue
		}
		if r.status != c.status || e.Code != c.code || e.Msg != c.msg {
			t.Errorf("%s: %d %d %q, want %d %d %q", c.path, r.status, e.Code, e.Msg, c.status, c.code, c.msg)
		}
		sameShape(t, c.path, decode(t, r.body), decode(t, []byte(`{"code":-1121,"msg":"Invalid symbol."}`)))
	}
	// Unknown paths get an HTML 404, never a 500.
	for _, p := range []string{"/api/v3/nothing", "/", "/api/v3/klines/extra"} {
		if r := get(t, base+p); r.status != 404 {
			t.Errorf("%s: %d", p, r.status)
		}
	}
}

type kline [12]any

func klines(t *testing.T, url string) []kline {
	t.Helper()
	var ks []kline
	getJSON(t, url, &ks)
	return ks
}

func ms(v any) int64 {
	f, _ := v.(float64)
	return int64(f)
}

func TestKlinesSemantics(t *testing.T) {
	s := frozen(t)
	base := s.REST("binance") + "/api/v3/klines?symbol=BTCUSDT"
	now := fixedNow.UnixMilli()
	// No times: the latest bars, ending with the open one.
	ks := klines(t, base+"&interval=1m&limit=10")
	if len(ks) != 10 || ms(ks[9][0]) != now/60000*60000 {
		t.Fatalf("latest: %d bars, last open %v", len(ks), ks[len(ks)-1][0])
	}
	// startTime snaps to the next bar open; endTime is inclusive of an
	// open time equal to it.
	start := now - 5*3600_000 + 1234
	ks = klines(t, fmt.Sprintf("%s&interval=1h&startTime=%d&endTime=%d", base, start, now/3600_000*3600_000))
	if len(ks) != 5 || ms(ks[0][0]) != (start/3600_000+1)*3600_000 {
		t.Fatalf("range: %d bars, first %v", len(ks), ks[0][0])
	}
	for _, k := range ks {
		if ms(k[6]) != ms(k[0])+3600_000-1 {
			t.Fatalf("close time %v for open %v", k[6], k[0])
		}
	}
	// endTime only: the last bars up to it.
	end := now - 86400_000
	ks = klines(t, fmt.Sprintf("%s&interval=5m&endTime=%d&limit=3", base, end))
	if len(ks) != 3 || ms(ks[2][0]) != end/300_000*300_000 {
		t.Fatalf("endTime only: %v", ks)
	}
	// limit caps from the start.
	ks = klines(t, fmt.Sprintf("%s&interval=1m&startTime=%d&limit=1000", base, now-30*86400_000))
	if len(ks) != 1000 {
		t.Fatalf("limit 1000: %d", len(ks))
	}
	// Every interval works, including 1s and 1M, and matches the truth.
	truth := s.Truth("binance")
	for iv, span := range map[string]domain.Span{"1s": domain.Span1s, "1m": domain.Span1m, "3m": domain.Span3m, "15m": domain.Span15m,
		"2h": domain.Span2h, "1d": domain.Span1d, "3d": domain.Span3d, "1w": domain.Span1w, "1M": domain.Span1M} {
		ks := klines(t, fmt.Sprintf("%s&interval=%s&limit=20", base, iv))
		if len(ks) == 0 {
			t.Fatalf("%s: no bars", iv)
		}
		from := ms(ks[0][0]) * 1_000_000
		bars, err := truth.Candles("BTC/USDT", span, from, now*1_000_000+1)
		if err != nil {
			t.Fatal(err)
		}
		if len(bars) != len(ks) {
			t.Fatalf("%s: %d bars, truth %d", iv, len(ks), len(bars))
		}
		for i, b := range bars {
			k := ks[i]
			if b.OpenTime/1_000_000 != ms(k[0]) || b.Open.Pad(8).String() != k[1] || b.Close.Pad(8).String() != k[4] ||
				b.Volume.Pad(8).String() != k[5] || float64(b.Trades) != k[8] {
				t.Fatalf("%s bar %d: %v vs truth %+v", iv, i, k, b)
			}
		}
	}
}

func TestEmptyBarsAreOmitted(t *testing.T) {
	s := frozen(t, simtest.History(40*24*time.Hour))
	m := s.Market("binance")
	sr := m.Series(domain.NewSymbol("BTC", "USDT"))
	for h := m.StartMs(); h < m.NowMs()-3600_000; h += 3600_000 {
		if !sr.IsQuietHour(h) {
			continue
		}
		ks := klines(t, fmt.Sprintf("%s/api/v3/klines?symbol=BTCUSDT&interval=1h&startTime=%d&endTime=%d", s.REST("binance"), h-3600_000, h+3600_000))
		for _, k := range ks {
			if ms(k[0]) == h {
				t.Fatalf("quiet hour %d has a kline", h)
			}
		}
		if len(ks) > 2 {
			t.Fatalf("got %d bars", len(ks))
		}
		return
	}
	t.Fatal("no quiet hour in 40 days")
}

type aggRow struct {
	A int64  `json:"a"`
	P string `json:"p"`
	Q string `json:"q"`
	F int64  `json:"f"`
	L int64  `json:"l"`
	T int64  `json:"T"`
	M bool   `json:"m"`
	B bool   `json:"M"` // distinct field: encoding/json matches keys case-insensitively
}

// TestAggTradesDrainMatchesTruth drains three hours the documented way
// (first call by startTime within an hour, then fromId = last a + 1) and
// compares with the truth: nothing lost, nothing duplicated.
func TestAggTradesDrainMatchesTruth(t *testing.T) {
	s := frozen(t)
	base := s.REST("binance") + "/api/v3/aggTrades?symbol=ETHBTC&limit=1000"
	from := fixedNow.Add(-4 * time.Hour).UnixMilli()
	to := from + 3*3600_000
	var rows []aggRow
	getJSON(t, fmt.Sprintf("%s&startTime=%d&endTime=%d", base, from, from+3600_000), &rows)
	var all []aggRow
	for len(rows) > 0 {
		done := false
		for _, r := range rows {
			if r.T >= to {
				done = true
				break
			}
			all = append(all, r)
		}
		if done {
			break
		}
		rows = nil
		getJSON(t, fmt.Sprintf("%s&fromId=%d", base, all[len(all)-1].A+1), &rows)
	}
	trades, err := s.Truth("binance").Trades("ETH/BTC", from*1_000_000, to*1_000_000)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for i, r := range all {
		if i > 0 && r.A != all[i-1].A+1 {
			t.Fatalf("agg id gap at %d", r.A)
		}
		for id := r.F; id <= r.L; id++ {
			if trades[n].ID != strconv.FormatInt(id, 10) || trades[n].Price.Pad(8).String() != r.P {
				t.Fatalf("trade %d: %+v vs agg %+v", n, trades[n], r)
			}
			n++
		}
	}
	if n != len(trades) || n < 1000 {
		t.Fatalf("drained %d trades, truth has %d", n, len(trades))
	}
}

func TestHistoricalTradesByID(t *testing.T) {
	s := frozen(t)
	var first []struct {
		ID    int64  `json:"id"`
		Price string `json:"price"`
		Qty   string `json:"qty"`
		Quote string `json:"quoteQty"`
		Time  int64  `json:"time"`
	}
	getJSON(t, s.REST("binance")+"/api/v3/trades?symbol=BTCUSDT&limit=3", &first)
	if len(first) != 3 || first[2].ID != first[0].ID+2 || first[2].Time > fixedNow.UnixMilli() {
		t.Fatalf("recent trades %+v", first)
	}
	var older []struct{ ID int64 }
	getJSON(t, fmt.Sprintf("%s/api/v3/historicalTrades?symbol=BTCUSDT&fromId=%d&limit=1000", s.REST("binance"), first[0].ID-500), &older)
	if len(older) != 503 || older[0].ID != first[0].ID-500 {
		t.Fatalf("historical: %d rows from %d", len(older), older[0].ID)
	}
}

// TestDeterminism: the same seed and virtual now give the same bytes.
func TestDeterminism(t *testing.T) {
	a, b := frozen(t, simtest.Seed(9)), frozen(t, simtest.Seed(9))
	c := frozen(t, simtest.Seed(10))
	paths := []string{
		"/api/v3/klines?symbol=BTCUSDT&interval=1m&limit=1000",
		"/api/v3/aggTrades?symbol=ETHUSDT&limit=1000",
		"/api/v3/historicalTrades?symbol=BTCUSDT&limit=1000",
		"/api/v3/depth?symbol=BTCUSDT&limit=5000",
		"/api/v3/exchangeInfo",
		"/api/v3/ticker/24hr",
	}
	for _, p := range paths {
		ra, rb, rc := get(t, a.REST("binance")+p), get(t, b.REST("binance")+p), get(t, c.REST("binance")+p)
		if ra.status != 200 || !bytes.Equal(ra.body, rb.body) {
			t.Fatalf("%s differs between runs with the same seed", p)
		}
		if p != "/api/v3/exchangeInfo" && bytes.Equal(ra.body, rc.body) {
			t.Fatalf("%s equal for different seeds", p)
		}
	}
}

func TestRateLimitsAndBan(t *testing.T) {
	clk := &fakeClock{t: fixedNow}
	s := frozen(t, simtest.Clock(clk), simtest.WeightLimit(100),
		simtest.Configure(func(c *sim.Config) { c.Limits.BanAfter = 2 }))
	url := s.REST("binance") + "/api/v3/exchangeInfo" // weight 20
	for i := 1; i <= 5; i++ {
		r := get(t, url)
		if r.status != 200 || r.header.Get("X-MBX-USED-WEIGHT-1M") != strconv.Itoa(20*i) {
			t.Fatalf("request %d: %d used %s", i, r.status, r.header.Get("X-MBX-USED-WEIGHT-1M"))
		}
		clk.Advance(time.Second)
	}
	// Over the limit: 429, Retry-After until the first request leaves the
	// rolling minute (sent at +0 s, now +5 s: 55 s).
	r := get(t, url)
	if r.status != 429 || r.header.Get("Retry-After") != "55" || r.header.Get("X-MBX-USED-WEIGHT-1M") != "100" {
		t.Fatalf("429: %d %q %s", r.status, r.header.Get("Retry-After"), r.body)
	}
	want := `{"code":-1003,"msg":"Too much request weight used; current limit is 100 request weight per 1 MINUTE. Please use WebSocket Streams for live updates to avoid polling the API."}`
	if string(r.body) != want {
		t.Fatalf("429 body %s", r.body)
	}
	// Continuing earns a ban.
	get(t, url)
	r = get(t, url)
	if r.status != 418 || r.header.Get("Retry-After") != "120" {
		t.Fatalf("418: %d %q %s", r.status, r.header.Get("Retry-After"), r.body)
	}
	var e struct{ Code int }
	_ = json.Unmarshal(r.body, &e)
	if e.Code != -1003 {
		t.Fatalf("418 body %s", r.body)
	}
	// Still banned a minute later even though the window is empty.
	clk.Advance(time.Minute)
	if r := get(t, url); r.status != 418 || r.header.Get("Retry-After") != "60" {
		t.Fatalf("during ban: %d %s", r.status, r.header.Get("Retry-After"))
	}
	clk.Advance(61 * time.Second)
	if r := get(t, url); r.status != 200 {
		t.Fatalf("after ban: %d", r.status)
	}
	st := s.Stats("binance")
	if st.Status429 != 2 || st.Status418 != 2 || st.WeightUsed != 120 {
		t.Fatalf("stats %+v", st)
	}
	// Weights per endpoint follow the docs.
	clk.Advance(2 * time.Minute)
	for path, w := range map[string]int{"/api/v3/depth?symbol=BTCUSDT": 5, "/api/v3/depth?symbol=BTCUSDT&limit=500": 25,
		"/api/v3/klines?symbol=BTCUSDT&interval=1m": 2, "/api/v3/aggTrades?symbol=BTCUSDT": 4, "/api/v3/trades?symbol=BTCUSDT": 25,
		"/api/v3/ping": 1, "/api/v3/depth?symbol=BTCUSDT&limit=1000": 50} {
		clk.Advance(2 * time.Minute)
		if r := get(t, s.REST("binance")+path); r.header.Get("X-MBX-USED-WEIGHT-1M") != strconv.Itoa(w) {
			t.Errorf("%s: weight %s, want %d", path, r.header.Get("X-MBX-USED-WEIGHT-1M"), w)
		}
	}
}
