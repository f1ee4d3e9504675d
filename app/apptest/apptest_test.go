package apptest

import (
	"strconv"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/pype-go/pype/domain"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestTruthIsConsistent(t *testing.T) {
	day := domain.Range{Start: DefaultOrigin, End: DefaultOrigin + int64(24*time.Hour)}
	v := &Venue{Quiet: []domain.Range{{Start: DefaultOrigin + int64(time.Hour), End: DefaultOrigin + int64(3*time.Hour)}}}
	trades := v.Trades(day)
	if len(trades) != 24*60-120 {
		t.Fatalf("%d trades", len(trades))
	}
	for i, tr := range trades {
		if tr.ID != strconv.Itoa(i+1) {
			t.Fatalf("trade %d has id %s: ids must stay contiguous across quiet ranges", i, tr.ID)
		}
	}
	bars := v.Bars(domain.Span1h, day)
	if len(bars) != 22 {
		t.Fatalf("%d bars", len(bars))
	}
	var n int64
	for _, b := range bars {
		n += b.Trades
	}
	if n != int64(len(trades)) {
		t.Fatalf("bars hold %d trades, want %d", n, len(trades))
	}
}
