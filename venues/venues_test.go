package venues

import (
	"context"
	"errors"
	"testing"

	"go.uber.org/goleak"

	"github.com/pype-go/pype/domain"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type fakeVenue struct {
	info Info
	cfg  Config
}

func (f *fakeVenue) Info() Info   { return f.info }
func (f *fakeVenue) Close() error { return nil }

func newTestRegistry(t *testing.T, env map[string]string) *Registry {
	t.Helper()
	r := NewRegistry()
	r.Getenv = func(k string) string { return env[k] }
	info := Info{Name: "Demo", RESTURL: "https://rest.invalid", WSURL: "wss://ws.invalid",
		Capabilities: []domain.Capability{{DataType: domain.OHLC, Transport: domain.REST, Mode: domain.Backfill, MaxPerRequest: 1000}}}
	err := r.Register(info, func(_ context.Context, cfg Config) (Venue, error) {
		return &fakeVenue{info: info, cfg: cfg}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestRegistryOpenURLPrecedence(t *testing.T) {
	tests := []struct {
		name     string
		env      map[string]string
		cfg      Config
		wantREST string
		wantWS   string
	}{
		{"defaults", nil, Config{}, "https://rest.invalid", "wss://ws.invalid"},
		{"env", map[string]string{"PYPE_DEMO_REST_URL": "http://127.0.0.1:1", "PYPE_DEMO_WS_URL": "ws://127.0.0.1:2"}, Config{}, "http://127.0.0.1:1", "ws://127.0.0.1:2"},
		{"config beats env", map[string]string{"PYPE_DEMO_REST_URL": "http://127.0.0.1:1"}, Config{RESTURL: "http://127.0.0.1:3"}, "http://127.0.0.1:3", "wss://ws.invalid"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newTestRegistry(t, tc.env)
			v, err := r.Open(context.Background(), "DEMO", tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			got := v.(*fakeVenue).cfg
			if got.RESTURL != tc.wantREST || got.WSURL != tc.wantWS || got.Logger == nil {
				t.Fatalf("got rest=%q ws=%q", got.RESTURL, got.WSURL)
			}
		})
	}
}

func TestRegistryErrors(t *testing.T) {
	r := newTestRegistry(t, nil)
	var ue *UnknownVenueError
	if _, err := r.Open(context.Background(), "nope", Config{}); !errors.As(err, &ue) || ue.Known[0] != "demo" {
		t.Fatalf("unknown venue: %v", err)
	}
	if err := r.Register(Info{Name: "demo"}, func(context.Context, Config) (Venue, error) { return nil, nil }); err == nil {
		t.Fatal("duplicate accepted")
	}
	if err := r.Register(Info{}, nil); err == nil {
		t.Fatal("empty accepted")
	}
	var zero Registry
	if len(zero.Names()) != 0 || len(zero.List()) != 0 {
		t.Fatal("zero registry not empty")
	}
	info, _ := r.Info("demo")
	if _, ok := info.Capability(domain.OHLC, domain.REST, domain.Backfill); !ok {
		t.Fatal("capability lookup")
	}
	if _, ok := info.Capability(domain.Trades, domain.REST, domain.Backfill); ok {
		t.Fatal("phantom capability")
	}
}

func TestBaseURL(t *testing.T) {
	tests := []struct {
		given, def, defPath string
		want                string
		err                 bool
	}{
		{"", "https://api.example.invalid/", "", "https://api.example.invalid", false},
		{"http://127.0.0.1:8080/", "https://x.invalid", "", "http://127.0.0.1:8080", false},
		{"http://127.0.0.1:8080", "https://x.invalid", "/api/v1", "http://127.0.0.1:8080/api/v1", false},
		{"http://127.0.0.1:8080/v2/", "https://x.invalid", "/api/v1", "http://127.0.0.1:8080/v2", false},
		{"ftp://x", "", "", "", true},
		{"nope", "", "", "", true},
		{"://", "", "", "", true},
		{"http://", "", "", "", true},
	}
	for _, tc := range tests {
		got, err := BaseURL("demo", tc.given, tc.def, tc.defPath, "http", "https")
		var ue *URLError
		if tc.err {
			if !errors.As(err, &ue) || ue.Venue != "demo" {
				t.Errorf("BaseURL(%q) = %q, %v; want *URLError", tc.given, got, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("BaseURL(%q, %q, %q) = %q, %v; want %q", tc.given, tc.def, tc.defPath, got, err, tc.want)
		}
	}
}
