package exchange

import (
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/govalues/decimal"
	"go.uber.org/goleak"

	"github.com/pype-go/pype/domain"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func d(s string) decimal.Decimal { return decimal.MustParse(s) }

var btcusdt = domain.NewSymbol("BTC", "USDT")

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Unix(1_700_000_000, 0)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(dur time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(dur)
	c.mu.Unlock()
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// recorder collects events synchronously through the tracker's sink.
type recorder struct {
	mu     sync.Mutex
	events []OrderEvent
}

func (r *recorder) sink(e OrderEvent) {
	r.mu.Lock()
	r.events = append(r.events, e)
	r.mu.Unlock()
}

func (r *recorder) types(clientID string) []OrderEventType {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []OrderEventType
	for _, e := range r.events {
		if clientID == "" || e.Order.ClientOrderID == clientID {
			out = append(out, e.Type)
		}
	}
	return out
}

func (r *recorder) count(t OrderEventType) int {
	n := 0
	for _, x := range r.types("") {
		if x == t {
			n++
		}
	}
	return n
}

func (r *recorder) last() OrderEvent {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.events[len(r.events)-1]
}

func newTracker(t testing.TB, opts ...TrackerOption) (*OrderTracker, *recorder, *fakeClock) {
	t.Helper()
	rec := &recorder{}
	clk := newFakeClock()
	all := append([]TrackerOption{WithEventSink(rec.sink), WithTrackerClock(clk), WithTrackerLogger(quiet())}, opts...)
	return NewOrderTracker(nil, all...), rec, clk
}

func buyReq(id, amount string) OrderRequest {
	return OrderRequest{Symbol: btcusdt, Side: domain.Buy, Type: Limit, Price: d("100"), Amount: d(amount), ClientOrderID: id}
}

func mustTrack(t testing.TB, tr *OrderTracker, req OrderRequest) Order {
	t.Helper()
	o, err := tr.Track(req)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func eqTypes(a, b []OrderEventType) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
