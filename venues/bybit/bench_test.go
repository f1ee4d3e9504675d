package bybit

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/operators/orderbook"
	"github.com/pype-go/pype/venues"
)

// klinePage builds a kline response of n rows, newest first.
func klinePage(n int) []byte {
	var b strings.Builder
	b.WriteString(`{"retCode":0,"retMsg":"OK","result":{"symbol":"BTCUSDT","category":"spot","list":[`)
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `["%d","42%03d.12","42%03d.99","41%03d.01","42%03d.50","%d.12345","%d.1234567"]`,
			1700000000000-int64(i)*60000, i%1000, i%1000, i%1000, (i+7)%1000, i, i*42000)
	}
	b.WriteString(`]},"retExtInfo":{},"time":1700000000000}`)
	return []byte(b.String())
}

func BenchmarkParseKlines(b *testing.B) {
	page := klinePage(1000)
	b.SetBytes(int64(len(page)))
	b.ReportAllocs()
	for b.Loop() {
		bars, err := parseKlines(page, Spot)
		if err != nil || len(bars) != 1000 {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)*1000/b.Elapsed().Seconds(), "bars/s")
}

func tradeMessage(n int) []byte {
	var b strings.Builder
	b.WriteString(`{"topic":"publicTrade.BTCUSDT","type":"snapshot","ts":1672304486868,"data":[`)
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"T":%d,"s":"BTCUSDT","S":"Buy","v":"0.00%d","p":"16578.%02d","L":"PlusTick","i":"2290000000061%06d","BT":false}`,
			1672304486865+int64(i/10), i%9+1, i%100, i)
	}
	b.WriteString(`]}`)
	return []byte(b.String())
}

func BenchmarkParseTradeMessage(b *testing.B) {
	msg := tradeMessage(50)
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	var f wsFrame
	var buf []domain.Trade
	for b.Loop() {
		if _, err := parseFrame(msg, &f); err != nil {
			b.Fatal(err)
		}
		var err error
		if buf, _, err = parseTrades(f.Data, buf[:0]); err != nil || len(buf) != 50 {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)*50/b.Elapsed().Seconds(), "trades/s")
}

// bookMessages builds an orderbook.50 snapshot and n deltas of 3 levels.
func bookMessages(n int) [][]byte {
	lv := func(p, q int) string { return fmt.Sprintf(`["%d.%02d","%d.%03d"]`, p/100, p%100, q/1000, q%1000) }
	var out [][]byte
	var bids, asks []string
	for i := 0; i < 50; i++ {
		bids = append(bids, lv(4200000-i*10, 1000+i))
		asks = append(asks, lv(4200010+i*10, 2000+i))
	}
	out = append(out, []byte(`{"topic":"orderbook.50.BTCUSDT","type":"snapshot","ts":1672304484978,"data":{"s":"BTCUSDT","b":[`+
		strings.Join(bids, ",")+`],"a":[`+strings.Join(asks, ",")+`],"u":1000,"seq":7961638724},"cts":1672304484976}`))
	for i := 0; i < n; i++ {
		k := i % 50
		d := fmt.Sprintf(`{"topic":"orderbook.50.BTCUSDT","type":"delta","ts":%d,"data":{"s":"BTCUSDT","b":[%s,%s],"a":[%s],"u":%d,"seq":%d},"cts":1672304484976}`,
			1672304485000+int64(i), lv(4200000-k*10, 3000+i%1000), lv(4200000-((k+7)%50)*10, 1000+i%500), lv(4200010+k*10, 500+i%700), 1001+i, 7961638725+i)
		out = append(out, []byte(d))
	}
	return out
}

// BenchmarkBookMessages measures orderbook messages through the stream
// handler: envelope and level parsing, the continuity check, applying to
// the engine's book and reading the top 20 levels for the BookEvent.
func BenchmarkBookMessages(b *testing.B) {
	msgs := bookMessages(4096)
	sym := domain.NewSymbol("BTC", "USDT")
	eng, err := orderbook.NewEngine(orderbook.Config{Venue: Name, Continuity: orderbook.BybitContinuity{}, Depth: 50, Logger: discard()})
	if err != nil {
		b.Fatal(err)
	}
	defer eng.Close()
	ss := &streamSym{sym: sym, cat: Spot, vs: "BTCUSDT", topic: "orderbook.50.BTCUSDT"}
	events := 0
	h := &bookStream{a: &Adapter{log: discard()}, eng: eng, bySym: map[symKey]*streamSym{{Spot, "BTCUSDT"}: ss}, order: []*streamSym{ss},
		depth: 20, emit: func(e venues.BookEvent) bool {
			if e.Live {
				events++
			}
			return true
		}}
	if err := eng.Add(sym); err != nil {
		b.Fatal(err)
	}
	c := &wsConn{cat: Spot}
	var f wsFrame
	feed := func(m []byte) {
		if _, err := parseFrame(m, &f); err != nil {
			b.Fatal(err)
		}
		h.data(c, wsFrameOf(m), &f)
	}
	feed(msgs[0])
	b.ReportAllocs()
	i := 1
	for b.Loop() {
		if i == len(msgs) {
			// Start over from the snapshot (a reset, as u = 1 would).
			feed(msgs[0])
			i = 1
		}
		feed(msgs[i])
		i++
	}
	if st, _ := eng.Stats(sym); st.Gaps != 0 || st.State != orderbook.Live {
		b.Fatalf("stats %+v", st)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
	_ = strconv.Itoa(events)
}
