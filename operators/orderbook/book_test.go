package orderbook

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/govalues/decimal"
	"pgregory.net/rapid"

	"github.com/pype-go/pype/domain"
)

var btcusdt = domain.NewSymbol("BTC", "USDT")

func d(s string) decimal.Decimal { return decimal.MustParse(s) }

func lv(p, a string) domain.BookLevel { return domain.BookLevel{Price: d(p), Amount: d(a)} }

// refBook is the naive reference: a map from the price's value to its
// latest level.
type refBook struct {
	side  map[Side]map[string]domain.BookLevel
	depth int
}

func newRef() *refBook {
	return &refBook{side: map[Side]map[string]domain.BookLevel{Bid: {}, Ask: {}}}
}

func valueKey(p decimal.Decimal) string { return p.Trim(0).String() }

func (r *refBook) set(s Side, p, a decimal.Decimal) {
	if a.IsZero() {
		delete(r.side[s], valueKey(p))
		return
	}
	_, existed := r.side[s][valueKey(p)]
	r.side[s][valueKey(p)] = domain.BookLevel{Price: p, Amount: a}
	if !existed && r.depth > 0 && len(r.side[s]) > r.depth {
		lv := r.sorted(s)
		delete(r.side[s], valueKey(lv[len(lv)-1].Price))
	}
}

func (r *refBook) sorted(s Side) []domain.BookLevel {
	var out []domain.BookLevel
	for _, x := range r.side[s] {
		out = append(out, x)
	}
	slices.SortFunc(out, func(a, b domain.BookLevel) int {
		if s == Bid {
			return b.Price.Cmp(a.Price)
		}
		return a.Price.Cmp(b.Price)
	})
	return out
}

func checkLadder(l *ladder) error {
	n := 0
	var prev *domain.BookLevel
	var prevKey int64
	for bi, b := range l.blocks {
		if len(b.lv) == 0 || len(b.lv) != len(b.keys) || len(b.lv) > blockSize {
			return fmt.Errorf("block %d: %d levels, %d keys", bi, len(b.lv), len(b.keys))
		}
		for i := range b.lv {
			x := b.lv[i]
			if prev != nil {
				if l.rankCmp(prev.Price, x.Price) >= 0 {
					return fmt.Errorf("block %d pos %d: %s after %s", bi, i, x.Price, prev.Price)
				}
				if !l.slow && b.keys[i] <= prevKey {
					return fmt.Errorf("block %d pos %d: key %d after %d", bi, i, b.keys[i], prevKey)
				}
			}
			prev, prevKey = &b.lv[i], b.keys[i]
			n++
		}
	}
	if n != l.n {
		return fmt.Errorf("n = %d, counted %d", l.n, n)
	}
	return nil
}

func sameLevels(t interface{ Fatalf(string, ...any) }, what string, got, want []domain.BookLevel) {
	if len(got) != len(want) {
		t.Fatalf("%s: %d levels, want %d\n got %v\nwant %v", what, len(got), len(want), got, want)
	}
	for i := range got {
		// Exact: the same value and the same string (scale preserved).
		if got[i].Price.String() != want[i].Price.String() || got[i].Amount.String() != want[i].Amount.String() {
			t.Fatalf("%s: level %d = %s@%s, want %s@%s", what, i, got[i].Amount, got[i].Price, want[i].Amount, want[i].Price)
		}
	}
}

func TestBookMatchesReference(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		b := NewBook(btcusdt)
		ref := newRef()
		if rapid.Bool().Draw(t, "limited") {
			ref.depth = rapid.IntRange(1, 80).Draw(t, "depth")
			b.SetMaxDepth(ref.depth)
		}
		// Prices: a tick grid with varying written scale ("1.5", "1.50"),
		// and sometimes huge values that force decimal comparisons.
		huge := rapid.Bool().Draw(t, "huge")
		ops := rapid.IntRange(1, 3000).Draw(t, "ops")
		for range ops {
			side := Side(rapid.IntRange(1, 2).Draw(t, "side"))
			tick := rapid.Int64Range(1, 300).Draw(t, "tick")
			extra := rapid.IntRange(0, 3).Draw(t, "extraScale")
			p := decimal.MustNew(tick, 2)
			if extra > 0 {
				p = p.Pad(2 + extra)
			}
			if huge && rapid.IntRange(0, 20).Draw(t, "h") == 0 {
				p = decimal.MustNew(9_000_000_000_000_000_000-tick, 3)
			}
			var a decimal.Decimal
			if rapid.IntRange(0, 2).Draw(t, "del") > 0 {
				a = decimal.MustNew(rapid.Int64Range(1, 1e9).Draw(t, "amt"), rapid.IntRange(0, 8).Draw(t, "amtScale"))
			}
			if err := b.Set(side, p, a); err != nil {
				t.Fatalf("Set: %v", err)
			}
			ref.set(side, p, a)
		}
		for _, s := range []Side{Bid, Ask} {
			l := b.ladder(s)
			if err := checkLadder(l); err != nil {
				t.Fatalf("%v ladder: %v", s, err)
			}
			want := ref.sorted(s)
			sameLevels(t, s.String(), b.AppendLevels(nil, s, -1), want)
			if b.Depth(s) != len(want) {
				t.Fatalf("Depth(%v) = %d, want %d", s, b.Depth(s), len(want))
			}
			for i, x := range want {
				got, ok := b.Level(s, i)
				if !ok || got.Price.Cmp(x.Price) != 0 {
					t.Fatalf("Level(%v,%d) = %v %v, want %v", s, i, got, ok, x)
				}
				got, ok = b.Get(s, x.Price.Trim(0))
				if !ok || got.Amount.Cmp(x.Amount) != 0 {
					t.Fatalf("Get(%v,%s) = %v %v, want %v", s, x.Price, got, ok, x)
				}
			}
			if _, ok := b.Get(s, d("0.001")); ok {
				t.Fatalf("Get of an absent off-grid price succeeded")
			}
		}
		c := b.Clone()
		if !c.Equal(b) {
			t.Fatalf("clone differs")
		}
	})
}

func TestBookQueries(t *testing.T) {
	b := NewBook(btcusdt)
	load := domain.BookSnapshot{
		Seq:  7,
		Bids: []domain.BookLevel{lv("100.0", "1"), lv("99.5", "2"), lv("99.0", "3")},
		Asks: []domain.BookLevel{lv("101.0", "1.5"), lv("101.5", "0.5"), lv("103", "4")},
	}
	if err := b.Load(&load); err != nil {
		t.Fatal(err)
	}
	if b.Seq() != 7 {
		t.Fatalf("Seq = %d", b.Seq())
	}
	bb, _ := b.BestBid()
	ba, _ := b.BestAsk()
	if bb.Price.String() != "100.0" || ba.Price.String() != "101.0" {
		t.Fatalf("best = %v / %v", bb, ba)
	}
	sp, _ := b.Spread()
	mid, _ := b.Mid()
	if sp.Cmp(d("1")) != 0 || mid.Cmp(d("100.5")) != 0 {
		t.Fatalf("spread %s mid %s", sp, mid)
	}
	tests := []struct {
		taker          domain.Side
		amount         string
		vwap, worst    string
		cost           string
		wantDepthError bool
	}{
		{domain.Buy, "1", "101", "101.0", "101", false},
		{domain.Buy, "2", "101.125", "101.5", "202.25", false},
		{domain.Buy, "3", "101.75", "103", "305.25", false},
		{domain.Buy, "6", "", "", "", false},
		{domain.Buy, "6.1", "", "", "", true},
		{domain.Sell, "1", "100", "100.0", "100", false},
		{domain.Sell, "4", "99.5", "99.0", "398", false},
		{domain.Sell, "7", "", "", "", true},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%v_%s", tt.taker, tt.amount), func(t *testing.T) {
			v, err := b.VWAP(tt.taker, d(tt.amount))
			var de *InsufficientDepthError
			if tt.wantDepthError {
				if !errors.As(err, &de) {
					t.Fatalf("err = %v, want InsufficientDepthError", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.vwap == "" {
				return
			}
			if v.Cmp(d(tt.vwap)) != 0 {
				t.Errorf("VWAP = %s, want %s", v, tt.vwap)
			}
			w, _ := b.PriceForAmount(tt.taker, d(tt.amount))
			if w.String() != tt.worst {
				t.Errorf("PriceForAmount = %s, want %s", w, tt.worst)
			}
			c, _ := b.Cost(tt.taker, d(tt.amount))
			if c.Cmp(d(tt.cost)) != 0 {
				t.Errorf("Cost = %s, want %s", c, tt.cost)
			}
		})
	}
	if a, _ := b.AmountUpToPrice(domain.Buy, d("101.5")); a.Cmp(d("2")) != 0 {
		t.Errorf("AmountUpToPrice buy 101.5 = %s", a)
	}
	if a, _ := b.AmountUpToPrice(domain.Sell, d("99.5")); a.Cmp(d("3")) != 0 {
		t.Errorf("AmountUpToPrice sell 99.5 = %s", a)
	}
	if a, _ := b.AmountUpToPrice(domain.Buy, d("1")); !a.IsZero() {
		t.Errorf("AmountUpToPrice below the book = %s", a)
	}
	if _, err := b.VWAP(domain.SideUnknown, d("1")); err == nil {
		t.Error("VWAP with unknown side: no error")
	}
	if _, err := b.VWAP(domain.Buy, d("0")); err == nil {
		t.Error("VWAP of zero: no error")
	}
	var le *LevelError
	if err := b.Set(Bid, d("1"), d("-1")); !errors.As(err, &le) {
		t.Errorf("negative amount: err = %v", err)
	}
	if err := b.ApplyDelta(&domain.BookDelta{Bids: []domain.BookLevel{lv("98", "1")}, Asks: []domain.BookLevel{lv("104", "-2")}}); !errors.As(err, &le) {
		t.Errorf("negative amount in delta: err = %v", err)
	}
	if _, ok := b.Get(Bid, d("98")); ok {
		t.Error("a rejected delta was partly applied")
	}
	if b.Crossed() {
		t.Error("Crossed on a normal book")
	}
	_ = b.Set(Bid, d("101.0"), d("1"))
	if !b.Crossed() {
		t.Error("locked book not reported as crossed")
	}
	bids, asks := b.TopN(2)
	sameLevels(t, "top bids", bids, []domain.BookLevel{lv("101.0", "1"), lv("100.0", "1")})
	sameLevels(t, "top asks", asks, []domain.BookLevel{lv("101.0", "1.5"), lv("101.5", "0.5")})
	snap := b.Snapshot()
	snap.Bids[0].Amount = d("999")
	if x, _ := b.BestBid(); x.Amount.Cmp(d("1")) != 0 {
		t.Error("Snapshot shares memory with the book")
	}
	b.Clear()
	if !b.Empty() || b.Seq() != 0 {
		t.Error("Clear left levels")
	}
	if _, err := b.VWAP(domain.Buy, d("1")); !errors.As(err, &de0) {
		t.Errorf("VWAP on empty book: %v", err)
	}
}

var de0 *InsufficientDepthError

func TestBookKeepsScale(t *testing.T) {
	b := NewBook(btcusdt)
	_ = b.Set(Ask, d("0.0500"), d("1.000"))
	_ = b.Set(Ask, d("0.05"), d("2.50")) // same price written differently: replaces
	_ = b.Set(Ask, d("0.051"), d("1"))
	_ = b.Set(Ask, d("0.04999"), d("3")) // a finer scale rescales the keys
	got := b.AppendLevels(nil, Ask, -1)
	sameLevels(t, "asks", got, []domain.BookLevel{lv("0.04999", "3"), lv("0.05", "2.50"), lv("0.051", "1")})
}

func TestLadderLargeBookBlocks(t *testing.T) {
	b := NewBook(btcusdt)
	for i := range 5000 {
		_ = b.Set(Bid, decimal.MustNew(int64(100000-i), 2), decimal.One)
	}
	for i := 0; i < 5000; i += 2 {
		_ = b.Set(Bid, decimal.MustNew(int64(100000-i), 2), decimal.Zero)
	}
	if err := checkLadder(&b.bids); err != nil {
		t.Fatal(err)
	}
	if b.Depth(Bid) != 2500 {
		t.Fatalf("depth %d", b.Depth(Bid))
	}
	// Blocks stay reasonably dense after mass deletion.
	if nb := len(b.bids.blocks); nb > 2500/(blockSize/4) {
		t.Fatalf("%d blocks for 2500 levels", nb)
	}
}

// TestBookLongRandomStreams complements the rapid test with long streams
// that grow books past many block splits and merges.
func TestBookLongRandomStreams(t *testing.T) {
	for seed := range uint64(8) {
		rng := rand.New(rand.NewPCG(seed, 42))
		b := NewBook(btcusdt)
		ref := newRef()
		if seed%2 == 1 {
			ref.depth = 150
			b.SetMaxDepth(150)
		}
		for i := range 20000 {
			side := Side(1 + rng.IntN(2))
			// Concentrate activity near a drifting mid, as real books do.
			mid := 5000 + int64(i/50)
			tick := mid + int64(rng.NormFloat64()*300)
			p := decimal.MustNew(tick, 2)
			var a decimal.Decimal
			if rng.IntN(5) > 1 {
				a = decimal.MustNew(rng.Int64N(1e8)+1, 4)
			}
			if err := b.Set(side, p, a); err != nil {
				t.Fatal(err)
			}
			ref.set(side, p, a)
			if i%5000 == 4999 {
				for _, s := range []Side{Bid, Ask} {
					if err := checkLadder(b.ladder(s)); err != nil {
						t.Fatalf("seed %d op %d %v: %v", seed, i, s, err)
					}
					sameLevels(t, fmt.Sprintf("seed %d op %d %v", seed, i, s), b.AppendLevels(nil, s, -1), ref.sorted(s))
				}
			}
		}
	}
}
