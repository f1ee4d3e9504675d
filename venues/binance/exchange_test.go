package binance

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/operators/exchange"
	"github.com/pype-go/pype/operators/orderbook"
	"github.com/pype-go/pype/sim"
	"github.com/pype-go/pype/venues"
)

func TestSimExchangeOperator(t *testing.T) {
	s := startLiveSim(t, 10, sim.Faults{WSDropEvery: 300, ClockSkew: 1500 * time.Millisecond})
	a := openSim(t, s, venues.Config{}, fastReconnect)
	ex, err := NewExchange(t.Context(), a)
	if err != nil {
		t.Fatal(err)
	}
	defer ex.Close()
	if ex.Name() != "binance" {
		t.Fatalf("name %q", ex.Name())
	}
	// Trading rules from exchangeInfo.
	r, err := ex.TradingRules(t.Context(), btcusdt)
	if err != nil {
		t.Fatal(err)
	}
	if r.PriceTick.String() != "0.01" || r.AmountStep.String() != "0.00001" || r.VenueSymbol != "BTCUSDT" || len(r.OrderTypes) == 0 {
		t.Fatalf("rules %+v", r)
	}
	var ue *exchange.UnknownSymbolError
	if _, err := ex.TradingRules(t.Context(), domain.NewSymbol("DOGE", "USDT")); !errors.As(err, &ue) {
		t.Fatalf("unknown symbol: %v", err)
	}
	// CurrentTimestamp follows the venue's clock (skewed by 1.5 s here).
	venueNow := s.Market("binance").Now() + int64(1500*time.Millisecond)
	if d := time.Duration(ex.CurrentTimestamp() - venueNow); d < -time.Second || d > 2*time.Second {
		t.Fatalf("CurrentTimestamp is %v off the venue's clock", d)
	}

	eth := domain.NewSymbol("ETH", "USDT")
	for _, sym := range []domain.Symbol{btcusdt, eth} {
		if err := ex.SubscribeBook(t.Context(), sym); err != nil {
			t.Fatal(err)
		}
	}
	v, ok := ex.Book(btcusdt)
	if !ok {
		t.Fatal("no view")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	// Read the live book repeatedly across dropped connections: whenever
	// it is readable it equals the venue's book at its update id.
	checked, notLive := 0, 0
	for checked < 40 {
		if err := v.WaitLive(ctx); err != nil {
			t.Fatalf("after %d checks: %v", checked, err)
		}
		var seq int64
		var bids, asks []domain.BookLevel
		if err := v.Read(func(b *orderbook.Book) { seq = b.Seq(); bids, asks = b.TopN(10) }); err != nil {
			notLive++
			continue
		}
		want := bookAtSeq(t, s, btcusdt, seq, 10)
		for i := range want.Bids {
			if bids[i].Price.Cmp(want.Bids[i].Price) != 0 || bids[i].Amount.Cmp(want.Bids[i].Amount) != 0 ||
				asks[i].Price.Cmp(want.Asks[i].Price) != 0 || asks[i].Amount.Cmp(want.Asks[i].Amount) != 0 {
				t.Fatalf("book at %d differs at level %d", seq, i)
			}
		}
		checked++
		time.Sleep(50 * time.Millisecond) // spread the reads over several connections
	}
	if s.Stats("binance").Faults["ws_drop"] == 0 {
		t.Fatal("no connection dropped")
	}
	if _, err := v.VWAP(domain.Buy, decimalOf(t, "0.01")); err != nil && !errors.Is(err, orderbook.ErrNotLive) {
		t.Fatal(err)
	}
	if err := ex.UnsubscribeBook(t.Context(), eth); err != nil {
		t.Fatal(err)
	}
	if _, ok := ex.Book(eth); ok {
		t.Fatal("unsubscribed book still tracked")
	}
	if err := ex.SubscribeBook(t.Context(), domain.NewSymbol("DOGE", "USDT")); !errors.Is(err, ErrInvalidSymbol) {
		t.Fatalf("DOGE: %v", err)
	}
}
