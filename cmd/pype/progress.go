package main

import (
	"context"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"

	"github.com/pype-go/pype/app"
	"github.com/pype-go/pype/app/render"
	"github.com/pype-go/pype/domain"
)

// plainEvery is how often plain progress lines are printed per dataset.
const plainEvery = 5 * time.Second

// backfillProgress shows backfill progress: mpb bars on a terminal (rows,
// rate, ETA), plain log lines otherwise, or nothing.
type backfillProgress struct {
	mode string
	now  func() time.Time
	out  io.Writer // plain lines

	mu    sync.Mutex
	p     *mpb.Progress
	state map[domain.DatasetID]*dsProgress
}

type dsProgress struct {
	bar       *mpb.Bar
	start     time.Time // immutable
	lastPrint time.Time
	records   atomic.Int64 // read by bar decorators without the lock
	total     int64
	done      int64
	finished  bool
}

func newBackfillProgress(ctx context.Context, c *cli) *backfillProgress {
	bp := &backfillProgress{mode: c.progressMode(), now: c.env.now, out: c.stderr, state: map[domain.DatasetID]*dsProgress{}}
	if bp.mode == "bar" {
		bp.p = newContainer(ctx, c, 200*time.Millisecond)
	}
	return bp
}

// newContainer returns an mpb container on the command's stdout. On a
// terminal mpb sizes lines to it; when --progress bar is forced on something
// else, lines are 160 columns and refreshed all the same.
func newContainer(ctx context.Context, c *cli, every time.Duration) *mpb.Progress {
	opts := []mpb.ContainerOption{mpb.WithOutput(c.stdout), mpb.WithRefreshRate(every), mpb.WithAutoRefresh()}
	if !c.env.terminal(c.stdout) {
		opts = append(opts, mpb.WithWidth(160))
	}
	return mpb.NewWithContext(ctx, opts...)
}

// rate returns rows per second and a formatted ETA.
func (d *dsProgress) rateETA(now time.Time) (float64, string) {
	el := now.Sub(d.start).Seconds()
	if el <= 0 {
		return 0, "?"
	}
	rate := float64(d.records.Load()) / el
	if d.done <= 0 || d.total <= 0 {
		return rate, "?"
	}
	left := time.Duration(el * float64(d.total-d.done) / float64(d.done) * float64(time.Second))
	return rate, render.Duration(left)
}

func (bp *backfillProgress) update(p app.BackfillProgress) {
	if bp.mode == "none" {
		return
	}
	bp.mu.Lock()
	defer bp.mu.Unlock()
	d := bp.state[p.Dataset]
	now := bp.now()
	if d == nil {
		d = &dsProgress{start: now, lastPrint: now}
		bp.state[p.Dataset] = d
	}
	d.records.Store(p.Records)
	d.total, d.done = p.TotalNs, p.DoneNs
	switch bp.mode {
	case "bar":
		bp.updateBar(p, d)
	default:
		bp.updatePlain(p, d, now)
	}
}

func (bp *backfillProgress) updateBar(p app.BackfillProgress, d *dsProgress) {
	if p.State == app.StateComplete {
		return // nothing to fetch; the summary says so
	}
	if d.bar == nil && p.TotalNs > 0 {
		name := p.Dataset.String()
		d.bar = bp.p.AddBar(p.TotalNs, mpb.BarWidth(32),
			mpb.PrependDecorators(decor.Name(name, decor.WC{C: decor.DindentRight | decor.DextraSpace}), decor.Percentage(decor.WCSyncSpace)),
			mpb.AppendDecorators(
				decor.Any(func(decor.Statistics) string {
					// No lock here: mpb calls decorators from the bar's
					// goroutine, which update waits on.
					el := bp.now().Sub(d.start).Seconds()
					n := d.records.Load()
					rate := 0.0
					if el > 0 {
						rate = float64(n) / el
					}
					return fmt.Sprintf("%s rows  %s rows/s", render.Count(n), render.Count(int64(rate)))
				}, decor.WCSyncSpace),
				decor.OnComplete(decor.AverageETA(decor.ET_STYLE_GO, decor.WCSyncSpace), "done"),
			))
	}
	if d.bar == nil {
		return
	}
	switch p.State {
	case app.StateDone:
		d.bar.SetTotal(p.TotalNs, true)
		d.finished = true
	case app.StateFailed:
		d.bar.Abort(false)
		d.finished = true
	default:
		d.bar.SetCurrent(min(p.DoneNs, p.TotalNs))
	}
}

func (bp *backfillProgress) updatePlain(p app.BackfillProgress, d *dsProgress, now time.Time) {
	switch p.State {
	case app.StatePlanned:
		fmt.Fprintf(bp.out, "%s  fetching %s of missing history\n", p.Dataset, render.Duration(time.Duration(p.TotalNs)))
	case app.StateFetching:
		if now.Sub(d.lastPrint) < plainEvery {
			return
		}
		d.lastPrint = now
		pct := 0.0
		if p.TotalNs > 0 {
			pct = 100 * float64(p.DoneNs) / float64(p.TotalNs)
		}
		rate, eta := d.rateETA(now)
		fmt.Fprintf(bp.out, "%s  %5.1f%%  %s rows  %s rows/s  ETA %s  at %s\n", p.Dataset, pct, render.Count(p.Records), render.Count(int64(rate)), eta, domain.FormatNs(p.Position))
	case app.StateDone:
		fmt.Fprintf(bp.out, "%s  done: %s rows in %s\n", p.Dataset, render.Count(p.Records), render.Duration(now.Sub(d.start)))
	case app.StateFailed:
		fmt.Fprintf(bp.out, "%s  failed after %s rows\n", p.Dataset, render.Count(p.Records))
	}
}

// writer returns where lines should go while bars are shown: above the
// bars (mpb prints them there) or w when there are no bars.
func (bp *backfillProgress) writer(w io.Writer) io.Writer {
	if bp.p != nil {
		return bp.p
	}
	return w
}

// finish completes the display.
func (bp *backfillProgress) finish() {
	if bp.p == nil {
		return
	}
	bp.mu.Lock()
	for _, d := range bp.state {
		if d.bar != nil && !d.finished {
			d.bar.Abort(false)
		}
	}
	bp.mu.Unlock()
	bp.p.Wait()
}

// streamProgress shows a running stream.
type streamProgress struct {
	mode  string
	now   func() time.Time
	out   io.Writer
	start time.Time
	last  time.Time
	title string

	mu    sync.Mutex
	p     *mpb.Progress
	bar   *mpb.Bar
	snap  app.StreamProgress
	shown atomic.Pointer[string] // the status line, read by the bar decorator
}

func newStreamProgress(ctx context.Context, c *cli, title string) *streamProgress {
	sp := &streamProgress{mode: c.progressMode(), now: c.env.now, out: c.stderr, title: title}
	sp.start = sp.now()
	sp.last = sp.start
	if sp.mode == "bar" {
		sp.p = newContainer(ctx, c, 250*time.Millisecond)
		sp.bar = sp.p.New(0, mpb.SpinnerStyle(), mpb.BarWidth(3), mpb.PrependDecorators(decor.Name(title, decor.WC{C: decor.DindentRight | decor.DextraSpace})),
			mpb.AppendDecorators(decor.Any(func(decor.Statistics) string {
				if l := sp.shown.Load(); l != nil {
					return *l
				}
				return "connecting"
			}), decor.Elapsed(decor.ET_STYLE_GO, decor.WCSyncSpace)))
	}
	return sp
}

func (sp *streamProgress) line() string {
	s := sp.snap
	msg := fmt.Sprintf("%s records", render.Count(s.Records))
	if s.Filled > 0 {
		msg += fmt.Sprintf(", %s filled over REST", render.Count(s.Filled))
	}
	msg += fmt.Sprintf(", %s saved", render.Count(s.Added))
	if s.Gaps > 0 {
		msg += fmt.Sprintf(", %d gap(s) (%d open)", s.Gaps, s.Open)
	}
	if s.LastTime > 0 {
		msg += ", last " + domain.FormatNs(s.LastTime)
	}
	return msg
}

func (sp *streamProgress) update(p app.StreamProgress) {
	if sp.mode == "none" {
		return
	}
	sp.mu.Lock()
	sp.snap = p
	now := sp.now()
	print := sp.mode == "plain" && now.Sub(sp.last) >= plainEvery
	if print {
		sp.last = now
	}
	line := sp.line()
	sp.mu.Unlock()
	sp.shown.Store(&line)
	if print {
		fmt.Fprintf(sp.out, "%s  %s\n", sp.title, line)
	}
}

func (sp *streamProgress) finish() {
	if sp.p == nil {
		return
	}
	sp.bar.SetTotal(-1, true)
	sp.p.Wait()
}
