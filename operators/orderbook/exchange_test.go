package orderbook

import (
	"context"
	"errors"
	"testing"

	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/operators"
	"github.com/pype-go/pype/operators/exchange"
)

// bookVenue is a minimal OrderbookExchange: exchange.Base for the trading
// side, Keeper for the books.
type bookVenue struct {
	*exchange.Base
	*Keeper
	subscribed []domain.Symbol
}

var _ OrderbookExchange = (*bookVenue)(nil)

func TestKeeperOrderbookExchange(t *testing.T) {
	base, err := exchange.NewBase(operators.OperatorConfiguration{Platform: operators.ExchangePlatform("testvenue")})
	if err != nil {
		t.Fatal(err)
	}
	defer base.Close()
	eng := newTestEngine(t, Config{Venue: "testvenue", Continuity: CoinbaseContinuity{}})
	v := &bookVenue{Base: base}
	fail := errors.New("socket closed")
	var subErr error
	v.Keeper = &Keeper{Engine: eng, Subscribe: func(_ context.Context, s domain.Symbol) error {
		v.subscribed = append(v.subscribed, s)
		return subErr
	}}
	var ob OrderbookExchange = v
	ctx := testCtx(t)
	if err := ob.SubscribeBook(ctx, btcusdt); err != nil {
		t.Fatal(err)
	}
	view, ok := ob.Book(btcusdt)
	if !ok || view.State() != Syncing {
		t.Fatalf("Book: %v %v", ok, view)
	}
	snap := domain.BookSnapshot{Symbol: btcusdt, Seq: 5, Bids: []domain.BookLevel{lv("10", "1")}, Asks: []domain.BookLevel{lv("11", "2")}}
	_ = eng.HandleSnapshot(&snap)
	if err := view.WaitLive(ctx); err != nil {
		t.Fatal(err)
	}
	if p, err := view.PriceForAmount(domain.Buy, d("1.5")); err != nil || p.String() != "11" {
		t.Fatalf("PriceForAmount = %v, %v", p, err)
	}
	if ob.Name() != "testvenue" {
		t.Fatalf("Name = %q", ob.Name())
	}
	if err := ob.UnsubscribeBook(ctx, btcusdt); err != nil {
		t.Fatal(err)
	}
	if _, ok := ob.Book(btcusdt); ok || view.State() != Stopped {
		t.Fatal("book still tracked after UnsubscribeBook")
	}
	subErr = fail
	eth := domain.NewSymbol("ETH", "USDT")
	if err := ob.SubscribeBook(ctx, eth); !errors.Is(err, fail) {
		t.Fatalf("SubscribeBook error = %v", err)
	}
	if _, ok := ob.Book(eth); ok {
		t.Fatal("a failed subscription left the symbol tracked")
	}
}
