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
	for more := s.enterObject(); more; more = s.moreObject() {
		switch k := string(s.key()); k {
		case "table":
			f.Table = s.str()
			f.Kind = frameTable
		case "action":
			f.Action = s.str()
		case "data":
			f.Data = s.raw()
		case "filter":
			if s.peek() != '{' {
				s.skip()
				continue
			}
			for m := s.enterObject(); m; m = s.moreObject() {
				if string(s.key()) == "symbol" && s.peek() == '"' {
					f.FilterSymbol = s.str()
					continue
				}
				s.skip()
			}
		case "success":
			s.skip()
			if f.Kind == frameUnknown {
				f.Kind = frameAck
			}
		case "subscribe", "unsubscribe":
			f.Op = []byte(k)
			if s.peek() == '"' {
				f.Topic = s.str()
			} else {
				s.skip()
			}
			f.Kind = frameAck
		case "status":
			f.Status = int(s.int())
			f.Kind = frameError
		case "error":
			if s.peek() == '"' {
				f.Error = string(s.str())
			} else {
				f.Error = string(s.raw())
			}
			f.Kind = frameError
		case "request":
			if s.peek() != '{' {
				s.skip()
				continue
			}
			for m := s.enterObject(); m; m = s.moreObject() {
				switch string(s.key()) {
				case "op":
					if op := s.str(); len(f.Op) == 0 {
						f.Op = op
					}
				case "args":
					switch s.peek() {
					case '"':
						f.Args = append(f.Args, string(s.str()))
					case '[':
						for a := s.enterArray(); a; a = s.moreArray() {
							if s.peek() == '"' {
								f.Args = append(f.Args, string(s.str()))
							} else {
								s.skip()
							}
						}
					default:
						s.skip()
					}
				default:
					s.skip()
				}
			}
		case "info":
			s.skip()
			if f.Kind == frameUnknown {
				f.Kind = frameInfo
			}
		case "limit":
			if s.peek() != '{' {
				s.skip()
				continue
			}
			for m := s.enterObject(); m; m = s.moreObject() {
				if string(s.key()) == "remaining" {
					f.Remaining = int(s.int())
					continue
				}
				s.skip()
			}
		default:
			s.skip()
		}
	}
	s.end()
	return s.err
}

// wsTrade is one trade row with its symbol.
type wsTrade struct {
	Symbol []byte
	Trade  domain.Trade
}

// parseTradeRows decodes a trade table's data array, appending to dst.
func parseTradeRows(data []byte, dst []wsTrade) ([]wsTrade, error) {
	s := newScanner("trade table", data)
	for more := s.enterArray(); more; more = s.moreArray() {
		var t wsTrade
		s.tradeObject(&t.Trade, "", &t.Symbol)
		dst = append(dst, t)
	}
	s.end()
	return dst, s.err
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
	for more := s.enterArray(); more; more = s.moreArray() {
		var b wsBin
		s.bucketObject(&b.Bar, span, "", &b.Symbol)
		dst = append(dst, b)
	}
	s.end()
	return dst, s.err
}

// parseL2Rows decodes an orderBookL2 table's data array, appending to dst.
func parseL2Rows(data []byte, dst []l2Row) ([]l2Row, error) {
	s := newScanner("orderBookL2 table", data)
	for more := s.enterArray(); more; more = s.moreArray() {
		var r l2Row
		s.l2Object(&r)
		dst = append(dst, r)
	}
	s.end()
	return dst, s.err
}
