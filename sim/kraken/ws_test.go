package kraken

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/govalues/decimal"

	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/operators/orderbook"
	"github.com/pype-go/pype/sim"
)

type wsClient struct {
	t   testing.TB
	c   *websocket.Conn
	ctx context.Context
}

func dial(t testing.TB, v *sim.Venue, path string) *wsClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	c, _, err := websocket.Dial(ctx, v.WSURL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	c.SetReadLimit(1 << 24)
	t.Cleanup(func() { _ = c.CloseNow() })
	return &wsClient{t: t, c: c, ctx: ctx}
}

func (w *wsClient) send(v any) {
	w.t.Helper()
	b, _ := json.Marshal(v)
	if err := w.c.Write(w.ctx, websocket.MessageText, b); err != nil {
		w.t.Fatal(err)
	}
}

func (w *wsClient) read() map[string]any {
	w.t.Helper()
	_, b, err := w.c.Read(w.ctx)
	if err != nil {
		w.t.Fatal(err)
	}
	d := json.NewDecoder(strings.NewReader(string(b)))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		w.t.Fatalf("%s: %v", b, err)
	}
	return m
}

// next returns the next message matching f (others are skipped).
func (w *wsClient) next(f func(map[string]any) bool) map[string]any {
	w.t.Helper()
	for {
		if m := w.read(); f(m) {
			return m
		}
	}
}

func channel(name string) func(map[string]any) bool {
	return func(m map[string]any) bool { return m["channel"] == name }
}

func method(name string) func(map[string]any) bool {
	return func(m map[string]any) bool { return m["method"] == name }
}

func startLive(t testing.TB, mod func(*sim.Config)) *sim.Venue {
	return start(t, func(c *sim.Config) {
		c.Frozen, c.Speed = false, 20
		c.Options = map[string]string{"kraken.heartbeat": "100ms"}
		if mod != nil {
			mod(c)
		}
	})
}

func TestWSProtocol(t *testing.T) {
	v := startLive(t, nil)
	w := dial(t, v, "/v2")
	st := w.read()
	if st["channel"] != "status" || st["type"] != "update" {
		t.Fatalf("first message %v", st)
	}
	w.send(map[string]any{"method": "ping", "req_id": 42})
	if p := w.next(method("pong")); fmt.Sprint(p["req_id"]) != "42" || p["time_in"] == nil {
		t.Fatalf("pong %v", p)
	}
	w.send(map[string]any{"method": "subscribe", "params": map[string]any{"channel": "trade", "symbol": []string{"XBT/USD", "BTC/USD"}}, "req_id": 1})
	e := w.next(method("subscribe"))
	if e["success"] != false || e["error"] != "Currency pair not supported XBT/USD" || e["symbol"] != "XBT/USD" || fmt.Sprint(e["req_id"]) != "1" {
		t.Fatalf("error ack %v", e)
	}
	ack := w.next(method("subscribe"))
	res, _ := ack["result"].(map[string]any)
	if ack["success"] != true || res["channel"] != "trade" || res["symbol"] != "BTC/USD" {
		t.Fatalf("ack %v", ack)
	}
	w.send(map[string]any{"method": "subscribe", "params": map[string]any{"channel": "trade", "symbol": []string{"BTC/USD"}}})
	if d := w.next(method("subscribe")); d["error"] != "Already subscribed" {
		t.Fatalf("duplicate %v", d)
	}
	w.next(channel("heartbeat"))
	// Trades: contiguous ids, v2 fields.
	var last int64
	for n := 0; n < 30; {
		m := w.next(channel("trade"))
		for _, x := range m["data"].([]any) {
			tr := x.(map[string]any)
			id, _ := tr["trade_id"].(json.Number).Int64()
			if last != 0 && id != last+1 {
				t.Fatalf("trade id %d after %d", id, last)
			}
			last = id
			if tr["symbol"] != "BTC/USD" || (tr["side"] != "buy" && tr["side"] != "sell") || tr["ord_type"] == nil {
				t.Fatalf("trade %v", tr)
			}
			if _, err := time.Parse(time.RFC3339Nano, tr["timestamp"].(string)); err != nil {
				t.Fatal(err)
			}
			n++
		}
	}
	w.send(map[string]any{"method": "unsubscribe", "params": map[string]any{"channel": "trade", "symbol": []string{"BTC/USD"}}})
	if u := w.next(method("unsubscribe")); u["success"] != true {
		t.Fatalf("unsubscribe %v", u)
	}
	w.send(map[string]any{"method": "subscribe", "params": map[string]any{"channel": "book", "symbol": []string{"BTC/USD"}, "depth": 7}})
	if d := w.next(method("subscribe")); d["success"] != false || !strings.Contains(d["error"].(string), "depth") {
		t.Fatalf("depth 7 %v", d)
	}
	w.send(map[string]any{"method": "subscribe", "params": map[string]any{"channel": "ohlc", "symbol": []string{"BTC/USD"}, "interval": 5}})
	w.next(method("subscribe"))
	m := w.next(channel("ohlc"))
	bar := m["data"].([]any)[0].(map[string]any)
	begin, err := time.Parse(time.RFC3339Nano, bar["interval_begin"].(string))
	if err != nil || begin.UnixNano()%int64(5*time.Minute) != 0 || fmt.Sprint(bar["interval"]) != "5" {
		t.Fatalf("ohlc %v", bar)
	}
}

func levels(t testing.TB, x any) []domain.BookLevel {
	var out []domain.BookLevel
	for _, l := range x.([]any) {
		m := l.(map[string]any)
		p, err1 := decimal.Parse(string(m["price"].(json.Number)))
		q, err2 := decimal.Parse(string(m["qty"].(json.Number)))
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		out = append(out, domain.BookLevel{Price: p, Amount: q})
	}
	return out
}

// TestWSBook keeps a client book from the snapshot and updates exactly as
// Kraken documents (apply, truncate to the depth) and checks every checksum
// and the book against the truth.
func TestWSBook(t *testing.T) {
	for _, depth := range []int{10, 25} {
		t.Run(fmt.Sprint(depth), func(t *testing.T) {
			v := startLive(t, nil)
			w := dial(t, v, "/")
			w.send(map[string]any{"method": "subscribe", "params": map[string]any{"channel": "book", "symbol": []string{"ETH/BTC"}, "depth": depth}})
			w.next(method("subscribe"))
			sym := domain.NewSymbol("ETH", "BTC")
			b := orderbook.NewBook(sym)
			b.SetMaxDepth(depth)
			rule := orderbook.KrakenChecksum{}
			updates := 0
			for updates < 60 {
				m := w.next(channel("book"))
				d := m["data"].([]any)[0].(map[string]any)
				delta := domain.BookDelta{Symbol: sym, Bids: levels(t, d["bids"]), Asks: levels(t, d["asks"]), Reset: m["type"] == "snapshot"}
				if delta.Reset && (len(delta.Bids) != depth || len(delta.Asks) != depth) {
					t.Fatalf("snapshot %d×%d", len(delta.Bids), len(delta.Asks))
				}
				if err := b.ApplyDelta(&delta); err != nil {
					t.Fatal(err)
				}
				sum, _ := d["checksum"].(json.Number).Int64()
				if got := rule.Checksum(b); uint32(sum) != got {
					t.Fatalf("message %d: checksum %d, local %d", updates, sum, got)
				}
				at, _ := time.Parse(time.RFC3339Nano, d["timestamp"].(string))
				want, err := v.Truth().Book("ETH/BTC", at.UnixNano(), depth)
				if err != nil {
					t.Fatal(err)
				}
				bids, asks := b.TopN(depth)
				for i := range want.Bids {
					if bids[i].Price.Cmp(want.Bids[i].Price) != 0 || bids[i].Amount.Cmp(want.Bids[i].Amount) != 0 ||
						asks[i].Price.Cmp(want.Asks[i].Price) != 0 || asks[i].Amount.Cmp(want.Asks[i].Amount) != 0 {
						t.Fatalf("message %d level %d differs from the truth", updates, i)
					}
				}
				if !delta.Reset {
					updates++
				}
			}
		})
	}
}

func TestWSFaultsSkipAndCorrupt(t *testing.T) {
	v := startLive(t, func(c *sim.Config) {
		c.Options["kraken.badChecksumEvery"] = "5"
	})
	w := dial(t, v, "/v2")
	w.send(map[string]any{"method": "subscribe", "params": map[string]any{"channel": "book", "symbol": []string{"BTC/USD"}}})
	w.next(method("subscribe"))
	b := orderbook.NewBook(domain.NewSymbol("BTC", "USD"))
	b.SetMaxDepth(10)
	bad := 0
	for i := 0; i < 20; i++ {
		m := w.next(channel("book"))
		d := m["data"].([]any)[0].(map[string]any)
		delta := domain.BookDelta{Bids: levels(t, d["bids"]), Asks: levels(t, d["asks"]), Reset: m["type"] == "snapshot"}
		_ = b.ApplyDelta(&delta)
		sum, _ := d["checksum"].(json.Number).Int64()
		if uint32(sum) != (orderbook.KrakenChecksum{}).Checksum(b) {
			bad++
		}
	}
	if bad != 4 {
		t.Fatalf("%d bad checksums in 20 messages, want 4", bad)
	}
	if v.Stats().Faults["bad_checksum"] != 4 {
		t.Fatalf("stats %v", v.Stats().Faults)
	}
}

func TestLevelDiff(t *testing.T) {
	desc := func(a, b int64) bool { return a > b }
	L := func(ps ...int64) []sim.BookLevel {
		var out []sim.BookLevel
		for i := 0; i+1 < len(ps); i += 2 {
			out = append(out, sim.BookLevel{Price: ps[i], Qty: ps[i+1]})
		}
		return out
	}
	for _, tc := range []struct {
		name    string
		old, nw []sim.BookLevel
		depth   int
		want    []sim.BookLevel
	}{
		{"unchanged", L(10, 1, 9, 1, 8, 1), L(10, 1, 9, 1, 8, 1), 3, nil},
		{"qty change", L(10, 1, 9, 1, 8, 1), L(10, 1, 9, 2, 8, 1), 3, L(9, 2)},
		{"removed, next level fills in", L(10, 1, 9, 1, 8, 1), L(10, 1, 8, 1, 7, 3), 3, L(9, 0, 7, 3)},
		{"better level pushes the worst out: no delete", L(10, 1, 9, 1, 8, 1), L(11, 5, 10, 1, 9, 1), 3, L(11, 5)},
		{"book shrinks below depth", L(10, 1, 9, 1, 8, 1), L(10, 1, 9, 1), 3, L(8, 0)},
	} {
		got := levelDiff(tc.old, tc.nw, tc.depth, desc)
		if fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}
