package binance

import (
	"context"
	"testing"
	"time"

	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/operators/orderbook"
	"github.com/pype-go/pype/transport/ws"
	"github.com/pype-go/pype/venues"
)

// The recorded NKNUSDT session: the REST snapshot (lastUpdateId 499869752)
// and the diff stream captured with it. The first diff (U 499869750, u
// 499869752) is covered by the snapshot and dropped; the other 149 apply
// in sequence and the book ends live, uncrossed.
func TestRecordedBookSession(t *testing.T) {
	nkn := domain.NewSymbol("NKN", "USDT")
	snap, err := parseDepth(readFixture(t, "rest_depth_NKNUSDT_limit1000_cryptofeed_2021-10-12.json"))
	if err != nil {
		t.Fatal(err)
	}
	a := &Adapter{opt: options{streamsPerConn: MaxStreamsPerConn}}
	f := &bookFeed{a: a, depth: 10, byVenue: map[string]*bookSym{}, bySym: map[domain.Symbol]*bookSym{}}
	eng, err := orderbook.NewEngine(orderbook.Config{Venue: Name, Continuity: orderbook.BinanceContinuity{},
		Snapshot: func(ctx context.Context, sym domain.Symbol) (domain.BookSnapshot, error) {
			// As the feed does: snapshot only once the stream delivers.
			ready, _ := f.bySym[sym].readyC()
			select {
			case <-ready:
			case <-ctx.Done():
				return domain.BookSnapshot{}, ctx.Err()
			}
			return snap, nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	f.eng = eng
	b := newBookSym(nkn, "NKNUSDT")
	f.byVenue["NKNUSDT"], f.bySym[nkn] = b, b
	if err := eng.Add(nkn); err != nil {
		t.Fatal(err)
	}
	var events []venues.BookEvent
	f.emit = func(e venues.BookEvent) bool { events = append(events, e); return true }
	lines := readLines(t, "ws_depth100ms_NKNUSDT_diffs_cryptofeed_2021-10-12.jsonl")
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	for i, line := range lines {
		fr, err := splitFrame(line)
		if err != nil {
			t.Fatal(err)
		}
		f.frame(0, ws.Frame{Data: line, Received: int64(i)}, &fr)
		if i == 0 {
			// Let the snapshot bridge the first buffered diff before the
			// rest arrive, as it would on a live connection.
			if err := eng.WaitLive(ctx, nkn); err != nil {
				t.Fatal(err)
			}
		}
	}
	st, _ := eng.Stats(nkn)
	if st.State != orderbook.Live || st.Applied != 149 || st.Skipped != 1 || st.Gaps != 0 || st.Snapshots != 1 {
		t.Fatalf("stats %+v", st)
	}
	last := events[len(events)-1]
	if !last.Live || last.Book.Seq != st.Seq || len(last.Book.Bids) != 10 || last.Book.Bids[0].Price.Cmp(last.Book.Asks[0].Price) >= 0 {
		t.Fatalf("last event %+v", last)
	}
}
