package okx

import (
	"bytes"

	"github.com/pype-go/pype/domain"
)

// This file decodes OKX v5 WebSocket frames: events
// ({"event":"subscribe"|"unsubscribe"|"error"|"notice",…}) and pushes
// ({"arg":{"channel":…,"instId":…},["action":…,]"data":[…]}). The text
// "pong" (the answer to "ping") is filtered by the connection.

// frame is one WebSocket message split into its envelope fields. Slices
// point into the message.
type frame struct {
	Event   []byte
	Channel []byte
	InstID  []byte
	Action  []byte // books: "snapshot" or "update"
	Code    []byte
	Msg     []byte
	ConnID  []byte
	// Data is the data value, possibly followed by the rest of the message
	// (parsers read one value).
	Data []byte
}

var pong = []byte("pong")

// parseFrame splits msg into fr. Push frames put arg before data, so the
// data value is not scanned here: Data points at it.
func parseFrame(msg []byte, fr *frame) error {
	*fr = frame{}
	s := newScanner("ws frame", msg)
	for more := s.EnterObject(); more; more = s.MoreObject() {
		switch k := s.Key(); string(k) {
		case "event":
			fr.Event = s.Scalar()
		case "arg":
			for m := s.EnterObject(); m; m = s.MoreObject() {
				switch k := s.Key(); string(k) {
				case "channel":
					fr.Channel = s.Scalar()
				case "instId":
					fr.InstID = s.Scalar()
				default:
					s.Skip()
				}
			}
		case "action":
			fr.Action = s.Scalar()
		case "code":
			fr.Code = s.Scalar()
		case "msg":
			fr.Msg = s.Scalar()
		case "connId":
			fr.ConnID = s.Scalar()
		case "data":
			s.Peek()
			start := s.Pos()
			if fr.Channel != nil {
				fr.Data = msg[start:]
				return nil
			}
			s.Skip()
			fr.Data = msg[start:s.Pos()]
		default:
			s.Skip()
		}
	}
	return s.err()
}

// wsTrades decodes the data of a trades / trades-all push (an array of
// trade objects), appending to dst.
func wsTrades(data []byte, dst []trade) ([]trade, error) {
	s := newScanner("trades push", data)
	dst = s.tradeRows(dst, nil)
	return dst, s.err()
}

// wsCandles decodes the data of a candle push: rows [ts, o, h, l, c, vol,
// volCcy, volCcyQuote, confirm].
func wsCandles(data []byte, dst []candle) ([]candle, error) {
	s := newScanner("candle push", data)
	dst = s.candleRows(dst)
	return dst, s.err()
}

// wsBook decodes the data of a books push (an array holding one book
// object) into b, reusing b's slices.
func wsBook(data []byte, b *bookMsg) error {
	s := newScanner("books push", data)
	n := 0
	b.HasChecksum, b.HasSeq, b.SeqID, b.PrevSeqID, b.Checksum, b.TS = false, false, 0, 0, 0, 0
	b.Bids, b.Asks = b.Bids[:0], b.Asks[:0]
	for more := s.EnterArray(); more; more = s.MoreArray() {
		if n++; n > 1 {
			s.Fail("books push with more than one book")
			break
		}
		s.bookObject(b)
	}
	if n == 0 && !s.Failed() {
		s.Fail("books push without a book")
	}
	return s.err()
}

// delta converts a books push to the engine's delta: a snapshot resets the
// book; seqId/prevSeqId feed OKX's continuity rule (both stay 0 in
// captures from before OKX added them, when the checksum is the only
// guard); the checksum is OKX's signed CRC32 as an unsigned value.
func (b *bookMsg) delta(sym domain.Symbol, snapshot bool, recv int64, d *domain.BookDelta) {
	*d = domain.BookDelta{Symbol: sym, Time: b.TS, RecvTime: recv, Bids: b.Bids, Asks: b.Asks, Reset: snapshot}
	if b.HasSeq {
		d.Seq, d.PrevSeq = b.SeqID, b.PrevSeqID
	}
	if b.HasChecksum {
		d.Checksum, d.HasChecksum = uint32(int32(b.Checksum)), true
	}
}

func isPong(b []byte) bool { return bytes.Equal(b, pong) }
