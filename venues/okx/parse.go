package okx

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/govalues/decimal"
	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/venues/internal/jsonscan"
)

// This file decodes OKX v5 REST payloads. Every answer is an envelope
// {"code":"0","msg":"","data":[…]}; a code other than "0" is an error,
// never an empty page. The hot paths (candles, trades, books) use the
// allocation-light scanner in scan.go; decimals are read by
// govalues/decimal straight from the venue's strings.

// envelope walks an OKX envelope and calls data with the scanner positioned
// at the data value. A non-"0" code is returned as an *APIError (status
// 200: the transport's classifier normally catches it first).
func envelope(what string, body []byte, data func(s *scanner)) error {
	s := newScanner(what, body)
	var code, msg []byte
	seenData := false
	for more := s.EnterObject(); more; more = s.MoreObject() {
		switch k := s.Key(); string(k) {
		case "code":
			code = s.Scalar()
		case "msg":
			msg = s.Scalar()
		case "data":
			if s.Null() {
				continue
			}
			seenData = true
			data(&s)
		default:
			s.Skip()
		}
	}
	s.End()
	if s.Failed() {
		return s.err()
	}
	if string(code) != "0" {
		if code == nil {
			return &DecodeError{What: what, Reason: "no code in the answer", Near: excerpt(body)}
		}
		return &APIError{Status: 200, Code: string(code), Msg: string(msg)}
	}
	if !seenData {
		return &DecodeError{What: what, Reason: "no data in a successful answer", Near: excerpt(body)}
	}
	return nil
}

func excerpt(b []byte) string {
	if len(b) > 64 {
		return string(b[:64]) + "…"
	}
	return string(b)
}

// candle is one candle row.
type candle struct {
	Bar domain.OHLCBar
	// Confirm is 1 for a completed bar, 0 for the bar in progress and -1
	// when the row has no confirm column (rows before 2023 had 7 or 8).
	Confirm int8
}

// parseCandles decodes /market/candles and /history-candles (and the data
// of a WebSocket candle push): rows [ts, o, h, l, c, vol, volCcy,
// volCcyQuote, confirm], newest first. For spot, vol is the base volume and
// volCcyQuote (volCcy in 7-column rows) the quote volume. Rows are
// appended to dst.
func parseCandles(body []byte, dst []candle) ([]candle, error) {
	err := envelope("candles", body, func(s *scanner) { dst = s.candleRows(dst) })
	return dst, err
}

func (s *scanner) candleRows(dst []candle) []candle {
	for more := s.EnterArray(); more; more = s.MoreArray() {
		c := candle{Confirm: -1}
		col := 0
		var volCcy decimal.Decimal
		for m := s.EnterArray(); m; m = s.MoreArray() {
			switch col {
			case 0:
				c.Bar.OpenTime = domain.MillisToNanos(s.Int())
			case 1:
				c.Bar.Open = s.Dec()
			case 2:
				c.Bar.High = s.Dec()
			case 3:
				c.Bar.Low = s.Dec()
			case 4:
				c.Bar.Close = s.Dec()
			case 5:
				c.Bar.Volume = s.Dec()
			case 6:
				volCcy = s.Dec()
			case 7:
				c.Bar.QuoteVolume = s.Dec()
			case 8:
				switch t := s.Scalar(); string(t) {
				case "1":
					c.Confirm = 1
				case "0":
					c.Confirm = 0
				default:
					s.Fail("confirm " + strconv.Quote(string(t)) + " (want \"0\" or \"1\")")
				}
			default:
				s.Skip()
			}
			col++
		}
		if col < 7 && !s.Failed() {
			s.Fail("candle row with " + strconv.Itoa(col) + " columns (want at least 7)")
		}
		if col == 7 {
			c.Bar.QuoteVolume = volCcy
		}
		c.Bar.Closed = c.Confirm == 1
		dst = append(dst, c)
	}
	return dst
}

// trade is one trade row with its numeric id.
type trade struct {
	ID    int64 // tradeId: the pagination cursor
	Count int64 // trades channel: fills aggregated (0 when absent)
	Trade domain.Trade
}

// parseTrades decodes /market/trades and /history-trades: objects with
// instId, tradeId, px, sz, side, ts, newest first. Rows are appended to dst.
func parseTrades(body []byte, dst []trade) ([]trade, error) {
	err := envelope("trades", body, func(s *scanner) { dst = s.tradeRows(dst, nil) })
	return dst, err
}

// tradeRows reads an array of trade objects; instID, when not nil,
// receives the first row's instId.
func (s *scanner) tradeRows(dst []trade, instID *[]byte) []trade {
	for more := s.EnterArray(); more; more = s.MoreArray() {
		var t trade
		var seen uint8
		for m := s.EnterObject(); m; m = s.MoreObject() {
			switch k := s.Key(); string(k) {
			case "tradeId":
				id := s.Scalar()
				n, ok := jsonscan.ParseInt(id)
				if !ok {
					s.Fail("tradeId " + strconv.Quote(string(id)) + " is not an integer")
				}
				t.ID, t.Trade.ID = n, string(id)
				seen |= 1
			case "px":
				t.Trade.Price = s.Dec()
				seen |= 2
			case "sz":
				t.Trade.Amount = s.Dec()
				seen |= 4
			case "side":
				switch v := s.Scalar(); string(v) {
				case "buy":
					t.Trade.Side = domain.Buy
				case "sell":
					t.Trade.Side = domain.Sell
				default:
					s.Fail("side " + strconv.Quote(string(v)))
				}
				seen |= 8
			case "ts":
				t.Trade.Time = domain.MillisToNanos(s.Int())
				seen |= 16
			case "count":
				t.Count = s.Int()
			case "instId":
				v := s.Scalar()
				if instID != nil && *instID == nil {
					*instID = v
				}
			default:
				s.Skip()
			}
		}
		if seen != 31 && !s.Failed() {
			s.Fail("trade without tradeId, px, sz, side or ts")
		}
		dst = append(dst, t)
	}
	return dst
}

// parseBook decodes /market/books and /books-full: one object with asks,
// bids ([px, sz, "0", orders], or [px, sz, orders] for books-full) and ts.
// REST books carry no sequence id.
func parseBook(body []byte) (domain.BookSnapshot, error) {
	var b domain.BookSnapshot
	n := 0
	err := envelope("books", body, func(s *scanner) {
		for more := s.EnterArray(); more; more = s.MoreArray() {
			if n++; n > 1 {
				s.Skip()
				continue
			}
			var bk bookMsg
			s.bookObject(&bk)
			b.Bids, b.Asks, b.Time = bk.Bids, bk.Asks, bk.TS
		}
	})
	if err == nil && n == 0 {
		err = &DecodeError{What: "books", Reason: "empty data", Near: excerpt(body)}
	}
	return b, err
}

// bookMsg is one book object (REST or WebSocket books data).
type bookMsg struct {
	Bids, Asks  []domain.BookLevel
	TS          int64 // ns
	Checksum    int64
	HasChecksum bool
	SeqID       int64
	PrevSeqID   int64
	HasSeq      bool
}

func (s *scanner) bookObject(b *bookMsg) {
	for m := s.EnterObject(); m; m = s.MoreObject() {
		switch k := s.Key(); string(k) {
		case "asks":
			b.Asks = s.levels(b.Asks[:0])
		case "bids":
			b.Bids = s.levels(b.Bids[:0])
		case "ts":
			b.TS = domain.MillisToNanos(s.Int())
		case "checksum":
			b.Checksum, b.HasChecksum = s.Int(), true
		case "seqId":
			b.SeqID, b.HasSeq = s.Int(), true
		case "prevSeqId":
			b.PrevSeqID = s.Int()
		default:
			s.Skip()
		}
	}
}

// levels appends [price, size, …] rows to dst.
func (s *scanner) levels(dst []domain.BookLevel) []domain.BookLevel {
	for more := s.EnterArray(); more; more = s.MoreArray() {
		var l domain.BookLevel
		if s.EnterArray() {
			l.Price = s.Dec()
			if s.MoreArray() {
				l.Amount = s.Dec()
				for s.MoreArray() {
					s.Skip()
				}
			} else {
				s.Fail("book level without a size")
			}
		} else {
			s.Fail("empty book level")
		}
		dst = append(dst, l)
	}
	return dst
}

// parseServerTime decodes /api/v5/public/time: data [{"ts":"ms"}]; it
// returns ns.
func parseServerTime(body []byte) (int64, error) {
	var ts int64
	err := envelope("time", body, func(s *scanner) {
		for more := s.EnterArray(); more; more = s.MoreArray() {
			for m := s.EnterObject(); m; m = s.MoreObject() {
				if k := s.Key(); string(k) == "ts" {
					ts = domain.MillisToNanos(s.Int())
				} else {
					s.Skip()
				}
			}
		}
	})
	if err == nil && ts == 0 {
		err = &DecodeError{What: "time", Reason: "no ts", Near: excerpt(body)}
	}
	return ts, err
}

// instrument is one /api/v5/public/instruments row (the fields pype uses).
type instrument struct {
	InstID   string `json:"instId"`
	InstType string `json:"instType"`
	BaseCcy  string `json:"baseCcy"`
	QuoteCcy string `json:"quoteCcy"`
	TickSz   string `json:"tickSz"`
	LotSz    string `json:"lotSz"`
	MinSz    string `json:"minSz"`
	MaxLmtSz string `json:"maxLmtSz"`
	State    string `json:"state"`
}

// parseInstruments decodes /api/v5/public/instruments into markets. Spot
// rows map BASE-QUOTE to BASE/QUOTE; SWAP rows (BTC-USDT-SWAP) to
// BASE/QUOTE:perp. Other types are skipped. A row with an unreadable
// grid is an error naming the instrument.
func parseInstruments(body []byte) ([]domain.Market, error) {
	var env struct {
		Code string       `json:"code"`
		Msg  string       `json:"msg"`
		Data []instrument `json:"data"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, &DecodeError{What: "instruments", Reason: err.Error(), Near: excerpt(body)}
	}
	if env.Code != "0" {
		return nil, &APIError{Status: 200, Code: env.Code, Msg: env.Msg}
	}
	out := make([]domain.Market, 0, len(env.Data))
	for _, in := range env.Data {
		m := domain.Market{Venue: Name, VenueSymbol: in.InstID, Active: in.State == "live"}
		var err error
		switch in.InstType {
		case "SPOT", "MARGIN":
			m.Symbol, err = domain.ParseSymbol(in.BaseCcy + "/" + in.QuoteCcy)
		case "SWAP":
			m.Symbol, err = symbolOf(in.InstID)
		default:
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("okx: instrument %s: %w", in.InstID, err)
		}
		m.Kind = m.Symbol.Market
		dec := func(field, v string) decimal.Decimal {
			if v == "" || err != nil {
				return decimal.Decimal{}
			}
			var d decimal.Decimal
			d, err = domain.ParseDecimal(field, v)
			return d
		}
		m.PriceTick = dec("tickSz", in.TickSz)
		m.AmountStep = dec("lotSz", in.LotSz)
		m.MinAmount = dec("minSz", in.MinSz)
		m.MaxAmount = dec("maxLmtSz", in.MaxLmtSz)
		if err != nil {
			return nil, fmt.Errorf("okx: instrument %s: %w", in.InstID, err)
		}
		m.PriceScale, m.AmountScale = m.PriceTick.Trim(0).Scale(), m.AmountStep.Trim(0).Scale()
		out = append(out, m)
	}
	return out, nil
}

// symbolOf maps an OKX instrument id to the canonical symbol: BTC-USDT →
// BTC/USDT, BTC-USDT-SWAP → BTC/USDT:perp.
func symbolOf(instID string) (domain.Symbol, error) {
	parts := bytes.Split([]byte(instID), []byte("-"))
	switch {
	case len(parts) == 2:
		return domain.ParseSymbol(string(parts[0]) + "/" + string(parts[1]))
	case len(parts) == 3 && string(parts[2]) == "SWAP":
		return domain.ParseSymbol(string(parts[0]) + "/" + string(parts[1]) + ":perp")
	}
	return domain.Symbol{}, &SymbolError{Symbol: instID}
}
