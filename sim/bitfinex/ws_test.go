package bitfinex_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/govalues/decimal"

	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/operators/orderbook"
	"github.com/pype-go/pype/sim"
	"github.com/pype-go/pype/sim/simtest"
)

type wsClient struct {
	t *testing.T
	c *websocket.Conn
}

func dial(t *testing.T, s *simtest.Sim) *wsClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, s.WS("bitfinex")+"/ws/2", nil)
	if err != nil {
		t.Fatal(err)
	}
	c.SetReadLimit(1 << 22)
	t.Cleanup(func() { _ = c.CloseNow() })
	return &wsClient{t: t, c: c}
}

func (w *wsClient) send(v any) {
	w.t.Helper()
	b, _ := json.Marshal(v)
	if err := w.c.Write(w.t.Context(), websocket.MessageText, b); err != nil {
		w.t.Fatal(err)
	}
}

// read returns the next message decoded with json.Number.
func (w *wsClient) read() any {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(w.t.Context(), 30*time.Second)
	defer cancel()
	_, b, err := w.c.Read(ctx)
	if err != nil {
		w.t.Fatal(err)
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		w.t.Fatalf("%s: %v", b, err)
	}
	return v
}

func (w *wsClient) event() map[string]any {
	w.t.Helper()
	v := w.read()
	m, ok := v.(map[string]any)
	if !ok {
		w.t.Fatalf("expected an event, got %v", v)
	}
	return m
}

func (w *wsClient) frame() []any {
	w.t.Helper()
	v := w.read()
	a, ok := v.([]any)
	if !ok {
		w.t.Fatalf("expected a data frame, got %v", v)
	}
	return a
}

func intOf(v any) int64 {
	n, _ := v.(json.Number).Int64()
	return n
}

// TestWSProtocol walks the protocol on a frozen market: info, conf,
// subscriptions and their answers, snapshots with sequence numbers,
// checksums, errors, ping and unsubscribe.
func TestWSProtocol(t *testing.T) {
	s := frozen(t, simtest.Configure(func(c *sim.Config) { c.Options = map[string]string{"bitfinex.heartbeat": "50ms"} }))
	w := dial(t, s)
	if ev := w.event(); ev["event"] != "info" || intOf(ev["version"]) != 2 {
		t.Fatalf("first message %v", ev)
	}
	w.send(map[string]any{"event": "conf", "flags": 65536 | 131072})
	if ev := w.event(); ev["status"] != "OK" || intOf(ev["flags"]) != 196608 {
		t.Fatalf("conf %v", ev)
	}
	seq := int64(0)
	next := func(f []any) {
		t.Helper()
		n := intOf(f[len(f)-1])
		if n != seq+1 {
			t.Fatalf("seq %d after %d in %v", n, seq, f)
		}
		seq = n
	}

	w.send(map[string]any{"event": "subscribe", "channel": "trades", "symbol": "tBTCUSD"})
	ev := w.event()
	if ev["event"] != "subscribed" || ev["channel"] != "trades" || ev["symbol"] != "tBTCUSD" || ev["pair"] != "BTCUSD" {
		t.Fatalf("subscribed %v", ev)
	}
	trades := intOf(ev["chanId"])
	snap := w.frame()
	next(snap)
	rows := snap[1].([]any)
	if intOf(snap[0]) != trades || len(rows) != 30 || len(rows[0].([]any)) != 4 {
		t.Fatalf("trades snapshot %v", snap[:1])
	}
	for i := 1; i < len(rows); i++ { // newest first, as recorded
		if intOf(rows[i].([]any)[0]) >= intOf(rows[i-1].([]any)[0]) {
			t.Fatalf("trades snapshot not newest first at %d", i)
		}
	}

	w.send(map[string]any{"event": "subscribe", "channel": "book", "symbol": "tDOGE:USD", "prec": "P0", "freq": "F0", "len": "25"})
	ev = w.event()
	if ev["channel"] != "book" || ev["len"] != "25" || ev["prec"] != "P0" || ev["freq"] != "F0" || ev["pair"] != "DOGE:USD" {
		t.Fatalf("subscribed %v", ev)
	}
	snap = w.frame()
	next(snap)
	levels := snap[1].([]any)
	if len(levels) != 50 {
		t.Fatalf("book snapshot with %d levels", len(levels))
	}
	book := orderbook.NewBook(domain.MustParseSymbol("DOGE/USD"))
	for _, l := range levels {
		r := l.([]any)
		amt := decimal.MustParse(r[2].(json.Number).String())
		side := orderbook.Bid
		if amt.IsNeg() {
			side, amt = orderbook.Ask, amt.Neg()
		}
		_ = book.Set(side, decimal.MustParse(r[0].(json.Number).String()), amt)
	}
	cs := w.frame()
	next(cs)
	if cs[1] != "cs" || uint32(int32(intOf(cs[2]))) != (orderbook.BitfinexChecksum{}).Checksum(book) {
		t.Fatalf("checksum frame %v, local %d", cs, int32((orderbook.BitfinexChecksum{}).Checksum(book)))
	}

	w.send(map[string]any{"event": "subscribe", "channel": "candles", "key": "trade:1h:tBTCUSD"})
	ev = w.event()
	if ev["key"] != "trade:1h:tBTCUSD" {
		t.Fatalf("subscribed %v", ev)
	}
	snap = w.frame()
	next(snap)
	if bars := snap[1].([]any); len(bars) == 0 || len(bars[0].([]any)) != 6 {
		t.Fatalf("candles snapshot %v", snap)
	}

	for _, tc := range []struct {
		req  map[string]any
		code int64
	}{
		{map[string]any{"event": "subscribe", "channel": "trades", "symbol": "tBTCUSD"}, 10301},
		{map[string]any{"event": "subscribe", "channel": "trades", "symbol": "tXRPUSD"}, 10300},
		{map[string]any{"event": "subscribe", "channel": "book", "symbol": "tBTCUSD", "len": "50"}, 10012},
		{map[string]any{"event": "subscribe", "channel": "book", "symbol": "tBTCUSD", "prec": "P3"}, 10011},
		{map[string]any{"event": "subscribe", "channel": "candles", "key": "trade:2h:tBTCUSD"}, 10300},
		{map[string]any{"event": "subscribe", "channel": "status"}, 10302},
		{map[string]any{"event": "unsubscribe", "chanId": 1}, 10400},
	} {
		w.send(tc.req)
		for {
			v := w.read()
			ev, ok := v.(map[string]any)
			if !ok {
				next(v.([]any)) // heartbeats
				continue
			}
			if ev["event"] != "error" || intOf(ev["code"]) != tc.code {
				t.Fatalf("%v: %v", tc.req, ev)
			}
			break
		}
	}
	w.send(map[string]any{"event": "ping", "cid": 1234})
	w.send(map[string]any{"event": "unsubscribe", "chanId": trades})
	gotPong, gotUnsub, hb := false, false, 0
	for !gotPong || !gotUnsub || hb < 2 {
		v := w.read()
		if f, ok := v.([]any); ok {
			next(f)
			if f[1] == "hb" {
				hb++
			}
			continue
		}
		ev := v.(map[string]any)
		switch ev["event"] {
		case "pong":
			gotPong = intOf(ev["cid"]) == 1234
		case "unsubscribed":
			gotUnsub = intOf(ev["chanId"]) == trades && ev["status"] == "OK"
		}
	}
}

// TestWSLiveBook replays the live book channel (len 100) locally and checks
// every checksum frame and the final book against the truth.
func TestWSLiveBook(t *testing.T) {
	s := simtest.Start(t, simtest.Venues("bitfinex"), simtest.Seed(5), simtest.Speed(20), simtest.History(2*time.Hour))
	w := dial(t, s)
	w.event()
	w.send(map[string]any{"event": "conf", "flags": 131072})
	w.event()
	w.send(map[string]any{"event": "subscribe", "channel": "book", "symbol": "tBTCUSD", "len": 100})
	w.event()
	book := orderbook.NewBook(domain.MustParseSymbol("BTC/USD"))
	set := func(r []any) {
		price := decimal.MustParse(r[0].(json.Number).String())
		amt := decimal.MustParse(r[2].(json.Number).String())
		side := orderbook.Bid
		if amt.IsNeg() {
			side, amt = orderbook.Ask, amt.Neg()
		}
		if intOf(r[1]) == 0 {
			amt = decimal.Zero
		}
		if err := book.Set(side, price, amt); err != nil {
			t.Fatal(err)
		}
	}
	checks, updates := 0, 0
	for checks < 60 {
		f := w.frame()
		switch x := f[1].(type) {
		case string:
			if x == "cs" {
				checks++
				if got := uint32(int32(intOf(f[2]))); got != (orderbook.BitfinexChecksum{}).Checksum(book) {
					t.Fatalf("checksum %d differs from the book's after %d updates", int32(got), updates)
				}
			}
		case []any:
			if len(x) > 0 {
				if _, nested := x[0].([]any); nested {
					for _, l := range x {
						set(l.([]any))
					}
					continue
				}
			}
			set(x)
			updates++
		}
	}
	bids, asks := book.TopN(1000)
	if updates == 0 || len(bids) != 100 || len(asks) != 100 {
		t.Fatalf("%d updates, %d bids, %d asks", updates, len(bids), len(asks))
	}
}

// TestWSLiveTradesAndCandles: every trade arrives as "te" then "tu";
// candle updates carry [MTS,OPEN,CLOSE,HIGH,LOW,VOLUME].
func TestWSLiveTradesAndCandles(t *testing.T) {
	s := simtest.Start(t, simtest.Venues("bitfinex"), simtest.Seed(5), simtest.Speed(50), simtest.History(2*time.Hour))
	w := dial(t, s)
	w.event()
	w.send(map[string]any{"event": "subscribe", "channel": "trades", "symbol": "tETHUSD"})
	w.event()
	w.frame()
	w.send(map[string]any{"event": "subscribe", "channel": "candles", "key": "trade:1m:tETHUSD"})
	te, tu := map[string]bool{}, map[string]bool{}
	candles := 0
	for len(tu) < 20 || candles < 5 {
		v := w.read()
		f, ok := v.([]any)
		if !ok {
			continue
		}
		switch x := f[1].(type) {
		case string:
			r := f[2].([]any)
			id := r[0].(json.Number).String()
			switch x {
			case "te":
				te[id] = true
			case "tu":
				if !te[id] {
					t.Fatalf("tu %s before its te", id)
				}
				tu[id] = true
			}
		case []any:
			if len(x) == 6 {
				if _, nested := x[0].([]any); !nested {
					candles++
					hi, lo := decimal.MustParse(x[3].(json.Number).String()), decimal.MustParse(x[4].(json.Number).String())
					cl := decimal.MustParse(x[2].(json.Number).String())
					if hi.Cmp(cl) < 0 || lo.Cmp(cl) > 0 {
						t.Fatalf("candle %v: close outside [low, high]", x)
					}
				}
			}
		}
	}
	if !strings.HasPrefix(s.WS("bitfinex"), "ws://") {
		t.Fatal(s.WS("bitfinex"))
	}
}
