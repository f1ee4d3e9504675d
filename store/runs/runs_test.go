package runs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pype-go/pype/domain"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type params struct {
	Venue   string   `json:"venue"`
	Symbols []string `json:"symbols"`
	From    string   `json:"from"`
	Limit   int64    `json:"limit"`
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// proc simulates a process: host, pid and token, with a shared table of
// live processes.
type world struct {
	mu    sync.Mutex
	alive map[string]bool // pid/token
}

func (w *world) set(pid int, token string, alive bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.alive[fmt.Sprint(pid, "/", token)] = alive
}

func (w *world) opts(host string, pid int, token string, c *clock) Options {
	w.set(pid, token, true)
	return Options{
		Logger: quiet, Now: c.Now, Host: host, PID: pid,
		Token: func(int) string { return token },
		Alive: func(pid int, token string) bool {
			w.mu.Lock()
			defer w.mu.Unlock()
			return w.alive[fmt.Sprint(pid, "/", token)]
		},
		StaleAfter: time.Minute,
	}
}

func TestLifecycle(t *testing.T) {
	ctx := context.Background()
	c := &clock{t: time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)}
	path := filepath.Join(t.TempDir(), "sub", "runs.db")
	db, err := Open(ctx, path, Options{Logger: quiet, Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	p := params{Venue: "binance", Symbols: []string{"BTC/USDT"}, From: "2024-01-01", Limit: 1 << 60}
	r, err := db.Start(ctx, Backfill, p)
	if err != nil {
		t.Fatal(err)
	}
	if r.State != Running || r.ID == "" || len(r.ParamsKey) != 64 {
		t.Fatalf("run = %+v", r)
	}
	c.Add(time.Second)
	if err := db.Progress(ctx, r.ID, Progress{Done: 3, Total: 10, Rows: 500, Checkpoint: map[string]int64{"window": 3}}); err != nil {
		t.Fatal(err)
	}
	if err := db.Add(ctx, r.ID, Delta{Done: 1, Rows: 100}); err != nil {
		t.Fatal(err)
	}
	if err := db.RecordGap(ctx, r.ID, Gap{Dataset: "binance/BTC-USDT/ohlc/1h", Range: domain.Range{Start: 1, End: 2}, Reason: "venue gap"}); err != nil {
		t.Fatal(err)
	}
	if err := db.RecordError(ctx, r.ID, errors.New("page 4: HTTP 502")); err != nil {
		t.Fatal(err)
	}
	c.Add(time.Second)
	if err := db.Finish(ctx, r.ID, nil); err != nil {
		t.Fatal(err)
	}
	got, err := db.Get(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != Done || got.Done != 4 || got.Total != 10 || got.Rows != 600 || got.Gaps != 1 || got.Errors != 1 ||
		got.LastError != "page 4: HTTP 502" || string(got.Checkpoint) != `{"window":3}` || got.Kind != Backfill {
		t.Fatalf("run = %+v", got)
	}
	if !got.StartedAt.Equal(c.Now().Add(-2*time.Second)) || !got.FinishedAt.Equal(c.Now()) {
		t.Errorf("times = %v .. %v", got.StartedAt, got.FinishedAt)
	}
	// Large numbers survive canonicalisation exactly.
	if !strings.Contains(string(got.Params), `"limit":1152921504606846976`) {
		t.Errorf("params = %s", got.Params)
	}
	gaps, _ := db.Gaps(ctx, r.ID)
	errs, _ := db.Errors(ctx, r.ID)
	if len(gaps) != 1 || gaps[0].Reason != "venue gap" || len(errs) != 1 {
		t.Errorf("gaps = %+v, errors = %+v", gaps, errs)
	}

	// Failure and cancellation states.
	r2, _ := db.Start(ctx, Stream, p)
	if err := db.Finish(ctx, r2.ID, fmt.Errorf("fetch: %w", errors.New("boom"))); err != nil {
		t.Fatal(err)
	}
	r3, _ := db.Start(ctx, Stream, p)
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := db.Finish(cctx, r3.ID, cctx.Err()); err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]State{r2.ID: Failed, r3.ID: Interrupted} {
		if g, _ := db.Get(ctx, id); g.State != want {
			t.Errorf("run %s state = %s, want %s", id, g.State, want)
		}
	}
	list, _ := db.List(ctx, Filter{Kind: Stream})
	if len(list) != 2 || list[0].ID != r3.ID {
		t.Errorf("list = %d runs", len(list))
	}
	var nf *NotFoundError
	if _, err := db.Get(ctx, "nope"); !errors.As(err, &nf) {
		t.Errorf("Get(nope) = %v", err)
	}
	if err := db.Add(ctx, "nope", Delta{Rows: 1}); !errors.As(err, &nf) {
		t.Errorf("Add(nope) = %v", err)
	}
	// WAL mode is on.
	var mode string
	if err := db.db.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q, %v", mode, err)
	}
}

func TestCanonicalParams(t *testing.T) {
	a, ka, _ := CanonicalParams(map[string]any{"b": 1, "a": []int{1, 2}})
	b, kb, _ := CanonicalParams(json.RawMessage(`{ "a":[1,2], "b":1 }`))
	if string(a) != `{"a":[1,2],"b":1}` || string(a) != string(b) || ka != kb {
		t.Errorf("%s %s %s %s", a, b, ka, kb)
	}
	if _, _, err := CanonicalParams(func() {}); err == nil {
		t.Error("func accepted as params")
	}
}

// TestCrashDetection: a process starts a run and dies; the next Open on
// the same host marks it interrupted, the rerun finds and resumes it.
func TestCrashDetection(t *testing.T) {
	ctx := context.Background()
	c := &clock{t: time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)}
	w := &world{alive: map[string]bool{}}
	path := filepath.Join(t.TempDir(), "runs.db")
	p := params{Venue: "binance", Symbols: []string{"BTC/USDT"}}

	db1, err := Open(ctx, path, w.opts("host-a", 1, "boot1/100", c))
	if err != nil {
		t.Fatal(err)
	}
	r, _ := db1.Start(ctx, Backfill, p)
	_ = db1.Progress(ctx, r.ID, Progress{Done: 7, Total: 20, Rows: 7000, Checkpoint: map[string]string{"next": "2024-01-08"}})
	other, _ := db1.Start(ctx, Backfill, params{Venue: "kraken"})

	// A second, live process on the same host must not touch db1's runs.
	db2, err := Open(ctx, path, w.opts("host-a", 2, "boot1/200", c))
	if err != nil {
		t.Fatal(err)
	}
	if g, _ := db2.Get(ctx, r.ID); g.State != Running {
		t.Fatalf("live run marked %s", g.State)
	}
	db2.Close()

	// Process 1 crashes (no Finish). A new process reuses pid 1 (a
	// container restart) with another start token.
	db1.Close()
	w.set(1, "boot1/100", false)
	c.Add(10 * time.Second) // heartbeat still fresh: detection is by process, not time
	db3, err := Open(ctx, path, w.opts("host-a", 1, "boot1/999", c))
	if err != nil {
		t.Fatal(err)
	}
	defer db3.Close()
	g, _ := db3.Get(ctx, r.ID)
	if g.State != Interrupted || !strings.Contains(g.LastError, "gone") {
		t.Fatalf("crashed run = %+v", g)
	}

	prev, err := db3.LastInterrupted(ctx, Backfill, p)
	if err != nil || prev == nil || prev.ID != r.ID {
		t.Fatalf("LastInterrupted = %+v, %v", prev, err)
	}
	if x, _ := db3.LastInterrupted(ctx, Backfill, params{Venue: "binance"}); x != nil {
		t.Errorf("other params matched: %+v", x)
	}
	next, err := db3.Resume(ctx, prev)
	if err != nil {
		t.Fatal(err)
	}
	if next.ResumedFrom != r.ID || string(next.Checkpoint) != `{"next":"2024-01-08"}` || next.Done != 7 || next.Rows != 7000 {
		t.Fatalf("resumed run = %+v", next)
	}
	if again, _ := db3.LastInterrupted(ctx, Backfill, p); again != nil {
		t.Errorf("resumed run offered again: %+v", again)
	}
	if _, err := db3.Resume(ctx, prev); err == nil {
		t.Error("resumed twice")
	}
	if g, _ := db3.Get(ctx, r.ID); g.ResumedBy != next.ID {
		t.Errorf("ResumedBy = %q", g.ResumedBy)
	}
	if g, _ := db3.Get(ctx, other.ID); g.State != Interrupted {
		t.Errorf("other run of the dead process = %s", g.State)
	}
}

func TestStaleOtherHost(t *testing.T) {
	ctx := context.Background()
	c := &clock{t: time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)}
	w := &world{alive: map[string]bool{}}
	path := filepath.Join(t.TempDir(), "runs.db")
	dbA, _ := Open(ctx, path, w.opts("host-a", 1, "a", c))
	r, _ := dbA.Start(ctx, Stream, params{Venue: "okx"})
	dbA.Close()

	c.Add(30 * time.Second)
	dbB, _ := Open(ctx, path, w.opts("host-b", 9, "b", c))
	if g, _ := dbB.Get(ctx, r.ID); g.State != Running {
		t.Fatalf("fresh heartbeat from another host: state %s", g.State)
	}
	c.Add(2 * time.Minute)
	n, err := dbB.RecoverStale(ctx)
	if err != nil || n != 1 {
		t.Fatalf("RecoverStale = %d, %v", n, err)
	}
	if g, _ := dbB.Get(ctx, r.ID); g.State != Interrupted || !strings.Contains(g.LastError, "heartbeat") {
		t.Fatalf("state = %s (%s)", g.State, g.LastError)
	}
	dbB.Close()
}

func TestKeepAlive(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	c := &clock{t: time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)}
	db, _ := Open(ctx, filepath.Join(t.TempDir(), "runs.db"), Options{Logger: quiet, Now: c.Now})
	defer db.Close()
	r, _ := db.Start(ctx, Stream, nil)
	c.Add(time.Hour)
	var wg sync.WaitGroup
	wg.Go(func() { db.KeepAlive(ctx, r.ID, time.Millisecond) })
	for {
		g, _ := db.Get(context.Background(), r.ID)
		if g.UpdatedAt.Equal(c.Now()) {
			break
		}
		runtime.Gosched()
	}
	cancel()
	wg.Wait()
}

func TestConcurrentWriters(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "runs.db"), Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	r, _ := db.Start(ctx, Backfill, "all")
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for g := range 8 {
		wg.Go(func() {
			for i := range 25 {
				if err := db.Add(ctx, r.ID, Delta{Done: 1, Rows: 10}); err != nil {
					errs <- err
					return
				}
				if i%5 == 0 {
					if err := db.RecordError(ctx, r.ID, fmt.Errorf("worker %d error %d", g, i)); err != nil {
						errs <- err
						return
					}
				}
			}
			// Other runs start concurrently too.
			if _, err := db.Start(ctx, Stream, g); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	g, _ := db.Get(ctx, r.ID)
	if g.Done != 200 || g.Rows != 2000 || g.Errors != 40 {
		t.Fatalf("counters = done %d rows %d errors %d", g.Done, g.Rows, g.Errors)
	}
	list, _ := db.List(ctx, Filter{Limit: 1000})
	if len(list) != 9 {
		t.Errorf("runs = %d", len(list))
	}
}

func TestErrorsCapped(t *testing.T) {
	ctx := context.Background()
	db, _ := Open(ctx, filepath.Join(t.TempDir(), "runs.db"), Options{Logger: quiet, MaxErrorMessages: 3})
	defer db.Close()
	r, _ := db.Start(ctx, Backfill, nil)
	for i := range 10 {
		_ = db.RecordError(ctx, r.ID, fmt.Errorf("e%d %s", i, strings.Repeat("x", 3000)))
	}
	errs, _ := db.Errors(ctx, r.ID)
	g, _ := db.Get(ctx, r.ID)
	if len(errs) != 3 || g.Errors != 10 || len(errs[0].Message) > maxMessage+4 {
		t.Errorf("stored %d messages, count %d", len(errs), g.Errors)
	}
}

func TestOpenErrors(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	bad := filepath.Join(dir, "notadb")
	if err := os.WriteFile(bad, []byte(strings.Repeat("garbage ", 100)), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(ctx, bad, Options{Logger: quiet}); err == nil || !strings.Contains(err.Error(), bad) {
		t.Errorf("Open(garbage) = %v", err)
	}
	file := filepath.Join(dir, "file")
	_ = os.WriteFile(file, nil, 0o644)
	if _, err := Open(ctx, filepath.Join(file, "runs.db"), Options{Logger: quiet}); err == nil {
		t.Error("Open under a file succeeded")
	}
}

func TestProcessToken(t *testing.T) {
	tok := processToken(os.Getpid())
	if _, err := os.Stat("/proc/self/stat"); err == nil && tok == "" {
		t.Fatal("no token on a system with /proc")
	}
	if !processAlive(os.Getpid(), tok, processToken) {
		t.Error("this process reported dead")
	}
	if processAlive(os.Getpid(), tok+"x", processToken) && tok != "" {
		t.Error("a different token reported alive")
	}
	if processAlive(-1, "", processToken) {
		t.Error("pid -1 alive")
	}
}
