package operators

import (
	"encoding/json"
	"testing"
	"time"
)

func TestPlatformValidate(t *testing.T) {
	tests := []struct {
		p  Platform
		ok bool
	}{
		{ExchangePlatform("binance"), true},
		{ExchangePlatform("binance").WithTestnet(true), true},
		{ChainPlatform("ethereum", "1"), true},
		{Platform{Identifier: "binance"}, false},                                    // no kind
		{ExchangePlatform(""), false},                                               // empty
		{ExchangePlatform("Binance"), false},                                        // uppercase
		{ExchangePlatform("bin ance"), false},                                       // space
		{Platform{Identifier: "x", Kind: CentralizedExchange, ChainID: "1"}, false}, // chain id on exchange
		{Platform{Identifier: "x", Kind: 9}, false},
	}
	for _, tt := range tests {
		if err := tt.p.Validate(); (err == nil) != tt.ok {
			t.Errorf("%#v: Validate = %v, want ok=%v", tt.p, err, tt.ok)
		}
	}
}

func TestPlatformComparableAndJSON(t *testing.T) {
	m := map[Platform]int{ChainPlatform("ethereum", "1"): 1, ChainPlatform("ethereum", "11155111").WithTestnet(true): 2}
	if m[ChainPlatform("ethereum", "1")] != 1 {
		t.Fatal("platform not usable as map key")
	}
	p := ChainPlatform("ethereum", "11155111").WithTestnet(true)
	if p.String() != "ethereum[chain=11155111](testnet)" {
		t.Fatalf("String = %q", p.String())
	}
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != `{"identifier":"ethereum","kind":"blockchain","chain_id":"11155111","testnet":true}` {
		t.Fatalf("JSON %s", b)
	}
	var back Platform
	if err := json.Unmarshal(b, &back); err != nil || back != p {
		t.Fatalf("round trip %v %v", back, err)
	}
	var k PlatformKind
	if err := k.UnmarshalText([]byte("mars")); err == nil {
		t.Fatal("unknown kind accepted")
	}
	if PlatformKind(7).String() != "PlatformKind(7)" {
		t.Fatal(PlatformKind(7).String())
	}
}

type configWithExtras struct {
	OperatorConfiguration
	RESTBaseURL string
}

func TestBase(t *testing.T) {
	clk := &manualClock{t: time.Unix(1_700_000_000, 0)}
	cfg := configWithExtras{OperatorConfiguration: OperatorConfiguration{Platform: ExchangePlatform("kraken")}, RESTBaseURL: "http://127.0.0.1"}
	var c Configurer = cfg // embedding gives the Configurer method
	b, err := NewBase(c.OperatorConfig(), WithClock(clk), WithLogger(quietLogger()))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	var op Operator = b
	if op.Name() != "kraken" || op.DisplayName() != "kraken" || op.Platform() != ExchangePlatform("kraken") {
		t.Fatalf("names %q %q %v", op.Name(), op.DisplayName(), op.Platform())
	}
	if op.Configuration() != cfg.OperatorConfiguration {
		t.Fatal("configuration")
	}
	if op.Publishing() == nil {
		t.Fatal("no publisher")
	}
	if op.CurrentTimestamp() != clk.t.UnixNano() {
		t.Fatal("timestamp without offset differs from the local clock")
	}
	send := clk.t
	b.ClockOffset().AddSample(send, send.Add(1500*time.Millisecond), send.Add(time.Second))
	if got, want := op.CurrentTimestamp(), clk.t.Add(time.Second).UnixNano(); got != want {
		t.Fatalf("CurrentTimestamp = %d, want %d (local + 1 s offset)", got, want)
	}
	if b.Nonce().Unit() != time.Microsecond || b.Nonce().TrackingNonce() != clk.t.UnixMicro() {
		t.Fatal("default nonce creator is not microseconds on the operator clock")
	}
	if b.String() != "kraken (kraken)" {
		t.Fatal(b.String())
	}
	named, _ := NewBase(OperatorConfiguration{Platform: ExchangePlatform("kraken"), DisplayName: "Kraken Pro"}, WithLogger(quietLogger()))
	defer named.Close()
	if named.DisplayName() != "Kraken Pro" {
		t.Fatal(named.DisplayName())
	}
	if _, err := NewBase(OperatorConfiguration{}); err == nil {
		t.Fatal("empty configuration accepted")
	}
	shared := quietPublisher()
	s, _ := NewBase(OperatorConfiguration{Platform: ExchangePlatform("okx")}, WithPublisher(shared), WithNonceCreator(ForMilliseconds()))
	_ = s.Close()
	if err := Publish(shared, intTopic, 1); err != nil {
		t.Fatal("closing the operator closed a shared publisher")
	}
	if s.Nonce().Unit() != time.Millisecond {
		t.Fatal("nonce option ignored")
	}
	_ = shared.Close()
}
