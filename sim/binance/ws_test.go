package binance_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/sim"
	"github.com/pype-go/pype/sim/simtest"
)

type depthEvent struct {
	Stream string `json:"stream"`
	Data   struct {
		Ev   string      `json:"e"`
		ET   int64       `json:"E"`
		U    int64       `json:"U"`
		Last int64       `json:"u"`
		B    [][2]string `json:"b"`
		A    [][2]string `json:"a"`
	} `json:"data"`
}

type snapshot struct {
	LastUpdateID int64       `json:"lastUpdateId"`
	Bids         [][2]string `json:"bids"`
	Asks         [][2]string `json:"asks"`
}

func apply(book map[string]string, levels [][2]string) {
	for _, l := range levels {
		if strings.Trim(l[1], "0.") == "" {
			delete(book, l[0])
		} else {
			book[l[0]] = l[1]
		}
	}
}

// syncBook follows Binance's documented procedure: buffer the diff stream,
// fetch a snapshot, drop events with u ≤ lastUpdateId, require the first
// applied event to have U ≤ lastUpdateId+1 ≤ u and every later one U =
// previous u + 1. It returns the book and its update id after n events, or
// the update id at which continuity broke (gap > 0).
func syncBook(t *testing.T, c *websocket.Conn, rest string, n int) (bids, asks map[string]string, last, gap int64) {
	t.Helper()
	var buf []depthEvent
	for len(buf) < 3 {
		var e depthEvent
		if err := json.Unmarshal(wsRead(t, c), &e); err != nil {
			t.Fatal(err)
		}
		buf = append(buf, e)
	}
	var snap snapshot
	getJSON(t, rest+"/api/v3/depth?symbol=BTCUSDT&limit=5000", &snap)
	bids, asks = map[string]string{}, map[string]string{}
	apply(bids, snap.Bids)
	apply(asks, snap.Asks)
	last = snap.LastUpdateID
	first := true
	for applied := 0; applied < n; {
		var e depthEvent
		if len(buf) > 0 {
			e, buf = buf[0], buf[1:]
		} else if err := json.Unmarshal(wsRead(t, c), &e); err != nil {
			t.Fatal(err)
		}
		if e.Data.Last <= last {
			continue
		}
		if first {
			if e.Data.U > last+1 || e.Data.Last < last+1 {
				t.Fatalf("first event U=%d u=%d does not straddle %d", e.Data.U, e.Data.Last, last+1)
			}
			first = false
		} else if e.Data.U != last+1 {
			return bids, asks, last, e.Data.U
		}
		apply(bids, e.Data.B)
		apply(asks, e.Data.A)
		last = e.Data.Last
		applied++
	}
	return bids, asks, last, 0
}

func TestDepthSnapshotAndDiffStreamSynchronise(t *testing.T) {
	s := simtest.Start(t, simtest.Venues("binance"), simtest.Speed(50))
	c := wsDial(t, s.WS("binance")+"/stream?streams=btcusdt@depth@100ms")
	bids, asks, last, gap := syncBook(t, c, s.REST("binance"), 200)
	if gap != 0 {
		t.Fatalf("gap after %d", last)
	}
	// The synchronised book equals the truth at the last update id.
	sr := s.Market("binance").Series(domain.NewSymbol("BTC", "USDT"))
	var st sim.BookState
	for step := sim.BookStep(s.Market("binance").NowMs()); ; step-- {
		if sr.UpdateID(step) == last {
			st = sr.Book(step, 0)
			break
		}
		if sr.UpdateID(step) < last {
			t.Fatalf("no step with update id %d", last)
		}
	}
	if len(st.Bids) != len(bids) || len(st.Asks) != len(asks) {
		t.Fatalf("book sizes %d/%d, truth %d/%d", len(bids), len(asks), len(st.Bids), len(st.Asks))
	}
	for _, l := range st.Bids {
		if p := string(sr.AppendPrice(nil, l.Price, 8)); bids[p] != string(sr.AppendQty(nil, l.Qty, 8)) {
			t.Fatalf("bid %s: %s vs truth %d", p, bids[p], l.Qty)
		}
	}
	best := st.Bids[0].Price
	if st.Asks[0].Price <= best {
		t.Fatal("crossed")
	}
}

func TestDepthGapFaultForcesResync(t *testing.T) {
	s := simtest.Start(t, simtest.Venues("binance"), simtest.Speed(50),
		simtest.Faults("binance", sim.Faults{DepthGapEvery: 40}))
	c := wsDial(t, s.WS("binance")+"/stream?streams=btcusdt@depth@100ms")
	_, _, last, gap := syncBook(t, c, s.REST("binance"), 200)
	if gap == 0 {
		t.Fatal("no gap seen")
	}
	if gap <= last+1 {
		t.Fatalf("gap %d after %d", gap, last)
	}
	if s.Stats("binance").Faults[sim.FaultDepthGap] == 0 {
		t.Fatal("gap not counted")
	}
}

func TestStreamsSubscribeUnsubscribeAndKlineClose(t *testing.T) {
	s := simtest.Start(t, simtest.Venues("binance"), simtest.Speed(120),
		simtest.Configure(func(c *sim.Config) { c.TradesPerSecond = 5 }))
	c := wsDial(t, s.WS("binance")+"/ws")
	wsSend(t, c, `{"method":"SUBSCRIBE","params":["btcusdt@kline_1m","btcusdt@aggTrade"],"id":1}`)
	gotAck, klineClosed, aggs := false, false, 0
	var lastAgg int64
	for i := 0; i < 20000 && (!gotAck || !klineClosed || aggs < 20); i++ {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(wsRead(t, c), &m); err != nil {
			t.Fatal(err)
		}
		if _, ok := m["stream"]; ok {
			t.Fatal("raw connection got a combined frame")
		}
		if id, ok := m["id"]; ok {
			if string(id) != "1" || string(m["result"]) != "null" {
				t.Fatalf("ack %v", m)
			}
			gotAck = true
			continue
		}
		var e string
		_ = json.Unmarshal(m["e"], &e)
		switch e {
		case "aggTrade":
			var a aggRow
			b, _ := json.Marshal(m)
			_ = json.Unmarshal(b, &a)
			if lastAgg != 0 && a.A != lastAgg+1 {
				t.Fatalf("aggTrade ids jump %d → %d", lastAgg, a.A)
			}
			lastAgg = a.A
			aggs++
		case "kline":
			var k struct {
				X     bool  `json:"x"`
				T     int64 `json:"t"`
				Close int64 `json:"T"` // distinct field: encoding/json matches keys case-insensitively
				N     int64 `json:"n"`
			}
			_ = json.Unmarshal(m["k"], &k)
			if k.X {
				// A closed bar equals the REST kline of the same minute.
				var ks []kline
				getJSON(t, fmt.Sprintf("%s/api/v3/klines?symbol=BTCUSDT&interval=1m&startTime=%d&limit=1", s.REST("binance"), k.T), &ks)
				if len(ks) != 1 || ms(ks[0][0]) != k.T || int64(ks[0][8].(float64)) != k.N {
					t.Fatalf("closed kline %d n=%d vs REST %v", k.T, k.N, ks)
				}
				klineClosed = true
			}
		}
	}
	if !gotAck || !klineClosed || aggs < 20 {
		t.Fatalf("ack %v closed kline %v aggs %d", gotAck, klineClosed, aggs)
	}
	// A fresh connection (at most 5 requests per second per connection).
	c = wsDial(t, s.WS("binance")+"/ws/btcusdt@kline_1m/btcusdt@aggTrade")
	wsSend(t, c, `{"method":"LIST_SUBSCRIPTIONS","id":"x"}`)
	wsSend(t, c, `{"method":"UNSUBSCRIBE","params":["btcusdt@aggTrade","btcusdt@kline_1m"],"id":2}`)
	wsSend(t, c, `{"method":"NOPE","id":3}`)
	wsSend(t, c, `{"method":"SET_PROPERTY","params":["combined",true],"id":4}`)
	wsSend(t, c, `{"method":"GET_PROPERTY","params":["combined"],"id":5}`)
	want := map[string]string{
		`"x"`: `{"result":["btcusdt@kline_1m","btcusdt@aggTrade"],"id":"x"}`,
		`2`:   `{"result":null,"id":2}`,
		`3`:   "error",
		`4`:   `{"result":null,"id":4}`,
		`5`:   `{"result":true,"id":5}`,
	}
	for len(want) > 0 {
		b := wsRead(t, c)
		var m map[string]json.RawMessage
		_ = json.Unmarshal(b, &m)
		id, ok := m["id"]
		if !ok {
			continue // data sent before the unsubscribe
		}
		w := want[string(id)]
		if w == "error" {
			if !strings.HasPrefix(string(b), `{"error":{"code":2,"msg":"Invalid request: unknown variant`) {
				t.Fatalf("error reply %s", b)
			}
		} else if string(b) != w {
			t.Fatalf("reply %s, want %s", b, w)
		}
		delete(want, string(id))
	}
}

func TestTooManyRequestsDisconnects(t *testing.T) {
	s := simtest.Start(t, simtest.Venues("binance"))
	c := wsDial(t, s.WS("binance")+"/ws")
	for i := 0; i < 6; i++ {
		wsSend(t, c, `{"method":"LIST_SUBSCRIPTIONS","id":1}`)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for {
		_, _, err := c.Read(ctx)
		if err != nil {
			if websocket.CloseStatus(err) != websocket.StatusPolicyViolation {
				t.Fatalf("closed with %v", err)
			}
			return
		}
	}
}

func TestServerPings(t *testing.T) {
	s := simtest.Start(t, simtest.Venues("binance"),
		simtest.Configure(func(c *sim.Config) { c.PingInterval = 20 * time.Millisecond }))
	pings := make(chan struct{}, 10)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, s.WS("binance")+"/ws/btcusdt@trade", &websocket.DialOptions{
		OnPingReceived: func(context.Context, []byte) bool {
			select {
			case pings <- struct{}{}:
			default:
			}
			return true
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	go func() {
		for {
			if _, _, err := c.Read(ctx); err != nil {
				return
			}
		}
	}()
	for i := 0; i < 2; i++ {
		select {
		case <-pings:
		case <-ctx.Done():
			t.Fatal("no server ping")
		}
	}
}

func TestWSFaultsObservable(t *testing.T) {
	s := simtest.Start(t, simtest.Venues("binance"), simtest.Speed(50),
		simtest.Configure(func(c *sim.Config) { c.TradesPerSecond = 20 }),
		simtest.Faults("binance", sim.Faults{WSDropEvery: 30, WSDuplicateRate: 0.2}))
	c := wsDial(t, s.WS("binance")+"/ws/btcusdt@depth@100ms")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	n, dups := 0, 0
	var prev string
	for {
		_, b, err := c.Read(ctx)
		if err != nil {
			if ctx.Err() != nil {
				t.Fatal("connection was not dropped")
			}
			break
		}
		if string(b) == prev {
			dups++
		}
		prev = string(b)
		n++
	}
	if n < 30 || n > 30+dups || dups == 0 {
		t.Fatalf("dropped after %d messages with %d duplicates", n, dups)
	}
	st := s.Stats("binance")
	if st.Faults[sim.FaultWSDrop] == 0 || st.Faults[sim.FaultWSDuplicate] == 0 {
		t.Fatalf("faults %v", st.Faults)
	}
	_ = strconv.Itoa
}
