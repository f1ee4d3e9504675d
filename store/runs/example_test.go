package runs_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/pype-go/pype/store/runs"
)

func Example() {
	dir, _ := os.MkdirTemp("", "pype-runs")
	defer os.RemoveAll(dir)
	ctx := context.Background()

	db, err := runs.Open(ctx, filepath.Join(dir, "runs.db"), runs.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()

	params := map[string]any{"venue": "binance", "symbol": "BTC/USDT", "type": "trades", "from": "2024-01-01", "to": "2024-02-01"}
	// Continue an interrupted run with the same parameters, if there is one.
	run, err := db.LastInterrupted(ctx, runs.Backfill, params)
	if err != nil {
		log.Fatal(err)
	}
	if run != nil {
		run, err = db.Resume(ctx, run)
	} else {
		run, err = db.Start(ctx, runs.Backfill, params)
	}
	if err != nil {
		log.Fatal(err)
	}
	_ = db.Progress(ctx, run.ID, runs.Progress{Done: 31, Total: 31, Rows: 1_234_567, Checkpoint: map[string]string{"next": "2024-02-01"}})
	_ = db.Finish(ctx, run.ID, nil)

	r, _ := db.Get(ctx, run.ID)
	fmt.Println(r.Kind, r.State, r.Done, "/", r.Total, r.Rows, string(r.Params))
	// Output:
	// backfill done 31 / 31 1234567 {"from":"2024-01-01","symbol":"BTC/USDT","to":"2024-02-01","type":"trades","venue":"binance"}
}
