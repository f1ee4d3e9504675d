package bitmex_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/govalues/decimal"

	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/sim"
	"github.com/pype-go/pype/sim/simtest"
)

type wsClient struct {
	t *testing.T
	c *websocket.Conn
}

func dial(t *testing.T, s *simtest.Sim, query string) *wsClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, s.WS("bitmex")+"/realtime"+query, nil)
	if err != nil {
		t.Fatal(err)
	}
	c.SetReadLimit(16 << 20)
	t.Cleanup(func() { _ = c.CloseNow() })
	return &wsClient{t, c}
}

func (w *wsClient) send(msg string) {
	w.t.Helper()
	if err := w.c.Write(w.t.Context(), websocket.MessageText, []byte(msg)); err != nil {
		w.t.Fatal(err)
	}
}

func (w *wsClient) read() string {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(w.t.Context(), 5*time.Second)
	defer cancel()
	_, b, err := w.c.Read(ctx)
	if err != nil {
		w.t.Fatal(err)
	}
	return string(b)
}

// readUntil reads until a message containing all of want arrives.
func (w *wsClient) readUntil(want ...string) string {
	w.t.Helper()
	for range 1000 {
		m := w.read()
		ok := true
		for _, x := range want {
			ok = ok && strings.Contains(m, x)
		}
		if ok {
			return m
		}
	}
	w.t.Fatalf("no message with %q", want)
	return ""
}

func TestRealtimeProtocol(t *testing.T) {
	s := frozen(t)
	w := dial(t, s, "")
	if m := w.read(); !strings.Contains(m, `"info":"Welcome to the BitMEX Realtime API."`) || !strings.Contains(m, `"limit":{"remaining":`) {
		t.Fatalf("welcome %s", m)
	}
	w.send("ping")
	if m := w.read(); m != "pong" {
		t.Fatalf("ping → %s", m)
	}
	w.send(`{"op":"subscribe","args":["trade:XBTUSD","tradeBin1m:XBTUSD"]}`)
	for _, topic := range []string{"trade:XBTUSD", "tradeBin1m:XBTUSD"} {
		if m := w.read(); !strings.Contains(m, `{"success":true,"subscribe":"`+topic+`","request":{"op":"subscribe"`) {
			t.Fatalf("ack %s", m)
		}
		m := w.read()
		table := strings.SplitN(topic, ":", 2)[0]
		if !strings.Contains(m, `"table":"`+table+`","action":"partial"`) || !strings.Contains(m, `"filter":{"symbol":"XBTUSD"}`) {
			t.Fatalf("partial %s", m)
		}
		var p struct {
			Data []map[string]any `json:"data"`
		}
		if err := json.Unmarshal([]byte(m), &p); err != nil || len(p.Data) != 1 {
			t.Fatalf("partial %s: %v", m, err)
		}
	}
	for _, c := range []struct{ msg, want string }{
		{`{"op":"subscribe","args":"trade:XBTUSD"}`, `"error":"You are already subscribed to this topic: trade:XBTUSD"`},
		{`{"op":"subscribe","args":["orderBookL3:XBTUSD"]}`, `"error":"Unknown table: orderBookL3"`},
		{`{"op":"subscribe","args":["trade:XBTEUR"]}`, `"error":"Unknown or expired symbol: XBTEUR."`},
		{`{"op":"unsubscribe","args":["trade:XBTUSD"]}`, `{"success":true,"unsubscribe":"trade:XBTUSD"`},
		{`not json`, `"error":"Unrecognized request.`},
	} {
		w.send(c.msg)
		if m := w.read(); !strings.Contains(m, c.want) || (strings.Contains(c.want, "error") && !strings.Contains(m, `"status":400`)) {
			t.Errorf("%s → %s", c.msg, m)
		}
	}
	// Subscriptions in the URL.
	w2 := dial(t, s, "?subscribe=orderBookL2_25:XBTUSDT")
	w2.read() // welcome
	w2.readUntil(`"table":"orderBookL2_25","action":"partial"`, `"filter":{"symbol":"XBTUSDT"}`)
}

type level struct {
	side  string
	price decimal.Decimal
	size  decimal.Decimal
}

type l2msg struct {
	Table  string `json:"table"`
	Action string `json:"action"`
	Data   []struct {
		Symbol    string           `json:"symbol"`
		ID        int64            `json:"id"`
		Side      string           `json:"side"`
		Size      *decimal.Decimal `json:"size"`
		Price     *decimal.Decimal `json:"price"`
		Timestamp string           `json:"timestamp"`
	} `json:"data"`
}

// TestRealtimeBookReproducesTheVenue applies the partial and every
// delete/insert/update of orderBookL2_25 (legacy rows without a price on
// updates and deletes) by level id, and checks the book against the truth
// at the end of every step.
func TestRealtimeBookReproducesTheVenue(t *testing.T) {
	s := simtest.Start(t, simtest.Venues("bitmex"), simtest.Now(fixedNow), simtest.Speed(20),
		simtest.Configure(func(c *sim.Config) { c.Options = map[string]string{"bitmex.legacyL2": "true"} }))
	w := dial(t, s, "")
	w.read()
	w.send(`{"op":"subscribe","args":["orderBookL2_25:XBTUSD"]}`)
	w.read() // ack
	book := map[int64]level{}
	truth := s.Truth("bitmex")
	check := func(ts string) {
		at, err := time.Parse(time.RFC3339, ts)
		if err != nil {
			t.Fatal(err)
		}
		want, err := truth.Book("BTC/USD:perp", domain.Nanos(at), 25)
		if err != nil {
			t.Fatal(err)
		}
		bids := map[string]string{}
		asks := map[string]string{}
		for _, l := range book {
			if l.side == "Buy" {
				bids[l.price.Trim(0).String()] = l.size.Trim(0).String()
			} else {
				asks[l.price.Trim(0).String()] = l.size.Trim(0).String()
			}
		}
		if len(bids) != 25 || len(asks) != 25 {
			t.Fatalf("%s: %d bids, %d asks", ts, len(bids), len(asks))
		}
		for _, l := range want.Bids {
			if bids[l.Price.Trim(0).String()] != l.Amount.Trim(0).String() {
				t.Fatalf("%s: bid %s is %q, venue %s", ts, l.Price, bids[l.Price.String()], l.Amount)
			}
		}
		for _, l := range want.Asks {
			if asks[l.Price.Trim(0).String()] != l.Amount.Trim(0).String() {
				t.Fatalf("%s: ask %s is %q, venue %s", ts, l.Price, asks[l.Price.String()], l.Amount)
			}
		}
	}
	steps, last := 0, ""
	for steps < 100 {
		var m l2msg
		if err := json.Unmarshal([]byte(w.read()), &m); err != nil {
			t.Fatal(err)
		}
		if len(m.Data) == 0 {
			continue
		}
		ts := m.Data[0].Timestamp
		if last != "" && ts != last {
			check(last)
			steps++
		}
		last = ts
		for _, r := range m.Data {
			old, ok := book[r.ID]
			switch m.Action {
			case "partial", "insert":
				if m.Action == "insert" && ok {
					t.Fatalf("insert of existing level %d", r.ID)
				}
				book[r.ID] = level{r.Side, *r.Price, *r.Size}
			case "update":
				if !ok || r.Price != nil {
					t.Fatalf("legacy update %+v (known %v)", r, ok)
				}
				old.size = *r.Size
				book[r.ID] = old
			case "delete":
				if !ok || r.Size != nil {
					t.Fatalf("delete %+v (known %v)", r, ok)
				}
				delete(book, r.ID)
			}
		}
	}
}

func TestRealtimeTradesAndBins(t *testing.T) {
	s := simtest.Start(t, simtest.Venues("bitmex"), simtest.Now(fixedNow), simtest.Speed(120))
	w := dial(t, s, "?subscribe=trade:XBTUSD,tradeBin1m:XBTUSD")
	w.read()
	type trade struct {
		Timestamp string `json:"timestamp"`
		ID        string `json:"trdMatchID"`
	}
	var got []trade
	bins := 0
	for bins < 2 {
		m := w.read()
		var msg struct {
			Table  string          `json:"table"`
			Action string          `json:"action"`
			Data   json.RawMessage `json:"data"`
		}
		if json.Unmarshal([]byte(m), &msg) != nil || msg.Action != "insert" {
			continue
		}
		switch msg.Table {
		case "trade":
			var rows []trade
			if err := json.Unmarshal(msg.Data, &rows); err != nil {
				t.Fatal(err)
			}
			got = append(got, rows...)
		case "tradeBin1m":
			bins++
		}
	}
	if len(got) < 50 {
		t.Fatalf("%d trades", len(got))
	}
	for i := 1; i < len(got); i++ {
		if got[i].Timestamp < got[i-1].Timestamp || got[i].ID <= got[i-1].ID {
			t.Fatalf("trade %d out of order: %+v after %+v", i, got[i], got[i-1])
		}
	}
}
