package orderbook

import (
	"math/rand/v2"
	"testing"

	"github.com/govalues/decimal"

	"github.com/pype-go/pype/domain"
)

type benchOp struct {
	side   Side
	price  decimal.Decimal
	amount decimal.Decimal
}

// benchBook returns a book with levels bids (asks) on ticks 100000-2i
// (100002+2i), i < levels, and ops whose prices are drawn by pick.
func benchBook(levels int) *Book {
	b := NewBook(btcusdt)
	for i := range levels {
		_ = b.Set(Bid, decimal.MustNew(int64(100000-2*i), 2), decimal.MustNew(int64(1000+i), 4))
		_ = b.Set(Ask, decimal.MustNew(int64(100002+2*i), 2), decimal.MustNew(int64(1000+i), 4))
	}
	return b
}

// uniformOps draws prices uniformly over twice the book's span with half of
// the updates removing a level, so the book stays near its size and every
// position in it is hit equally: the worst case for a sorted array.
func uniformOps(levels, n int) []benchOp {
	rng := rand.New(rand.NewPCG(1, 2))
	ops := make([]benchOp, n)
	for i := range ops {
		side := Side(1 + rng.IntN(2))
		off := int64(rng.IntN(2 * levels))
		p := 100000 - off
		if side == Ask {
			p = 100002 + off
		}
		var a decimal.Decimal
		if rng.IntN(2) == 0 {
			a = decimal.MustNew(rng.Int64N(1e6)+1, 4)
		}
		ops[i] = benchOp{side, decimal.MustNew(p, 2), a}
	}
	return ops
}

// marketOps resembles a real diff stream: most updates change the amount of
// an existing level, inserts and removals cluster near the top of the book.
func marketOps(levels, n int) []benchOp {
	rng := rand.New(rand.NewPCG(3, 4))
	ops := make([]benchOp, n)
	for i := range ops {
		side := Side(1 + rng.IntN(2))
		off := int64(rng.ExpFloat64() * 40)
		if off >= int64(2*levels) {
			off = int64(2*levels - 1)
		}
		p := 100000 - off
		if side == Ask {
			p = 100002 + off
		}
		var a decimal.Decimal
		if rng.IntN(4) != 0 {
			a = decimal.MustNew(rng.Int64N(1e6)+1, 4)
		}
		ops[i] = benchOp{side, decimal.MustNew(p, 2), a}
	}
	return ops
}

func runOps(b *testing.B, book *Book, ops []benchOp) {
	b.ReportAllocs()
	mask := len(ops) - 1
	// Warm up to the steady state (block pool filled).
	for i := range ops {
		op := &ops[i]
		_ = book.Set(op.side, op.price, op.amount)
	}
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		op := &ops[i&mask]
		if err := book.Set(op.side, op.price, op.amount); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "updates/s")
}

func BenchmarkBookUpdate(b *testing.B) {
	b.Run("uniform_1000", func(b *testing.B) { runOps(b, benchBook(1000), uniformOps(1000, 1<<16)) })
	b.Run("market_1000", func(b *testing.B) { runOps(b, benchBook(1000), marketOps(1000, 1<<16)) })
	b.Run("uniform_5000", func(b *testing.B) { runOps(b, benchBook(5000), uniformOps(5000, 1<<16)) })
}

func BenchmarkBookApplyDelta(b *testing.B) {
	// Binance-like diffs of 10 levels on a 1000-level book.
	book := benchBook(1000)
	ops := marketOps(1000, 1<<16)
	deltas := make([]domain.BookDelta, len(ops)/10)
	for i := range deltas {
		for _, op := range ops[i*10 : i*10+10] {
			if op.side == Bid {
				deltas[i].Bids = append(deltas[i].Bids, domain.BookLevel{Price: op.price, Amount: op.amount})
			} else {
				deltas[i].Asks = append(deltas[i].Asks, domain.BookLevel{Price: op.price, Amount: op.amount})
			}
		}
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if err := book.ApplyDelta(&deltas[i%len(deltas)]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*10)/b.Elapsed().Seconds(), "updates/s")
}

func BenchmarkBookBestBidAsk(b *testing.B) {
	book := benchBook(1000)
	b.ReportAllocs()
	for b.Loop() {
		bid, _ := book.BestBid()
		ask, _ := book.BestAsk()
		if bid.Price.Cmp(ask.Price) >= 0 {
			b.Fatal("crossed")
		}
	}
}

func BenchmarkBookVWAP(b *testing.B) {
	book := benchBook(1000)
	amount := decimal.MustNew(10, 0) // ≈ 90 levels deep
	b.ReportAllocs()
	for b.Loop() {
		if _, err := book.VWAP(domain.Buy, amount); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEngineHandle measures a live engine applying Binance-style diffs
// (10 levels each) with continuity checks and locking.
func BenchmarkEngineHandle(b *testing.B) {
	e, err := NewEngine(Config{Continuity: BinanceContinuity{}, Logger: quiet})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	_ = e.Add(btcusdt)
	book := benchBook(1000)
	snap := book.Snapshot()
	snap.Seq = 1
	_ = e.HandleSnapshot(&snap)
	ops := marketOps(1000, 1<<16)
	deltas := make([]domain.BookDelta, len(ops)/10)
	for i := range deltas {
		deltas[i].Symbol = btcusdt
		for _, op := range ops[i*10 : i*10+10] {
			if op.side == Bid {
				deltas[i].Bids = append(deltas[i].Bids, domain.BookLevel{Price: op.price, Amount: op.amount})
			} else {
				deltas[i].Asks = append(deltas[i].Asks, domain.BookLevel{Price: op.price, Amount: op.amount})
			}
		}
	}
	seq := int64(1)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		d := &deltas[i%len(deltas)]
		d.FirstSeq, d.Seq = seq+1, seq+1
		seq++
		if err := e.Handle(d); err != nil {
			b.Fatal(err)
		}
	}
	if e.State(btcusdt) != Live {
		b.Fatalf("state %v", e.State(btcusdt))
	}
	b.ReportMetric(float64(b.N*10)/b.Elapsed().Seconds(), "updates/s")
}
