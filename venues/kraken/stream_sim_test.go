package kraken

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/sim"
	"github.com/pype-go/pype/sim/simtest"
	"github.com/pype-go/pype/transport/ws"
	"github.com/pype-go/pype/venues"
)

// Streams need a running virtual clock; Speed makes minutes pass in
// seconds.
func startLiveSim(t testing.TB, speed float64, opts ...simtest.Option) *simtest.Sim {
	t.Helper()
	base := []simtest.Option{simtest.Venues("kraken"), simtest.Seed(11), simtest.Now(simNow), simtest.Speed(speed),
		simtest.History(24 * time.Hour), simtest.WeightLimit(1_000_000)}
	return simtest.Start(t, append(base, opts...)...)
}

var fastBackoff = ws.BackoffFunc(func(int) time.Duration { return 20 * time.Millisecond })

func TestSimStreamTrades(t *testing.T) {
	for _, tc := range []struct {
		name   string
		faults sim.Faults
	}{
		{"clean", sim.Faults{}},
		{"drops-and-dups", sim.Faults{WSDropEvery: 15, WSDuplicateRate: 0.1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := startLiveSim(t, 20, simtest.Faults("kraken", tc.faults))
			a := openSim(t, s, venues.Config{}, WithWSBackoff(fastBackoff))
			ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
			defer cancel()
			got := map[domain.Symbol][]domain.Trade{}
			n := 0
			for ev, err := range a.StreamTrades(ctx, venues.StreamRequest{Symbols: []domain.Symbol{btcusd, dogeusd},
				Gap: func(g venues.Gap) { t.Errorf("gap: %+v", g) }}) {
				if err != nil {
					t.Fatal(err)
				}
				if ev.Trade.RecvTime == 0 {
					t.Fatal("trade without a receive time")
				}
				got[ev.Symbol] = append(got[ev.Symbol], ev.Trade)
				if n++; n >= 300 {
					break
				}
			}
			for sym, trades := range got {
				first, last := trades[0], trades[len(trades)-1]
				truth := tradeTruth(t, s, sym.String(), domain.Range{Start: first.Time, End: last.Time + 1})
				fid, _ := strconv.ParseInt(first.ID, 10, 64)
				lid, _ := strconv.ParseInt(last.ID, 10, 64)
				var want []domain.Trade
				for _, tr := range truth {
					id, _ := strconv.ParseInt(tr.ID, 10, 64)
					if id >= fid && id <= lid {
						want = append(want, tr)
					}
				}
				sameTrades(t, trades, want)
			}
			if tc.faults.WSDropEvery > 0 && a.HTTPStats().Requests < 3 {
				t.Fatalf("no REST hole filling after drops: %+v", a.HTTPStats())
			}
		})
	}
}

func TestSimStreamCandles(t *testing.T) {
	s := startLiveSim(t, 60, simtest.Faults("kraken", sim.Faults{WSDropEvery: 40}))
	a := openSim(t, s, venues.Config{}, WithWSBackoff(fastBackoff))
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	var closed []domain.OHLCBar
	partial := 0
	for ev, err := range a.StreamCandles(ctx, venues.StreamRequest{Symbols: []domain.Symbol{btcusd}, Span: domain.Span1m, Partial: true}) {
		if err != nil {
			t.Fatal(err)
		}
		if !ev.Bar.Closed {
			partial++
			continue
		}
		closed = append(closed, ev.Bar)
		if len(closed) >= 4 {
			break
		}
	}
	if partial == 0 {
		t.Fatal("no forming bar streamed")
	}
	// The first closed bar may have been joined mid-way (the snapshot is
	// the bar so far); compare the complete ones.
	closed = closed[1:]
	want, err := s.Truth("kraken").Candles("BTC/USD", domain.Span1m, closed[0].OpenTime, closed[len(closed)-1].OpenTime+1)
	if err != nil {
		t.Fatal(err)
	}
	sameBars(t, closed, want, false)
}

func TestSimStreamBooks(t *testing.T) {
	for _, tc := range []struct {
		name    string
		faults  sim.Faults
		options map[string]string
		resync  bool
	}{
		{"clean", sim.Faults{}, nil, false},
		{"gaps", sim.Faults{DepthGapEvery: 25}, nil, true},
		{"bad-checksums", sim.Faults{}, map[string]string{"kraken.badChecksumEvery": "30"}, true},
		{"drops", sim.Faults{WSDropEvery: 60}, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := startLiveSim(t, 40, simtest.Faults("kraken", tc.faults), simtest.Configure(func(c *sim.Config) { c.Options = tc.options }))
			a := openSim(t, s, venues.Config{}, WithWSBackoff(fastBackoff), WithResubscribeTimeout(time.Second))
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()
			live, notLive, checked := 0, 0, 0
			for ev, err := range a.StreamBooks(ctx, venues.StreamRequest{Symbols: []domain.Symbol{btcusd, ethbtc}, Depth: 10}) {
				if err != nil {
					t.Fatal(err)
				}
				if !ev.Live {
					notLive++
					if len(ev.Book.Bids)+len(ev.Book.Asks) != 0 {
						t.Fatal("a book that is not live carries levels")
					}
					continue
				}
				live++
				if live%7 == 0 {
					want, err := s.Truth("kraken").Book(ev.Symbol.String(), ev.Book.Time, 10)
					if err != nil {
						t.Fatal(err)
					}
					sameBook(t, ev.Book, want)
					checked++
				}
				if live >= 250 {
					break
				}
			}
			if checked == 0 {
				t.Fatal("no book compared")
			}
			if tc.resync && notLive == 0 {
				t.Fatal("faults injected but no book ever went stale")
			}
			if !tc.resync && notLive != 0 {
				t.Fatalf("%d not-live events without faults", notLive)
			}
		})
	}
}

func sameBook(t *testing.T, got, want domain.BookSnapshot) {
	t.Helper()
	if len(got.Bids) != len(want.Bids) || len(got.Asks) != len(want.Asks) {
		t.Fatalf("book %d×%d levels, want %d×%d", len(got.Bids), len(got.Asks), len(want.Bids), len(want.Asks))
	}
	for i := range want.Bids {
		if got.Bids[i].Price.Cmp(want.Bids[i].Price) != 0 || got.Bids[i].Amount.Cmp(want.Bids[i].Amount) != 0 {
			t.Fatalf("bid %d = %v, want %v (book at %s)", i, got.Bids[i], want.Bids[i], domain.FormatNs(got.Time))
		}
	}
	for i := range want.Asks {
		if got.Asks[i].Price.Cmp(want.Asks[i].Price) != 0 || got.Asks[i].Amount.Cmp(want.Asks[i].Amount) != 0 {
			t.Fatalf("ask %d = %v, want %v (book at %s)", i, got.Asks[i], want.Asks[i], domain.FormatNs(got.Time))
		}
	}
}
