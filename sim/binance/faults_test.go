package binance_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pype-go/pype/sim"
	"github.com/pype-go/pype/sim/simtest"
)

// TestRESTFaultsObservable: each REST fault type is visible to a client.
func TestRESTFaultsObservable(t *testing.T) {
	s := frozen(t)
	url := s.REST("binance") + "/api/v3/klines?symbol=BTCUSDT&interval=1m&limit=500"
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	do := func() (*http.Response, []byte, error) {
		resp, err := client.Get(url)
		if err != nil {
			return nil, nil, err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return resp, b, err
	}
	cases := []struct {
		name  string
		f     sim.Faults
		check func(*http.Response, []byte, error) bool
	}{
		{"5xx", sim.Faults{ServerErrorRate: 1}, func(r *http.Response, b []byte, err error) bool {
			return err == nil && r.StatusCode >= 500 && strings.Contains(string(b), "<html>") && r.Header.Get("Content-Type") == "text/html"
		}},
		{"reset", sim.Faults{ResetRate: 1}, func(r *http.Response, b []byte, err error) bool { return err != nil && r == nil }},
		{"truncate", sim.Faults{TruncateRate: 1}, func(r *http.Response, b []byte, err error) bool {
			return err != nil && errors.Is(err, io.ErrUnexpectedEOF) && r.StatusCode == 200 && len(b) > 0
		}},
		{"429", sim.Faults{RateLimitRate: 1}, func(r *http.Response, b []byte, err error) bool {
			return err == nil && r.StatusCode == 429 && r.Header.Get("Retry-After") != "" && strings.Contains(string(b), "-1003")
		}},
		{"latency", sim.Faults{Latency: time.Millisecond, Jitter: time.Millisecond}, func(r *http.Response, b []byte, err error) bool {
			return err == nil && r.StatusCode == 200
		}},
	}
	for _, c := range cases {
		s.SetFaults("binance", c.f)
		r, b, err := do()
		if !c.check(r, b, err) {
			status := 0
			if r != nil {
				status = r.StatusCode
			}
			t.Errorf("%s: status %d err %v body %.80q", c.name, status, err, b)
		}
	}
	s.SetFaults("binance", sim.Faults{})
	st := s.Stats("binance")
	for _, k := range []string{sim.FaultServerError, sim.FaultReset, sim.FaultTruncate, sim.FaultRateLimit, sim.FaultLatency} {
		if st.Faults[k] != 1 {
			t.Errorf("fault %s counted %d times", k, st.Faults[k])
		}
	}
	// Clock skew shifts serverTime.
	s.SetFaults("binance", sim.Faults{ClockSkew: -1500 * time.Millisecond})
	var tm struct{ ServerTime int64 }
	getJSON(t, s.REST("binance")+"/api/v3/time", &tm)
	if tm.ServerTime != fixedNow.UnixMilli()-1500 {
		t.Fatalf("skewed serverTime %d", tm.ServerTime)
	}
	// Faults can be set over HTTP too, in ParseFaults' text form.
	resp, err := http.Post(s.REST("binance")+"/_sim/faults", "text/plain", strings.NewReader("5xx=0.5,skew=2s"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if f := s.Venue("binance").Env.Faults.Get(); f.ServerErrorRate != 0.5 || f.ClockSkew != 2*time.Second {
		t.Fatalf("faults after POST: %+v", f)
	}
}

// TestFaultsAreSeeded: the same seed and request order give the same faults.
func TestFaultsAreSeeded(t *testing.T) {
	run := func() string {
		s := frozen(t, simtest.Faults("binance", sim.Faults{ServerErrorRate: 0.5}))
		var out []byte
		for i := 0; i < 30; i++ {
			out = append(out, byte('0'+get(t, s.REST("binance")+"/api/v3/ping").status/100))
		}
		return string(out)
	}
	a, b := run(), run()
	if a != b || !strings.Contains(a, "5") || !strings.Contains(a, "2") {
		t.Fatalf("fault sequences %s / %s", a, b)
	}
}

func TestSimEndpoints(t *testing.T) {
	s := frozen(t)
	base := s.REST("binance")
	get(t, base+"/api/v3/ping")
	var st sim.StatsSnapshot
	getJSON(t, base+"/_sim/stats", &st)
	if st.Venue != "binance" || st.Endpoints["/api/v3/ping"] != 1 || st.WeightUsed != 1 {
		t.Fatalf("stats %+v", st)
	}
	from := fixedNow.Add(-time.Hour).Format(time.RFC3339)
	r := get(t, base+"/_sim/truth/trades?symbol=BTC/USDT&from="+from+"&to="+fixedNow.Add(-59*time.Minute).Format(time.RFC3339))
	lines := strings.Split(strings.TrimSpace(string(r.body)), "\n")
	var tr struct{ ID, Price, Amount, Side string }
	if r.status != 200 || len(lines) < 10 || json.Unmarshal([]byte(lines[0]), &tr) != nil || tr.ID == "" || tr.Side == "" {
		t.Fatalf("truth trades: %d %q", r.status, lines[0])
	}
	r = get(t, base+"/_sim/truth/candles?symbol=BTCUSDT&span=1h&from="+fixedNow.Add(-2*time.Hour).Format(time.RFC3339))
	if r.status != 200 || strings.Count(string(r.body), "\n") != 2 {
		t.Fatalf("truth candles: %s", r.body)
	}
	r = get(t, base+"/_sim/truth/book?symbol=BTC-USDT&depth=3")
	var bk struct{ Bids, Asks [][2]string }
	if json.Unmarshal(r.body, &bk) != nil || len(bk.Bids) != 3 || len(bk.Asks) != 3 {
		t.Fatalf("truth book: %s", r.body)
	}
	if r := get(t, base+"/_sim/truth/trades?symbol=DOGE/USDT"); r.status != 400 || !strings.Contains(string(r.body), "BTC/USDT") {
		t.Fatalf("bad symbol: %d %s", r.status, r.body)
	}
}
