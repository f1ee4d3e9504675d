package bitfinex

import (
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/pype-go/pype/domain"
)

// This file decodes Bitfinex WebSocket v2 frames. Events are JSON objects
// ({"event":"subscribed",…}); channel data are positional arrays whose
// first element is the channel id:
//
//	[chanId, [[row], [row], …], seq]   snapshot (trades/candles newest first)
//	[chanId, [row], seq]               update (book level, candle)
//	[chanId, "te", [row], seq]         trade executed ("tu": the same trade
//	                                   again once written; "fte"/"ftu": funding)
//	[chanId, "hb", seq]                heartbeat (every 15 s per idle channel)
//	[chanId, "cs", checksum, seq]      book checksum (OB_CHECKSUM flag)
//
// The trailing seq is present with the SEQ_ALL conf flag: one counter per
// connection over every channel, so each channel's own numbers have gaps
// wherever another channel's frames went.

// frameKind classifies a frame.
type frameKind uint8

const (
	fkUnknown   frameKind = iota
	fkEvent               // a JSON object
	fkHeartbeat           // [chanId,"hb"]
	fkSnapshot            // [chanId,[[…],…]]
	fkUpdate              // [chanId,[…]]
	fkTradeExec           // [chanId,"te",[…]]
	fkTradeUpd            // [chanId,"tu",[…]]
	fkChecksum            // [chanId,"cs",n]
	fkOther               // another tagged message ("fte", "ftu", …)
)

// wsFrame is one decoded frame. Payload points into the frame's bytes: the
// row (update, te/tu) or the array of rows (snapshot).
type wsFrame struct {
	Kind     frameKind
	Chan     int64
	Tag      string
	Payload  []byte
	Checksum int32
	Seq      int64
	HasSeq   bool
	Event    wsEvent
}

// wsEvent is a WebSocket event object.
type wsEvent struct {
	Event    string `json:"event"`
	Channel  string `json:"channel"`
	ChanID   int64  `json:"chanId"`
	Symbol   string `json:"symbol"`
	Pair     string `json:"pair"`
	Key      string `json:"key"`
	Prec     string `json:"prec"`
	Freq     string `json:"freq"`
	Len      string `json:"len"`
	Status   string `json:"status"`
	Code     int    `json:"code"`
	Msg      string `json:"msg"`
	Flags    int64  `json:"flags"`
	Version  int    `json:"version"`
	Platform *struct {
		Status int `json:"status"`
	} `json:"platform"`
}

// parseFrame decodes one frame into f (reusing it).
func parseFrame(data []byte, f *wsFrame) error {
	*f = wsFrame{}
	s := newScanner("ws frame", data)
	switch s.Peek() {
	case '{':
		f.Kind = fkEvent
		if err := json.Unmarshal(data, &f.Event); err != nil {
			return &DecodeError{What: "ws event", Reason: err.Error(), Sample: sample(data)}
		}
		return nil
	case '[':
	default:
		s.Fail("expected an array or an object")
		return s.err()
	}
	if !s.EnterArray() {
		s.Fail("empty frame")
		return s.err()
	}
	f.Chan = s.int()
	if !s.MoreArray() {
		s.Fail("frame without data")
		return s.err()
	}
	switch {
	case s.isString():
		f.Tag = string(s.Str())
		switch f.Tag {
		case "hb":
			f.Kind = fkHeartbeat
		case "te":
			f.Kind = fkTradeExec
		case "tu":
			f.Kind = fkTradeUpd
		case "cs":
			f.Kind = fkChecksum
		default:
			f.Kind = fkOther
		}
		switch f.Kind {
		case fkTradeExec, fkTradeUpd, fkOther:
			if s.MoreArray() {
				f.Payload = s.Raw()
			} else {
				return s.err()
			}
		case fkChecksum:
			if !s.MoreArray() {
				s.Fail("cs frame without checksum")
				return s.err()
			}
			cs := s.int()
			if cs < -1<<31 || cs > 1<<31-1 {
				s.Fail("checksum " + strconv.FormatInt(cs, 10) + " is not a 32-bit integer")
				return s.err()
			}
			f.Checksum = int32(cs)
		}
	case s.isArray():
		f.Payload = s.Raw()
		f.Kind = fkUpdate
		if ps := newScanner("ws frame", f.Payload); ps.EnterArray() && ps.isArray() {
			f.Kind = fkSnapshot
		} else if len(f.Payload) == 2 { // []: an empty snapshot
			f.Kind = fkSnapshot
		}
	default:
		s.Skip()
		f.Kind = fkOther
	}
	// Trailing sequence number(s) with SEQ_ALL; anything after is ignored.
	if s.MoreArray() {
		if t := s.Peek(); t >= '0' && t <= '9' {
			f.Seq, f.HasSeq = s.int(), true
		} else {
			s.Skip()
		}
		for s.MoreArray() {
			s.Skip()
		}
	}
	s.End()
	return s.err()
}

// parseRows calls row for each row of a snapshot payload ([[…],[…]]).
func parseRows(what string, payload []byte, row func(s *scanner)) error {
	s := newScanner(what, payload)
	for more := s.EnterArray(); more; more = s.MoreArray() {
		row(&s)
	}
	s.End()
	return s.err()
}

// parseRow decodes a single-row payload ([…]).
func parseRow(what string, payload []byte, row func(s *scanner)) error {
	s := newScanner(what, payload)
	row(&s)
	s.End()
	return s.err()
}

// parseTradeRows decodes a trades snapshot payload.
func parseTradeRows(payload []byte, dst []tradeRow) ([]tradeRow, error) {
	err := parseRows("trades snapshot", payload, func(s *scanner) { dst = append(dst, parseTrade(s)) })
	return dst, err
}

// parseTradePayload decodes a te/tu payload.
func parseTradePayload(payload []byte) (tradeRow, error) {
	var r tradeRow
	err := parseRow("trade", payload, func(s *scanner) { r = parseTrade(s) })
	return r, err
}

// parseCandleRows decodes a candles snapshot payload.
func parseCandleRows(payload []byte, dst []candleRow) ([]candleRow, error) {
	err := parseRows("candles snapshot", payload, func(s *scanner) { dst = append(dst, parseCandle(s)) })
	return dst, err
}

// parseCandlePayload decodes a candle update payload.
func parseCandlePayload(payload []byte) (candleRow, error) {
	var r candleRow
	err := parseRow("candle", payload, func(s *scanner) { r = parseCandle(s) })
	return r, err
}

// parseBookRows decodes a book snapshot payload.
func parseBookRows(payload []byte, dst []bookRow) ([]bookRow, error) {
	err := parseRows("book snapshot", payload, func(s *scanner) { dst = append(dst, parseBookRow(s)) })
	return dst, err
}

// parseBookPayload decodes a book update payload.
func parseBookPayload(payload []byte) (bookRow, error) {
	var r bookRow
	err := parseRow("book update", payload, func(s *scanner) { r = parseBookRow(s) })
	return r, err
}

// bookDelta converts a P0 update row into a one-level delta: COUNT 0
// removes the level (AMOUNT 1 from the bids, -1 from the asks); otherwise
// AMOUNT > 0 sets a bid and < 0 an ask.
func bookDelta(r bookRow, d *domain.BookDelta) error {
	lvl := domain.BookLevel{Price: r.Price}
	switch {
	case r.Count < 0:
		return fmt.Errorf("bitfinex: book level %s has a negative count %d", r.Price, r.Count)
	case r.Count > 0:
		lvl.Amount = r.Amount.Abs()
	}
	if r.Amount.IsZero() {
		return fmt.Errorf("bitfinex: book level %s has a zero amount (count %d): side unknown", r.Price, r.Count)
	}
	if r.Amount.IsNeg() {
		d.Asks = append(d.Asks[:0], lvl)
		d.Bids = d.Bids[:0]
	} else {
		d.Bids = append(d.Bids[:0], lvl)
		d.Asks = d.Asks[:0]
	}
	return nil
}
