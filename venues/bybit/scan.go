package bybit

import (
	"bytes"
	"strconv"
	"strings"

	"github.com/pype-go/pype/domain"
)

// parseKlinesFast decodes a successful kline page without reflection: the
// list of rows of seven plain decimal strings that Bybit sends. It reports
// ok = false (and the caller falls back to encoding/json) for anything
// else: an error envelope, numbers sent as JSON numbers, escapes, other
// shapes.
func parseKlinesFast(body []byte, cat Category) (bars []domain.OHLCBar, ok bool) {
	if !bytes.HasPrefix(body, okPrefix) {
		return nil, false
	}
	s := string(body)
	i := strings.Index(s, `"list":[`)
	if i < 0 {
		return nil, false
	}
	i += len(`"list":[`)
	bars = make([]domain.OHLCBar, 0, strings.Count(s[i:], "],[")+1)
	var row [7]string
	for {
		i = skipWS(s, i)
		if i >= len(s) {
			return nil, false
		}
		if s[i] == ']' {
			return bars, true
		}
		if s[i] != '[' {
			return nil, false
		}
		i++
		for col := 0; col < 7; col++ {
			i = skipWS(s, i)
			if i >= len(s) || s[i] != '"' {
				return nil, false
			}
			end := strings.IndexByte(s[i+1:], '"')
			if end < 0 {
				return nil, false
			}
			row[col] = s[i+1 : i+1+end]
			if strings.IndexByte(row[col], '\\') >= 0 {
				return nil, false
			}
			i = skipWS(s, i+end+2)
			want := byte(',')
			if col == 6 {
				want = ']'
			}
			if i >= len(s) || s[i] != want {
				return nil, false
			}
			i++
		}
		ms, err := strconv.ParseInt(row[0], 10, 64)
		if err != nil {
			return nil, false
		}
		b, err := klineFields(ms, [6]string(row[1:]), cat)
		if err != nil {
			return nil, false
		}
		bars = append(bars, b)
		i = skipWS(s, i)
		if i < len(s) && s[i] == ',' {
			i++
		}
	}
}

func skipWS(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\n' || s[i] == '\r' || s[i] == '\t') {
		i++
	}
	return i
}
