package app

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/pype-go/pype/app/apptest"
	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/venues"
)

var (
	btc = domain.NewSymbol("BTC", "USDT")
	eth = domain.NewSymbol("ETH", "USDT")
)

func ts(s string) int64 {
	v, err := domain.ParseTime(s)
	if err != nil {
		panic(err)
	}
	return v
}

// testNow is the fixed clock of the tests: 2024-03-01.
var testNow = time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)

func newTestApp(t *testing.T, v *apptest.Venue) *App {
	t.Helper()
	reg := venues.NewRegistry()
	reg.Getenv = func(string) string { return "" }
	if err := v.Register(reg); err != nil {
		t.Fatal(err)
	}
	return &App{
		Venues:  reg,
		DataDir: t.TempDir(),
		Logger:  slog.New(slog.DiscardHandler),
		Now:     func() time.Time { return testNow },
	}
}

func rng(from, to string) domain.Range { return domain.Range{Start: ts(from), End: ts(to)} }

func mustBackfill(t *testing.T, a *App, req BackfillRequest) *BackfillResult {
	t.Helper()
	res, err := a.Backfill(context.Background(), req)
	if err != nil {
		t.Fatalf("backfill: %v", err)
	}
	return res
}

// memRuns records runs in memory.
type memRuns struct {
	mu   sync.Mutex
	runs []RunRecord
}

func (m *memRuns) StartRun(_ context.Context, r RunRecord) (string, error) {
	return "mem-" + r.ID, m.put(r)
}
func (m *memRuns) UpdateRun(_ context.Context, r RunRecord) error { return m.put(r) }
func (m *memRuns) FinishRun(_ context.Context, r RunRecord) error { return m.put(r) }

func (m *memRuns) put(r RunRecord) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.runs = append(m.runs, r)
	return nil
}

func (m *memRuns) last() RunRecord {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.runs) == 0 {
		return RunRecord{}
	}
	return m.runs[len(m.runs)-1]
}
