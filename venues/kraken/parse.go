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
	if !s.EnterObject() {
		return nil, false
	}
	for {
		k := s.Key()
		if string(k) == "error" {
			ok = true
			if s.Null() {
				// "error": null happens on some proxies; treat as empty.
			} else if s.EnterArray() {
				for {
					errs = append(errs, string(s.Str()))
					if !s.MoreArray() {
						break
					}
				}
			}
			if s.Failed() {
				return nil, false
			}
			return errs, true
		}
		s.Skip()
		if !s.MoreObject() {
			break
		}
	}
	return nil, false
}

// result positions s at the value of the envelope's "result" member.
func (s *scanner) result() bool {
	if !s.EnterObject() {
		s.Fail("empty envelope")
		return false
	}
	for {
		k := s.Key()
		if string(k) == "result" {
			return !s.Failed()
		}
		s.Skip()
		if !s.MoreObject() {
			break
		}
	}
	s.Fail(`no "result" member`)
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
		return nil, 0, s.err()
	}
	if s.EnterObject() {
		for {
			k := s.Key()
			if string(k) == "last" {
				last = s.Int()
			} else if s.EnterArray() {
				for {
					var r ohlcRow
					if s.EnterArray() {
						r.Bar.OpenTime = domain.SecondsToNanos(s.Int())
						s.Expect(',')
						r.Bar.Open = s.dec()
						s.Expect(',')
						r.Bar.High = s.dec()
						s.Expect(',')
						r.Bar.Low = s.dec()
						s.Expect(',')
						r.Bar.Close = s.dec()
						s.Expect(',')
						r.VWAP = s.dec()
						s.Expect(',')
						r.Bar.Volume = s.dec()
						s.Expect(',')
						r.Bar.Trades = s.Int()
						for s.MoreArray() {
							s.Skip() // fields a later API version may add
						}
					}
					rows = append(rows, r)
					if !s.MoreArray() {
						break
					}
				}
			}
			if !s.MoreObject() {
				break
			}
		}
	}
	s.skipRest()
	return rows, last, s.err()
}

// skipRest consumes the rest of the envelope after the result.
func (s *scanner) skipRest() {
	for !s.Failed() && s.MoreObject() {
		s.Key()
		s.Skip()
	}
	if !s.Failed() {
		s.End()
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
		return nil, 0, s.err()
	}
	if s.EnterObject() {
		for {
			k := s.Key()
			if string(k) == "last" {
				last = s.Int()
			} else if s.EnterArray() {
				for {
					var r tradeRow
					s.tradeRow(&r)
					rows = append(rows, r)
					if !s.MoreArray() {
						break
					}
				}
			}
			if !s.MoreObject() {
				break
			}
		}
	}
	s.skipRest()
	return rows, last, s.err()
}

func (s *scanner) tradeRow(r *tradeRow) {
	if !s.EnterArray() {
		s.Fail("empty trade row")
		return
	}
	r.Trade.Price = s.dec()
	s.Expect(',')
	r.Trade.Amount = s.dec()
	s.Expect(',')
	t := s.Scalar()
	if !s.Failed() {
		ns, ok := secondsToNanos(t)
		if !ok {
			s.Fail("invalid trade time " + strconv.Quote(string(t)))
		}
		r.Trade.Time = ns
	}
	s.Expect(',')
	switch side := s.Str(); string(side) {
	case "b":
		r.Trade.Side = domain.Buy
	case "s":
		r.Trade.Side = domain.Sell
	default:
		if !s.Failed() {
			s.Fail("invalid trade side " + strconv.Quote(string(side)))
		}
	}
	if !s.MoreArray() {
		return
	}
	r.Market = string(s.Str()) == "m"
	if !s.MoreArray() {
		return
	}
	r.Misc = string(s.Str())
	if !s.MoreArray() {
		return
	}
	if s.Null() {
		r.TradeID = 0
	} else {
		r.TradeID = s.Int()
	}
	if r.TradeID != 0 {
		r.Trade.ID = strconv.FormatInt(r.TradeID, 10)
	}
	for s.MoreArray() {
		s.Skip()
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
		return b, s.err()
	}
	if s.EnterObject() {
		for {
			s.Key() // the pair
			if s.EnterObject() {
				for {
					side := string(s.Key())
					var lv *[]domain.BookLevel
					switch side {
					case "bids":
						lv = &b.Bids
					case "asks":
						lv = &b.Asks
					default:
						s.Skip()
					}
					if lv != nil && s.EnterArray() {
						for {
							if s.EnterArray() {
								var l domain.BookLevel
								l.Price = s.dec()
								s.Expect(',')
								l.Amount = s.dec()
								for s.MoreArray() {
									if ns, ok := secondsToNanos(s.Scalar()); ok && ns > b.Newest {
										b.Newest = ns
									}
								}
								*lv = append(*lv, l)
							}
							if !s.MoreArray() {
								break
							}
						}
					}
					if !s.MoreObject() {
						break
					}
				}
			}
			if !s.MoreObject() {
				break
			}
		}
	}
	s.skipRest()
	return b, s.err()
}

// parseTime reads GET /0/public/Time: {"unixtime":1688669448,"rfc1123":...}.
func parseTime(body []byte) (time.Time, error) {
	s := newScanner("Time", body)
	if !s.result() {
		return time.Time{}, s.err()
	}
	var sec int64
	found := false
	if s.EnterObject() {
		for {
			if string(s.Key()) == "unixtime" {
				sec, found = s.Int(), true
			} else {
				s.Skip()
			}
			if !s.MoreObject() {
				break
			}
		}
	}
	s.skipRest()
	if !s.Failed() && !found {
		s.Fail(`no "unixtime"`)
	}
	if s.Failed() {
		return time.Time{}, s.err()
	}
	return time.Unix(sec, 0).UTC(), nil
}
