package app

import (
	"context"
	"errors"
	"testing"

	"github.com/pype-go/pype/app/apptest"
	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/store/runs"
)

func TestRunHistoryRecordsInterruptionAndResume(t *testing.T) {
	v := &apptest.Venue{}
	a := newTestApp(t, v)
	h := &RunHistory{Path: RunsPath(a.DataDir), Logger: a.Logger}
	defer h.Close()
	a.Runs = h
	req := BackfillRequest{Venue: "fake", Symbols: []domain.Symbol{btc}, Type: domain.OHLC, Span: domain.Span1m,
		Range: rng("2024-01-01", "2024-01-02"), Params: map[string]string{"command": "pype backfill"}}
	ctx, cancel := context.WithCancel(context.Background())
	paused := v.PauseAfter(300)
	go func() { <-paused; cancel() }()
	first, err := a.Backfill(ctx, req)
	if !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	second := mustBackfill(t, a, req)
	db, err := h.DB(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	r1, err := db.Get(context.Background(), first.RunID)
	if err != nil || r1.State != runs.Interrupted || r1.Rows != 300 || r1.ResumedBy != second.RunID {
		t.Fatalf("first run %+v %v", r1, err)
	}
	r2, err := db.Get(context.Background(), second.RunID)
	if err != nil || r2.State != runs.Done || r2.ResumedFrom != first.RunID || r2.Rows != 1440-300 {
		t.Fatalf("second run %+v %v", r2, err)
	}
	// A failure is recorded with its message.
	v.FailAfter(10)
	req.Range = rng("2024-01-02", "2024-01-03")
	if _, err := a.Backfill(context.Background(), req); err == nil {
		t.Fatal("no error")
	}
	list, err := db.List(context.Background(), runs.Filter{State: runs.Failed})
	if err != nil || len(list) != 1 || list[0].LastError == "" {
		t.Fatalf("failed runs %+v %v", list, err)
	}
}
