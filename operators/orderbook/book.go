package orderbook

import (
	"errors"
	"fmt"
	"iter"

	"github.com/govalues/decimal"

	"github.com/pype-go/pype/domain"
)

// Side names one side of a book.
type Side uint8

// Book sides.
const (
	Bid Side = iota + 1
	Ask
)

// String returns "bid" or "ask".
func (s Side) String() string {
	switch s {
	case Bid:
		return "bid"
	case Ask:
		return "ask"
	}
	return fmt.Sprintf("Side(%d)", uint8(s))
}

// LevelError reports a level a book refused (a negative amount or an
// unknown side); nothing of the update it belonged to was applied.
type LevelError struct {
	Side   Side
	Price  decimal.Decimal
	Amount decimal.Decimal
	Reason string
}

func (e *LevelError) Error() string {
	return fmt.Sprintf("orderbook: invalid %v level %s @ %s: %s", e.Side, e.Amount, e.Price, e.Reason)
}

// InsufficientDepthError is returned by the size-based queries when the
// book holds less than the requested amount on the side a taker consumes.
type InsufficientDepthError struct {
	Taker     domain.Side     // the taker's side: Buy consumes asks, Sell bids
	Requested decimal.Decimal // the amount asked for
	Available decimal.Decimal // the total amount on the consumed side
}

func (e *InsufficientDepthError) Error() string {
	return fmt.Sprintf("orderbook: insufficient depth to %v %s: only %s available", e.Taker, e.Requested, e.Available)
}

// ErrEmptyBook is returned by queries that need at least one level on a side.
var ErrEmptyBook = errors.New("orderbook: empty book side")

// Book is an L2 order book: price levels with aggregate amounts, bids
// ranked by descending price and asks by ascending price.
//
// Prices and amounts are exact [decimal.Decimal] values and keep the scale
// they were given with (a level set from "0.0500" prints as "0.0500"), which
// the venue checksum rules rely on. Internally prices are compared as
// integer keys and each side is a two-level B+-tree of fixed-capacity
// blocks, so an update costs O(log n) compares plus a move of at most one
// block, and allocates nothing once the book has reached its working size.
//
// A Book is not safe for concurrent use; the sync [Engine] guards its books
// and hands readers consistent views. The zero value is not usable; call
// [NewBook].
type Book struct {
	symbol     domain.Symbol
	seq, time  int64
	recvTime   int64
	bids, asks ladder
	maxDepth   int
	updates    uint64
}

// NewBook returns an empty book for symbol.
func NewBook(symbol domain.Symbol) *Book {
	return &Book{symbol: symbol, bids: newLadder(true), asks: newLadder(false)}
}

// Symbol returns the book's symbol.
func (b *Book) Symbol() domain.Symbol { return b.symbol }

// Seq returns the venue sequence of the last snapshot or delta applied (0
// when the venue has none).
func (b *Book) Seq() int64 { return b.seq }

// Time returns the venue time (ns) of the last snapshot or delta applied.
func (b *Book) Time() int64 { return b.time }

// RecvTime returns the local receive time (ns) of the last snapshot or
// delta applied.
func (b *Book) RecvTime() int64 { return b.recvTime }

// SetStamp sets the sequence and times reported by [Book.Seq],
// [Book.Time] and [Book.RecvTime].
func (b *Book) SetStamp(seq, time, recvTime int64) { b.seq, b.time, b.recvTime = seq, time, recvTime }

// SetMaxDepth keeps at most n levels per side (0 = unlimited), dropping the
// worst levels now and after every update. Venues that send no removal for
// levels pushed out of the subscribed depth (Kraken) need it.
func (b *Book) SetMaxDepth(n int) {
	b.maxDepth = max(n, 0)
	if b.maxDepth > 0 {
		b.bids.truncate(b.maxDepth)
		b.asks.truncate(b.maxDepth)
	}
}

// MaxDepth returns the depth limit (0 = unlimited).
func (b *Book) MaxDepth() int { return b.maxDepth }

func (b *Book) ladder(s Side) *ladder {
	switch s {
	case Bid:
		return &b.bids
	case Ask:
		return &b.asks
	}
	return nil
}

// Set sets the amount at price on side; an amount of zero removes the
// level. A negative amount is refused with a [*LevelError].
func (b *Book) Set(side Side, price, amount decimal.Decimal) error {
	l := b.ladder(side)
	if l == nil {
		return &LevelError{Side: side, Price: price, Amount: amount, Reason: "unknown side (accepted: Bid, Ask)"}
	}
	if amount.IsNeg() {
		return &LevelError{Side: side, Price: price, Amount: amount, Reason: "negative amount"}
	}
	b.updates++
	if l.set(price, amount) > 0 && b.maxDepth > 0 && l.n > b.maxDepth {
		l.truncate(b.maxDepth)
	}
	return nil
}

func checkLevels(side Side, lv []domain.BookLevel) error {
	for _, x := range lv {
		if x.Amount.IsNeg() {
			return &LevelError{Side: side, Price: x.Price, Amount: x.Amount, Reason: "negative amount"}
		}
	}
	return nil
}

// ApplyDelta applies d's bid and ask levels in order (a later level for
// the same price wins) and stamps the book with d's sequence and times. A
// delta with Reset set replaces the book. The delta is validated first, so
// an invalid delta leaves the book unchanged.
func (b *Book) ApplyDelta(d *domain.BookDelta) error {
	if err := checkLevels(Bid, d.Bids); err != nil {
		return err
	}
	if err := checkLevels(Ask, d.Asks); err != nil {
		return err
	}
	if d.Reset {
		b.Clear()
	}
	for _, x := range d.Bids {
		b.bids.set(x.Price, x.Amount)
	}
	for _, x := range d.Asks {
		b.asks.set(x.Price, x.Amount)
	}
	b.updates += uint64(len(d.Bids) + len(d.Asks))
	if b.maxDepth > 0 {
		b.bids.truncate(b.maxDepth)
		b.asks.truncate(b.maxDepth)
	}
	b.SetStamp(d.Seq, d.Time, d.RecvTime)
	return nil
}

// Load replaces the book's content with s (levels with a zero amount are
// skipped) and stamps it with s's sequence and times. An invalid snapshot
// leaves the book unchanged.
func (b *Book) Load(s *domain.BookSnapshot) error {
	if err := checkLevels(Bid, s.Bids); err != nil {
		return err
	}
	if err := checkLevels(Ask, s.Asks); err != nil {
		return err
	}
	b.Clear()
	for _, x := range s.Bids {
		b.bids.set(x.Price, x.Amount)
	}
	for _, x := range s.Asks {
		b.asks.set(x.Price, x.Amount)
	}
	if b.maxDepth > 0 {
		b.bids.truncate(b.maxDepth)
		b.asks.truncate(b.maxDepth)
	}
	b.SetStamp(s.Seq, s.Time, s.RecvTime)
	return nil
}

// Clear removes every level and resets the stamp.
func (b *Book) Clear() {
	b.bids.clear()
	b.asks.clear()
	b.SetStamp(0, 0, 0)
}

// BestBid returns the highest bid.
func (b *Book) BestBid() (domain.BookLevel, bool) { return b.bids.best() }

// BestAsk returns the lowest ask.
func (b *Book) BestAsk() (domain.BookLevel, bool) { return b.asks.best() }

// Worst returns the worst level of side (the lowest bid or highest ask).
func (b *Book) Worst(side Side) (domain.BookLevel, bool) {
	if l := b.ladder(side); l != nil {
		return l.worst()
	}
	return domain.BookLevel{}, false
}

// Level returns the level of rank i on side (0 = best).
func (b *Book) Level(side Side, i int) (domain.BookLevel, bool) {
	if l := b.ladder(side); l != nil {
		return l.at(i)
	}
	return domain.BookLevel{}, false
}

// Get returns the level at price on side.
func (b *Book) Get(side Side, price decimal.Decimal) (domain.BookLevel, bool) {
	if l := b.ladder(side); l != nil {
		return l.get(price)
	}
	return domain.BookLevel{}, false
}

// Depth returns the number of levels on side.
func (b *Book) Depth(side Side) int {
	if l := b.ladder(side); l != nil {
		return l.n
	}
	return 0
}

// Empty reports whether both sides are empty.
func (b *Book) Empty() bool { return b.bids.n == 0 && b.asks.n == 0 }

// Updates returns the number of level updates applied since the book was
// created.
func (b *Book) Updates() uint64 { return b.updates }

// Spread returns best ask − best bid; ok is false if a side is empty.
func (b *Book) Spread() (spread decimal.Decimal, ok bool) {
	bid, ok1 := b.bids.best()
	ask, ok2 := b.asks.best()
	if !ok1 || !ok2 {
		return decimal.Decimal{}, false
	}
	s, err := ask.Price.Sub(bid.Price)
	return s, err == nil
}

// Mid returns (best bid + best ask) / 2; ok is false if a side is empty.
func (b *Book) Mid() (mid decimal.Decimal, ok bool) {
	bid, ok1 := b.bids.best()
	ask, ok2 := b.asks.best()
	if !ok1 || !ok2 {
		return decimal.Decimal{}, false
	}
	s, err := bid.Price.Add(ask.Price)
	if err != nil {
		return decimal.Decimal{}, false
	}
	m, err := s.Quo(decimal.Two)
	return m, err == nil
}

// Crossed reports whether the best bid is at or above the best ask (a
// crossed or locked book, which a correct L2 feed never shows).
func (b *Book) Crossed() bool {
	bid, ok1 := b.bids.best()
	ask, ok2 := b.asks.best()
	return ok1 && ok2 && bid.Price.Cmp(ask.Price) >= 0
}

// TopN returns copies of the best n levels of each side (n < 0: all).
func (b *Book) TopN(n int) (bids, asks []domain.BookLevel) {
	m := n
	if m < 0 {
		m = max(b.bids.n, b.asks.n)
	}
	bids = b.bids.appendTo(make([]domain.BookLevel, 0, min(m, b.bids.n)), n)
	asks = b.asks.appendTo(make([]domain.BookLevel, 0, min(m, b.asks.n)), n)
	return bids, asks
}

// AppendLevels appends the best n levels of side (n < 0: all) to dst.
func (b *Book) AppendLevels(dst []domain.BookLevel, side Side, n int) []domain.BookLevel {
	if l := b.ladder(side); l != nil {
		return l.appendTo(dst, n)
	}
	return dst
}

// Levels iterates over side's levels best first, with their rank. The book
// must not be modified during the iteration.
func (b *Book) Levels(side Side) iter.Seq2[int, domain.BookLevel] {
	return func(yield func(int, domain.BookLevel) bool) {
		if l := b.ladder(side); l != nil {
			l.each(yield)
		}
	}
}

// Snapshot returns a deep copy of the book as a [domain.BookSnapshot].
func (b *Book) Snapshot() domain.BookSnapshot {
	bids, asks := b.TopN(-1)
	return domain.BookSnapshot{Symbol: b.symbol, Seq: b.seq, Time: b.time, RecvTime: b.recvTime, Bids: bids, Asks: asks}
}

// Clone returns an independent deep copy of the book.
func (b *Book) Clone() *Book {
	c := *b
	c.bids = b.bids.clone()
	c.asks = b.asks.clone()
	return &c
}

// Equal reports whether b and o hold the same levels (prices and amounts
// compared by value, so "1.50" equals "1.5"). Stamps are not compared.
func (b *Book) Equal(o *Book) bool {
	return b.equalSide(Bid, o) && b.equalSide(Ask, o)
}

func (b *Book) equalSide(s Side, o *Book) bool {
	l, m := b.ladder(s), o.ladder(s)
	if l.n != m.n {
		return false
	}
	eq := true
	l.each(func(i int, x domain.BookLevel) bool {
		y, _ := m.at(i)
		eq = x.Price.Cmp(y.Price) == 0 && x.Amount.Cmp(y.Amount) == 0
		return eq
	})
	return eq
}

// consumed returns the ladder a taker on side t consumes.
func (b *Book) consumed(t domain.Side) (*ladder, error) {
	switch t {
	case domain.Buy:
		return &b.asks, nil
	case domain.Sell:
		return &b.bids, nil
	}
	return nil, fmt.Errorf("orderbook: invalid taker side %v (accepted: buy, sell)", t)
}

// fill walks the consumed side until amount is filled. It returns the cost
// (Σ price × amount taken) and the worst price touched.
func (b *Book) fill(taker domain.Side, amount decimal.Decimal) (cost, worst decimal.Decimal, err error) {
	l, err := b.consumed(taker)
	if err != nil {
		return cost, worst, err
	}
	if !amount.IsPos() {
		return cost, worst, fmt.Errorf("orderbook: amount %s must be positive", amount)
	}
	left := amount
	var total decimal.Decimal
	done := false
	l.each(func(_ int, x domain.BookLevel) bool {
		take := x.Amount
		if take.Cmp(left) >= 0 {
			take = left
			done = true
		}
		if cost, err = cost.AddMul(x.Price, take); err != nil {
			return false
		}
		worst = x.Price
		if done {
			return false
		}
		if left, err = left.Sub(take); err != nil {
			return false
		}
		if total, err = total.Add(x.Amount); err != nil {
			return false
		}
		return true
	})
	if err != nil {
		return cost, worst, fmt.Errorf("orderbook: filling %s: %w", amount, err)
	}
	if !done {
		if l.n == 0 {
			return cost, worst, &InsufficientDepthError{Taker: taker, Requested: amount, Available: decimal.Zero}
		}
		return cost, worst, &InsufficientDepthError{Taker: taker, Requested: amount, Available: total}
	}
	return cost, worst, nil
}

// VWAP returns the volume-weighted average price a taker on side taker
// (Buy consumes asks, Sell consumes bids) would pay or receive for amount.
// The result is exact up to the decimal's 19 significant digits. A book too
// thin for amount gives an [*InsufficientDepthError].
func (b *Book) VWAP(taker domain.Side, amount decimal.Decimal) (decimal.Decimal, error) {
	cost, _, err := b.fill(taker, amount)
	if err != nil {
		return decimal.Decimal{}, err
	}
	v, err := cost.Quo(amount)
	if err != nil {
		return decimal.Decimal{}, fmt.Errorf("orderbook: vwap for %s: %w", amount, err)
	}
	return v, nil
}

// Cost returns the total quote amount (Σ price × amount) a taker on side
// taker would pay or receive for amount.
func (b *Book) Cost(taker domain.Side, amount decimal.Decimal) (decimal.Decimal, error) {
	cost, _, err := b.fill(taker, amount)
	if err != nil {
		return decimal.Decimal{}, err
	}
	return cost, nil
}

// PriceForAmount returns the worst price a taker on side taker reaches to
// fill amount: the limit price that would fill it completely.
func (b *Book) PriceForAmount(taker domain.Side, amount decimal.Decimal) (decimal.Decimal, error) {
	_, worst, err := b.fill(taker, amount)
	if err != nil {
		return decimal.Decimal{}, err
	}
	return worst, nil
}

// AmountUpToPrice returns the amount a taker on side taker could fill at
// prices at least as good as limit: for a buy, the asks priced ≤ limit; for
// a sell, the bids priced ≥ limit.
func (b *Book) AmountUpToPrice(taker domain.Side, limit decimal.Decimal) (decimal.Decimal, error) {
	l, err := b.consumed(taker)
	if err != nil {
		return decimal.Decimal{}, err
	}
	var total decimal.Decimal
	l.each(func(_ int, x domain.BookLevel) bool {
		c := x.Price.Cmp(limit)
		if taker == domain.Buy && c > 0 || taker == domain.Sell && c < 0 {
			return false
		}
		total, err = total.Add(x.Amount)
		return err == nil
	})
	if err != nil {
		return decimal.Decimal{}, fmt.Errorf("orderbook: amount up to %s: %w", limit, err)
	}
	return total, nil
}
