package kraken

import (
	"strconv"
	"time"

	"github.com/govalues/decimal"

	"github.com/pype-go/pype/domain"
)

// parseErrors reads the error array of a Kraken envelope
// {"error":[...],"result":...}. ok is false when the body is not such an
// envelope (no error member).
func parseErrors(body []byte) (errs []string, ok bool) {
	s := newScanner("envelope", body)
	if !s.enterObject() {
		return nil, false
	}
	for {
		k := s.key()
		if string(k) == "error" {
			ok = true
			if s.null() {
				// "error": null happens on some proxies; treat as empty.
			} else if s.enterArray() {
				for {
					errs = append(errs, string(s.str()))
					if !s.moreArray() {
						break
					}
				}
			}
			if s.err != nil {
				return nil, false
			}
			return errs, true
		}
		s.skip()
		if !s.moreObject() {
			break
		}
	}
	return nil, false
}

// result positions s at the value of the envelope's "result" member.
func (s *scanner) result() bool {
	if !s.enterObject() {
		s.fail("empty envelope")
		return false
	}
	for {
		k := s.key()
		if string(k) == "result" {
			return s.err == nil
		}
		s.skip()
		if !s.moreObject() {
			break
		}
	}
	s.fail(`no "result" member`)
	return false
}

// ohlcRow is one OHLC row: [time, open, high, low, close, vwap, volume,
// count].
type ohlcRow struct {
	Bar  domain.OHLCBar // Closed is left false: the caller knows the venue's clock
	VWAP decimal.Decimal
}

// parseOHLC reads a GET /0/public/OHLC body. last is the result's "last"
// (the open time of the newest committed bar, in seconds), 0 if absent.
// Times are converted to ns.
func parseOHLC(body []byte, dst []ohlcRow) (rows []ohlcRow, last int64, err error) {
	s := newScanner("OHLC", body)
	rows = dst[:0]
	if !s.result() {
		return nil, 0, s.err
	}
	if s.enterObject() {
		for {
			k := s.key()
			if string(k) == "last" {
				last = s.int()
			} else if s.enterArray() {
				for {
					var r ohlcRow
					if s.enterArray() {
						r.Bar.OpenTime = domain.SecondsToNanos(s.int())
						s.expect(',')
						r.Bar.Open = s.dec()
						s.expect(',')
						r.Bar.High = s.dec()
						s.expect(',')
						r.Bar.Low = s.dec()
						s.expect(',')
						r.Bar.Close = s.dec()
						s.expect(',')
						r.VWAP = s.dec()
						s.expect(',')
						r.Bar.Volume = s.dec()
						s.expect(',')
						r.Bar.Trades = s.int()
						for s.moreArray() {
							s.skip() // fields a later API version may add
						}
					}
					rows = append(rows, r)
					if !s.moreArray() {
						break
					}
				}
			}
			if !s.moreObject() {
				break
			}
		}
	}
	s.skipRest()
	return rows, last, s.err
}

// skipRest consumes the rest of the envelope after the result.
func (s *scanner) skipRest() {
	for s.err == nil && s.moreObject() {
		s.key()
		s.skip()
	}
	if s.err == nil {
		s.end()
	}
}

// tradeRow is one Trades row: [price, volume, time, side b/s, type m/l,
// misc, trade_id].
type tradeRow struct {
	Trade   domain.Trade
	TradeID int64 // 0 when the row has no trade_id (older API versions)
	Market  bool  // order type: market (m) or limit (l)
	Misc    string
}

// parseTrades reads a GET /0/public/Trades body. last is the result's
// "last" cursor (ns), 0 if absent.
func parseTrades(body []byte, dst []tradeRow) (rows []tradeRow, last int64, err error) {
	s := newScanner("Trades", body)
	rows = dst[:0]
	if !s.result() {
		return nil, 0, s.err
	}
	if s.enterObject() {
		for {
			k := s.key()
			if string(k) == "last" {
				last = s.int()
			} else if s.enterArray() {
				for {
					var r tradeRow
					s.tradeRow(&r)
					rows = append(rows, r)
					if !s.moreArray() {
						break
					}
				}
			}
			if !s.moreObject() {
				break
			}
		}
	}
	s.skipRest()
	return rows, last, s.err
}

func (s *scanner) tradeRow(r *tradeRow) {
	if !s.enterArray() {
		s.fail("empty trade row")
		return
	}
	r.Trade.Price = s.dec()
	s.expect(',')
	r.Trade.Amount = s.dec()
	s.expect(',')
	t := s.scalar()
	if s.err == nil {
		ns, ok := secondsToNanos(t)
		if !ok {
			s.fail("invalid trade time " + strconv.Quote(string(t)))
		}
		r.Trade.Time = ns
	}
	s.expect(',')
	switch side := s.str(); string(side) {
	case "b":
		r.Trade.Side = domain.Buy
	case "s":
		r.Trade.Side = domain.Sell
	default:
		if s.err == nil {
			s.fail("invalid trade side " + strconv.Quote(string(side)))
		}
	}
	if !s.moreArray() {
		return
	}
	r.Market = string(s.str()) == "m"
	if !s.moreArray() {
		return
	}
	r.Misc = string(s.str())
	if !s.moreArray() {
		return
	}
	if s.null() {
		r.TradeID = 0
	} else {
		r.TradeID = s.int()
	}
	if r.TradeID != 0 {
		r.Trade.ID = strconv.FormatInt(r.TradeID, 10)
	}
	for s.moreArray() {
		s.skip()
	}
}

// depthBook is a Depth answer; levels are [price, volume, timestamp].
type depthBook struct {
	Bids, Asks []domain.BookLevel
	Newest     int64 // newest level timestamp, ns
}

// parseDepth reads a GET /0/public/Depth body.
func parseDepth(body []byte) (depthBook, error) {
	s := newScanner("Depth", body)
	var b depthBook
	if !s.result() {
		return b, s.err
	}
	if s.enterObject() {
		for {
			s.key() // the pair
			if s.enterObject() {
				for {
					side := string(s.key())
					var lv *[]domain.BookLevel
					switch side {
					case "bids":
						lv = &b.Bids
					case "asks":
						lv = &b.Asks
					default:
						s.skip()
					}
					if lv != nil && s.enterArray() {
						for {
							if s.enterArray() {
								var l domain.BookLevel
								l.Price = s.dec()
								s.expect(',')
								l.Amount = s.dec()
								for s.moreArray() {
									if ns, ok := secondsToNanos(s.scalar()); ok && ns > b.Newest {
										b.Newest = ns
									}
								}
								*lv = append(*lv, l)
							}
							if !s.moreArray() {
								break
							}
						}
					}
					if !s.moreObject() {
						break
					}
				}
			}
			if !s.moreObject() {
				break
			}
		}
	}
	s.skipRest()
	return b, s.err
}

// parseTime reads GET /0/public/Time: {"unixtime":1688669448,"rfc1123":...}.
func parseTime(body []byte) (time.Time, error) {
	s := newScanner("Time", body)
	if !s.result() {
		return time.Time{}, s.err
	}
	var sec int64
	found := false
	if s.enterObject() {
		for {
			if string(s.key()) == "unixtime" {
				sec, found = s.int(), true
			} else {
				s.skip()
			}
			if !s.moreObject() {
				break
			}
		}
	}
	s.skipRest()
	if s.err == nil && !found {
		s.fail(`no "unixtime"`)
	}
	if s.err != nil {
		return time.Time{}, s.err
	}
	return time.Unix(sec, 0).UTC(), nil
}
