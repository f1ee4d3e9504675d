package binance

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/govalues/decimal"

	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/operators/orderbook"
	"github.com/pype-go/pype/transport/ws"
	"github.com/pype-go/pype/venues"
)

// depthFrames builds n combined-stream depthUpdate frames with 5 bid and 5
// ask levels each, contiguous U/u from first, over a 1000-level book (the
// shape and size of Binance's BTCUSDT @depth@100ms messages), and the
// snapshot they continue.
func depthFrames(n int, first int64) ([][]byte, domain.BookSnapshot) {
	snap := domain.BookSnapshot{Symbol: btcusdt, Seq: first - 1}
	for i := 0; i < 1000; i++ {
		snap.Bids = append(snap.Bids, domain.BookLevel{Price: decimal.MustNew(4200000-int64(i), 2), Amount: decimal.MustNew(int64(100+i), 8)})
		snap.Asks = append(snap.Asks, domain.BookLevel{Price: decimal.MustNew(4200001+int64(i), 2), Amount: decimal.MustNew(int64(100+i), 8)})
	}
	frames := make([][]byte, n)
	u := first - 1
	for k := range frames {
		U := u + 1
		u = U + int64(k%3)
		b := fmt.Appendf(nil, `{"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","E":%d,"s":"BTCUSDT","U":%d,"u":%d,"b":[`, 1700000000000+int64(k)*100, U, u)
		for j := 0; j < 5; j++ {
			if j > 0 {
				b = append(b, ',')
			}
			qty := (k*7 + j*13) % 5000 // 0 removes the level
			b = fmt.Appendf(b, `["%d.%02d","%d.%08d"]`, (4200000-(k+j*3)%40)/100, (4200000-(k+j*3)%40)%100, qty/1000, qty%1000*1000)
		}
		b = append(b, `],"a":[`...)
		for j := 0; j < 5; j++ {
			if j > 0 {
				b = append(b, ',')
			}
			qty := (k*11 + j*17) % 5000
			b = fmt.Appendf(b, `["%d.%02d","%d.%08d"]`, (4200001+(k+j*3)%40)/100, (4200001+(k+j*3)%40)%100, qty/1000, qty%1000*1000)
		}
		b = append(b, "]}}"...)
		frames[k] = b
	}
	return frames, snap
}

// liveEngine returns an engine whose BTC/USDT book is live at snap.
func liveEngine(tb testing.TB, snap domain.BookSnapshot) *orderbook.Engine {
	tb.Helper()
	eng, err := orderbook.NewEngine(orderbook.Config{Venue: Name, Continuity: orderbook.BinanceContinuity{}, SnapshotWait: -1,
		Snapshot: func(context.Context, domain.Symbol) (domain.BookSnapshot, error) { return snap, nil }})
	if err != nil {
		tb.Fatal(err)
	}
	if err := eng.Add(btcusdt); err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := eng.WaitLive(ctx, btcusdt); err != nil {
		tb.Fatal(err)
	}
	return eng
}

// BenchmarkDepthParse: decoding one 10-level depthUpdate frame.
func BenchmarkDepthParse(b *testing.B) {
	frames, _ := depthFrames(4096, 1000)
	var ev depthEvent
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		f, err := splitFrame(frames[i%len(frames)])
		if err != nil {
			b.Fatal(err)
		}
		if err := parseDepthUpdate(f.Data, &ev); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkDepthParseApply: decoding a 10-level diff and applying it to a
// live 1000-level book through the sync engine (U/u check, locks), on one
// core. Target ≥ 200,000 msgs/s.
func BenchmarkDepthParseApply(b *testing.B) {
	const n = 1 << 16
	frames, snap := depthFrames(n, 1000)
	var ev depthEvent
	var d domain.BookDelta
	eng := liveEngine(b, snap)
	defer eng.Close()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if i%n == 0 && i > 0 {
			b.StopTimer()
			eng.Close()
			eng = liveEngine(b, snap)
			b.StartTimer()
		}
		f, _ := splitFrame(frames[i%n])
		if err := parseDepthUpdate(f.Data, &ev); err != nil {
			b.Fatal(err)
		}
		d = domain.BookDelta{Symbol: btcusdt, FirstSeq: ev.First, Seq: ev.Final, Time: ev.EventTime, Bids: ev.Bids, Asks: ev.Asks}
		if err := eng.Handle(&d); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if eng.State(btcusdt) != orderbook.Live {
		b.Fatal("book not live after the run: a diff was not continuous")
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkBookFeedFrame: the whole per-frame path of StreamBooks on one
// core — envelope, decode, engine, and the top-20 BookEvent handed to the
// consumer.
func BenchmarkBookFeedFrame(b *testing.B) {
	const n = 1 << 16
	frames, snap := depthFrames(n, 1000)
	a := &Adapter{opt: options{streamsPerConn: MaxStreamsPerConn}}
	newFeed := func() *bookFeed {
		f := &bookFeed{a: a, depth: 20, byVenue: map[string]*bookSym{}, bySym: map[domain.Symbol]*bookSym{}}
		f.eng = liveEngine(b, snap)
		bs := newBookSym(btcusdt, "BTCUSDT")
		f.byVenue["BTCUSDT"], f.bySym[btcusdt] = bs, bs
		events := 0
		f.emit = func(e venues.BookEvent) bool {
			if !e.Live {
				b.Fatal("book went stale")
			}
			events++
			return true
		}
		return f
	}
	f := newFeed()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if i%n == 0 && i > 0 {
			b.StopTimer()
			f.eng.Close()
			f = newFeed()
			b.StartTimer()
		}
		fr, _ := splitFrame(frames[i%n])
		f.frame(0, ws.Frame{Data: frames[i%n], Received: int64(i)}, &fr)
	}
	b.StopTimer()
	f.eng.Close()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkAggTradesPage: decoding a full 1000-row /api/v3/aggTrades page.
func BenchmarkAggTradesPage(b *testing.B) {
	body := readFixture(b, "rest_aggTrades_BTCUSDT_fromId202790190_limit1000_full_page_gct.json")
	var rows []aggTrade
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		var err error
		if rows, err = parseAggTrades(body, rows[:0]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(rows))/b.Elapsed().Seconds(), "trades/s")
}

// BenchmarkKlinesPage: decoding a /api/v3/klines page (365 rows).
func BenchmarkKlinesPage(b *testing.B) {
	body := readFixture(b, "rest_klines_BTCUSDT_1d_2019_full_year_gct.json")
	var rows []kline
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		var err error
		if rows, err = parseKlines(body, rows[:0]); err != nil {
			b.Fatal(err)
		}
	}
}
