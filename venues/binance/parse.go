package binance

import (
	"strconv"

	"github.com/pype-go/pype/domain"
)

// This file decodes Binance REST payloads. The hot paths (klines, aggTrades,
// depth) use the allocation-light scanner in scan.go; decimals are read by
// govalues/decimal straight from the venue's strings (no float round trip).

// kline is one REST kline row.
type kline struct {
	Bar       domain.OHLCBar
	CloseTime int64 // ns: the venue's close time (next open − 1 ms)
}

// parseKlines decodes GET /api/v3/klines:
// [[openTime, open, high, low, close, volume, closeTime, quoteVolume,
// trades, takerBuyBase, takerBuyQuote, ignore], ...]. Rows are appended to
// dst. Extra trailing columns are ignored; missing ones are an error.
func parseKlines(body []byte, dst []kline) ([]kline, error) {
	s := newScanner("klines", body)
	for more := s.EnterArray(); more; more = s.MoreArray() {
		var k kline
		col := 0
		for m := s.EnterArray(); m; m = s.MoreArray() {
			switch col {
			case 0:
				k.Bar.OpenTime = domain.MillisToNanos(s.Int())
			case 1:
				k.Bar.Open = s.Dec()
			case 2:
				k.Bar.High = s.Dec()
			case 3:
				k.Bar.Low = s.Dec()
			case 4:
				k.Bar.Close = s.Dec()
			case 5:
				k.Bar.Volume = s.Dec()
			case 6:
				k.CloseTime = domain.MillisToNanos(s.Int())
			case 7:
				k.Bar.QuoteVolume = s.Dec()
			case 8:
				k.Bar.Trades = s.Int()
			default:
				s.Skip()
			}
			col++
		}
		if col < 9 && !s.Failed() {
			s.Fail("kline row with " + strconv.Itoa(col) + " columns (want at least 9)")
		}
		dst = append(dst, k)
	}
	s.End()
	return dst, s.err()
}

// aggTrade is one aggregate trade with its numeric id.
type aggTrade struct {
	ID    int64 // a: aggregate trade id, contiguous per symbol
	First int64 // f: first trade id
	Last  int64 // l: last trade id
	Trade domain.Trade
}

// parseAggTrade reads one aggTrade object (REST row or WS event) at the
// scanner's position. symbol receives "s" when present.
func (s *scanner) aggTradeObject(t *aggTrade, symbol *[]byte, eventTime *int64) {
	seen := 0
	for more := s.EnterObject(); more; more = s.MoreObject() {
		k := s.Key()
		if len(k) != 1 {
			s.Skip()
			continue
		}
		switch k[0] {
		case 'a':
			t.ID = s.Int()
			seen |= 1
		case 'p':
			t.Trade.Price = s.Dec()
			seen |= 2
		case 'q':
			t.Trade.Amount = s.Dec()
			seen |= 4
		case 'T':
			t.Trade.Time = domain.MillisToNanos(s.Int())
			seen |= 8
		case 'm':
			// m: the buyer is the maker, so the taker sold.
			if s.Bool() {
				t.Trade.Side = domain.Sell
			} else {
				t.Trade.Side = domain.Buy
			}
			seen |= 16
		case 'f':
			t.First = s.Int()
		case 'l':
			t.Last = s.Int()
		case 's':
			if symbol != nil {
				*symbol = s.Str()
			} else {
				s.Skip()
			}
		case 'E':
			if eventTime != nil {
				*eventTime = domain.MillisToNanos(s.Int())
			} else {
				s.Skip()
			}
		default:
			s.Skip()
		}
	}
	if seen != 31 && !s.Failed() {
		s.Fail("aggTrade without one of a, p, q, T, m")
	}
	t.Trade.ID = strconv.FormatInt(t.ID, 10)
}

// parseAggTrades decodes GET /api/v3/aggTrades: [{"a":..,"p":..,"q":..,
// "f":..,"l":..,"T":..,"m":..,"M":..}, ...], appending to dst.
func parseAggTrades(body []byte, dst []aggTrade) ([]aggTrade, error) {
	s := newScanner("aggTrades", body)
	for more := s.EnterArray(); more; more = s.MoreArray() {
		var t aggTrade
		s.aggTradeObject(&t, nil, nil)
		dst = append(dst, t)
	}
	s.End()
	return dst, s.err()
}

// rawTrade is one raw (non-aggregated) trade with its numeric id.
type rawTrade struct {
	ID    int64
	Trade domain.Trade
}

// tradeObject reads a raw trade object: REST {"id","price","qty",
// "quoteQty","time","isBuyerMaker","isBestMatch"} or the WS trade event
// {"e":"trade","E","s","t","p","q","T","m","M"}.
func (s *scanner) tradeObject(t *rawTrade, symbol *[]byte, eventTime *int64) {
	seen := 0
	for more := s.EnterObject(); more; more = s.MoreObject() {
		switch k := s.Key(); string(k) {
		case "id", "t":
			t.ID = s.Int()
			seen |= 1
		case "price", "p":
			t.Trade.Price = s.Dec()
			seen |= 2
		case "qty", "q":
			t.Trade.Amount = s.Dec()
			seen |= 4
		case "time", "T":
			t.Trade.Time = domain.MillisToNanos(s.Int())
			seen |= 8
		case "isBuyerMaker", "m":
			if s.Bool() {
				t.Trade.Side = domain.Sell
			} else {
				t.Trade.Side = domain.Buy
			}
			seen |= 16
		case "s":
			if symbol != nil {
				*symbol = s.Str()
			} else {
				s.Skip()
			}
		case "E":
			if eventTime != nil {
				*eventTime = domain.MillisToNanos(s.Int())
			} else {
				s.Skip()
			}
		default:
			s.Skip()
		}
	}
	if seen != 31 && !s.Failed() {
		s.Fail("trade without one of id, price, qty, time, isBuyerMaker")
	}
	t.Trade.ID = strconv.FormatInt(t.ID, 10)
}

// parseTrades decodes GET /api/v3/trades and /api/v3/historicalTrades.
func parseTrades(body []byte, dst []rawTrade) ([]rawTrade, error) {
	s := newScanner("trades", body)
	for more := s.EnterArray(); more; more = s.MoreArray() {
		var t rawTrade
		s.tradeObject(&t, nil, nil)
		dst = append(dst, t)
	}
	s.End()
	return dst, s.err()
}

// parseDepth decodes GET /api/v3/depth: {"lastUpdateId":N,"bids":[[p,q],..],
// "asks":[..]}. The snapshot's Seq is lastUpdateId.
func parseDepth(body []byte) (domain.BookSnapshot, error) {
	s := newScanner("depth", body)
	var b domain.BookSnapshot
	seen := 0
	for more := s.EnterObject(); more; more = s.MoreObject() {
		switch string(s.Key()) {
		case "lastUpdateId":
			b.Seq = s.Int()
			seen |= 1
		case "bids":
			b.Bids = s.levels(b.Bids)
			seen |= 2
		case "asks":
			b.Asks = s.levels(b.Asks)
			seen |= 4
		case "T", "E":
			// futures snapshots carry times; spot does not
			b.Time = domain.MillisToNanos(s.Int())
		default:
			s.Skip()
		}
	}
	if seen != 7 && !s.Failed() {
		s.Fail("depth without lastUpdateId, bids or asks")
	}
	s.End()
	return b, s.err()
}

// parseServerTime decodes GET /api/v3/time: {"serverTime":ms}, in ns.
func parseServerTime(body []byte) (int64, error) {
	s := newScanner("time", body)
	var t int64
	found := false
	for more := s.EnterObject(); more; more = s.MoreObject() {
		if string(s.Key()) == "serverTime" {
			t = domain.MillisToNanos(s.Int())
			found = true
			continue
		}
		s.Skip()
	}
	if !found && !s.Failed() {
		s.Fail("no serverTime")
	}
	s.End()
	return t, s.err()
}

// parseErrorBody reads Binance's error body {"code":-1121,"msg":"..."}.
// ok is false when the body is not of that shape.
func parseErrorBody(body []byte) (code int, msg string, ok bool) {
	s := newScanner("error", body)
	if s.Peek() != '{' {
		return 0, "", false
	}
	hasCode := false
	for more := s.EnterObject(); more; more = s.MoreObject() {
		switch string(s.Key()) {
		case "code":
			code = int(s.Int())
			hasCode = true
		case "msg":
			msg = string(s.Str())
		default:
			s.Skip()
		}
	}
	return code, msg, hasCode && !s.Failed()
}
