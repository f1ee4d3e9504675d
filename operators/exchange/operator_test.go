package exchange

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/operators"
)

// scriptedVenue answers raw calls from fields set by the test.
type scriptedVenue struct {
	placeAck  OrderUpdate
	placeErr  error
	cancelUpd OrderUpdate
	cancelErr error
	get       map[string]OrderUpdate
	getErr    map[string]error
	placed    []OrderRequest
}

func (v *scriptedVenue) PlaceOrder(_ context.Context, req OrderRequest) (OrderUpdate, error) {
	v.placed = append(v.placed, req)
	return v.placeAck, v.placeErr
}

func (v *scriptedVenue) CancelOrder(context.Context, OrderRef) (OrderUpdate, error) {
	return v.cancelUpd, v.cancelErr
}

func (v *scriptedVenue) GetOrder(_ context.Context, ref OrderRef) (OrderUpdate, error) {
	if err := v.getErr[ref.ClientOrderID]; err != nil {
		return OrderUpdate{}, err
	}
	return v.get[ref.ClientOrderID], nil
}

func newTestBase(t *testing.T) (*Base, *recorder) {
	t.Helper()
	rec := &recorder{}
	b, err := NewBase(operators.OperatorConfiguration{Platform: operators.ExchangePlatform("testx")},
		WithOperatorOptions(operators.WithLogger(quiet()), operators.WithClock(newFakeClock())),
		WithTrackerOptions(WithEventSink(rec.sink)),
		WithClientOrderIDPolicy(ClientOrderIDPolicy{Prefix: "t", MaxLength: 36, Extra: "-"}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	if err := b.SetTradingRules(testRules); err != nil {
		t.Fatal(err)
	}
	return b, rec
}

func TestBasePlaceTracked(t *testing.T) {
	ctx := context.Background()
	b, rec := newTestBase(t)
	v := &scriptedVenue{placeAck: OrderUpdate{ExchangeOrderID: "x1", State: Open}}
	o, err := b.PlaceTracked(ctx, v, OrderRequest{Symbol: btcusdt, Side: domain.Buy, Price: d("100.019"), Amount: d("0.5555")})
	if err != nil {
		t.Fatal(err)
	}
	if o.State != Open || o.ExchangeOrderID != "x1" || !strings.HasPrefix(o.ClientOrderID, "t") {
		t.Fatalf("order %+v", o)
	}
	if sent := v.placed[0]; sent.Price.String() != "100.01" || sent.Amount.String() != "0.555" || sent.ClientOrderID != o.ClientOrderID {
		t.Fatalf("sent %+v: not quantized", sent)
	}
	if got := rec.types(o.ClientOrderID); !eqTypes(got, []OrderEventType{OrderCreated}) {
		t.Fatal(got)
	}

	// Definitive rejection: FAILED.
	v.placeErr = &RejectedError{Code: "-2010", Reason: "insufficient balance"}
	o, err = b.PlaceTracked(ctx, v, OrderRequest{Symbol: btcusdt, Side: domain.Buy, Price: d("100"), Amount: d("0.1")})
	if !IsRejection(err) || o.State != Failed || !strings.Contains(err.Error(), "insufficient balance") {
		t.Fatalf("%v %v", o.State, err)
	}
	// Ambiguous failure: still tracked, PENDING_CREATE, found later.
	v.placeErr = context.DeadlineExceeded
	o, err = b.PlaceTracked(ctx, v, OrderRequest{Symbol: btcusdt, Side: domain.Sell, Price: d("100"), Amount: d("0.1")})
	if !errors.Is(err, context.DeadlineExceeded) || o.State != PendingCreate || o.ClientOrderID == "" {
		t.Fatalf("%v %v", o.State, err)
	}
	v.get = map[string]OrderUpdate{o.ClientOrderID: {ExchangeOrderID: "x3", State: Open}}
	if err := b.RefreshOrders(ctx, v); err != nil {
		t.Fatal(err)
	}
	if got, _ := b.Tracker().Get(o.Ref()); got.State != Open || got.ExchangeOrderID != "x3" {
		t.Fatalf("after refresh %+v", got)
	}
	// Invalid before submission: nothing sent, nothing tracked.
	n := len(v.placed)
	_, err = b.PlaceTracked(ctx, v, OrderRequest{Symbol: btcusdt, Side: domain.Buy, Price: d("100"), Amount: d("0.0001")})
	var re *RuleError
	if !errors.As(err, &re) || len(v.placed) != n {
		t.Fatalf("invalid order: %v (sent %d)", err, len(v.placed)-n)
	}
	var us *UnknownSymbolError
	if _, err := b.PlaceTracked(ctx, v, OrderRequest{Symbol: domain.NewSymbol("ETH", "BTC"), Side: domain.Buy, Price: d("1"), Amount: d("1")}); !errors.As(err, &us) {
		t.Fatal(err)
	}
	if _, err := b.PlaceTracked(ctx, v, OrderRequest{Symbol: btcusdt, Side: domain.Buy, Price: d("100"), Amount: d("0.1"), ClientOrderID: "bad id!"}); err == nil {
		t.Fatal("client id outside the policy accepted")
	}
}

func TestBaseCancelTracked(t *testing.T) {
	ctx := context.Background()
	b, rec := newTestBase(t)
	v := &scriptedVenue{placeAck: OrderUpdate{ExchangeOrderID: "x1", State: Open}}
	o, _ := b.PlaceTracked(ctx, v, OrderRequest{Symbol: btcusdt, Side: domain.Buy, Price: d("100"), Amount: d("0.1")})

	v.cancelErr = errors.New("503 service unavailable")
	got, err := b.CancelTracked(ctx, v, o.Ref())
	if err == nil || got.State != Open {
		t.Fatalf("failed cancel: %v %v", got.State, err)
	}
	if ev := rec.last(); ev.Type != OrderCancelFailed || !strings.Contains(ev.Reason, "503") {
		t.Fatalf("event %+v", ev)
	}
	v.cancelErr = fmt.Errorf("venue: %w", ErrOrderNotFound)
	_, _ = b.CancelTracked(ctx, v, o.Ref())
	if got, _ := b.Tracker().Get(o.Ref()); got.NotFoundCount != 1 {
		t.Fatalf("not-found cancel not counted: %+v", got)
	}
	v.cancelErr = nil
	v.cancelUpd = OrderUpdate{State: Canceled}
	got, err = b.CancelTracked(ctx, v, o.Ref())
	if err != nil || got.State != Canceled {
		t.Fatalf("cancel: %v %v", got.State, err)
	}
	if got := rec.types(o.ClientOrderID); !eqTypes(got, []OrderEventType{OrderCreated, OrderCancelFailed, OrderCancelFailed, OrderCanceled}) {
		t.Fatal(got)
	}
}

func TestBaseRefreshOrdersErrorsAndLost(t *testing.T) {
	ctx := context.Background()
	b, rec := newTestBase(t)
	v := &scriptedVenue{placeAck: OrderUpdate{State: Open}}
	a, _ := b.PlaceTracked(ctx, v, OrderRequest{Symbol: btcusdt, Side: domain.Buy, Price: d("100"), Amount: d("0.1")})
	c, _ := b.PlaceTracked(ctx, v, OrderRequest{Symbol: btcusdt, Side: domain.Buy, Price: d("100"), Amount: d("0.1")})
	v.getErr = map[string]error{a.ClientOrderID: errors.New("timeout"), c.ClientOrderID: ErrOrderNotFound}
	for range 3 {
		err := b.RefreshOrders(ctx, v)
		if err == nil || !strings.Contains(err.Error(), "timeout") {
			t.Fatalf("refresh error %v", err)
		}
	}
	if !b.Tracker().IsLost(c.Ref()) || b.Tracker().IsLost(a.Ref()) {
		t.Fatal("lost set wrong: errors other than not-found must not count")
	}
	v.getErr = nil
	v.get = map[string]OrderUpdate{c.ClientOrderID: {State: Canceled}}
	if err := b.RefreshLost(ctx, v); err != nil {
		t.Fatal(err)
	}
	if got := rec.types(c.ClientOrderID); !eqTypes(got, []OrderEventType{OrderCreated, OrderLost, OrderReconciled, OrderCanceled}) {
		t.Fatal(got)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := b.RefreshOrders(cctx, v); !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
}

func TestBaseRulesAndPlatform(t *testing.T) {
	if _, err := NewBase(operators.OperatorConfiguration{Platform: operators.ChainPlatform("ethereum", "1")}); err == nil {
		t.Fatal("blockchain platform accepted")
	}
	if _, err := NewBase(operators.OperatorConfiguration{Platform: operators.ExchangePlatform("x")}, WithClientOrderIDPolicy(ClientOrderIDPolicy{Prefix: "-"})); err == nil {
		t.Fatal("bad id policy accepted")
	}
	b, _ := newTestBase(t)
	if err := b.SetTradingRules(TradingRules{}); err == nil {
		t.Fatal("rules without symbol accepted")
	}
	eth := TradingRules{Symbol: domain.NewSymbol("ETH", "USDT")}
	_ = b.SetTradingRules(eth)
	if all := b.AllTradingRules(); len(all) != 2 || all[0].Symbol != btcusdt {
		t.Fatalf("%v", all)
	}
	var _ ExchangeOperator = b
	var _ RulesProvider = b
}

func TestBasePublishesOnTopics(t *testing.T) {
	b, _ := newTestBase(t)
	var mu sync.Mutex
	var all, completed []OrderEventType
	_, _ = operators.Subscribe(b.Publishing(), OrderEvents, func(e OrderEvent) { mu.Lock(); all = append(all, e.Type); mu.Unlock() })
	_, _ = operators.Subscribe(b.Publishing(), OrderCompletedTopic, func(e OrderEvent) { mu.Lock(); completed = append(completed, e.Type); mu.Unlock() })
	v := &scriptedVenue{placeAck: OrderUpdate{ExchangeOrderID: "x1", State: Open}}
	o, _ := b.PlaceTracked(context.Background(), v, OrderRequest{Symbol: btcusdt, Side: domain.Buy, Price: d("100"), Amount: d("0.1")})
	_, _ = b.Tracker().ProcessFill(Fill{ExchangeOrderID: o.ExchangeOrderID, TradeID: "1", Price: d("100"), Amount: d("0.1")})
	_ = b.Close() // delivers everything queued
	mu.Lock()
	defer mu.Unlock()
	if !eqTypes(all, []OrderEventType{OrderCreated, OrderFilled, OrderCompleted}) || !eqTypes(completed, []OrderEventType{OrderCompleted}) {
		t.Fatalf("all %v completed %v", all, completed)
	}
}

// TestTrackerConcurrent feeds one order's fills and updates from several
// goroutines: exactly one completion, every fill once.
func TestTrackerConcurrent(t *testing.T) {
	tr, rec, _ := newTracker(t)
	const fills = 40
	mustTrack(t, tr, buyReq("c", fmt.Sprint(fills)))
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range fills {
				_, _ = tr.ProcessFill(Fill{ClientOrderID: "c", ExchangeOrderID: "x", TradeID: fmt.Sprint(i), Price: d("1"), Amount: d("1")})
				_, _ = tr.ProcessUpdate(OrderUpdate{ExchangeOrderID: "x", State: PartiallyFilled, Sequence: int64(g*fills + i)})
				_ = tr.Snapshot()
			}
			_, _ = tr.ProcessUpdate(OrderUpdate{ClientOrderID: "c", State: Filled})
		})
	}
	wg.Wait()
	if rec.count(OrderCompleted) != 1 || rec.count(OrderFilled) != fills || rec.count(OrderCreated) != 1 {
		t.Fatalf("completed %d filled %d created %d", rec.count(OrderCompleted), rec.count(OrderFilled), rec.count(OrderCreated))
	}
}

func BenchmarkTrackerFill(b *testing.B) {
	tr := NewOrderTracker(nil, WithTrackerLogger(quiet()), WithFinishedLimit(100))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		id := fmt.Sprint(i)
		_, _ = tr.Track(OrderRequest{ClientOrderID: id, Symbol: btcusdt, Side: domain.Buy, Price: d("100"), Amount: d("2")})
		_, _ = tr.ProcessUpdate(OrderUpdate{ClientOrderID: id, ExchangeOrderID: "x" + id, State: Open})
		_, _ = tr.ProcessFill(Fill{ExchangeOrderID: "x" + id, TradeID: "a" + id, Price: d("100"), Amount: d("1")})
		_, _ = tr.ProcessFill(Fill{ExchangeOrderID: "x" + id, TradeID: "b" + id, Price: d("100"), Amount: d("1")})
		i++
	}
}
