package coinbase

import (
	"strconv"

	"github.com/pype-go/pype/domain"
)

// msgKind is the type of a feed message.
type msgKind uint8

// Feed message types pype reads; everything else is msgOther (the feed
// may add types at any time, clients must ignore them).
const (
	msgOther         msgKind = iota
	msgSubscriptions         // {"type":"subscriptions","channels":[...]}
	msgError                 // {"type":"error","message":..,"reason":..}
	msgHeartbeat             // {"type":"heartbeat","sequence":..,"last_trade_id":..,"product_id":..,"time":..}
	msgMatch                 // {"type":"match","trade_id":..,"side":..,"size":..,"price":..,"product_id":..,"sequence":..,"time":..}
	msgLastMatch             // the same, sent once per product on subscribing
	msgSnapshot              // {"type":"snapshot","product_id":..,"bids":[[p,s],..],"asks":[..]}
	msgL2Update              // {"type":"l2update","product_id":..,"changes":[["buy",p,s],..],"time":..}
)

// wsMsg is one decoded feed message. Product aliases the frame's bytes;
// Bids and Asks reuse their storage from message to message.
type wsMsg struct {
	Kind        msgKind
	Product     []byte
	Seq         int64
	Time        int64 // ns, 0 if absent
	LastTradeID int64
	Trade       trade // match, last_match
	Bids, Asks  []domain.BookLevel
	Message     string // error
	Reason      string // error
}

func kindOf(t []byte) msgKind {
	switch string(t) {
	case "match":
		return msgMatch
	case "last_match":
		return msgLastMatch
	case "l2update":
		return msgL2Update
	case "snapshot":
		return msgSnapshot
	case "heartbeat":
		return msgHeartbeat
	case "subscriptions":
		return msgSubscriptions
	case "error":
		return msgError
	}
	return msgOther
}

// parseWS decodes one feed message into m, reusing m's level slices. Keys
// may come in any order; unknown keys are skipped. The fields a message
// type needs are checked.
func parseWS(data []byte, m *wsMsg) error {
	bids, asks := m.Bids[:0], m.Asks[:0]
	*m = wsMsg{Bids: bids, Asks: asks}
	s := newScanner("feed message", data)
	seen := 0
	const (
		fTradeID = 1 << iota
		fSide
		fSize
		fPrice
		fTime
		fProduct
		fBids
		fAsks
		fChanges
	)
	for more := s.EnterObject(); more; more = s.MoreObject() {
		switch string(s.Key()) {
		case "type":
			m.Kind = kindOf(s.Str())
		case "product_id":
			m.Product = s.Str()
			seen |= fProduct
		case "sequence":
			m.Seq = s.Int()
		case "time":
			if !s.Null() {
				m.Time = s.time()
				seen |= fTime
			}
		case "trade_id":
			m.Trade.ID = s.Int()
			seen |= fTradeID
		case "last_trade_id":
			m.LastTradeID = s.Int()
		case "side":
			// In match messages the side is the maker's (see takerSide);
			// ticker messages (not read) carry the taker's.
			side, ok := takerSide(s.Str())
			if ok {
				m.Trade.Trade.Side = side
				seen |= fSide
			}
		case "size":
			m.Trade.Trade.Amount = s.Dec()
			seen |= fSize
		case "price":
			m.Trade.Trade.Price = s.Dec()
			seen |= fPrice
		case "bids":
			m.Bids = s.levels(m.Bids)
			seen |= fBids
		case "asks":
			m.Asks = s.levels(m.Asks)
			seen |= fAsks
		case "changes":
			m.Bids, m.Asks = s.changes(m.Bids, m.Asks)
			seen |= fChanges
		case "message":
			m.Message = string(s.Str())
		case "reason":
			if !s.Null() {
				m.Reason = string(s.Str())
			}
		default:
			s.Skip()
		}
	}
	s.End()
	if s.Failed() {
		return s.err()
	}
	need := 0
	switch m.Kind {
	case msgMatch, msgLastMatch:
		need = fTradeID | fSide | fSize | fPrice | fTime | fProduct
		m.Trade.Trade.Time = m.Time
		m.Trade.Trade.ID = strconv.FormatInt(m.Trade.ID, 10)
	case msgSnapshot:
		need = fProduct | fBids | fAsks
	case msgL2Update:
		need = fProduct | fChanges
	case msgHeartbeat:
		need = fProduct
	}
	if seen&need != need {
		s.Fail("message of type " + kindName(m.Kind) + " lacks a required field")
		return s.err()
	}
	return nil
}

func kindName(k msgKind) string {
	return [...]string{"other", "subscriptions", "error", "heartbeat", "match", "last_match", "snapshot", "l2update"}[k]
}

// changes reads l2update changes [["buy"|"sell", price, size], ...] into
// bids (buy) and asks (sell). A size of 0 removes the level.
func (s *scanner) changes(bids, asks []domain.BookLevel) ([]domain.BookLevel, []domain.BookLevel) {
	for more := s.EnterArray(); more; more = s.MoreArray() {
		var lv domain.BookLevel
		buy, col := false, 0
		for m := s.EnterArray(); m; m = s.MoreArray() {
			switch col {
			case 0:
				switch string(s.Str()) {
				case "buy":
					buy = true
				case "sell":
				default:
					if !s.Failed() {
						s.Fail("change side is neither buy nor sell")
					}
				}
			case 1:
				lv.Price = s.Dec()
			case 2:
				lv.Amount = s.Dec()
			default:
				s.Skip()
			}
			col++
		}
		if col < 3 && !s.Failed() {
			s.Fail("l2update change with fewer than 3 columns")
		}
		if buy {
			bids = append(bids, lv)
		} else {
			asks = append(asks, lv)
		}
	}
	return bids, asks
}
