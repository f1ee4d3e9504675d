package bitmex

import (
	"github.com/pype-go/pype/domain"
)

// This file decodes BitMEX realtime frames:
//
//	{"info":"Welcome to the BitMEX Realtime API.",…,"limit":{"remaining":39}}
//	{"success":true,"subscribe":"trade:XBTUSD","request":{…}}
//	{"status":400,"error":"Unknown table: foo","meta":{},"request":{…}}
//	{"table":"trade","action":"insert","data":[…]}
//	{"table":"orderBookL2_25","action":"partial","keys":[…],…,"filter":{"symbol":"XBTUSD"},"data":[…]}

type frameKind uint8

const (
	frameUnknown frameKind = iota
	frameTable             // a table message (partial, insert, update, delete)
	frameAck               // {"success":true,"subscribe"|"unsubscribe":topic}
	frameError             // {"status":…,"error":…}
	frameInfo              // the welcome message
)

// Table actions.
const (
	actPartial = "partial"
	actInsert  = "insert"
	actUpdate  = "update"
	actDelete  = "delete"
)

// wsFrame is a split frame. Slices point into the frame's bytes.
type wsFrame struct {
	Kind         frameKind
	Table        []byte
	Action       []byte
	Data         []byte // the raw data array
	FilterSymbol []byte // partial: filter.symbol
	Topic        []byte // ack: the topic
	Op           []byte // ack/error: "subscribe" or "unsubscribe" (from the ack key or request.op)
	Args         []string
	Status       int
	Error        string
	Remaining    int // welcome: connections left this hour (-1 if absent)
}

// parseFrame splits a frame. Unknown shapes come back as frameUnknown with
// no error so new BitMEX messages do not break the reader.
func parseFrame(b []byte, f *wsFrame) error {
	*f = wsFrame{Remaining: -1}
	s := newScanner("realtime frame", b)
	for more := s.EnterObject(); more; more = s.MoreObject() {
		switch k := string(s.Key()); k {
		case "table":
			f.Table = s.Str()
			f.Kind = frameTable
		case "action":
			f.Action = s.Str()
		case "data":
			f.Data = s.Raw()
		case "filter":
			if s.Peek() != '{' {
				s.Skip()
				continue
			}
			for m := s.EnterObject(); m; m = s.MoreObject() {
				if string(s.Key()) == "symbol" && s.Peek() == '"' {
					f.FilterSymbol = s.Str()
					continue
				}
				s.Skip()
			}
		case "success":
			s.Skip()
			if f.Kind == frameUnknown {
				f.Kind = frameAck
			}
		case "subscribe", "unsubscribe":
			f.Op = []byte(k)
			if s.Peek() == '"' {
				f.Topic = s.Str()
			} else {
				s.Skip()
			}
			f.Kind = frameAck
		case "status":
			f.Status = int(s.int())
			f.Kind = frameError
		case "error":
			if s.Peek() == '"' {
				f.Error = string(s.Str())
			} else {
				f.Error = string(s.Raw())
			}
			f.Kind = frameError
		case "request":
			if s.Peek() != '{' {
				s.Skip()
				continue
			}
			for m := s.EnterObject(); m; m = s.MoreObject() {
				switch string(s.Key()) {
				case "op":
					if op := s.Str(); len(f.Op) == 0 {
						f.Op = op
					}
				case "args":
					switch s.Peek() {
					case '"':
						f.Args = append(f.Args, string(s.Str()))
					case '[':
						for a := s.EnterArray(); a; a = s.MoreArray() {
							if s.Peek() == '"' {
								f.Args = append(f.Args, string(s.Str()))
							} else {
								s.Skip()
							}
						}
					default:
						s.Skip()
					}
				default:
					s.Skip()
				}
			}
		case "info":
			s.Skip()
			if f.Kind == frameUnknown {
				f.Kind = frameInfo
			}
		case "limit":
			if s.Peek() != '{' {
				s.Skip()
				continue
			}
			for m := s.EnterObject(); m; m = s.MoreObject() {
				if string(s.Key()) == "remaining" {
					f.Remaining = int(s.int())
					continue
				}
				s.Skip()
			}
		default:
			s.Skip()
		}
	}
	s.End()
	return s.err()
}

// wsTrade is one trade row with its symbol.
type wsTrade struct {
	Symbol []byte
	Trade  domain.Trade
}

// parseTradeRows decodes a trade table's data array, appending to dst.
func parseTradeRows(data []byte, dst []wsTrade) ([]wsTrade, error) {
	s := newScanner("trade table", data)
	for more := s.EnterArray(); more; more = s.MoreArray() {
		var t wsTrade
		s.tradeObject(&t.Trade, "", &t.Symbol)
		dst = append(dst, t)
	}
	s.End()
	return dst, s.err()
}

// wsBin is one tradeBin row with its symbol.
type wsBin struct {
	Symbol []byte
	Bar    domain.OHLCBar
}

// parseBinRows decodes a tradeBin table's data array (the same rows as GET
// /trade/bucketed, timestamp = close) as bars of span.
func parseBinRows(data []byte, span domain.Span, dst []wsBin) ([]wsBin, error) {
	s := newScanner("tradeBin table", data)
	for more := s.EnterArray(); more; more = s.MoreArray() {
		var b wsBin
		s.bucketObject(&b.Bar, span, "", &b.Symbol)
		dst = append(dst, b)
	}
	s.End()
	return dst, s.err()
}

// parseL2Rows decodes an orderBookL2 table's data array, appending to dst.
func parseL2Rows(data []byte, dst []l2Row) ([]l2Row, error) {
	s := newScanner("orderBookL2 table", data)
	for more := s.EnterArray(); more; more = s.MoreArray() {
		var r l2Row
		s.l2Object(&r)
		dst = append(dst, r)
	}
	s.End()
	return dst, s.err()
}
