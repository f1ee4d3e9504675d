package bitfinex

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/govalues/decimal"

	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/operators/orderbook"
	"github.com/pype-go/pype/venues"
)

// bookFeed drives a book stream's frame handler directly (no connection)
// with a hand-set clock and records what it yields.
type bookFeed struct {
	t      *testing.T
	h      *bookStream
	now    time.Time
	seq    int64
	events []venues.BookEvent
}

func newBookFeed(t *testing.T, depth int) *bookFeed {
	t.Helper()
	eng, err := orderbook.NewEngine(orderbook.Config{Venue: Name, Checksum: orderbook.BitfinexChecksum{Depth: ChecksumDepth}, Logger: discard(),
		Resubscribe:        func(context.Context, domain.Symbol) error { return nil },
		ResubscribeTimeout: time.Hour, Backoff: func(int) time.Duration { return time.Hour }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = eng.Close() })
	if err := eng.Add(btcusd); err != nil {
		t.Fatal(err)
	}
	f := &bookFeed{t: t, now: time.Unix(1_700_000_000, 0)}
	f.h = &bookStream{a: &Adapter{log: discard()}, eng: eng, syms: []*streamSym{{sym: btcusd}}, depth: depth,
		quiet: DefaultBookQuiet, maxHold: DefaultBookMaxHold, now: func() time.Time { return f.now }}
	f.h.emit = func(e venues.BookEvent) bool { f.events = append(f.events, e); return true }
	return f
}

// feed hands one data frame (without its sequence number) to the handler.
func (f *bookFeed) feed(payload string) {
	f.t.Helper()
	f.seq++
	f.now = f.now.Add(time.Millisecond)
	var fr wsFrame
	if err := parseFrame([]byte(`[7,`+payload+`,`+strconv.FormatInt(f.seq, 10)+`]`), &fr); err != nil {
		f.t.Fatal(err)
	}
	f.h.frame(nil, &channelSpec{}, &fr, f.now.UnixNano())
}

// checksum is the "cs" payload for a book of levels [price, count, amount].
func checksum(t *testing.T, rows ...[3]string) string {
	t.Helper()
	s := domain.BookSnapshot{Symbol: btcusd}
	for _, r := range rows {
		l := domain.BookLevel{Price: decimal.MustParse(r[0]), Amount: decimal.MustParse(r[2])}
		if l.Amount.IsNeg() {
			s.Asks = append(s.Asks, domain.BookLevel{Price: l.Price, Amount: l.Amount.Neg()})
		} else {
			s.Bids = append(s.Bids, l)
		}
	}
	sortLevels(s.Bids, s.Asks)
	b := orderbook.NewBook(btcusd)
	if err := b.Load(&s); err != nil {
		t.Fatal(err)
	}
	return `"cs",` + strconv.FormatInt(int64(int32(orderbook.BitfinexChecksum{Depth: ChecksumDepth}.Checksum(b))), 10)
}

func levels(pairs ...string) []domain.BookLevel {
	var out []domain.BookLevel
	for i := 0; i+1 < len(pairs); i += 2 {
		out = append(out, domain.BookLevel{Price: decimal.MustParse(pairs[i]), Amount: decimal.MustParse(pairs[i+1])})
	}
	return out
}

// TestUpdateIsReportedAtItsChecksum: Bitfinex sends one update as one
// frame per level, then "cs". The states between the level frames (here a
// bid side one level short, then the new best bid missing) must never be
// yielded; the book is yielded at the snapshot and at each checksum.
func TestUpdateIsReportedAtItsChecksum(t *testing.T) {
	f := newBookFeed(t, 2)
	snap := [][3]string{{"100", "1", "3"}, {"99", "1", "4"}, {"98", "1", "5"}, {"101", "1", "-6"}, {"102", "1", "-7"}}
	f.feed(`[[100,1,3],[99,1,4],[98,1,5],[101,1,-6],[102,1,-7]]`)
	f.feed(checksum(t, snap...))
	first := domain.BookSnapshot{Bids: levels("100", "3", "99", "4"), Asks: levels("101", "6", "102", "7")}
	if len(f.events) != 2 || !f.events[0].Live || !f.events[1].Live || !sameBook(f.events[0].Book, first) || !sameBook(f.events[1].Book, first) {
		t.Fatalf("after the snapshot and its checksum: %+v", f.events)
	}
	// One update: 99 leaves, 100.5 arrives as the best bid, 101 grows.
	f.feed(`[99,0,1]`)
	f.feed(`[100.5,2,1]`)
	f.feed(`[101,2,-8]`)
	if len(f.events) != 2 {
		t.Fatalf("a state inside the update was yielded: %+v", f.events[2:])
	}
	// Checksums are on: a quiet channel still waits for the cs frame.
	f.h.flushIdle(f.now.Add(10*f.h.quiet), 0)
	if len(f.events) != 2 {
		t.Fatalf("yielded before the checksum: %+v", f.events[2:])
	}
	f.feed(checksum(t, [3]string{"100.5", "2", "1"}, [3]string{"100", "1", "3"}, [3]string{"98", "1", "5"}, [3]string{"101", "2", "-8"}, [3]string{"102", "1", "-7"}))
	want := domain.BookSnapshot{Bids: levels("100.5", "1", "100", "3"), Asks: levels("101", "8", "102", "7")}
	if len(f.events) != 3 || !f.events[2].Live || !sameBook(f.events[2].Book, want) || f.h.holding() {
		t.Fatalf("at the checksum: %+v", f.events[2:])
	}
	// A wrong update (the checksum disagrees) is never shown as live.
	f.feed(`[100.5,0,1]`)
	f.feed(checksum(t, snap...))
	if len(f.events) != 4 || f.events[3].Live {
		t.Fatalf("after a checksum mismatch: %+v", f.events[3:])
	}
}

// TestUpdateWithoutChecksumsWaitsForQuiet: on a channel that sends no
// checksums, update frames are yielded once the channel is quiet with no
// frame waiting — not while a side is short of what was shown, unless
// that lasts the maximum hold.
func TestUpdateWithoutChecksumsWaitsForQuiet(t *testing.T) {
	f := newBookFeed(t, 2)
	f.feed(`[[100,1,3],[99,1,4],[101,1,-6],[102,1,-7]]`)
	f.feed(`[99,0,1]`)
	if len(f.events) != 1 || !f.h.holding() {
		t.Fatalf("events %+v", f.events)
	}
	f.h.flushIdle(f.now.Add(f.h.quiet/2), 0) // not quiet yet
	f.h.flushIdle(f.now.Add(f.h.quiet), 5)   // frames wait
	f.h.flushIdle(f.now.Add(f.h.quiet), 0)   // bids one short of the two shown
	if len(f.events) != 1 {
		t.Fatalf("yielded early: %+v", f.events[1:])
	}
	f.feed(`[100.5,1,2]`)
	f.h.flushIdle(f.now.Add(f.h.quiet), 0)
	if len(f.events) != 2 || !sameBook(f.events[1].Book, domain.BookSnapshot{Bids: levels("100.5", "2", "100", "3"), Asks: levels("101", "6", "102", "7")}) || f.h.holding() {
		t.Fatalf("events %+v", f.events)
	}
	// An ask side that really thinned is yielded after the maximum hold.
	f.feed(`[102,0,-1]`)
	f.feed(`[101,0,-1]`)
	f.h.flushIdle(f.now.Add(f.h.quiet), 0)
	if len(f.events) != 2 {
		t.Fatalf("events %+v", f.events[2:])
	}
	f.h.flushIdle(f.now.Add(f.h.maxHold), 0)
	if len(f.events) != 3 || len(f.events[2].Book.Asks) != 0 || len(f.events[2].Book.Bids) != 2 {
		t.Fatalf("events %+v", f.events[2:])
	}
}

// TestChecksumsThatStopFallBackToQuiet: a channel that sent checksums and
// then stops is reported by the quiet rule after the maximum hold.
func TestChecksumsThatStopFallBackToQuiet(t *testing.T) {
	f := newBookFeed(t, 2)
	f.feed(`[[100,1,3],[99,1,4],[101,1,-6],[102,1,-7]]`)
	f.feed(checksum(t, [3]string{"100", "1", "3"}, [3]string{"99", "1", "4"}, [3]string{"101", "1", "-6"}, [3]string{"102", "1", "-7"}))
	f.feed(`[100,1,9]`)
	f.h.flushIdle(f.now.Add(f.h.maxHold/2), 0)
	if len(f.events) != 2 {
		t.Fatalf("events %+v", f.events[2:])
	}
	f.h.flushIdle(f.now.Add(f.h.maxHold), 0)
	if len(f.events) != 3 || f.events[2].Book.Bids[0].Amount.Cmp(decimal.MustNew(9, 0)) != 0 {
		t.Fatalf("events %+v", f.events)
	}
}
