package bitfinex

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/govalues/decimal"

	"github.com/pype-go/pype/domain"
)

// This file decodes Bitfinex REST payloads.

// candleRow is one candle as Bitfinex sends it: [MTS, OPEN, CLOSE, HIGH,
// LOW, VOLUME] — note CLOSE before HIGH and LOW.
type candleRow struct {
	Ms  int64
	Bar domain.OHLCBar
}

// parseCandle reads one candle row (the scanner is before its '[').
func parseCandle(s *scanner) candleRow {
	var r candleRow
	col := 0
	for more := s.EnterArray(); more; more = s.MoreArray() {
		switch col {
		case 0:
			r.Ms = s.int()
			r.Bar.OpenTime = domain.MillisToNanos(r.Ms)
		case 1:
			r.Bar.Open = s.Dec()
		case 2:
			r.Bar.Close = s.Dec()
		case 3:
			r.Bar.High = s.Dec()
		case 4:
			r.Bar.Low = s.Dec()
		case 5:
			r.Bar.Volume = s.Dec()
		default:
			s.Skip() // "new fields may be appended"
		}
		col++
	}
	if col < 6 && !s.Failed() {
		s.Fail("candle row with " + strconv.Itoa(col) + " columns (want [MTS,OPEN,CLOSE,HIGH,LOW,VOLUME])")
	}
	return r
}

// parseCandles decodes GET /candles/…/hist: [[MTS,OPEN,CLOSE,HIGH,LOW,
// VOLUME], ...], appending to dst.
func parseCandles(body []byte, dst []candleRow) ([]candleRow, error) {
	s := newScanner("candles", body)
	for more := s.EnterArray(); more; more = s.MoreArray() {
		dst = append(dst, parseCandle(&s))
	}
	s.End()
	return dst, s.err()
}

// tradeRow is one trade: [ID, MTS, AMOUNT, PRICE], AMOUNT negative for a
// taker sell.
type tradeRow struct {
	ID    int64
	Ms    int64
	Trade domain.Trade
}

// parseTrade reads one trade row (the scanner is before its '[').
func parseTrade(s *scanner) tradeRow {
	var r tradeRow
	col := 0
	for more := s.EnterArray(); more; more = s.MoreArray() {
		switch col {
		case 0:
			r.ID = s.int()
		case 1:
			r.Ms = s.int()
		case 2:
			amt := s.Dec()
			switch {
			case amt.IsNeg():
				r.Trade.Side = domain.Sell
				amt = amt.Neg()
			case amt.IsPos():
				r.Trade.Side = domain.Buy
			}
			r.Trade.Amount = amt
		case 3:
			r.Trade.Price = s.Dec()
		default:
			s.Skip()
		}
		col++
	}
	if col < 4 && !s.Failed() {
		s.Fail("trade row with " + strconv.Itoa(col) + " columns (want [ID,MTS,AMOUNT,PRICE])")
	}
	r.Trade.ID = strconv.FormatInt(r.ID, 10)
	r.Trade.Time = domain.MillisToNanos(r.Ms)
	return r
}

// parseTrades decodes GET /trades/…/hist, appending to dst in the order
// the venue sent.
func parseTrades(body []byte, dst []tradeRow) ([]tradeRow, error) {
	s := newScanner("trades", body)
	for more := s.EnterArray(); more; more = s.MoreArray() {
		dst = append(dst, parseTrade(&s))
	}
	s.End()
	return dst, s.err()
}

// bookRow is one P0 book level: [PRICE, COUNT, AMOUNT], AMOUNT > 0 a bid,
// < 0 an ask; COUNT 0 (in updates) removes the level.
type bookRow struct {
	Price  decimal.Decimal
	Count  int64
	Amount decimal.Decimal // signed, as sent
}

func parseBookRow(s *scanner) bookRow {
	var r bookRow
	col := 0
	for more := s.EnterArray(); more; more = s.MoreArray() {
		switch col {
		case 0:
			r.Price = s.Dec()
		case 1:
			r.Count = s.int()
		case 2:
			r.Amount = s.Dec()
		default:
			s.Skip()
		}
		col++
	}
	if col < 3 && !s.Failed() {
		s.Fail("book row with " + strconv.Itoa(col) + " columns (want [PRICE,COUNT,AMOUNT])")
	}
	return r
}

// splitBook appends the rows of a book snapshot to bids and asks (amounts
// made positive), keeping the venue's order (best first on each side).
func splitBook(rows []bookRow, bids, asks []domain.BookLevel) ([]domain.BookLevel, []domain.BookLevel) {
	for _, r := range rows {
		if r.Amount.IsNeg() {
			asks = append(asks, domain.BookLevel{Price: r.Price, Amount: r.Amount.Neg()})
		} else {
			bids = append(bids, domain.BookLevel{Price: r.Price, Amount: r.Amount})
		}
	}
	return bids, asks
}

// parseBook decodes GET /book/{sym}/P0: [[PRICE,COUNT,AMOUNT], ...] (bids
// first, best first, then asks).
func parseBook(body []byte) (bids, asks []domain.BookLevel, err error) {
	s := newScanner("book", body)
	var rows []bookRow
	for more := s.EnterArray(); more; more = s.MoreArray() {
		rows = append(rows, parseBookRow(&s))
	}
	s.End()
	if s.Failed() {
		return nil, nil, s.err()
	}
	bids, asks = splitBook(rows, make([]domain.BookLevel, 0, len(rows)/2+1), make([]domain.BookLevel, 0, len(rows)/2+1))
	return bids, asks, nil
}

// parseConf decodes GET /conf/pub:list:pair:exchange,pub:map:currency:sym:
// [[pair, ...], [[code, usual], ...]]. The second list is optional.
func parseConf(body []byte) (pairs []string, currencies map[string]string, err error) {
	var raw []json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		return nil, nil, &DecodeError{What: "conf", Reason: err.Error(), Sample: sample(body)}
	}
	if len(raw) == 0 {
		return nil, nil, &DecodeError{What: "conf", Reason: "empty answer", Sample: sample(body)}
	}
	if err := json.Unmarshal(raw[0], &pairs); err != nil {
		return nil, nil, &DecodeError{What: "conf pair list", Reason: err.Error(), Sample: sample(body)}
	}
	if len(raw) > 1 {
		var m [][]string
		if err := json.Unmarshal(raw[1], &m); err != nil {
			return nil, nil, &DecodeError{What: "conf currency map", Reason: err.Error(), Sample: sample(body)}
		}
		currencies = make(map[string]string, len(m))
		for _, kv := range m {
			if len(kv) >= 2 {
				currencies[kv[0]] = kv[1]
			}
		}
	}
	return pairs, currencies, nil
}

func sample(b []byte) string {
	if len(b) > 120 {
		b = b[:120]
	}
	return string(b)
}

// parseErrorBody reads Bitfinex's error bodies: ["error", 10020, "limit:
// invalid"], {"error":"ERR_RATE_LIMIT"}, {"message":"..."} or
// {"event":"error","code":…,"msg":…}.
func parseErrorBody(body []byte) (code int, msg string, ok bool) {
	b := bytes.TrimSpace(body)
	if len(b) == 0 {
		return 0, "", false
	}
	switch b[0] {
	case '[':
		var arr []json.RawMessage
		if json.Unmarshal(b, &arr) != nil || len(arr) < 2 {
			return 0, "", false
		}
		var tag string
		if json.Unmarshal(arr[0], &tag) != nil || tag != "error" {
			return 0, "", false
		}
		var n json.Number
		if err := json.Unmarshal(arr[1], &n); err == nil {
			if v, err := n.Int64(); err == nil {
				code = int(v)
			}
		}
		if len(arr) > 2 {
			_ = json.Unmarshal(arr[2], &msg)
		}
		return code, msg, true
	case '{':
		var obj struct {
			Error   any    `json:"error"`
			Message string `json:"message"`
			Msg     string `json:"msg"`
			Code    int    `json:"code"`
		}
		if json.Unmarshal(b, &obj) != nil {
			return 0, "", false
		}
		switch e := obj.Error.(type) {
		case string:
			msg = e
		case nil:
		default:
			bs, _ := json.Marshal(e)
			msg = string(bs)
		}
		if msg == "" {
			msg = obj.Message
		}
		if msg == "" {
			msg = obj.Msg
		}
		if msg == "" && obj.Code == 0 {
			return 0, "", false
		}
		if obj.Code == 0 && strings.Contains(strings.ToUpper(msg), "RATE_LIMIT") {
			return codeRateLimit, msg, true
		}
		return obj.Code, msg, true
	}
	return 0, "", false
}
