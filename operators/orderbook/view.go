package orderbook

import (
	"context"
	"fmt"

	"github.com/govalues/decimal"

	"github.com/pype-go/pype/domain"
)

// View reads one symbol's live book in an [Engine]. Every method takes the
// symbol's read lock, so it sees the book between two whole updates, and
// fails with an error wrapping [ErrNotLive] (or returns ok == false) when
// the book is not live: a book that is syncing, resyncing or stopped is
// never readable. Views are cheap and safe for concurrent use; a View of a
// removed symbol reports Stopped.
type View struct {
	t *tracked
}

// Symbol returns the view's symbol.
func (v *View) Symbol() domain.Symbol { return v.t.sym }

// State returns the book's sync state.
func (v *View) State() State {
	v.t.mu.RLock()
	defer v.t.mu.RUnlock()
	return v.t.state
}

// Live reports whether the book is live.
func (v *View) Live() bool { return v.State() == Live }

// WaitLive blocks until the book is live; it fails when ctx is done or the
// symbol is removed.
func (v *View) WaitLive(ctx context.Context) error {
	for {
		v.t.mu.RLock()
		st, ch := v.t.state, v.t.live
		v.t.mu.RUnlock()
		switch st {
		case Live:
			return nil
		case Stopped:
			return fmt.Errorf("%w: %s", ErrNotTracked, v.t.sym)
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("orderbook: waiting for %s to be live (now %v): %w", v.t.sym, st, ctx.Err())
		}
	}
}

func (v *View) notLive(st State) error {
	return fmt.Errorf("%w: %s is %v", ErrNotLive, v.t.sym, st)
}

// Read calls fn with the live book under the read lock. fn must not keep b
// or modify it, and should return quickly: the engine cannot apply updates
// for this symbol while fn runs.
func (v *View) Read(fn func(b *Book)) error {
	v.t.mu.RLock()
	defer v.t.mu.RUnlock()
	if v.t.state != Live {
		return v.notLive(v.t.state)
	}
	fn(v.t.book)
	return nil
}

// Snapshot returns a deep copy of the live book.
func (v *View) Snapshot() (domain.BookSnapshot, error) {
	var s domain.BookSnapshot
	err := v.Read(func(b *Book) { s = b.Snapshot() })
	return s, err
}

// Clone returns an independent copy of the live book.
func (v *View) Clone() (*Book, error) {
	var c *Book
	err := v.Read(func(b *Book) { c = b.Clone() })
	return c, err
}

// Seq returns the sequence of the last update applied to the live book.
func (v *View) Seq() (int64, error) {
	var s int64
	err := v.Read(func(b *Book) { s = b.Seq() })
	return s, err
}

// BestBid returns the best bid; ok is false when the book is not live or
// has no bids.
func (v *View) BestBid() (lv domain.BookLevel, ok bool) {
	_ = v.Read(func(b *Book) { lv, ok = b.BestBid() })
	return lv, ok
}

// BestAsk returns the best ask; ok is false when the book is not live or
// has no asks.
func (v *View) BestAsk() (lv domain.BookLevel, ok bool) {
	_ = v.Read(func(b *Book) { lv, ok = b.BestAsk() })
	return lv, ok
}

// Top returns the best bid and ask read together (from the same update).
// An empty side gives a zero level.
func (v *View) Top() (bid, ask domain.BookLevel, err error) {
	err = v.Read(func(b *Book) {
		bid, _ = b.BestBid()
		ask, _ = b.BestAsk()
	})
	return bid, ask, err
}

// TopN returns copies of the best n levels of each side (n < 0: all).
func (v *View) TopN(n int) (bids, asks []domain.BookLevel, err error) {
	err = v.Read(func(b *Book) { bids, asks = b.TopN(n) })
	return bids, asks, err
}

// Depth returns the number of levels on each side.
func (v *View) Depth() (bids, asks int, err error) {
	err = v.Read(func(b *Book) { bids, asks = b.Depth(Bid), b.Depth(Ask) })
	return bids, asks, err
}

// Spread returns best ask − best bid.
func (v *View) Spread() (s decimal.Decimal, err error) {
	if rerr := v.Read(func(b *Book) {
		var ok bool
		if s, ok = b.Spread(); !ok {
			err = ErrEmptyBook
		}
	}); rerr != nil {
		return s, rerr
	}
	return s, err
}

// Mid returns the mid price.
func (v *View) Mid() (m decimal.Decimal, err error) {
	if rerr := v.Read(func(b *Book) {
		var ok bool
		if m, ok = b.Mid(); !ok {
			err = ErrEmptyBook
		}
	}); rerr != nil {
		return m, rerr
	}
	return m, err
}

// VWAP is [Book.VWAP] on the live book.
func (v *View) VWAP(taker domain.Side, amount decimal.Decimal) (p decimal.Decimal, err error) {
	if rerr := v.Read(func(b *Book) { p, err = b.VWAP(taker, amount) }); rerr != nil {
		return p, rerr
	}
	return p, err
}

// Cost is [Book.Cost] on the live book.
func (v *View) Cost(taker domain.Side, amount decimal.Decimal) (c decimal.Decimal, err error) {
	if rerr := v.Read(func(b *Book) { c, err = b.Cost(taker, amount) }); rerr != nil {
		return c, rerr
	}
	return c, err
}

// PriceForAmount is [Book.PriceForAmount] on the live book.
func (v *View) PriceForAmount(taker domain.Side, amount decimal.Decimal) (p decimal.Decimal, err error) {
	if rerr := v.Read(func(b *Book) { p, err = b.PriceForAmount(taker, amount) }); rerr != nil {
		return p, rerr
	}
	return p, err
}

// AmountUpToPrice is [Book.AmountUpToPrice] on the live book.
func (v *View) AmountUpToPrice(taker domain.Side, limit decimal.Decimal) (a decimal.Decimal, err error) {
	if rerr := v.Read(func(b *Book) { a, err = b.AmountUpToPrice(taker, limit) }); rerr != nil {
		return a, rerr
	}
	return a, err
}
