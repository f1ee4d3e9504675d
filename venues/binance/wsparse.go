package binance

import (
	"github.com/pype-go/pype/domain"
)

// This file decodes Binance WebSocket frames: the combined-stream envelope
// {"stream":"btcusdt@aggTrade","data":{...}}, raw-stream events, and the
// replies to live SUBSCRIBE requests.

type eventKind uint8

const (
	evUnknown eventKind = iota
	evDepthUpdate
	evAggTrade
	evTrade
	evKline
	evReply // {"result":...,"id":N} or {"error":{...},"id":N}
)

// frame is a split WebSocket frame. Slices point into the frame's bytes.
type frame struct {
	Kind   eventKind
	Stream []byte // combined streams: the stream name; raw streams: nil
	Data   []byte // the event object
	// Fast is set when Data was cut without scanning it (see splitFrame);
	// an event decoder that fails on it should retry with slowSplit.
	Fast bool
	// replies
	ID       int64
	ErrCode  int
	ErrMsg   string
	HasError bool
}

// splitFrame reads the envelope and the event type of a frame. Unknown
// events (e.g. bookTicker, which has no "e") come back as evUnknown with no
// error, so new Binance streams do not break the reader.
//
// Fast path: Binance writes {"stream":"…","data":{…}}, data last, so once
// "stream" is read the event is the rest of the frame up to its closing
// brace, taken without scanning it (the event decoder scans it anyway and
// checks that nothing follows the event). Frames of another shape take the
// full path.
func splitFrame(b []byte) (frame, error) {
	if f, ok := fastSplit(b); ok {
		return f, nil
	}
	return slowSplit(b)
}

func fastSplit(b []byte) (frame, bool) {
	const head = `{"stream":"`
	if len(b) < len(head) || string(b[:len(head)]) != head {
		return frame{}, false
	}
	i := len(head)
	j := i
	for j < len(b) && b[j] != '"' && b[j] != '\\' {
		j++
	}
	const mid = `","data":`
	if j >= len(b) || b[j] != '"' || len(b)-j < len(mid) || string(b[j:j+len(mid)]) != mid {
		return frame{}, false
	}
	data := b[j+len(mid):]
	end := len(data)
	for end > 0 && (data[end-1] == ' ' || data[end-1] == '\n' || data[end-1] == '\r' || data[end-1] == '\t') {
		end--
	}
	if end < 2 || data[end-1] != '}' || data[0] != '{' {
		return frame{}, false
	}
	data = data[:end-1] // drop the envelope's closing brace
	for len(data) > 0 && (data[len(data)-1] == ' ' || data[len(data)-1] == '\n' || data[len(data)-1] == '\r' || data[len(data)-1] == '\t') {
		data = data[:len(data)-1]
	}
	if len(data) == 0 || data[len(data)-1] != '}' {
		return frame{}, false
	}
	return frame{Kind: kindOf(data), Stream: b[i:j], Data: data, Fast: true}, true
}

// refine re-splits raw with the full path when fr was split fast, so an
// event decoder that failed can try again; it reports whether it did.
func refine(raw []byte, fr *frame) bool {
	if !fr.Fast {
		return false
	}
	s, err := slowSplit(raw)
	if err != nil {
		return false
	}
	*fr = s
	return true
}

// slowSplit is splitFrame's full path: it scans the whole envelope.
func slowSplit(b []byte) (frame, error) {
	var f frame
	s := newScanner("ws frame", b)
	isEvent := false
	for more := s.enterObject(); more; more = s.moreObject() {
		switch string(s.key()) {
		case "stream":
			f.Stream = s.str()
		case "data":
			start := s.i
			s.skip()
			f.Data = s.b[start:s.i]
		case "e":
			isEvent = true
			s.skip()
		case "id":
			if s.null() {
				continue
			}
			f.ID = s.int()
			f.Kind = evReply
		case "result":
			f.Kind = evReply
			s.skip()
		case "error":
			f.Kind = evReply
			f.HasError = true
			if s.peek() != '{' {
				f.ErrMsg = string(s.scalar())
				continue
			}
			for m := s.enterObject(); m; m = s.moreObject() {
				switch string(s.key()) {
				case "code":
					f.ErrCode = int(s.int())
				case "msg":
					f.ErrMsg = string(s.str())
				default:
					s.skip()
				}
			}
		case "code":
			// {"code":-1121,"msg":"..."} style errors on the stream
			f.ErrCode = int(s.int())
			f.HasError = true
			f.Kind = evReply
		case "msg":
			f.ErrMsg = string(s.str())
		default:
			s.skip()
		}
	}
	s.end()
	if s.err != nil {
		return frame{}, s.err
	}
	if f.Kind == evReply {
		return f, nil
	}
	if f.Data == nil && isEvent {
		f.Data = b
	}
	if f.Data == nil {
		return f, nil
	}
	f.Kind = kindOf(f.Data)
	return f, nil
}

// kindOf finds the "e" member of an event object (Binance puts it first).
func kindOf(data []byte) eventKind {
	s := newScanner("event", data)
	for more := s.enterObject(); more; more = s.moreObject() {
		if string(s.key()) != "e" {
			s.skip()
			continue
		}
		switch string(s.str()) {
		case "depthUpdate":
			return evDepthUpdate
		case "aggTrade":
			return evAggTrade
		case "trade":
			return evTrade
		case "kline":
			return evKline
		}
		return evUnknown
	}
	return evUnknown
}

// depthEvent is a decoded depthUpdate. Symbol points into the frame; Bids
// and Asks are reused across calls of parseDepthUpdate.
type depthEvent struct {
	Symbol    []byte
	EventTime int64 // ns
	First     int64 // U
	Final     int64 // u
	Prev      int64 // pu (futures only), 0 on spot
	Bids      []domain.BookLevel
	Asks      []domain.BookLevel
}

// parseDepthUpdate decodes {"e":"depthUpdate","E":..,"s":..,"U":..,"u":..,
// "b":[[p,q],..],"a":[[p,q],..]} into ev, reusing its level slices.
func parseDepthUpdate(data []byte, ev *depthEvent) error {
	s := newScanner("depthUpdate", data)
	ev.Bids, ev.Asks = ev.Bids[:0], ev.Asks[:0]
	ev.Symbol, ev.EventTime, ev.First, ev.Final, ev.Prev = nil, 0, 0, 0, 0
	seen := 0
	for more := s.enterObject(); more; more = s.moreObject() {
		k := s.key()
		if len(k) != 1 {
			s.skip()
			continue
		}
		switch k[0] {
		case 'U':
			ev.First = s.int()
			seen |= 1
		case 'u':
			ev.Final = s.int()
			seen |= 2
		case 'b':
			ev.Bids = s.levels(ev.Bids)
			seen |= 4
		case 'a':
			ev.Asks = s.levels(ev.Asks)
			seen |= 8
		case 's':
			ev.Symbol = s.str()
		case 'E':
			ev.EventTime = domain.MillisToNanos(s.int())
		default:
			s.skip()
		}
	}
	if seen != 15 && s.err == nil {
		s.fail("depthUpdate without one of U, u, b, a")
	}
	s.end()
	return s.err
}

// tradeEvent is a decoded aggTrade or trade event.
type tradeEvent struct {
	Symbol    []byte
	EventTime int64
	ID        int64
	Trade     domain.Trade
}

// parseAggTradeEvent decodes {"e":"aggTrade","E","s","a","p","q","f","l",
// "T","m","M"}.
func parseAggTradeEvent(data []byte, ev *tradeEvent) error {
	s := newScanner("aggTrade", data)
	var t aggTrade
	var sym []byte
	var et int64
	s.aggTradeObject(&t, &sym, &et)
	s.end()
	*ev = tradeEvent{Symbol: sym, EventTime: et, ID: t.ID, Trade: t.Trade}
	return s.err
}

// parseTradeEvent decodes {"e":"trade","E","s","t","p","q","T","m","M"}.
func parseTradeEvent(data []byte, ev *tradeEvent) error {
	s := newScanner("trade", data)
	var t rawTrade
	var sym []byte
	var et int64
	s.tradeObject(&t, &sym, &et)
	s.end()
	*ev = tradeEvent{Symbol: sym, EventTime: et, ID: t.ID, Trade: t.Trade}
	return s.err
}

// klineEvent is a decoded kline event.
type klineEvent struct {
	Symbol    []byte
	EventTime int64
	Interval  []byte
	Bar       domain.OHLCBar // Closed = k.x
	CloseTime int64
}

// parseKlineEvent decodes {"e":"kline","E","s","k":{"t","T","s","i","f",
// "L","o","c","h","l","v","n","x","q","V","Q","B"}}.
func parseKlineEvent(data []byte, ev *klineEvent) error {
	s := newScanner("kline", data)
	*ev = klineEvent{}
	hasK := false
	for more := s.enterObject(); more; more = s.moreObject() {
		switch string(s.key()) {
		case "s":
			ev.Symbol = s.str()
		case "E":
			ev.EventTime = domain.MillisToNanos(s.int())
		case "k":
			hasK = true
			seen := 0
			for m := s.enterObject(); m; m = s.moreObject() {
				k := s.key()
				if len(k) != 1 {
					s.skip()
					continue
				}
				switch k[0] {
				case 't':
					ev.Bar.OpenTime = domain.MillisToNanos(s.int())
					seen |= 1
				case 'T':
					ev.CloseTime = domain.MillisToNanos(s.int())
				case 'i':
					ev.Interval = s.str()
				case 'o':
					ev.Bar.Open = s.dec()
					seen |= 2
				case 'h':
					ev.Bar.High = s.dec()
					seen |= 4
				case 'l':
					ev.Bar.Low = s.dec()
					seen |= 8
				case 'c':
					ev.Bar.Close = s.dec()
					seen |= 16
				case 'v':
					ev.Bar.Volume = s.dec()
					seen |= 32
				case 'q':
					ev.Bar.QuoteVolume = s.dec()
				case 'n':
					ev.Bar.Trades = s.int()
				case 'x':
					ev.Bar.Closed = s.bool()
					seen |= 64
				default:
					s.skip()
				}
			}
			if seen != 127 && s.err == nil {
				s.fail("kline without one of t, o, h, l, c, v, x")
			}
		default:
			s.skip()
		}
	}
	if !hasK && s.err == nil {
		s.fail("kline event without k")
	}
	s.end()
	return s.err
}
