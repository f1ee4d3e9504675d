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
	for more := s.enterArray(); more; more = s.moreArray() {
		var k kline
		col := 0
		for m := s.enterArray(); m; m = s.moreArray() {
			switch col {
			case 0:
				k.Bar.OpenTime = domain.MillisToNanos(s.int())
			case 1:
				k.Bar.Open = s.dec()
			case 2:
				k.Bar.High = s.dec()
			case 3:
				k.Bar.Low = s.dec()
			case 4:
				k.Bar.Close = s.dec()
			case 5:
				k.Bar.Volume = s.dec()
			case 6:
				k.CloseTime = domain.MillisToNanos(s.int())
			case 7:
				k.Bar.QuoteVolume = s.dec()
			case 8:
				k.Bar.Trades = s.int()
			default:
				s.skip()
			}
			col++
		}
		if col < 9 && s.err == nil {
			s.fail("kline row with " + strconv.Itoa(col) + " columns (want at least 9)")
		}
		dst = append(dst, k)
	}
	s.end()
	return dst, s.err
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
	for more := s.enterObject(); more; more = s.moreObject() {
		k := s.key()
		if len(k) != 1 {
			s.skip()
			continue
		}
		switch k[0] {
		case 'a':
			t.ID = s.int()
			seen |= 1
		case 'p':
			t.Trade.Price = s.dec()
			seen |= 2
		case 'q':
			t.Trade.Amount = s.dec()
			seen |= 4
		case 'T':
			t.Trade.Time = domain.MillisToNanos(s.int())
			seen |= 8
		case 'm':
			// m: the buyer is the maker, so the taker sold.
			if s.bool() {
				t.Trade.Side = domain.Sell
			} else {
				t.Trade.Side = domain.Buy
			}
			seen |= 16
		case 'f':
			t.First = s.int()
		case 'l':
			t.Last = s.int()
		case 's':
			if symbol != nil {
				*symbol = s.str()
			} else {
				s.skip()
			}
		case 'E':
			if eventTime != nil {
				*eventTime = domain.MillisToNanos(s.int())
			} else {
				s.skip()
			}
		default:
			s.skip()
		}
	}
	if seen != 31 && s.err == nil {
		s.fail("aggTrade without one of a, p, q, T, m")
	}
	t.Trade.ID = strconv.FormatInt(t.ID, 10)
}

// parseAggTrades decodes GET /api/v3/aggTrades: [{"a":..,"p":..,"q":..,
// "f":..,"l":..,"T":..,"m":..,"M":..}, ...], appending to dst.
func parseAggTrades(body []byte, dst []aggTrade) ([]aggTrade, error) {
	s := newScanner("aggTrades", body)
	for more := s.enterArray(); more; more = s.moreArray() {
		var t aggTrade
		s.aggTradeObject(&t, nil, nil)
		dst = append(dst, t)
	}
	s.end()
	return dst, s.err
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
	for more := s.enterObject(); more; more = s.moreObject() {
		switch k := s.key(); string(k) {
		case "id", "t":
			t.ID = s.int()
			seen |= 1
		case "price", "p":
			t.Trade.Price = s.dec()
			seen |= 2
		case "qty", "q":
			t.Trade.Amount = s.dec()
			seen |= 4
		case "time", "T":
			t.Trade.Time = domain.MillisToNanos(s.int())
			seen |= 8
		case "isBuyerMaker", "m":
			if s.bool() {
				t.Trade.Side = domain.Sell
			} else {
				t.Trade.Side = domain.Buy
			}
			seen |= 16
		case "s":
			if symbol != nil {
				*symbol = s.str()
			} else {
				s.skip()
			}
		case "E":
			if eventTime != nil {
				*eventTime = domain.MillisToNanos(s.int())
			} else {
				s.skip()
			}
		default:
			s.skip()
		}
	}
	if seen != 31 && s.err == nil {
		s.fail("trade without one of id, price, qty, time, isBuyerMaker")
	}
	t.Trade.ID = strconv.FormatInt(t.ID, 10)
}

// parseTrades decodes GET /api/v3/trades and /api/v3/historicalTrades.
func parseTrades(body []byte, dst []rawTrade) ([]rawTrade, error) {
	s := newScanner("trades", body)
	for more := s.enterArray(); more; more = s.moreArray() {
		var t rawTrade
		s.tradeObject(&t, nil, nil)
		dst = append(dst, t)
	}
	s.end()
	return dst, s.err
}

// parseDepth decodes GET /api/v3/depth: {"lastUpdateId":N,"bids":[[p,q],..],
// "asks":[..]}. The snapshot's Seq is lastUpdateId.
func parseDepth(body []byte) (domain.BookSnapshot, error) {
	s := newScanner("depth", body)
	var b domain.BookSnapshot
	seen := 0
	for more := s.enterObject(); more; more = s.moreObject() {
		switch string(s.key()) {
		case "lastUpdateId":
			b.Seq = s.int()
			seen |= 1
		case "bids":
			b.Bids = s.levels(b.Bids)
			seen |= 2
		case "asks":
			b.Asks = s.levels(b.Asks)
			seen |= 4
		case "T", "E":
			// futures snapshots carry times; spot does not
			b.Time = domain.MillisToNanos(s.int())
		default:
			s.skip()
		}
	}
	if seen != 7 && s.err == nil {
		s.fail("depth without lastUpdateId, bids or asks")
	}
	s.end()
	return b, s.err
}

// parseServerTime decodes GET /api/v3/time: {"serverTime":ms}, in ns.
func parseServerTime(body []byte) (int64, error) {
	s := newScanner("time", body)
	var t int64
	found := false
	for more := s.enterObject(); more; more = s.moreObject() {
		if string(s.key()) == "serverTime" {
			t = domain.MillisToNanos(s.int())
			found = true
			continue
		}
		s.skip()
	}
	if !found && s.err == nil {
		s.fail("no serverTime")
	}
	s.end()
	return t, s.err
}

// parseErrorBody reads Binance's error body {"code":-1121,"msg":"..."}.
// ok is false when the body is not of that shape.
func parseErrorBody(body []byte) (code int, msg string, ok bool) {
	s := newScanner("error", body)
	if s.peek() != '{' {
		return 0, "", false
	}
	hasCode := false
	for more := s.enterObject(); more; more = s.moreObject() {
		switch string(s.key()) {
		case "code":
			code = int(s.int())
			hasCode = true
		case "msg":
			msg = string(s.str())
		default:
			s.skip()
		}
	}
	return code, msg, hasCode && s.err == nil
}
