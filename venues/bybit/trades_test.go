package bybit

import (
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/pype-go/pype/domain"
	simbybit "github.com/pype-go/pype/sim/bybit"
	"github.com/pype-go/pype/sim/simtest"
	"github.com/pype-go/pype/venues"
)

// truthTrades returns the simulator's trades of sym in r with Bybit's ids.
func truthTrades(t *testing.T, s *simtest.Sim, sym domain.Symbol, r domain.Range) []domain.Trade {
	t.Helper()
	want, err := s.Truth("bybit").Trades(sym.String(), r.Start, r.End)
	if err != nil {
		t.Fatal(err)
	}
	cat, _ := simbybit.VenueSymbol(sym)
	for i := range want {
		id, err := strconv.ParseInt(want[i].ID, 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		want[i].ID = simbybit.TradeID(cat, id)
	}
	return want
}

func sameTrades(t *testing.T, got, want []domain.Trade) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d trades, want %d", len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.ID != w.ID || g.Time != w.Time || g.Price.Cmp(w.Price) != 0 || g.Amount.Cmp(w.Amount) != 0 || g.Side != w.Side {
			t.Fatalf("trade %d = %+v, want %+v", i, g, w)
		}
	}
}

func collectTrades(t *testing.T, a *Adapter, req venues.TradeRequest) ([]domain.Trade, error) {
	t.Helper()
	var got []domain.Trade
	for tr, err := range a.BackfillTrades(t.Context(), req) {
		if err != nil {
			return got, err
		}
		got = append(got, tr)
	}
	return got, nil
}

func TestSimRecentTradesBackfill(t *testing.T) {
	s := startSim(t)
	a := openSim(t, s, venues.Config{})
	now := domain.Nanos(simNow)
	for _, tc := range []struct {
		sym domain.Symbol
		max int
	}{{btcusdt, MaxRecentSpot}, {btcusdtPerp, MaxRecentDerivatives}} {
		t.Run(tc.sym.String(), func(t *testing.T) {
			recent, err := a.RecentTrades(t.Context(), tc.sym, 0)
			if err != nil {
				t.Fatal(err)
			}
			if len(recent) != tc.max {
				t.Fatalf("%d recent trades, want %d", len(recent), tc.max)
			}
			oldest := recent[0].Time
			// The whole page, oldest first, equals the truth's newest trades.
			all := truthTrades(t, s, tc.sym, domain.Range{Start: oldest - int64(time.Minute), End: now + 1})
			sameTrades(t, recent, all[len(all)-tc.max:])

			// A range that starts after the oldest millisecond is complete.
			r := domain.Range{Start: oldest + int64(time.Millisecond), End: now + 1}
			var covered domain.Range
			got, err := collectTrades(t, a, venues.TradeRequest{Symbol: tc.sym, Range: r, Covered: func(c domain.Range) { covered = c }})
			if err != nil {
				t.Fatal(err)
			}
			want := truthTrades(t, s, tc.sym, r)
			sameTrades(t, got, want)
			if covered.Start != r.Start || covered.End != recent[len(recent)-1].Time {
				t.Fatalf("covered %v", covered)
			}
			bursts := 0
			for i := 1; i < len(got); i++ {
				if got[i].Time == got[i-1].Time {
					bursts++
				}
			}
			if bursts == 0 {
				t.Fatal("no same-millisecond trades in the sample")
			}

			// A range reaching the oldest millisecond (which the page may
			// cut) or further back fails without yielding anything.
			for _, start := range []int64{oldest, now - int64(time.Hour), now - 30*24*int64(time.Hour)} {
				got, err := collectTrades(t, a, venues.TradeRequest{Symbol: tc.sym, Range: domain.Range{Start: start, End: now}})
				var he *TradeHistoryError
				if !errors.Is(err, domain.ErrNoCapability) || !errors.As(err, &he) || len(got) != 0 {
					t.Fatalf("start %s: %d trades, err %v", domain.FormatNs(start), len(got), err)
				}
				if he.Served != tc.max || he.Oldest != oldest {
					t.Fatalf("history error %+v", he)
				}
			}
		})
	}
}

func TestTradeHistoryErrorMessage(t *testing.T) {
	e := &TradeHistoryError{Symbol: btcusdt, Category: Spot, Range: domain.Range{Start: 0, End: 1}, Oldest: int64(time.Hour), Served: 60}
	msg := e.Error()
	for _, want := range []string{"BTC/USDT", "latest 60 spot trades", ArchiveURL, "spot/BTCUSDT/"} {
		if !contains(msg, want) {
			t.Fatalf("%q lacks %q", msg, want)
		}
	}
	var ce *domain.CapabilityError
	if !errors.As(e, &ce) || !errors.Is(e, domain.ErrNoCapability) {
		t.Fatal("not a capability error")
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

func TestSimBookSnapshot(t *testing.T) {
	s := startSim(t)
	a := openSim(t, s, venues.Config{})
	for _, tc := range []struct {
		sym   domain.Symbol
		depth int
	}{{btcusdt, 200}, {btcusdtPerp, 500}, {domain.NewSymbol("ETH", "BTC"), 7}} {
		b, err := a.BookSnapshot(t.Context(), tc.sym, tc.depth)
		if err != nil {
			t.Fatal(err)
		}
		want, err := s.Truth("bybit").Book(tc.sym.String(), domain.Nanos(simNow), tc.depth)
		if err != nil {
			t.Fatal(err)
		}
		if b.Seq != want.Seq || len(b.Bids) != tc.depth || len(b.Asks) != tc.depth || b.Symbol != tc.sym {
			t.Fatalf("%s: seq %d (want %d), %d/%d levels", tc.sym, b.Seq, want.Seq, len(b.Bids), len(b.Asks))
		}
		for i := range want.Bids {
			if b.Bids[i] != want.Bids[i] && (b.Bids[i].Price.Cmp(want.Bids[i].Price) != 0 || b.Bids[i].Amount.Cmp(want.Bids[i].Amount) != 0) {
				t.Fatalf("%s bid %d: %v, want %v", tc.sym, i, b.Bids[i], want.Bids[i])
			}
			if b.Asks[i].Price.Cmp(want.Asks[i].Price) != 0 || b.Asks[i].Amount.Cmp(want.Asks[i].Amount) != 0 {
				t.Fatalf("%s ask %d: %v, want %v", tc.sym, i, b.Asks[i], want.Asks[i])
			}
		}
	}
	// Depths past the category's maximum are refused locally.
	for _, tc := range []struct {
		sym   domain.Symbol
		depth int
	}{{btcusdt, 201}, {btcusdtPerp, 501}, {btcusdt, 0}} {
		if _, err := a.BookSnapshot(t.Context(), tc.sym, tc.depth); !errors.Is(err, domain.ErrNoCapability) {
			t.Fatalf("%s depth %d: %v", tc.sym, tc.depth, err)
		}
	}
}
