package sim

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/pype-go/pype/domain"
)

func TestPrewarmFillsAggregatesAndChangesNothing(t *testing.T) {
	warm, cold := testMarket(t, 3*24*time.Hour), testMarket(t, 3*24*time.Hour)
	if err := warm.Prewarm(context.Background(), 2); err != nil {
		t.Fatal(err)
	}
	for _, sr := range warm.AllSeries() {
		for h := warm.StartMs() / msPerHour; h <= warm.NowMs()/msPerHour; h++ {
			x, ok := sr.header(h)
			if ok && x.nAgg > 0 && x.bl.aggs[x.j].Load() == nil {
				t.Fatalf("%s hour %d: no aggregates after Prewarm", sr.Symbol(), h)
			}
		}
	}
	now := warm.NowMs()
	for i, sr := range warm.AllSeries() {
		for _, span := range []domain.Span{domain.Span1m, domain.Span15m, domain.Span1h, domain.Span1d} {
			a := sr.Candles(span, 0, now, now, 1000, false)
			b := cold.AllSeries()[i].Candles(span, 0, now, now, 1000, false)
			if fmt.Sprint(a) != fmt.Sprint(b) {
				t.Fatalf("%s %v: prewarmed candles differ", sr.Symbol(), span)
			}
		}
	}
}

func TestPrewarmStopsWithContext(t *testing.T) {
	m := testMarket(t, 30*24*time.Hour)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := m.Prewarm(ctx, 1); !errors.Is(err, context.Canceled) {
		t.Fatalf("Prewarm on a cancelled context: %v", err)
	}
	x, _ := m.AllSeries()[0].header(m.NowMs() / msPerHour)
	if x.bl.aggs[x.j].Load() != nil {
		t.Fatal("a cancelled Prewarm generated the last hour")
	}
}

// BenchmarkPrewarm generates the aggregates of 30 days of the four default
// symbols (op = the whole history; run with -cpu 1 for one core).
func BenchmarkPrewarm(b *testing.B) {
	var hours int64
	for b.Loop() {
		m := testMarket(b, 30*24*time.Hour)
		if err := m.Prewarm(context.Background(), 0); err != nil {
			b.Fatal(err)
		}
		hours += (m.NowMs()/msPerHour - m.StartMs()/msPerHour + 1) * int64(len(m.AllSeries()))
	}
	b.ReportMetric(float64(hours)/b.Elapsed().Seconds(), "symbol-hours/s")
}

// TestServerPrewarmRunsAndStops starts a server with Prewarm and closes it
// at once: Close waits for the background generation (goleak checks).
func TestServerPrewarmRunsAndStops(t *testing.T) {
	for _, hist := range []time.Duration{2 * time.Hour, 30 * 24 * time.Hour} {
		s, err := Start(context.Background(), Config{Registry: NewRegistry(fakePersonality{}), Now: testNow, Frozen: true,
			History: hist, Prewarm: true})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
