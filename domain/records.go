package domain

import (
	"fmt"
	"strings"

	"github.com/govalues/decimal"
)

// Side is the taker side of a trade, or the side of a book level.
type Side int8

// Sides. For trades, Buy means the taker bought (the aggressor lifted an ask).
const (
	SideUnknown Side = iota
	Buy
	Sell
)

func (s Side) String() string {
	switch s {
	case Buy:
		return "buy"
	case Sell:
		return "sell"
	default:
		return "unknown"
	}
}

// ParseSide reads "buy"/"sell" (any case, also "b"/"s", "bid"/"ask").
func ParseSide(s string) (Side, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "buy", "b", "bid":
		return Buy, nil
	case "sell", "s", "ask":
		return Sell, nil
	case "", "unknown":
		return SideUnknown, nil
	}
	return SideUnknown, fmt.Errorf("invalid side %q (accepted: buy, sell)", s)
}

// OHLCBar is one candle. OpenTime is the bar's open in ns; a bar covers
// [OpenTime, span.Next(OpenTime)).
type OHLCBar struct {
	OpenTime    int64
	Open        decimal.Decimal
	High        decimal.Decimal
	Low         decimal.Decimal
	Close       decimal.Decimal
	Volume      decimal.Decimal // base volume
	QuoteVolume decimal.Decimal // zero when the venue does not report it
	Trades      int64           // number of trades, 0 when unknown
	Closed      bool            // false for a still-forming bar from a stream
	RecvTime    int64           // local receive time (ns), 0 for REST history
}

// Trade is one public trade.
type Trade struct {
	// ID is the venue's trade id as a string (numeric ids are printed in
	// base 10). It is the de-duplication key; two trades in the same
	// millisecond are distinct when their ids differ.
	ID       string
	Time     int64 // venue timestamp, ns
	Price    decimal.Decimal
	Amount   decimal.Decimal // base amount, always ≥ 0
	Side     Side            // taker side
	RecvTime int64           // local receive time (ns), 0 for REST history
}

// BookLevel is one price level. An Amount of zero in a delta removes the level.
type BookLevel struct {
	Price  decimal.Decimal
	Amount decimal.Decimal
}

// BookSnapshot is a full (or top-N) order book at one instant.
type BookSnapshot struct {
	Symbol   Symbol
	Seq      int64 // venue update id / sequence of the snapshot, 0 if none
	Time     int64 // venue time, ns (0 if the venue gives none)
	RecvTime int64
	Bids     []BookLevel // best (highest) first
	Asks     []BookLevel // best (lowest) first
}

// BookDelta is one incremental book update. The sequence fields are read by
// the venue's continuity rule: Binance uses FirstSeq (U) and Seq (u); OKX
// Seq (seqId) and PrevSeq (prevSeqId); Bybit and Coinbase Seq.
type BookDelta struct {
	Symbol      Symbol
	FirstSeq    int64
	Seq         int64
	PrevSeq     int64
	Time        int64
	RecvTime    int64
	Bids        []BookLevel
	Asks        []BookLevel
	Checksum    uint32 // venue checksum of the book after this delta
	HasChecksum bool
	Reset       bool // the message replaces the book (Bybit snapshot, BitMEX partial)
}
