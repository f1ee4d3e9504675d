package coinbase

import (
	"strconv"

	"github.com/govalues/decimal"

	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/venues/internal/jsonscan"
)

// This file decodes Coinbase Exchange REST payloads with the allocation-
// light scanner in scan.go (venues/internal/jsonscan); decimals are read by
// govalues/decimal straight from the venue's text (strings, or bare JSON
// numbers in candles).

// parseCandles decodes GET /products/{id}/candles:
// [[time, low, high, open, close, volume], ...], newest first, time in Unix
// seconds (the bar's open), prices and volume as bare JSON numbers. Rows
// are appended to dst in the venue's order. Coinbase reports neither quote
// volume nor a trade count (both stay zero).
func parseCandles(body []byte, dst []domain.OHLCBar) ([]domain.OHLCBar, error) {
	s := newScanner("candles", body)
	for more := s.EnterArray(); more; more = s.MoreArray() {
		var b domain.OHLCBar
		col := 0
		for m := s.EnterArray(); m; m = s.MoreArray() {
			switch col {
			case 0:
				s.Peek()
				at := s.Pos()
				t := s.Scalar()
				sec, ok := jsonscan.ParseInt(t)
				if !ok && !s.Failed() {
					// A float time ("1704085200.0") from a proxy: read it exactly.
					var d decimal.Decimal
					if err := d.UnmarshalText(t); err != nil || !d.IsInt() {
						s.FailAt(at, "invalid candle time "+strconv.Quote(string(t)))
					} else {
						sec, _, _ = d.Int64(0)
					}
				}
				b.OpenTime = domain.SecondsToNanos(sec)
			case 1:
				b.Low = s.Dec()
			case 2:
				b.High = s.Dec()
			case 3:
				b.Open = s.Dec()
			case 4:
				b.Close = s.Dec()
			case 5:
				b.Volume = s.Dec()
			default:
				s.Skip()
			}
			col++
		}
		if col < 6 && !s.Failed() {
			s.Fail("candle row with " + strconv.Itoa(col) + " columns (want 6: time, low, high, open, close, volume)")
		}
		dst = append(dst, b)
	}
	s.End()
	return dst, s.err()
}

// trade is one REST or WebSocket trade with its numeric id.
type trade struct {
	ID    int64
	Trade domain.Trade
}

// takerSide converts Coinbase's side — the MAKER order's side ("buy" is a
// down-tick: a resting buy was hit, so the taker sold) — to the taker side
// pype records.
func takerSide(maker []byte) (domain.Side, bool) {
	switch string(maker) {
	case "buy", "BUY":
		return domain.Sell, true
	case "sell", "SELL":
		return domain.Buy, true
	}
	return domain.SideUnknown, false
}

// tradeObject reads one trade object's fields: trade_id, side, size, price,
// time (REST rows and WS match messages share them). Unknown keys are
// skipped.
func (s *scanner) tradeObject(t *trade) {
	seen := 0
	for more := s.EnterObject(); more; more = s.MoreObject() {
		switch string(s.Key()) {
		case "trade_id":
			t.ID = s.Int()
			seen |= 1
		case "side":
			side, ok := takerSide(s.Str())
			if !ok && !s.Failed() {
				s.Fail("side is neither buy nor sell")
			}
			t.Trade.Side = side
			seen |= 2
		case "size":
			t.Trade.Amount = s.Dec()
			seen |= 4
		case "price":
			t.Trade.Price = s.Dec()
			seen |= 8
		case "time":
			t.Trade.Time = s.time()
			seen |= 16
		default:
			s.Skip()
		}
	}
	if seen != 31 && !s.Failed() {
		s.Fail("trade without one of trade_id, side, size, price, time")
	}
	t.Trade.ID = strconv.FormatInt(t.ID, 10)
}

// parseTrades decodes GET /products/{id}/trades: [{"trade_id":..,"side":..,
// "size":..,"price":..,"time":..}, ...], newest first, appending to dst in
// the venue's order.
func parseTrades(body []byte, dst []trade) ([]trade, error) {
	s := newScanner("trades", body)
	for more := s.EnterArray(); more; more = s.MoreArray() {
		var t trade
		s.tradeObject(&t)
		dst = append(dst, t)
	}
	s.End()
	return dst, s.err()
}

// levels reads [[price, size, ...], ...] (REST book rows [price, size,
// num_orders], WS snapshot rows [price, size]) appending to dst. A side may
// be null.
func (s *scanner) levels(dst []domain.BookLevel) []domain.BookLevel {
	if s.Null() {
		return dst
	}
	for more := s.EnterArray(); more; more = s.MoreArray() {
		var lv domain.BookLevel
		col := 0
		for m := s.EnterArray(); m; m = s.MoreArray() {
			switch col {
			case 0:
				lv.Price = s.Dec()
			case 1:
				lv.Amount = s.Dec()
			default:
				s.Skip()
			}
			col++
		}
		if col < 2 && !s.Failed() {
			s.Fail("book level with fewer than 2 columns")
		}
		dst = append(dst, lv)
	}
	return dst
}

// parseBook decodes GET /products/{id}/book?level=1|2:
// {"bids":[[price,size,num_orders],...],"asks":[...],"sequence":N,
// "auction_mode":false,"auction":null,"time":"..."}. Seq is the book's
// sequence number; Time is 0 when the venue sent none.
func parseBook(body []byte) (domain.BookSnapshot, error) {
	s := newScanner("book", body)
	var b domain.BookSnapshot
	seen := 0
	for more := s.EnterObject(); more; more = s.MoreObject() {
		switch string(s.Key()) {
		case "bids":
			b.Bids = s.levels(b.Bids)
			seen |= 1
		case "asks":
			b.Asks = s.levels(b.Asks)
			seen |= 2
		case "sequence":
			b.Seq = s.Int()
		case "time":
			if !s.Null() {
				b.Time = s.time()
			}
		default:
			s.Skip()
		}
	}
	s.End()
	if !s.Failed() && seen != 3 {
		s.Fail("book without bids or asks")
	}
	return b, s.err()
}

// product is one entry of GET /products.
type product struct {
	ID, Base, Quote            string
	QuoteIncrement, BaseIncr   decimal.Decimal
	BaseMin, BaseMax, MinFunds decimal.Decimal
	Status                     string
	TradingDisabled, Cancel    bool
}

// parseProducts decodes GET /products into markets. Products whose
// currencies pype cannot name canonically are skipped. Both the current
// shape and the pre-2022 one (base_min_size, base_max_size) are read.
func parseProducts(body []byte) ([]domain.Market, error) {
	s := newScanner("products", body)
	var out []domain.Market
	for more := s.EnterArray(); more; more = s.MoreArray() {
		var p product
		s.productObject(&p)
		if s.Failed() {
			break
		}
		if m, ok := p.market(); ok {
			out = append(out, m)
		}
	}
	s.End()
	return out, s.err()
}

// parseProduct decodes GET /products/{id}.
func parseProduct(body []byte) (domain.Market, bool, error) {
	s := newScanner("product", body)
	var p product
	s.productObject(&p)
	s.End()
	if s.Failed() {
		return domain.Market{}, false, s.err()
	}
	m, ok := p.market()
	return m, ok, nil
}

func (s *scanner) productObject(p *product) {
	optDec := func() decimal.Decimal {
		if s.Null() {
			return decimal.Decimal{}
		}
		s.Peek()
		at := s.Pos()
		t := s.Scalar()
		var d decimal.Decimal
		if len(t) > 0 && !s.Failed() {
			if err := d.UnmarshalText(t); err != nil {
				s.FailAt(at, "invalid decimal "+strconv.Quote(string(t)))
			}
		}
		return d
	}
	optStr := func() string {
		if s.Null() {
			return ""
		}
		return string(s.Str())
	}
	for more := s.EnterObject(); more; more = s.MoreObject() {
		switch string(s.Key()) {
		case "id":
			p.ID = optStr()
		case "base_currency":
			p.Base = optStr()
		case "quote_currency":
			p.Quote = optStr()
		case "quote_increment":
			p.QuoteIncrement = optDec()
		case "base_increment":
			p.BaseIncr = optDec()
		case "base_min_size":
			p.BaseMin = optDec()
		case "base_max_size":
			p.BaseMax = optDec()
		case "min_market_funds":
			p.MinFunds = optDec()
		case "status":
			p.Status = optStr()
		case "trading_disabled":
			if !s.Null() {
				p.TradingDisabled = s.Bool()
			}
		case "cancel_only":
			if !s.Null() {
				p.Cancel = s.Bool()
			}
		default:
			s.Skip()
		}
	}
}

func (p product) market() (domain.Market, bool) {
	if p.ID == "" || p.Base == "" || p.Quote == "" {
		return domain.Market{}, false
	}
	sym, err := domain.ParseSymbol(p.Base + "/" + p.Quote)
	if err != nil {
		return domain.Market{}, false
	}
	m := domain.Market{
		Venue:       Name,
		Symbol:      sym,
		VenueSymbol: p.ID,
		Kind:        domain.Spot,
		Active:      (p.Status == "" || p.Status == "online") && !p.TradingDisabled && !p.Cancel,
		PriceTick:   p.QuoteIncrement.Trim(0),
		AmountStep:  p.BaseIncr.Trim(0),
		MinAmount:   p.BaseMin.Trim(0),
		MaxAmount:   p.BaseMax.Trim(0),
		MinNotional: p.MinFunds.Trim(0),
	}
	m.PriceScale, m.AmountScale = m.PriceTick.Scale(), m.AmountStep.Scale()
	return m, true
}

// parseServerTime decodes GET /time: {"iso":"2015-01-07T23:47:25.201Z",
// "epoch":1420674445.201} into Unix ns (iso preferred, epoch otherwise).
func parseServerTime(body []byte) (int64, error) {
	s := newScanner("time", body)
	var ns int64
	var have bool
	for more := s.EnterObject(); more; more = s.MoreObject() {
		switch string(s.Key()) {
		case "iso":
			ns, have = s.time(), true
		case "epoch":
			d := s.Dec()
			if !have && !s.Failed() {
				whole, frac, ok := d.Int64(9)
				if !ok {
					s.Fail("epoch out of range")
				}
				ns, have = whole*1e9+frac, true
			}
		default:
			s.Skip()
		}
	}
	s.End()
	if !s.Failed() && !have {
		s.Fail("time without iso or epoch")
	}
	return ns, s.err()
}

// parseErrorBody reads Coinbase's error body {"message":"NotFound"}.
func parseErrorBody(body []byte) (string, bool) {
	s := newScanner("error", body)
	var msg string
	found := false
	for more := s.EnterObject(); more; more = s.MoreObject() {
		switch string(s.Key()) {
		case "message":
			if !s.Null() {
				msg, found = string(s.Str()), true
			}
		default:
			s.Skip()
		}
	}
	if s.Failed() {
		return "", false
	}
	return msg, found
}
