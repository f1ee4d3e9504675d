package bitfinex

import (
	"fmt"
	"strings"
	"testing"

	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/operators/orderbook"
)

func tradesBody(n int) []byte {
	var b strings.Builder
	b.WriteByte('[')
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "[%d,%d,%s0.0%d,%d.%d]", 1400000000+i, 1709251200000+int64(i/7), map[bool]string{true: "-", false: ""}[i%3 == 0], 1000+i%9000, 60000+i%500, i%10)
	}
	b.WriteByte(']')
	return []byte(b.String())
}

func candlesBody(n int) []byte {
	var b strings.Builder
	b.WriteByte('[')
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "[%d,%d.5,%d.1,%d,%d,%d.00180000000002]", 1709251200000+int64(i)*60000, 60000+i%300, 60001+i%300, 60010+i%300, 59990+i%300, i%1000)
	}
	b.WriteByte(']')
	return []byte(b.String())
}

// BenchmarkParseTrades decodes a full 10000-row trades page.
func BenchmarkParseTrades(b *testing.B) {
	body := tradesBody(MaxTrades)
	b.SetBytes(int64(len(body)))
	dst := make([]tradeRow, 0, MaxTrades)
	for b.Loop() {
		var err error
		if dst, err = parseTrades(body, dst[:0]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(MaxTrades*b.N)/b.Elapsed().Seconds(), "trades/s")
}

// BenchmarkParseCandles decodes a full 10000-row candles page.
func BenchmarkParseCandles(b *testing.B) {
	body := candlesBody(MaxCandles)
	b.SetBytes(int64(len(body)))
	dst := make([]candleRow, 0, MaxCandles)
	for b.Loop() {
		var err error
		if dst, err = parseCandles(body, dst[:0]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(MaxCandles*b.N)/b.Elapsed().Seconds(), "bars/s")
}

// BenchmarkParseFrame decodes book update frames (the hot WebSocket path).
func BenchmarkParseFrame(b *testing.B) {
	frame := []byte(`[225206,[277730,2,-0.09383141],1665]`)
	var f wsFrame
	var delta domain.BookDelta
	for b.Loop() {
		if err := parseFrame(frame, &f); err != nil {
			b.Fatal(err)
		}
		r, err := parseBookPayload(f.Payload)
		if err != nil {
			b.Fatal(err)
		}
		if err := bookDelta(r, &delta); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "frames/s")
}

// BenchmarkBookMessages replays the recorded tDOGUSD len-100 channel
// (snapshot and 384 updates) through the frame parser and the sync
// engine; with checksum frames added after every update, each update is
// also verified.
func BenchmarkBookMessages(b *testing.B) {
	lines := fixtureLines(b, "ws_v2_book_P0_len100_tDOGUSD_seqall_cryptofeed_2021-04-17.jsonl")
	var frames [][]byte
	for _, l := range lines {
		if l[0] == '[' && !strings.Contains(string(l), `"hb"`) {
			frames = append(frames, l)
		}
	}
	for _, withCS := range []bool{false, true} {
		b.Run(fmt.Sprintf("checksum=%v", withCS), func(b *testing.B) {
			var rule orderbook.ChecksumRule
			if withCS {
				rule = orderbook.BitfinexChecksum{Depth: ChecksumDepth}
			}
			eng, err := orderbook.NewEngine(orderbook.Config{Venue: Name, Checksum: rule, Logger: discard()})
			if err != nil {
				b.Fatal(err)
			}
			defer eng.Close()
			sym := domain.MustParseSymbol("DOG/USD")
			_ = eng.Add(sym)
			h := &bookStream{a: &Adapter{log: discard()}, eng: eng, syms: []*streamSym{{sym: sym}}}
			c := &channelSpec{}
			var f wsFrame
			// Precompute the checksum frames: replay once and record the
			// venue-equivalent checksum after each frame.
			var cs [][]byte
			if withCS {
				book := orderbook.NewBook(sym)
				for _, fr := range frames {
					_ = parseFrame(fr, &f)
					d := domain.BookDelta{Symbol: sym}
					if f.Kind == fkSnapshot {
						rows, _ := parseBookRows(f.Payload, nil)
						d.Bids, d.Asks = splitBook(rows, nil, nil)
						d.Reset = true
					} else {
						r, _ := parseBookPayload(f.Payload)
						_ = bookDelta(r, &d)
					}
					_ = book.ApplyDelta(&d)
					cs = append(cs, []byte(fmt.Sprintf(`[225206,"cs",%d,1]`, int32((orderbook.BitfinexChecksum{}).Checksum(book)))))
				}
			}
			msgs := 0
			for b.Loop() {
				for i, fr := range frames {
					if err := parseFrame(fr, &f); err != nil {
						b.Fatal(err)
					}
					h.frame(nil, c, &f, 1)
					msgs++
					if withCS {
						_ = parseFrame(cs[i], &f)
						h.frame(nil, c, &f, 1)
						msgs++
					}
				}
			}
			if st, _ := eng.Stats(sym); st.ChecksumFailures != 0 || st.State != orderbook.Live {
				b.Fatalf("stats %+v", st)
			}
			b.ReportMetric(float64(msgs)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}
