package sim

import (
	"testing"
	"time"
)

// applyDiff applies d to a map book.
func applyDiff(bids, asks map[int64]int64, d *BookDiff) {
	for _, l := range d.Bids {
		if l.Qty == 0 {
			delete(bids, l.Price)
		} else {
			bids[l.Price] = l.Qty
		}
	}
	for _, l := range d.Asks {
		if l.Qty == 0 {
			delete(asks, l.Price)
		} else {
			asks[l.Price] = l.Qty
		}
	}
}

func sameBook(t *testing.T, st BookState, bids, asks map[int64]int64) {
	t.Helper()
	if len(bids) != len(st.Bids) || len(asks) != len(st.Asks) {
		t.Fatalf("step %d: sizes %d/%d vs %d/%d", st.Step, len(bids), len(asks), len(st.Bids), len(st.Asks))
	}
	for _, l := range st.Bids {
		if bids[l.Price] != l.Qty {
			t.Fatalf("step %d: bid %d = %d, want %d", st.Step, l.Price, bids[l.Price], l.Qty)
		}
	}
	for _, l := range st.Asks {
		if asks[l.Price] != l.Qty {
			t.Fatalf("step %d: ask %d = %d, want %d", st.Step, l.Price, asks[l.Price], l.Qty)
		}
	}
}

func TestBookSnapshotPlusDiffsReproduceBook(t *testing.T) {
	m, _ := NewMarket(MarketConfig{Seed: 7, Now: testNow, History: 24 * time.Hour, Frozen: true,
		Symbols: []SymbolSpec{{Symbol: btc, TickSize: mustDec("0.01"), LotSize: mustDec("0.00001"), StartPrice: mustDec("42000"),
			BookDepth: 200, BookPeriod: 30, TradesPerSecond: 5}}})
	sr := m.Series(btc)
	s0 := BookStep(m.NowMs()) - 3000
	snap := sr.Book(s0, 0)
	bids, asks := map[int64]int64{}, map[int64]int64{}
	for _, l := range snap.Bids {
		bids[l.Price] = l.Qty
	}
	for _, l := range snap.Asks {
		asks[l.Price] = l.Qty
	}
	last := snap.UpdateID
	var d BookDiff
	for s := s0 + 1; s <= s0+2000; s++ {
		sr.Diff(s, &d)
		if d.FirstID != last+1 || d.LastID < d.FirstID {
			t.Fatalf("step %d: U=%d u=%d after %d", s, d.FirstID, d.LastID, last)
		}
		if len(d.Bids)+len(d.Asks) == 0 {
			t.Fatalf("step %d: empty diff", s)
		}
		for i := 1; i < len(d.Bids); i++ {
			if d.Bids[i].Price >= d.Bids[i-1].Price {
				t.Fatalf("bids not descending")
			}
		}
		last = d.LastID
		applyDiff(bids, asks, &d)
		if s%97 == 0 || s == s0+2000 {
			st := sr.Book(s, 0)
			if st.UpdateID != last {
				t.Fatalf("update id %d vs %d", st.UpdateID, last)
			}
			sameBook(t, st, bids, asks)
			if st.Bids[0].Price >= st.Asks[0].Price {
				t.Fatalf("crossed book")
			}
		}
	}
	// A multi-step diff equals the composition of single steps.
	sr.DiffRange(s0+2001, s0+2010, &d)
	applyDiff(bids, asks, &d)
	if d.FirstID != last+1 {
		t.Fatal("range diff ids")
	}
	sameBook(t, sr.Book(s0+2010, 0), bids, asks)
}
