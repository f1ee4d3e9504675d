package kraken

import (
	"strconv"
	"time"

	"github.com/govalues/decimal"

	"github.com/pype-go/pype/domain"
)

// msgKind is the kind of a WebSocket v2 message.
type msgKind uint8

const (
	msgOther     msgKind = iota // unknown channel or method: ignored
	msgHeartbeat                // {"channel":"heartbeat"}
	msgStatus                   // {"channel":"status",...}
	msgTrade                    // channel trade
	msgOHLC                     // channel ohlc
	msgBook                     // channel book
	msgAck                      // a method response (subscribe, unsubscribe, ...)
	msgPong                     // {"method":"pong",...}
)

// wsTrade is one trade of a trade message.
type wsTrade struct {
	Symbol  string // v2 name, BTC/USD
	TradeID int64
	Trade   domain.Trade
}

// wsBar is one candle of an ohlc message.
type wsBar struct {
	Symbol   string
	Interval int // minutes
	Bar      domain.OHLCBar
	VWAP     decimal.Decimal
}

// wsBook is one book snapshot or update.
type wsBook struct {
	Symbol      string
	Bids, Asks  []domain.BookLevel
	Checksum    uint32
	HasChecksum bool
	Time        int64
}

// wsMsg is a parsed WebSocket v2 message. Its slices are reused by the
// next parse.
type wsMsg struct {
	Kind    msgKind
	Channel string
	Type    string // "snapshot" or "update"
	// Method responses.
	Method     string
	Success    bool
	Error      string
	AckChannel string // result.channel
	AckSymbol  string // result.symbol, or the symbol of an error
	ReqID      int64
	// Data.
	Trades []wsTrade
	Bars   []wsBar
	Books  []wsBook
}

func (m *wsMsg) reset() {
	trades, bars, books := m.Trades[:0], m.Bars[:0], m.Books[:0]
	for i := range books {
		books[i].Bids, books[i].Asks = books[i].Bids[:0], books[i].Asks[:0]
	}
	*m = wsMsg{Trades: trades, Bars: bars, Books: books}
}

// isControl reports frames that are connection housekeeping: heartbeats,
// the status message and pongs. It looks at the first member only, which is
// where Kraken puts channel and method.
func isControl(b []byte) bool {
	s := newScanner("control", b)
	if !s.EnterObject() {
		return false
	}
	switch string(s.Key()) {
	case "channel":
		switch string(s.Str()) {
		case "heartbeat", "status":
			return true
		}
	case "method":
		return string(s.Str()) == "pong"
	}
	return false
}

// parseMessage parses a WebSocket v2 message into m.
func parseMessage(b []byte, m *wsMsg) error {
	m.reset()
	s := newScanner("message", b)
	if !s.EnterObject() {
		return s.err()
	}
	data := -1
	for {
		switch string(s.Key()) {
		case "channel":
			m.Channel = string(s.Str())
		case "type":
			m.Type = string(s.Str())
		case "method":
			m.Method = string(s.Str())
		case "success":
			m.Success = string(s.Token()) == "true"
		case "error":
			if s.Peek() == '"' {
				m.Error = string(s.Str())
			} else {
				s.Skip()
			}
		case "symbol":
			m.AckSymbol = string(s.Str())
		case "req_id":
			m.ReqID = s.Int()
		case "result":
			s.ackResult(m)
		case "data":
			s.Peek()
			data = s.Pos()
			s.Skip()
		default:
			s.Skip()
		}
		if !s.MoreObject() {
			break
		}
	}
	s.End()
	if s.Failed() {
		return s.err()
	}
	switch {
	case m.Method == "pong":
		m.Kind = msgPong
		return nil
	case m.Method != "":
		m.Kind = msgAck
		return nil
	}
	switch m.Channel {
	case "heartbeat":
		m.Kind = msgHeartbeat
		return nil
	case "status":
		m.Kind = msgStatus
		return nil
	case "trade":
		m.Kind = msgTrade
	case "ohlc":
		m.Kind = msgOHLC
	case "book":
		m.Kind = msgBook
	default:
		return nil
	}
	if data < 0 {
		return &DecodeError{What: m.Channel, Reason: `no "data" member`, Near: string(b[:min(len(b), 64)])}
	}
	d := newScanner(m.Channel, b)
	d.Seek(data)
	if d.EnterArray() {
		for {
			switch m.Kind {
			case msgTrade:
				m.Trades = append(m.Trades, wsTrade{})
				d.tradeItem(&m.Trades[len(m.Trades)-1])
			case msgOHLC:
				m.Bars = append(m.Bars, wsBar{})
				d.barItem(&m.Bars[len(m.Bars)-1])
			case msgBook:
				if len(m.Books) < cap(m.Books) {
					m.Books = m.Books[:len(m.Books)+1]
				} else {
					m.Books = append(m.Books, wsBook{})
				}
				d.bookItem(&m.Books[len(m.Books)-1])
			}
			if !d.MoreArray() {
				break
			}
		}
	}
	return d.err()
}

func (s *scanner) ackResult(m *wsMsg) {
	if s.Peek() != '{' {
		s.Skip()
		return
	}
	if !s.EnterObject() {
		return
	}
	for {
		switch string(s.Key()) {
		case "channel":
			m.AckChannel = string(s.Str())
		case "symbol":
			m.AckSymbol = string(s.Str())
		default:
			s.Skip()
		}
		if !s.MoreObject() {
			return
		}
	}
}

func (s *scanner) tradeItem(t *wsTrade) {
	if !s.EnterObject() {
		return
	}
	for {
		switch string(s.Key()) {
		case "symbol":
			t.Symbol = string(s.Str())
		case "side":
			switch string(s.Str()) {
			case "buy":
				t.Trade.Side = domain.Buy
			case "sell":
				t.Trade.Side = domain.Sell
			}
		case "price":
			t.Trade.Price = s.dec()
		case "qty":
			t.Trade.Amount = s.dec()
		case "trade_id":
			t.TradeID = s.Int()
			t.Trade.ID = strconv.FormatInt(t.TradeID, 10)
		case "timestamp":
			t.Trade.Time = s.time()
		default:
			s.Skip()
		}
		if !s.MoreObject() {
			return
		}
	}
}

func (s *scanner) barItem(b *wsBar) {
	if !s.EnterObject() {
		return
	}
	for {
		switch string(s.Key()) {
		case "symbol":
			b.Symbol = string(s.Str())
		case "open":
			b.Bar.Open = s.dec()
		case "high":
			b.Bar.High = s.dec()
		case "low":
			b.Bar.Low = s.dec()
		case "close":
			b.Bar.Close = s.dec()
		case "vwap":
			b.VWAP = s.dec()
		case "volume":
			b.Bar.Volume = s.dec()
		case "trades":
			b.Bar.Trades = s.Int()
		case "interval":
			b.Interval = int(s.Int())
		case "interval_begin":
			b.Bar.OpenTime = s.time()
		default:
			s.Skip() // "timestamp" is the interval's end (deprecated)
		}
		if !s.MoreObject() {
			return
		}
	}
}

func (s *scanner) bookItem(b *wsBook) {
	bids, asks := b.Bids[:0], b.Asks[:0]
	*b = wsBook{Bids: bids, Asks: asks}
	if !s.EnterObject() {
		return
	}
	for {
		switch string(s.Key()) {
		case "symbol":
			b.Symbol = string(s.Str())
		case "bids":
			b.Bids = s.levelObjects(b.Bids)
		case "asks":
			b.Asks = s.levelObjects(b.Asks)
		case "checksum":
			n := s.Int()
			if n < 0 || n > 1<<32-1 {
				s.Fail("checksum out of range")
			}
			b.Checksum, b.HasChecksum = uint32(n), true
		case "timestamp":
			b.Time = s.time()
		default:
			s.Skip()
		}
		if !s.MoreObject() {
			return
		}
	}
}

// levelObjects reads [{"price":…,"qty":…},…].
func (s *scanner) levelObjects(dst []domain.BookLevel) []domain.BookLevel {
	if !s.EnterArray() {
		return dst
	}
	for {
		var l domain.BookLevel
		if s.EnterObject() {
			for {
				switch string(s.Key()) {
				case "price":
					l.Price = s.dec()
				case "qty":
					l.Amount = s.dec()
				default:
					s.Skip()
				}
				if !s.MoreObject() {
					break
				}
			}
		}
		dst = append(dst, l)
		if !s.MoreArray() {
			return dst
		}
	}
}

// time reads an RFC 3339 timestamp ("2023-09-25T07:49:37.708706Z") as ns.
func (s *scanner) time() int64 {
	t := s.Str()
	if s.Failed() {
		return 0
	}
	if ns, ok := parseRFC3339UTC(t); ok {
		return ns
	}
	tt, err := time.Parse(time.RFC3339Nano, string(t))
	if err != nil {
		s.Fail("invalid timestamp " + strconv.Quote(string(t)))
		return 0
	}
	return tt.UnixNano()
}

// parseRFC3339UTC is a fast path for "YYYY-MM-DDTHH:MM:SS[.fraction]Z".
func parseRFC3339UTC(b []byte) (int64, bool) {
	if len(b) < 20 || b[4] != '-' || b[7] != '-' || b[10] != 'T' || b[13] != ':' || b[16] != ':' || b[len(b)-1] != 'Z' {
		return 0, false
	}
	num := func(i, n int) (int, bool) {
		v := 0
		for _, c := range b[i : i+n] {
			if c < '0' || c > '9' {
				return 0, false
			}
			v = v*10 + int(c-'0')
		}
		return v, true
	}
	y, ok1 := num(0, 4)
	mo, ok2 := num(5, 2)
	d, ok3 := num(8, 2)
	h, ok4 := num(11, 2)
	mi, ok5 := num(14, 2)
	sec, ok6 := num(17, 2)
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60 {
		return 0, false
	}
	frac := int64(0)
	if len(b) > 20 {
		if b[19] != '.' {
			return 0, false
		}
		digits := b[20 : len(b)-1]
		if len(digits) == 0 || len(digits) > 9 {
			return 0, false
		}
		for _, c := range digits {
			if c < '0' || c > '9' {
				return 0, false
			}
			frac = frac*10 + int64(c-'0')
		}
		for range 9 - len(digits) {
			frac *= 10
		}
	}
	days := daysFromCivil(y, mo, d)
	return ((days*24+int64(h))*60+int64(mi))*60*1e9 + int64(sec)*1e9 + frac, true
}

// daysFromCivil returns the days since 1970-01-01 of a proleptic Gregorian
// date (Howard Hinnant's algorithm).
func daysFromCivil(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era = (y - 399) / 400
	}
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era)*146097 + int64(doe) - 719468
}
