package sim

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pype-go/pype/domain"
)

func TestParseFaultsRoundTrip(t *testing.T) {
	in := "latency=50ms,jitter=20ms,5xx=0.05,reset=0.02,truncate=0.02,429=0.01,wsdrop=1000,depthgap=200,wsdelay=0.01:250ms,wsdup=0.01,skew=-2s"
	f, err := ParseFaults(in)
	if err != nil {
		t.Fatal(err)
	}
	if f.Latency != 50*time.Millisecond || f.WSDelay != 250*time.Millisecond || f.ClockSkew != -2*time.Second || f.DepthGapEvery != 200 {
		t.Fatalf("%+v", f)
	}
	if f.String() != in {
		t.Fatalf("String() = %s", f.String())
	}
	for _, bad := range []string{"latency", "5xx=2", "wsdrop=-1", "nope=1", "latency=fast"} {
		if _, err := ParseFaults(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if f, err := ParseFaults(""); err != nil || !f.IsZero() {
		t.Fatal("empty spec")
	}
}

func TestLimiterRollingWindow(t *testing.T) {
	clk := &stepClock{t: testNow}
	l := NewLimiter(LimiterConfig{Rules: []RateRule{{Name: "W", Interval: 10 * time.Second, Limit: 10}}, BanAfter: 1}, clk, nil, nil)
	for i := 0; i < 5; i++ {
		if d := l.Take("a", 2); !d.Allowed || d.Used[0] != 2*(i+1) {
			t.Fatalf("take %d: %+v", i, d)
		}
		clk.t = clk.t.Add(time.Second)
	}
	d := l.Take("a", 2)
	if d.Allowed || d.RetryAfter != 5*time.Second {
		t.Fatalf("over: %+v", d)
	}
	if d := l.Take("b", 2); !d.Allowed {
		t.Fatal("keys are independent")
	}
	if d := l.Take("a", 1); !d.Banned {
		t.Fatalf("no ban: %+v", d)
	}
}

type stepClock struct{ t time.Time }

func (c *stepClock) Now() time.Time { return c.t }

// fakePersonality serves one route, to test the runner without a venue.
type fakePersonality struct{}

func (fakePersonality) Name() string          { return "fake" }
func (fakePersonality) Symbols() []SymbolSpec { return nil }
func (fakePersonality) RateRules() []RateRule {
	return []RateRule{{Name: "W", Interval: time.Minute, Limit: 100}}
}
func (fakePersonality) Handler(env *Env) (http.Handler, error) {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("ok")) }), nil
}

func TestRunPrintsAddressesAndStops(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Config{Registry: NewRegistry(fakePersonality{}), Listen: map[string]string{"fake": "127.0.0.1:0"}}, pw)
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(line, "fake rest=http://127.0.0.1:") || !strings.Contains(line, " ws=ws://127.0.0.1:") {
		t.Fatalf("printed %q", line)
	}
	url := strings.Fields(line)[1][len("rest="):]
	resp, err := http.Get(url + "/_sim/info")
	if err != nil {
		t.Fatal(err)
	}
	var info map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&info)
	resp.Body.Close()
	if info["venue"] != "fake" {
		t.Fatalf("info %v", info)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := Start(context.Background(), Config{Registry: NewRegistry(fakePersonality{}), Venues: []string{"nope"}}); err == nil ||
		!strings.Contains(err.Error(), "known: fake") {
		t.Fatalf("unknown venue: %v", err)
	}
}

func TestQueryTruthOffline(t *testing.T) {
	cfg := Config{Registry: NewRegistry(fakePersonality{}), Seed: 3, Now: testNow, Frozen: true, History: 24 * time.Hour}
	var out bytes.Buffer
	q := TruthQuery{Venue: "fake", Symbol: "BTCUSDT", Kind: "candles", Span: domain.Span1h,
		From: testNow.Add(-3 * time.Hour), To: testNow}
	if err := QueryTruth(context.Background(), cfg, q, &out); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(out.String(), "\n"); n != 3 {
		t.Fatalf("%d candles: %s", n, out.String())
	}
	// The same as a server with the same config would say.
	env, _ := NewEnv(context.Background(), fakePersonality{}, cfg)
	bars, _ := NewTruth(env.Market).Candles("BTC/USDT", domain.Span1h, testNow.Add(-3*time.Hour).UnixNano(), testNow.UnixNano())
	var first struct{ Close string }
	_ = json.Unmarshal([]byte(strings.SplitN(out.String(), "\n", 2)[0]), &first)
	if first.Close != bars[0].Close.String() {
		t.Fatalf("%s vs %s", first.Close, bars[0].Close)
	}
	q.Kind = "book"
	q.Depth = 2
	out.Reset()
	if err := QueryTruth(context.Background(), cfg, q, &out); err != nil || !strings.Contains(out.String(), `"bids":[[`) {
		t.Fatalf("book: %v %s", err, out.String())
	}
	q.Symbol = "DOGEUSDT"
	if err := QueryTruth(context.Background(), cfg, q, &out); err == nil {
		t.Fatal("unknown symbol accepted")
	}
}
