package binance

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/sim/simtest"
	"github.com/pype-go/pype/venues"
)

// The venue announces a lower weight limit than Binance's default; the
// adapter adopts it at start-up and holds requests back instead of earning
// a 429.
func TestSimAnnouncedLimitIsRespected(t *testing.T) {
	s := startSim(t, simtest.WeightLimit(30))
	a := openSim(t, s, venues.Config{})
	var limit int
	for _, r := range a.RateLimits() {
		if r.Name == "REQUEST_WEIGHT_1M" {
			limit = r.Limit
		}
	}
	if limit != 30 {
		t.Fatalf("REQUEST_WEIGHT_1M = %d, want the announced 30 (rules %v)", limit, a.RateLimits())
	}
	// Open spent 21 (time 1 + exchangeInfo 20); four klines pages (2 each)
	// fit, a fifth does not and must wait, not be sent.
	r := domain.Range{Start: domain.Nanos(simNow.Add(-time.Hour)), End: domain.Nanos(simNow)}
	for i := 0; i < 4; i++ {
		if _, err := a.Klines(t.Context(), btcusdt, domain.Span1m, r, 10); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	if _, err := a.Klines(ctx, btcusdt, domain.Span1m, r, 10); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("fifth request: %v (want it held back by the limiter)", err)
	}
	if st := s.Stats("binance"); st.Status429 != 0 || st.WeightUsed != 29 {
		t.Fatalf("venue saw %d 429s, weight %d", st.Status429, st.WeightUsed)
	}
}

// X-MBX-USED-WEIGHT-1M corrects the local count: weight spent by someone
// else on the same IP is taken into account.
func TestUsedWeightHeaderFeedsTheLimiter(t *testing.T) {
	trades := genTrades(1, time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli(), 10)
	f, srv := newFakeREST(t, trades, time.Date(2024, 2, 1, 0, 0, 0, 0, time.UTC).UnixMilli())
	a := openFake(t, srv, 1)
	f.weight.Store(5000) // another process used 5000 of 6000
	if _, err := a.AggTrades(t.Context(), btcusdt, 1, 5); err != nil {
		t.Fatal(err)
	}
	var used int
	for _, r := range a.Limiter().Stats().Rules {
		if r.Name == "REQUEST_WEIGHT_1M" {
			used = r.Used
		}
	}
	if used < 5000 {
		t.Fatalf("limiter counts %d used, the venue said 5001", used)
	}
}
