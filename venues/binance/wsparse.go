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
	for more := s.EnterObject(); more; more = s.MoreObject() {
		switch string(s.Key()) {
		case "stream":
			f.Stream = s.Str()
		case "data":
			start := s.Pos()
			s.Skip()
			f.Data = b[start:s.Pos()]
		case "e":
			isEvent = true
			s.Skip()
		case "id":
			if s.Null() {
				continue
			}
			f.ID = s.Int()
			f.Kind = evReply
		case "result":
			f.Kind = evReply
			s.Skip()
		case "error":
			f.Kind = evReply
			f.HasError = true
			if s.Peek() != '{' {
				f.ErrMsg = string(s.Scalar())
				continue
			}
			for m := s.EnterObject(); m; m = s.MoreObject() {
				switch string(s.Key()) {
				case "code":
					f.ErrCode = int(s.Int())
				case "msg":
					f.ErrMsg = string(s.Str())
				default:
					s.Skip()
				}
			}
		case "code":
			// {"code":-1121,"msg":"..."} style errors on the stream
			f.ErrCode = int(s.Int())
			f.HasError = true
			f.Kind = evReply
		case "msg":
			f.ErrMsg = string(s.Str())
		default:
			s.Skip()
		}
	}
	s.End()
	if s.Failed() {
		return frame{}, s.err()
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
	for more := s.EnterObject(); more; more = s.MoreObject() {
		if string(s.Key()) != "e" {
			s.Skip()
			continue
		}
		switch string(s.Str()) {
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
	for more := s.EnterObject(); more; more = s.MoreObject() {
		k := s.Key()
		if len(k) != 1 {
			s.Skip()
			continue
		}
		switch k[0] {
		case 'U':
			ev.First = s.Int()
			seen |= 1
		case 'u':
			ev.Final = s.Int()
			seen |= 2
		case 'b':
			ev.Bids = s.levels(ev.Bids)
			seen |= 4
		case 'a':
			ev.Asks = s.levels(ev.Asks)
			seen |= 8
		case 's':
			ev.Symbol = s.Str()
		case 'E':
			ev.EventTime = domain.MillisToNanos(s.Int())
		default:
			s.Skip()
		}
	}
	if seen != 15 && !s.Failed() {
		s.Fail("depthUpdate without one of U, u, b, a")
	}
	s.End()
	return s.err()
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
	s.End()
	*ev = tradeEvent{Symbol: sym, EventTime: et, ID: t.ID, Trade: t.Trade}
	return s.err()
}

// parseTradeEvent decodes {"e":"trade","E","s","t","p","q","T","m","M"}.
func parseTradeEvent(data []byte, ev *tradeEvent) error {
	s := newScanner("trade", data)
	var t rawTrade
	var sym []byte
	var et int64
	s.tradeObject(&t, &sym, &et)
	s.End()
	*ev = tradeEvent{Symbol: sym, EventTime: et, ID: t.ID, Trade: t.Trade}
	return s.err()
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
	for more := s.EnterObject(); more; more = s.MoreObject() {
		switch string(s.Key()) {
		case "s":
			ev.Symbol = s.Str()
		case "E":
			ev.EventTime = domain.MillisToNanos(s.Int())
		case "k":
			hasK = true
			seen := 0
			for m := s.EnterObject(); m; m = s.MoreObject() {
				k := s.Key()
				if len(k) != 1 {
					s.Skip()
					continue
				}
				switch k[0] {
				case 't':
					ev.Bar.OpenTime = domain.MillisToNanos(s.Int())
					seen |= 1
				case 'T':
					ev.CloseTime = domain.MillisToNanos(s.Int())
				case 'i':
					ev.Interval = s.Str()
				case 'o':
					ev.Bar.Open = s.Dec()
					seen |= 2
				case 'h':
					ev.Bar.High = s.Dec()
					seen |= 4
				case 'l':
					ev.Bar.Low = s.Dec()
					seen |= 8
				case 'c':
					ev.Bar.Close = s.Dec()
					seen |= 16
				case 'v':
					ev.Bar.Volume = s.Dec()
					seen |= 32
				case 'q':
					ev.Bar.QuoteVolume = s.Dec()
				case 'n':
					ev.Bar.Trades = s.Int()
				case 'x':
					ev.Bar.Closed = s.Bool()
					seen |= 64
				default:
					s.Skip()
				}
			}
			if seen != 127 && !s.Failed() {
				s.Fail("kline without one of t, o, h, l, c, v, x")
			}
		default:
			s.Skip()
		}
	}
	if !hasK && !s.Failed() {
		s.Fail("kline event without k")
	}
	s.End()
	return s.err()
}
