package bitmex

import (
	"slices"

	"github.com/govalues/decimal"

	"github.com/pype-go/pype/domain"
)

// This file decodes BitMEX REST payloads. Numbers are read from their
// literal bytes into decimals (no float round trip); timestamps are ISO
// 8601 strings with milliseconds.

// notionalDigits is how many significant digits pype keeps of BitMEX's
// notional fields (homeNotional, foreignNotional), which BitMEX computes in
// floating point and prints with up to 17 digits (236.63312793999998):
// rounding to 15 recovers the exact decimal whenever it has ≤ 15 digits.
const notionalDigits = 15

func roundSignificant(d decimal.Decimal, digits int) decimal.Decimal {
	if extra := d.Prec() - digits; extra > 0 && d.Scale() > 0 {
		d = d.Round(max(d.Scale()-extra, 0))
	}
	return d.Trim(0)
}

// parseBuckets decodes GET /trade/bucketed rows and appends them to dst as
// bars of span. The row timestamp is the bucket's CLOSE, so OpenTime is
// timestamp − span. Empty buckets (trades 0; BitMEX carries the previous
// close as a flat OHLC, or nulls) are kept with Trades 0 so the paginator
// sees every row; callers drop them. venueSym, when set, must match every
// row's symbol (a root-symbol filter such as "XBT" would mix instruments).
func parseBuckets(body []byte, span domain.Span, venueSym string, dst []domain.OHLCBar) ([]domain.OHLCBar, error) {
	s := newScanner("trade/bucketed", body)
	for more := s.EnterArray(); more; more = s.MoreArray() {
		var b domain.OHLCBar
		s.bucketObject(&b, span, venueSym, nil)
		dst = append(dst, b)
	}
	s.End()
	return dst, s.err()
}

// bucketObject reads one bucket (REST row or tradeBin row) as a closed bar
// of span. With symbol set it receives the row's symbol instead of
// checking it against venueSym.
func (s *scanner) bucketObject(b *domain.OHLCBar, span domain.Span, venueSym string, symbol *[]byte) {
	var ts int64
	seen := 0
	for m := s.EnterObject(); m; m = s.MoreObject() {
		switch string(s.Key()) {
		case "timestamp":
			ts = s.time()
			seen |= 1
		case "symbol":
			sym := s.Str()
			if symbol != nil {
				*symbol = sym
			} else if venueSym != "" && string(sym) != venueSym && !s.Failed() {
				s.Fail("row of symbol " + string(sym) + " in a page asked for " + venueSym)
			}
		case "open":
			b.Open, _ = s.optDec()
		case "high":
			b.High, _ = s.optDec()
		case "low":
			b.Low, _ = s.optDec()
		case "close":
			b.Close, _ = s.optDec()
		case "trades":
			if !s.Null() {
				b.Trades = s.int()
			}
			seen |= 2
		case "volume":
			b.Volume, _ = s.optDec()
		case "foreignNotional":
			if d, ok := s.optDec(); ok {
				b.QuoteVolume = roundSignificant(d, notionalDigits)
			}
		default:
			s.Skip()
		}
	}
	if seen != 3 && !s.Failed() {
		s.Fail("bucket without timestamp or trades")
	}
	b.OpenTime = span.Add(ts, -1)
	b.Closed = true
}

// parseTrades decodes GET /trade rows and appends them to dst. Trade.ID is
// trdMatchID, Amount is size (contracts), Side the taker side.
func parseTrades(body []byte, venueSym string, dst []domain.Trade) ([]domain.Trade, error) {
	s := newScanner("trade", body)
	for more := s.EnterArray(); more; more = s.MoreArray() {
		var t domain.Trade
		s.tradeObject(&t, venueSym, nil)
		dst = append(dst, t)
	}
	s.End()
	return dst, s.err()
}

// tradeObject reads one trade object (REST row or WebSocket trade row).
// With symbol set it receives the row's symbol instead of checking it.
func (s *scanner) tradeObject(t *domain.Trade, venueSym string, symbol *[]byte) {
	seen := 0
	for m := s.EnterObject(); m; m = s.MoreObject() {
		switch string(s.Key()) {
		case "timestamp":
			t.Time = s.time()
			seen |= 1
		case "symbol":
			sym := s.Str()
			if symbol != nil {
				*symbol = sym
			} else if venueSym != "" && string(sym) != venueSym && !s.Failed() {
				s.Fail("row of symbol " + string(sym) + " in a page asked for " + venueSym)
			}
		case "side":
			if s.Null() {
				continue
			}
			switch string(s.Str()) {
			case "Buy":
				t.Side = domain.Buy
			case "Sell":
				t.Side = domain.Sell
			default:
				t.Side = domain.SideUnknown
			}
		case "size":
			t.Amount = s.Dec()
			seen |= 2
		case "price":
			t.Price = s.Dec()
			seen |= 4
		case "trdMatchID":
			t.ID = string(s.Str())
			seen |= 8
		default:
			s.Skip()
		}
	}
	if seen != 15 && !s.Failed() {
		s.Fail("trade without one of timestamp, size, price, trdMatchID")
	}
}

// l2Row is one order-book level as BitMEX sends it (REST and WebSocket).
type l2Row struct {
	Symbol   []byte
	ID       int64
	Side     domain.Side // Buy = bid, Sell = ask
	Size     decimal.Decimal
	Price    decimal.Decimal
	HasSize  bool
	HasPrice bool
	Time     int64 // ns, 0 if absent
}

func (s *scanner) l2Object(r *l2Row) {
	*r = l2Row{}
	seen := 0
	for m := s.EnterObject(); m; m = s.MoreObject() {
		switch string(s.Key()) {
		case "symbol":
			r.Symbol = s.Str()
		case "id":
			r.ID = s.int()
			seen |= 1
		case "side":
			switch string(s.Str()) {
			case "Buy":
				r.Side = domain.Buy
			case "Sell":
				r.Side = domain.Sell
			default:
				if !s.Failed() {
					s.Fail("order-book side is neither Buy nor Sell")
				}
			}
			seen |= 2
		case "size":
			if s.Null() {
				continue
			}
			r.Size, r.HasSize = s.Dec(), true
		case "price":
			if s.Null() {
				continue
			}
			r.Price, r.HasPrice = s.Dec(), true
		case "timestamp":
			if s.Null() {
				continue
			}
			r.Time = s.time()
		default:
			s.Skip()
		}
	}
	if seen != 3 && !s.Failed() {
		s.Fail("order-book level without id or side")
	}
}

// parseL2 decodes GET /orderBook/L2 into a snapshot: bids best (highest)
// first, asks best (lowest) first. Time is the latest level timestamp.
func parseL2(body []byte, venueSym string) (domain.BookSnapshot, error) {
	s := newScanner("orderBook/L2", body)
	var b domain.BookSnapshot
	var r l2Row
	for more := s.EnterArray(); more; more = s.MoreArray() {
		s.l2Object(&r)
		if s.Failed() {
			break
		}
		if venueSym != "" && string(r.Symbol) != venueSym {
			s.Fail("level of symbol " + string(r.Symbol) + " in a book asked for " + venueSym)
			break
		}
		if !r.HasPrice || !r.HasSize {
			s.Fail("order-book level without price or size")
			break
		}
		l := domain.BookLevel{Price: r.Price, Amount: r.Size}
		if r.Side == domain.Buy {
			b.Bids = append(b.Bids, l)
		} else {
			b.Asks = append(b.Asks, l)
		}
		b.Time = max(b.Time, r.Time)
	}
	s.End()
	if s.Failed() {
		return domain.BookSnapshot{}, s.err()
	}
	slices.SortFunc(b.Bids, func(x, y domain.BookLevel) int { return y.Price.Cmp(x.Price) })
	slices.SortFunc(b.Asks, func(x, y domain.BookLevel) int { return x.Price.Cmp(y.Price) })
	return b, nil
}

// parseErrorBody reads BitMEX's error body {"error":{"message":…,"name":…}}.
// ok is false when the body is not of that shape.
func parseErrorBody(body []byte) (name, msg string, ok bool) {
	s := newScanner("error", body)
	if s.Peek() != '{' {
		return "", "", false
	}
	for more := s.EnterObject(); more; more = s.MoreObject() {
		if string(s.Key()) != "error" {
			s.Skip()
			continue
		}
		if s.Peek() == '"' {
			msg, ok = string(s.Str()), true
			continue
		}
		for m := s.EnterObject(); m; m = s.MoreObject() {
			switch string(s.Key()) {
			case "message":
				msg, ok = string(s.Str()), true
			case "name":
				name = string(s.Str())
			default:
				s.Skip()
			}
		}
	}
	return name, msg, ok && !s.Failed()
}

// parseRoot decodes GET / ({"name":"BitMEX API","version":…,
// "timestamp":ms}) and returns the server time in ns.
func parseRoot(body []byte) (int64, error) {
	s := newScanner("api root", body)
	var ts int64
	found := false
	for more := s.EnterObject(); more; more = s.MoreObject() {
		if string(s.Key()) == "timestamp" {
			if s.Peek() == '"' {
				ts = s.time()
			} else {
				ts = domain.MillisToNanos(s.int())
			}
			found = true
			continue
		}
		s.Skip()
	}
	if !found && !s.Failed() {
		s.Fail("no timestamp")
	}
	s.End()
	return ts, s.err()
}
