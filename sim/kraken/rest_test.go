package kraken

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/sim"
	"github.com/pype-go/pype/transport/ratelimit/ratelimittest"
)

var testNow = time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)

// start runs the personality alone on a loopback listener.
func start(t testing.TB, mod func(*sim.Config)) *sim.Venue {
	t.Helper()
	cfg := sim.Config{Registry: sim.NewRegistry(New()), Seed: 3, Now: testNow, Frozen: true, History: 48 * time.Hour, WeightLimit: 1_000_000}
	if mod != nil {
		mod(&cfg)
	}
	srv, err := sim.Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return srv.Venue("kraken")
}

func get(t testing.TB, v *sim.Venue, path string) (int, []byte) {
	t.Helper()
	resp, err := http.Get(v.RESTURL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

type envelope struct {
	Error  []string        `json:"error"`
	Result json.RawMessage `json:"result"`
}

func result(t testing.TB, v *sim.Venue, path string) json.RawMessage {
	t.Helper()
	code, b := get(t, v, path)
	var env envelope
	if err := json.Unmarshal(b, &env); err != nil || code != 200 || len(env.Error) != 0 {
		t.Fatalf("%s: %d %s", path, code, b)
	}
	return env.Result
}

// jsonKinds describes a decoded JSON value's shape: object keys with their
// kinds, arrays by their first element.
func kind(v any) string {
	switch x := v.(type) {
	case map[string]any:
		return "object"
	case []any:
		if len(x) == 0 {
			return "array"
		}
		return "array of " + kind(x[0])
	case string:
		return "string"
	case json.Number:
		if strings.ContainsAny(string(x), ".eE") {
			return "number"
		}
		return "integer"
	case bool:
		return "bool"
	}
	return "null"
}

func decode(t testing.TB, b []byte) any {
	t.Helper()
	d := json.NewDecoder(strings.NewReader(string(b)))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

// TestShapeAssetPairs: every field of the recorded AssetPairs entry is
// served with the same JSON kind.
func TestShapeAssetPairs(t *testing.T) {
	v := start(t, nil)
	rec, err := os.ReadFile(filepath.Join("testdata", "rest_AssetPairs_6pairs_cryptofeed_2021-04-17.json"))
	if err != nil {
		t.Fatal(err)
	}
	want := decode(t, rec).(map[string]any)["result"].(map[string]any)["XXBTZUSD"].(map[string]any)
	res := decode(t, result(t, v, "/0/public/AssetPairs")).(map[string]any)
	got, ok := res["XXBTZUSD"].(map[string]any)
	if !ok {
		t.Fatalf("no XXBTZUSD in %v", slices.Collect(func(yield func(string) bool) {
			for k := range res {
				yield(k)
			}
		}))
	}
	for k, wv := range want {
		gv, ok := got[k]
		if !ok {
			t.Errorf("field %q missing", k)
			continue
		}
		if kind(gv) != kind(wv) && !(k == "leverage_buy" || k == "leverage_sell") {
			t.Errorf("field %q: %s, recorded %s", k, kind(gv), kind(wv))
		}
	}
	for _, k := range []string{"altname", "wsname", "base", "quote"} {
		if got[k] != want[k] {
			t.Errorf("%s = %v, recorded %v", k, got[k], want[k])
		}
	}
	for key, names := range map[string][2]string{"XETHXXBT": {"ETHXBT", "ETH/XBT"}, "XDGUSD": {"XDGUSD", "XDG/USD"}, "XETHZUSD": {"ETHUSD", "ETH/USD"}} {
		p := res[key].(map[string]any)
		if p["altname"] != names[0] || p["wsname"] != names[1] {
			t.Errorf("%s: %v %v", key, p["altname"], p["wsname"])
		}
	}
	one := decode(t, result(t, v, "/0/public/AssetPairs?pair=xbtusd,ETHXBT")).(map[string]any)
	if len(one) != 2 {
		t.Fatalf("pair filter: %v", one)
	}
}

// TestShapeTradesAndOHLC compares row shapes with the recorded ccxt static
// responses (field order and kinds; ccxt stringified OHLC's last).
func TestShapeTradesAndOHLC(t *testing.T) {
	v := start(t, nil)
	rows := func(b []byte) ([]any, any) {
		m := decode(t, b).(map[string]any)
		var rs []any
		for k, x := range m {
			if k != "last" {
				rs = x.([]any)
			}
		}
		return rs, m["last"]
	}
	rowKinds := func(r any) []string {
		var out []string
		for _, x := range r.([]any) {
			out = append(out, kind(x))
		}
		return out
	}
	recT, err := os.ReadFile(filepath.Join("testdata", "rest_Trades_XBTUSDT_ccxt_static.json"))
	if err != nil {
		t.Fatal(err)
	}
	recRow := decode(t, recT).(map[string]any)["result"].(map[string]any)["XBTUSDT"].([]any)[0]
	tr, last := rows(result(t, v, "/0/public/Trades?pair=XBTUSD&count=5"))
	if len(tr) != 5 || kind(last) != "string" {
		t.Fatalf("trades %v last %v", tr, last)
	}
	// The documented row has 7 fields; ccxt's recording has an 8th.
	if got, want := rowKinds(tr[0]), rowKinds(recRow)[:7]; !reflect.DeepEqual(got, want) {
		t.Fatalf("trade row kinds %v, recorded %v", got, want)
	}
	oh, olast := rows(result(t, v, "/0/public/OHLC?pair=XBTUSD&interval=60"))
	if len(oh) == 0 || kind(olast) != "integer" {
		t.Fatalf("ohlc %d rows, last %v", len(oh), olast)
	}
	if got := rowKinds(oh[0]); !reflect.DeepEqual(got, []string{"integer", "string", "string", "string", "string", "string", "string", "integer"}) {
		t.Fatalf("ohlc row kinds %v", got)
	}
	recO, err := os.ReadFile(filepath.Join("testdata", "rest_OHLC_XBTUSDT_1h_since1706624591_ccxt_static.json"))
	if err != nil {
		t.Fatal(err)
	}
	ro := decode(t, recO).(map[string]any)["result"].(map[string]any)["XBTUSDT"].([]any)
	if got, want := rowKinds(oh[0]), rowKinds(ro[0]); !reflect.DeepEqual(got, want) {
		t.Fatalf("ohlc row kinds %v, recorded %v", got, want)
	}
	// The recorded XBT prices have 1 decimal in OHLC and 5 in Trades.
	if p := oh[0].([]any)[1].(string); len(p)-strings.IndexByte(p, '.') != 2 {
		t.Fatalf("OHLC price %q", p)
	}
	if p := tr[0].([]any)[0].(string); len(p)-strings.IndexByte(p, '.') != 6 {
		t.Fatalf("Trades price %q", p)
	}
}

type tradesAnswer struct {
	rows [][]any
	last int64
}

func trades(t testing.TB, v *sim.Venue, q string) tradesAnswer {
	t.Helper()
	m := decode(t, result(t, v, "/0/public/Trades?"+q)).(map[string]any)
	var a tradesAnswer
	for k, x := range m {
		if k == "last" {
			a.last, _ = strconv.ParseInt(x.(string), 10, 64)
			continue
		}
		for _, r := range x.([]any) {
			a.rows = append(a.rows, r.([]any))
		}
	}
	return a
}

func rowNs(r []any) int64 {
	s := string(r[2].(json.Number))
	sec, frac, _ := strings.Cut(s, ".")
	n, _ := strconv.ParseInt(sec, 10, 64)
	frac = (frac + "000000000")[:9]
	f, _ := strconv.ParseInt(frac, 10, 64)
	return n*1e9 + f
}

func rowID(r []any) int64 { n, _ := strconv.ParseInt(string(r[6].(json.Number)), 10, 64); return n }

// TestTradesCursor: since is exclusive (ns, or seconds), last is the newest
// trade's time, ids are contiguous, and asking again from last−1 serves
// the boundary millisecond's trades again.
func TestTradesCursor(t *testing.T) {
	v := start(t, nil)
	from := testNow.Add(-10 * time.Hour).UnixNano()
	a := trades(t, v, fmt.Sprintf("pair=XBTUSD&since=%d&count=1000", from))
	if len(a.rows) != 1000 {
		t.Fatalf("%d rows", len(a.rows))
	}
	if rowNs(a.rows[0]) <= from || a.last != rowNs(a.rows[999]) {
		t.Fatalf("first %d, last %d / %d", rowNs(a.rows[0]), a.last, rowNs(a.rows[999]))
	}
	for i := 1; i < len(a.rows); i++ {
		if rowID(a.rows[i]) != rowID(a.rows[i-1])+1 || rowNs(a.rows[i]) < rowNs(a.rows[i-1]) {
			t.Fatalf("row %d not contiguous", i)
		}
	}
	b := trades(t, v, fmt.Sprintf("pair=XBTUSD&since=%d&count=10", a.last-1))
	if rowNs(b.rows[0]) != a.last {
		t.Fatalf("since last-1 starts at %d, want %d", rowNs(b.rows[0]), a.last)
	}
	c := trades(t, v, fmt.Sprintf("pair=XBTUSD&since=%d&count=10", a.last))
	if rowNs(c.rows[0]) <= a.last {
		t.Fatal("since is not exclusive")
	}
	// Seconds are accepted too.
	d := trades(t, v, fmt.Sprintf("pair=xbtusd&since=%d&count=3", testNow.Add(-10*time.Hour).Unix()))
	if rowID(d.rows[0]) != rowID(a.rows[0]) {
		t.Fatalf("since in seconds: %v vs %v", d.rows[0], a.rows[0])
	}
	// Without since: the newest trades, oldest first, up to now.
	e := trades(t, v, "pair=XBTUSD&count=5")
	if len(e.rows) != 5 || rowNs(e.rows[4]) > testNow.UnixNano() || rowID(e.rows[4]) != rowID(e.rows[0])+4 {
		t.Fatalf("recent %v", e.rows)
	}
}

func TestOHLCWindow(t *testing.T) {
	v := start(t, func(c *sim.Config) { c.TradesPerSecond = 5 })
	m := decode(t, result(t, v, "/0/public/OHLC?pair=XBTUSD&interval=1")).(map[string]any)
	rows := m["XXBTZUSD"].([]any)
	open := func(r any) int64 { n, _ := strconv.ParseInt(string(r.([]any)[0].(json.Number)), 10, 64); return n }
	// The window: the 720 most recent bars, the newest still forming; bars
	// without trades are absent.
	from := testNow.Add(-719 * time.Minute)
	truth, err := v.Truth().Candles("BTC/USD", domain.Span1m, from.UnixNano(), testNow.Add(time.Minute).UnixNano())
	if err != nil {
		t.Fatal(err)
	}
	if n := len(truth); n == 0 || truth[n-1].OpenTime != testNow.UnixNano() {
		truth = append(truth, domain.OHLCBar{OpenTime: testNow.UnixNano()}) // the forming bar, always present
	}
	if len(rows) != len(truth) || len(rows) < 700 || open(rows[0]) != truth[0].OpenTime/1e9 || open(rows[len(rows)-1]) != testNow.Unix() {
		t.Fatalf("%d rows (truth %d) from %d to %d", len(rows), len(truth), open(rows[0]), open(rows[len(rows)-1]))
	}
	last, _ := strconv.ParseInt(string(m["last"].(json.Number)), 10, 64)
	if last != open(rows[len(rows)-2]) {
		t.Fatalf("last %d, want the newest committed bar %d", last, open(rows[len(rows)-2]))
	}
	// since is exclusive and cannot reach behind the window.
	m = decode(t, result(t, v, fmt.Sprintf("/0/public/OHLC?pair=XBTUSD&interval=1&since=%d", open(rows[1])))).(map[string]any)
	if got := m["XXBTZUSD"].([]any); len(got) != len(rows)-2 {
		t.Fatalf("since: %d rows", len(got))
	}
	m = decode(t, result(t, v, "/0/public/OHLC?pair=XBTUSD&interval=1&since=1")).(map[string]any)
	if got := m["XXBTZUSD"].([]any); len(got) != len(rows) {
		t.Fatalf("since 1: %d rows", len(got))
	}
}

func TestErrors(t *testing.T) {
	v := start(t, nil)
	for _, tc := range []struct {
		path string
		code int
		err  string
	}{
		{"/0/public/Trades?pair=NOPE", 200, `{"error":["EQuery:Unknown asset pair"]}`},
		{"/0/public/Trades", 200, `{"error":["EGeneral:Invalid arguments"]}`},
		{"/0/public/OHLC?pair=XBTUSD&interval=2", 200, `{"error":["EGeneral:Invalid arguments"]}`},
		{"/0/public/Depth?pair=XBTUSD&count=x", 200, `{"error":["EGeneral:Invalid arguments"]}`},
		{"/0/public/Nope", 404, `{"error":["EGeneral:Unknown method"]}`},
		{"/0/private/Balance", 200, `{"error":["EAPI:Invalid key"]}`},
	} {
		code, b := get(t, v, tc.path)
		if code != tc.code || string(b) != tc.err {
			t.Errorf("%s: %d %s", tc.path, code, b)
		}
	}
	// POST form works like GET.
	resp, err := http.PostForm(v.RESTURL+"/0/public/Depth", map[string][]string{"pair": {"XBTUSD"}, "count": {"3"}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), `"asks":[[`) {
		t.Fatalf("POST: %s", b)
	}
}

// TestCallCounter: 15 calls pass, the 16th is refused in an HTTP 200 body;
// refused calls still count; the counter decays one per second; Trades and
// OHLC are counted per pair.
func TestCallCounter(t *testing.T) {
	clk := ratelimittest.NewClock(testNow)
	v := start(t, func(c *sim.Config) { c.WeightLimit = 0; c.Clock = clk })
	for i := 0; i < 15; i++ {
		if code, b := get(t, v, "/0/public/Time"); code != 200 || strings.Contains(string(b), "EGeneral") {
			t.Fatalf("call %d: %s", i, b)
		}
	}
	refused := `{"error":["EGeneral:Too many requests"]}`
	for i := 0; i < 3; i++ {
		if code, b := get(t, v, "/0/public/Time"); code != 200 || string(b) != refused {
			t.Fatalf("over the limit: %d %s", code, b)
		}
	}
	// Per pair: Trades has its own counter.
	if _, b := get(t, v, "/0/public/Trades?pair=XBTUSD&count=1"); strings.Contains(string(b), "EGeneral") {
		t.Fatalf("Trades: %s", b)
	}
	// The 3 refused calls raised the counter to 18: 3 s of decay are not
	// enough, 4 are.
	clk.Advance(3 * time.Second)
	if _, b := get(t, v, "/0/public/Time"); string(b) != refused {
		t.Fatalf("after 3 s: %s", b)
	}
	clk.Advance(5 * time.Second)
	if _, b := get(t, v, "/0/public/Time"); strings.Contains(string(b), "EGeneral") {
		t.Fatalf("after decay: %s", b)
	}
}

func TestDeterministic(t *testing.T) {
	a, b := start(t, nil), start(t, nil)
	for _, p := range []string{"/0/public/Trades?pair=XDGUSD&since=1709200000000000000", "/0/public/OHLC?pair=ETHXBT&interval=15", "/0/public/Depth?pair=XBTUSD&count=50"} {
		_, x := get(t, a, p)
		_, y := get(t, b, p)
		if string(x) != string(y) {
			t.Fatalf("%s differs", p)
		}
	}
	// The truth agrees with what is served.
	sr, err := a.Env.Market.Lookup("DOGE/USD")
	if err != nil {
		t.Fatal(err)
	}
	want := sr.DomainTrade(func() sim.Trade {
		for tr := range sr.TradesFrom(1709200000000+1, testNow.UnixMilli()) {
			return tr
		}
		return sim.Trade{}
	}())
	ans := trades(t, a, "pair=XDGUSD&since=1709200000000000000&count=1")
	if fmt.Sprint(rowID(ans.rows[0])) != want.ID || rowNs(ans.rows[0]) != want.Time || domain.Buy != map[string]domain.Side{"b": domain.Buy, "s": domain.Sell}[ans.rows[0][3].(string)] && want.Side == domain.Buy {
		t.Fatalf("served %v, truth %+v", ans.rows[0], want)
	}
}

func TestShapeTicker(t *testing.T) {
	v := start(t, nil)
	rec, err := os.ReadFile(filepath.Join("testdata", "rest_Ticker_XBTUSDT_ccxt_static.json"))
	if err != nil {
		t.Fatal(err)
	}
	want := decode(t, rec).(map[string]any)["result"].(map[string]any)["XBTUSDT"].(map[string]any)
	got := decode(t, result(t, v, "/0/public/Ticker?pair=XBTUSD")).(map[string]any)["XXBTZUSD"].(map[string]any)
	for k, wv := range want {
		gv, ok := got[k]
		if !ok {
			t.Fatalf("field %q missing", k)
		}
		wa, isArr := wv.([]any)
		if !isArr {
			if kind(gv) != kind(wv) {
				t.Fatalf("%s: %s vs %s", k, kind(gv), kind(wv))
			}
			continue
		}
		ga := gv.([]any)
		if len(ga) != len(wa) {
			t.Fatalf("%s: %d elements, recorded %d", k, len(ga), len(wa))
		}
		for i := range wa {
			if kind(ga[i]) != kind(wa[i]) {
				t.Fatalf("%s[%d]: %s vs %s", k, i, kind(ga[i]), kind(wa[i]))
			}
		}
	}
	all := decode(t, result(t, v, "/0/public/Ticker")).(map[string]any)
	if len(all) != 4 {
		t.Fatalf("%d tickers", len(all))
	}
}
