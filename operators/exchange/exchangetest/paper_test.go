package exchangetest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/govalues/decimal"

	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/operators"
	"github.com/pype-go/pype/operators/exchange"
)

var btcusdt = domain.NewSymbol("BTC", "USDT")

func rules() exchange.TradingRules {
	return exchange.TradingRules{
		Symbol: btcusdt, VenueSymbol: "BTCUSDT",
		PriceTick: decimal.MustParse("0.01"), AmountStep: decimal.MustParse("0.001"),
		MinAmount: decimal.MustParse("0.001"), MinNotional: decimal.MustParse("5"),
	}
}

type steppingClock struct {
	mu sync.Mutex
	t  time.Time
}

// Now advances a millisecond per call, so venue timestamps increase.
func (c *steppingClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Millisecond)
	return c.t
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func newPaper(t testing.TB) (*PaperVenue, func(testing.TB) Subject) {
	clk := &steppingClock{t: time.Unix(1_700_000_000, 0)}
	venue := NewPaperVenue(clk, rules())
	venue.SetPrice(btcusdt, decimal.MustParse("100"))
	return venue, func(t testing.TB) Subject {
		op, err := NewPaperOperator(venue, operators.OperatorConfiguration{},
			exchange.WithOperatorOptions(operators.WithClock(clk), operators.WithLogger(quiet())))
		if err != nil {
			t.Fatal(err)
		}
		return op
	}
}

func TestPaperPassesConformanceKit(t *testing.T) {
	venue, newOp := newPaper(t)
	Run(t, Harness{
		New:   newOp,
		Venue: venue,
		Resting: func() exchange.OrderRequest {
			return exchange.OrderRequest{Symbol: btcusdt, Side: domain.Buy, Price: decimal.MustParse("90"), Amount: decimal.MustParse("0.2")}
		},
		Invalid: func() exchange.OrderRequest {
			return exchange.OrderRequest{Symbol: btcusdt, Side: domain.Buy, Price: decimal.MustParse("90"), Amount: decimal.MustParse("0.01")} // notional 0.9 < 5
		},
	})
}

// fakeTB records failures instead of failing the real test; Fatal ends
// the calling goroutine as testing.T does.
type fakeTB struct {
	testing.TB
	mu       sync.Mutex
	msgs     []string
	cleanups []func()
}

func (f *fakeTB) Helper() {}
func (f *fakeTB) Errorf(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.msgs = append(f.msgs, fmt.Sprintf(format, args...))
}
func (f *fakeTB) Fatalf(format string, args ...any) { f.Errorf(format, args...); runtime.Goexit() }
func (f *fakeTB) Fatal(args ...any)                 { f.Errorf("%s", fmt.Sprint(args...)); runtime.Goexit() }
func (f *fakeTB) Cleanup(fn func())                 { f.cleanups = append(f.cleanups, fn) }
func (f *fakeTB) Failed() bool                      { f.mu.Lock(); defer f.mu.Unlock(); return len(f.msgs) > 0 }

// runFake runs one kit case against a fake TB and returns its failures.
func runFake(c kitCase) []string {
	ft := &fakeTB{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.run(ft)
	}()
	<-done
	for i := len(ft.cleanups) - 1; i >= 0; i-- {
		ft.cleanups[i]()
	}
	return ft.msgs
}

// brokenFills re-applies every venue fill under an invented trade id, so
// fills count twice.
type brokenFills struct{ *PaperOperator }

func (b brokenFills) FetchUpdates(ctx context.Context) error {
	for _, f := range b.Venue().Fills(exchange.FillQuery{}) {
		f.TradeID += "-again"
		_, _ = b.Tracker().ProcessFill(f)
	}
	return b.PaperOperator.FetchUpdates(ctx)
}

// noLost never queries lost orders, so they are never reconciled.
type noLost struct{ *PaperOperator }

func (n noLost) FetchUpdates(ctx context.Context) error { return n.RefreshOrders(ctx, n) }

// TestKitCatchesBrokenOperators runs kit cases against connectors with
// known bugs: each case must report a failure.
func TestKitCatchesBrokenOperators(t *testing.T) {
	resting := func() exchange.OrderRequest {
		return exchange.OrderRequest{Symbol: btcusdt, Side: domain.Buy, Price: decimal.MustParse("90"), Amount: decimal.MustParse("0.2")}
	}
	tests := []struct {
		name string
		wrap func(*PaperOperator) Subject
		kase string
	}{
		{"fills counted twice", func(p *PaperOperator) Subject { return brokenFills{p} }, "PlaceFillComplete"},
		{"fills counted twice after restart", func(p *PaperOperator) Subject { return brokenFills{p} }, "RestartWithRestoredState"},
		{"lost orders never reconciled", func(p *PaperOperator) Subject { return noLost{p} }, "NotFoundLostReconciled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			venue, newOp := newPaper(t)
			k := &kit{h: Harness{
				New:     func(t testing.TB) Subject { return tt.wrap(newOp(t).(*PaperOperator)) },
				Venue:   venue,
				Resting: resting,
				Timeout: 5 * time.Second, LostAfter: 3,
			}}
			for _, c := range k.cases() {
				if c.name != tt.kase {
					continue
				}
				msgs := runFake(c)
				if len(msgs) == 0 {
					t.Fatalf("kit case %s passed a broken operator", c.name)
				}
				t.Logf("kit reported: %s", msgs[0])
				return
			}
			t.Fatalf("no kit case %s", tt.kase)
		})
	}
}

func TestPaperVenueBehaviour(t *testing.T) {
	venue, newOp := newPaper(t)
	op := newOp(t).(*PaperOperator)
	defer op.Close()
	ctx := context.Background()
	buy := func(price, amount string, typ exchange.OrderType, tif exchange.TimeInForce) (exchange.Order, error) {
		return op.PlaceTracked(ctx, op, exchange.OrderRequest{Symbol: btcusdt, Side: domain.Buy, Type: typ, TimeInForce: tif,
			Price: decimal.MustParse(price), Amount: decimal.MustParse(amount)})
	}
	// A crossing limit order fills at once, at the reference price.
	o, err := buy("101", "0.1", exchange.Limit, exchange.GTC)
	if err != nil || o.State != exchange.Filled {
		t.Fatalf("crossing limit: %v %v", o.State, err)
	}
	if v, _ := venue.Order(o.Ref()); !v.AveragePrice().Equal(decimal.MustParse("100")) {
		t.Fatalf("crossing limit filled at %s", v.AveragePrice())
	}
	// Post-only that would cross: rejected → FAILED.
	o, err = buy("101", "0.1", exchange.LimitMaker, exchange.GTC)
	if !exchange.IsRejection(err) || o.State != exchange.Failed {
		t.Fatalf("crossing limit maker: %v %v", o.State, err)
	}
	// IOC that does not cross: expires.
	o, err = buy("99", "0.1", exchange.Limit, exchange.IOC)
	if err != nil || o.State != exchange.Expired {
		t.Fatalf("IOC: %v %v", o.State, err)
	}
	// Resting orders fill when the price comes to them, at their price.
	r1, _ := buy("95", "0.1", exchange.Limit, exchange.GTC)
	r2, _ := buy("90", "0.1", exchange.Limit, exchange.GTC)
	venue.SetPrice(btcusdt, decimal.MustParse("94"))
	if err := op.FetchUpdates(ctx); err != nil {
		t.Fatal(err)
	}
	g1, _ := op.Tracker().Get(r1.Ref())
	g2, _ := op.Tracker().Get(r2.Ref())
	if g1.State != exchange.Filled || !g1.AveragePrice().Equal(decimal.MustParse("95")) || g2.State != exchange.Open {
		t.Fatalf("after price move: %v@%s, %v", g1.State, g1.AveragePrice(), g2.State)
	}
	if fee := g1.Fees["USDT"]; !fee.Equal(decimal.MustParse("0.0095")) {
		t.Fatalf("fee %s", fee)
	}
	// Market order.
	o, err = op.PlaceTracked(ctx, op, exchange.OrderRequest{Symbol: btcusdt, Side: domain.Sell, Type: exchange.Market, Amount: decimal.MustParse("0.1")})
	if err != nil || o.State != exchange.Filled {
		t.Fatalf("market: %v %v", o.State, err)
	}
	// Unknown symbol at the venue.
	if _, err := venue.Place(exchange.OrderRequest{Symbol: domain.NewSymbol("ETH", "USDT"), Side: domain.Buy, Price: decimal.MustParse("1"), Amount: decimal.MustParse("1")}); !exchange.IsRejection(err) {
		t.Fatal(err)
	}
	// Open orders and adoption by a fresh operator.
	op2 := newOp(t).(*PaperOperator)
	defer op2.Close()
	n, err := op2.AdoptOpenOrders(ctx, op2, domain.Symbol{})
	if err != nil || n != 1 {
		t.Fatalf("adopted %d, %v", n, err)
	}
	if _, ok := op2.Tracker().Get(r2.Ref()); !ok {
		t.Fatal("open order not adopted")
	}
	// Balances and markets.
	venue.SetBalance(exchange.Balance{Asset: "USDT", Free: decimal.MustParse("1000"), Locked: decimal.MustParse("5")})
	bs, _ := op.Balances(ctx)
	if len(bs) != 1 || !bs[0].Total().Equal(decimal.MustParse("1005")) {
		t.Fatalf("balances %v", bs)
	}
	ms, _ := op.Markets(ctx)
	if len(ms) != 1 || ms[0].VenueSymbol != "BTCUSDT" {
		t.Fatalf("markets %v", ms)
	}
	// Cancel of an unknown order at the venue.
	if _, err := venue.Cancel(exchange.OrderRef{ExchangeOrderID: "nope"}); !errors.Is(err, exchange.ErrOrderNotFound) {
		t.Fatal(err)
	}
}
