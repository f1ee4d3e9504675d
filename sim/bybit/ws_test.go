package bybit_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/govalues/decimal"
	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/sim"
	"github.com/pype-go/pype/sim/bybit"
	"github.com/pype-go/pype/sim/simtest"
)

func live(t *testing.T, speed float64, opts ...simtest.Option) *simtest.Sim {
	return simtest.Start(t, append([]simtest.Option{simtest.Venues("bybit"), simtest.Now(fixedNow), simtest.Speed(speed)}, opts...)...)
}

func TestWSProtocol(t *testing.T) {
	s := live(t, 1)
	spot := dial(t, s.WS("bybit")+"/v5/public/spot")
	args := make([]string, 11)
	for i := range args {
		args[i] = `"publicTrade.BTCUSDT"`
	}
	spot.send(`{"req_id":"a","op":"subscribe","args":[` + strings.Join(args, ",") + `]}`)
	if m := spot.read(); m["success"] != false || m["ret_msg"] != "args size >10" || m["op"] != "subscribe" || m["req_id"] != "a" {
		t.Fatalf("11 args: %v", m)
	}
	spot.send(`{"req_id":"b","op":"subscribe","args":["orderbook.7.BTCUSDT"]}`)
	if m := spot.read(); m["success"] != false || !strings.Contains(m["ret_msg"].(string), "orderbook.7.BTCUSDT") {
		t.Fatalf("bad depth: %v", m)
	}
	spot.send(`{"req_id":"c","op":"subscribe","args":["kline.1.BTCUSDT"]}`)
	m := spot.read()
	if m["success"] != true || m["ret_msg"] != "subscribe" || m["op"] != "subscribe" || m["req_id"] != "c" || m["conn_id"] == "" {
		t.Fatalf("subscribe: %v", m)
	}
	spot.send(`{"req_id":"d","op":"ping"}`)
	for {
		m = spot.read()
		if _, data := m["topic"]; !data {
			break
		}
	}
	if m["success"] != true || m["ret_msg"] != "pong" || m["op"] != "ping" || m["req_id"] != "d" {
		t.Fatalf("spot pong: %v", m)
	}
	lin := dial(t, s.WS("bybit")+"/v5/public/linear")
	lin.send(`{"req_id":"p","op":"ping"}`)
	m = lin.read()
	a, _ := m["args"].([]any)
	if len(a) != 1 {
		t.Fatalf("linear pong: %v", m)
	}
	pms, err := strconv.ParseInt(a[0].(string), 10, 64)
	if m["op"] != "pong" || m["req_id"] != "p" || err != nil || pms < fixedNow.UnixMilli() {
		t.Fatalf("linear pong: %v", m)
	}
	lin.send(`{"op":"subscribe","args":["publicTrade.SOLUSDT"]}`)
	if m = lin.read(); m["success"] != false {
		t.Fatalf("spot-only symbol on linear: %v", m)
	}
	lin.send(`{"op":"unsubscribe","args":["publicTrade.BTCUSDT"]}`)
	if m = lin.read(); m["success"] != false || m["op"] != "unsubscribe" {
		t.Fatalf("unsubscribe of nothing: %v", m)
	}
}

// book is a test client's local book.
type book struct{ bids, asks map[string]string }

func (b *book) apply(side map[string]string, lv []any) {
	for _, x := range lv {
		p := x.([]any)
		if d := decimal.MustParse(p[1].(string)); d.IsZero() {
			delete(side, p[0].(string))
		} else {
			side[p[0].(string)] = p[1].(string)
		}
	}
}

func sameSide(t *testing.T, what string, got map[string]string, want []domain.BookLevel) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d levels, want %d", what, len(got), len(want))
	}
	for _, w := range want {
		found := false
		for p, q := range got {
			if decimal.MustParse(p).Cmp(w.Price) == 0 && decimal.MustParse(q).Cmp(w.Amount) == 0 {
				found = true
			}
		}
		if !found {
			t.Fatalf("%s: level %s@%s missing", what, w.Amount, w.Price)
		}
	}
}

func TestWSOrderbookFollowsTheTruth(t *testing.T) {
	s := live(t, 20, simtest.Faults("bybit", sim.Faults{DepthGapEvery: 25}),
		simtest.Configure(func(c *sim.Config) { c.Options = map[string]string{"bybit.restartEvery": "10"} }))
	c := dial(t, s.WS("bybit")+"/v5/public/linear")
	c.send(`{"op":"subscribe","args":["orderbook.50.BTCUSDT"]}`)
	if m := c.read(); m["success"] != true {
		t.Fatal(m)
	}
	truth := s.Truth("bybit")
	var b *book
	var u int64
	gaps, restarts, checked := 0, 0, 0
	deadline := time.Now().Add(30 * time.Second)
	for checked < 150 || gaps == 0 || restarts == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("checked %d, gaps %d, restarts %d", checked, gaps, restarts)
		}
		m := c.read()
		if m["topic"] != "orderbook.50.BTCUSDT" {
			t.Fatalf("message %v", m)
		}
		data := m["data"].(map[string]any)
		nu := int64(data["u"].(float64))
		switch m["type"] {
		case "snapshot":
			b = &book{bids: map[string]string{}, asks: map[string]string{}}
			if nu == 1 {
				restarts++
			}
		case "delta":
			if b == nil {
				t.Fatal("delta before a snapshot")
			}
			if nu != u+1 {
				gaps++
				// A client resyncs here; this one resubscribes.
				c.send(`{"op":"unsubscribe","args":["orderbook.50.BTCUSDT"]}`)
				c.send(`{"op":"subscribe","args":["orderbook.50.BTCUSDT"]}`)
				b = nil
				for {
					m := c.read()
					if m["op"] == "subscribe" {
						break
					}
				}
				continue
			}
		default:
			t.Fatalf("type %v", m["type"])
		}
		u = nu
		b.apply(b.bids, data["b"].([]any))
		b.apply(b.asks, data["a"].([]any))
		ts := int64(m["ts"].(float64))
		want, err := truth.Book("BTC/USDT:perp", ts*1e6, 50)
		if err != nil {
			t.Fatal(err)
		}
		sameSide(t, "bids", b.bids, want.Bids)
		sameSide(t, "asks", b.asks, want.Asks)
		checked++
	}
	if st := s.Stats("bybit"); st.Faults["depth_gap"] == 0 {
		t.Fatalf("faults %v", st.Faults)
	}
}

func TestWSTradesAndKlinesFollowTheTruth(t *testing.T) {
	s := live(t, 60)
	c := dial(t, s.WS("bybit")+"/v5/public/linear")
	c.send(`{"op":"subscribe","args":["publicTrade.BTCUSDT","kline.1.BTCUSDT"]}`)
	if m := c.read(); m["success"] != true {
		t.Fatal(m)
	}
	var ids []string
	var times []int64
	var confirmed []map[string]any
	deadline := time.Now().Add(30 * time.Second)
	for len(ids) < 300 || len(confirmed) < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("%d trades, %d bars", len(ids), len(confirmed))
		}
		m := c.read()
		switch {
		case m["topic"] == "publicTrade.BTCUSDT":
			for _, x := range m["data"].([]any) {
				tr := x.(map[string]any)
				if tr["s"] != "BTCUSDT" || (tr["S"] != "Buy" && tr["S"] != "Sell") || tr["BT"] != false || tr["L"] == nil {
					t.Fatalf("trade %v", tr)
				}
				ids = append(ids, tr["i"].(string))
				times = append(times, int64(tr["T"].(float64)))
			}
		case m["topic"] == "kline.1.BTCUSDT":
			k := m["data"].([]any)[0].(map[string]any)
			if k["confirm"] == true {
				confirmed = append(confirmed, k)
			}
		}
	}
	want, err := s.Truth("bybit").Trades("BTC/USDT:perp", times[0]*1e6, (times[len(times)-1]+1)*1e6)
	if err != nil {
		t.Fatal(err)
	}
	for len(want) > 0 && bybit.TradeID("linear", mustID(t, want[0].ID)) != ids[0] {
		want = want[1:] // the subscription started inside that millisecond
	}
	if len(want) != len(ids) {
		t.Fatalf("%d trades streamed, truth has %d", len(ids), len(want))
	}
	for i, w := range want {
		if bybit.TradeID("linear", mustID(t, w.ID)) != ids[i] || w.Time/1e6 != times[i] {
			t.Fatalf("trade %d: %s at %d, truth %s at %d", i, ids[i], times[i], w.ID, w.Time/1e6)
		}
	}
	for _, k := range confirmed {
		start := int64(k["start"].(float64))
		bars, err := s.Truth("bybit").Candles("BTC/USDT:perp", domain.Span1m, start*1e6, (start+1)*1e6)
		if err != nil || len(bars) != 1 {
			t.Fatal(err, len(bars))
		}
		if k["close"] != bars[0].Close.String() && decimal.MustParse(k["close"].(string)).Cmp(bars[0].Close) != 0 ||
			decimal.MustParse(k["volume"].(string)).Cmp(bars[0].Volume) != 0 || int64(k["end"].(float64)) != start+59999 {
			t.Fatalf("bar %v, truth %+v", k, bars[0])
		}
	}
}

func mustID(t *testing.T, s string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestTradeID(t *testing.T) {
	if bybit.TradeID("spot", 42) != "42" {
		t.Fatal("spot id")
	}
	a, b := bybit.TradeID("linear", 42), bybit.TradeID("linear", 43)
	if len(a) != 36 || a == b || a[14] != '5' || strings.Count(a, "-") != 4 || a != bybit.TradeID("linear", 42) {
		t.Fatalf("%s %s", a, b)
	}
}
