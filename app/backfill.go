package app

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/store"
	"github.com/pype-go/pype/venues"
)

// Defaults for backfills.
const (
	DefaultBookDepth         = 100
	DefaultSymbolParallelism = 4
	backfillBatch            = 4096
	finalFlushTimeout        = 2 * time.Minute
	runUpdateEvery           = 5 * time.Second
	// StaleTempAge is how old (by wall clock) a temporary file in a dataset
	// must be before a backfill removes it as left by a crashed writer.
	StaleTempAge              = time.Hour
	maxReportedGapsPerDataset = 100
)

// BackfillRequest asks for history of one data type for one or more
// symbols of a venue.
type BackfillRequest struct {
	Venue   string
	Config  venues.Config // URLs, concurrency, HTTP client overrides
	Symbols []domain.Symbol
	Type    domain.DataType // OHLC, Trades or Book
	Span    domain.Span     // OHLC only
	// Range is [from, to). For OHLC it selects bars by open time; bars that
	// have not closed yet are never fetched. For trades the end is clipped
	// to Now minus App.TradeSettle. Ignored for books (a backfill of a book
	// stores one REST snapshot per symbol now).
	Range domain.Range
	Depth int // book snapshot depth; 0 means DefaultBookDepth
	// Progress, if set, is told about each dataset's progress. It is called
	// from one goroutine per dataset, so concurrently for different
	// datasets, and must be quick.
	Progress func(BackfillProgress)
	// Parallelism bounds how many symbols are fetched at once; 0 means
	// DefaultSymbolParallelism. The venue's own request concurrency is
	// Config.Concurrency.
	Parallelism int
	// Params are recorded with the run (e.g. the command line).
	Params map[string]string
	// SkipSymbolCheck skips listing the venue's markets to validate symbols.
	SkipSymbolCheck bool
}

// BackfillState is where a dataset's backfill stands.
type BackfillState string

// Backfill states.
const (
	StatePlanned  BackfillState = "planned"  // missing ranges computed
	StateFetching BackfillState = "fetching" // rows arriving
	StateDone     BackfillState = "done"     // every missing range fetched
	StateComplete BackfillState = "complete" // nothing was missing
	StateFailed   BackfillState = "failed"
)

// BackfillProgress is a progress report for one dataset.
type BackfillProgress struct {
	Dataset  domain.DatasetID
	State    BackfillState
	Records  int64 // records received so far
	TotalNs  int64 // length of the ranges to fetch
	DoneNs   int64 // how much of TotalNs is fetched
	Position int64 // time reached (ns)
	Err      error // set with StateFailed
}

// DatasetResult is what a backfill did to one dataset.
type DatasetResult struct {
	ID      domain.DatasetID
	Range   domain.Range   // effective range: aligned to bars and clipped to now
	Missing []domain.Range // ranges that were missing before the run
	Records int64          // records received from the venue
	Added   int64          // rows new to the store
	Files   []string       // partition files written
	Gaps    []venues.Gap   // holes the venue adapter reported
	Err     error
}

// BackfillResult summarises a backfill run.
type BackfillResult struct {
	RunID    string
	Status   RunStatus
	Datasets []DatasetResult
}

// Records returns the records received across datasets.
func (r *BackfillResult) Records() int64 {
	var n int64
	for _, d := range r.Datasets {
		n += d.Records
	}
	return n
}

// Added returns the rows added across datasets.
func (r *BackfillResult) Added() int64 {
	var n int64
	for _, d := range r.Datasets {
		n += d.Added
	}
	return n
}

// plan is a validated backfill.
type plan struct {
	req   BackfillRequest
	info  venues.Info
	cap   domain.Capability
	ids   []domain.DatasetID
	rng   domain.Range // effective range
	depth int
}

// PlanBackfill validates a request against the venue's declared
// capabilities without any I/O: venue, data type, span, depth, the range
// (empty, inverted, in the future) and the venue's history depth. It
// returns the effective range (for books, the zero Range).
func (a *App) PlanBackfill(req BackfillRequest) (domain.Range, error) {
	p, err := a.plan(req)
	return p.rng, err
}

func (a *App) plan(req BackfillRequest) (plan, error) {
	p := plan{req: req}
	if a.Venues == nil {
		return p, errors.New("app: no venue registry configured")
	}
	info, err := a.Venues.Info(req.Venue)
	if err != nil {
		return p, err
	}
	p.info = info
	if len(req.Symbols) == 0 {
		return p, &InputError{Field: "symbol", Msg: "at least one symbol is required (e.g. BTC/USDT)"}
	}
	for i, s := range req.Symbols {
		if s.IsZero() {
			return p, &InputError{Field: "symbol", Msg: "empty symbol"}
		}
		if slices.Contains(req.Symbols[:i], s) {
			return p, &InputError{Field: "symbol", Msg: fmt.Sprintf("%s is listed twice", s)}
		}
	}
	now := a.now().UnixNano()
	switch req.Type {
	case domain.OHLC, domain.Trades:
		c, ok := info.Capability(req.Type, domain.REST, domain.Backfill)
		if !ok {
			return p, &domain.CapabilityError{Venue: info.Name, What: string(req.Type) + " history over REST", Accept: backfillTypes(info)}
		}
		p.cap = c
		if err := req.Range.Validate(); err != nil {
			return p, err
		}
		if req.Type == domain.OHLC {
			if !req.Span.Valid() {
				return p, &InputError{Field: "span", Msg: "ohlc needs a span (e.g. 1m, 1h, 1d)"}
			}
			if len(c.Spans) > 0 && !c.SupportsSpan(req.Span) {
				return p, &domain.CapabilityError{Venue: info.Name, What: "span " + req.Span.String() + " for ohlc", Accept: domain.FormatSpans(c.Spans)}
			}
			p.rng = domain.Range{Start: req.Span.Ceil(req.Range.Start), End: min(req.Span.Ceil(req.Range.End), req.Span.Floor(now))}
			if p.rng.Start >= p.rng.End {
				return p, &InputError{Field: "from", Msg: fmt.Sprintf("no closed %s bar opens in [%s, %s): the range is too short or not in the past (now is %s)",
					req.Span, domain.FormatNs(req.Range.Start), domain.FormatNs(req.Range.End), domain.FormatNs(now))}
			}
		} else {
			if req.Span.Valid() {
				return p, &InputError{Field: "span", Msg: "trades take no span"}
			}
			p.rng = domain.Range{Start: req.Range.Start, End: min(req.Range.End, now-int64(a.tradeSettle()))}
			if p.rng.Start >= p.rng.End {
				return p, &InputError{Field: "from", Msg: fmt.Sprintf("--from %s is not in the past (now is %s)", domain.FormatNs(req.Range.Start), domain.FormatNs(now))}
			}
		}
		if err := checkHistory(info.Name, c, req.Type, req.Span, p.rng.Start, now); err != nil {
			return p, err
		}
	case domain.Book:
		c, ok := info.Capability(domain.Book, domain.REST, domain.Snapshot)
		if !ok {
			return p, &domain.CapabilityError{Venue: info.Name, What: "book snapshots over REST", Accept: backfillTypes(info)}
		}
		p.cap = c
		if req.Span.Valid() {
			return p, &InputError{Field: "span", Msg: "book takes no span"}
		}
		p.depth = req.Depth
		if p.depth == 0 {
			p.depth = DefaultBookDepth
			if c.MaxDepth > 0 {
				p.depth = min(p.depth, c.MaxDepth)
			}
		}
		if err := checkDepth(info.Name, c, p.depth); err != nil {
			return p, err
		}
	case "":
		return p, &InputError{Field: "type", Msg: "a data type is required (accepted: ohlc, trades, book)"}
	default:
		return p, &domain.CapabilityError{Venue: info.Name, What: "backfill of " + string(req.Type), Accept: backfillTypes(info)}
	}
	for _, s := range req.Symbols {
		if len(p.cap.Markets) > 0 && !slices.Contains(p.cap.Markets, s.Market) {
			return p, &domain.CapabilityError{Venue: info.Name, What: s.Market.String() + " markets (" + s.String() + ")", Accept: marketKinds(p.cap.Markets)}
		}
		id, err := datasetID(info.Name, s, req.Type, req.Span)
		if err != nil {
			return p, err
		}
		p.ids = append(p.ids, id)
	}
	return p, nil
}

func marketKinds(ks []domain.MarketKind) string {
	var out []string
	for _, k := range ks {
		out = append(out, k.String())
	}
	return strings.Join(out, ", ")
}

func backfillTypes(info venues.Info) string {
	var out []string
	for _, c := range info.Capabilities {
		if c.Transport != domain.REST {
			continue
		}
		if (c.Mode == domain.Backfill && c.History != domain.HistoryNone) || (c.Mode == domain.Snapshot && c.DataType == domain.Book) {
			if !slices.Contains(out, string(c.DataType)) {
				out = append(out, string(c.DataType))
			}
		}
	}
	if len(out) == 0 {
		return "none"
	}
	return strings.Join(out, ", ")
}

func checkDepth(venue string, c domain.Capability, depth int) error {
	if depth < 1 {
		return &InputError{Field: "depth", Msg: fmt.Sprintf("%d is not a positive number of levels", depth)}
	}
	if len(c.Depths) > 0 && !slices.Contains(c.Depths, depth) {
		var acc []string
		for _, d := range c.Depths {
			acc = append(acc, fmt.Sprint(d))
		}
		return &domain.CapabilityError{Venue: venue, What: fmt.Sprintf("book depth %d", depth), Accept: strings.Join(acc, ", ")}
	}
	if c.MaxDepth > 0 && depth > c.MaxDepth {
		return &domain.CapabilityError{Venue: venue, What: fmt.Sprintf("book depth %d", depth), Accept: fmt.Sprintf("1 to %d", c.MaxDepth)}
	}
	return nil
}

// checkHistory rejects a start the venue cannot serve.
func checkHistory(venue string, c domain.Capability, t domain.DataType, span domain.Span, from, now int64) error {
	switch c.History {
	case domain.HistoryNone:
		return &HistoryError{Venue: venue, Type: t, Span: span, From: from, Detail: c.Notes}
	case domain.HistoryRecent:
		earliest := int64(0)
		if c.RecentWindow > 0 {
			earliest = now - int64(c.RecentWindow)
		}
		if c.RecentCount > 0 && t == domain.OHLC {
			e := span.Add(span.Floor(now), -int64(c.RecentCount))
			earliest = max(earliest, e)
		}
		if earliest == 0 && c.RecentCount > 0 {
			// The last N trades: no time range can be promised complete.
			return &HistoryError{Venue: venue, Type: t, Span: span, From: from, Count: c.RecentCount, Detail: c.Notes}
		}
		if earliest != 0 && from < earliest {
			detail := c.Notes
			if c.RecentCount > 0 && t == domain.OHLC {
				detail = strings.TrimSpace(fmt.Sprintf("the venue keeps the last %d bars; %s", c.RecentCount, c.Notes))
			}
			return &HistoryError{Venue: venue, Type: t, Span: span, From: from, Earliest: earliest, Detail: strings.TrimSuffix(detail, "; ")}
		}
	}
	return nil
}

// Backfill fetches what the store lacks of the requested range for every
// symbol and writes it. Ranges already covered are not fetched again, so a
// second run changes nothing, an interrupted run resumes, and holes inside
// the range are refilled. A cancelled context stops the fetch promptly;
// what was fetched is flushed (files stay consistent) and the run is
// recorded as interrupted; the returned error then wraps ctx.Err().
//
// Errors for bad input (see [IsUsageError]) are returned before any I/O.
// Per-dataset failures are reported in the result and joined into the
// returned error; other datasets go on.
func (a *App) Backfill(ctx context.Context, req BackfillRequest) (*BackfillResult, error) {
	p, err := a.plan(req)
	if err != nil {
		return nil, err
	}
	st, err := a.OpenStore()
	if err != nil {
		return nil, err
	}
	v, rest, err := a.openVenue(ctx, req.Venue, req.Config)
	if err != nil {
		return nil, err
	}
	defer v.Close()

	// The adapter must implement what its Info declares.
	var cb venues.CandleBackfiller
	var tb venues.TradeBackfiller
	var bs venues.BookSnapshotter
	var ok bool
	switch req.Type {
	case domain.OHLC:
		cb, ok = v.(venues.CandleBackfiller)
	case domain.Trades:
		tb, ok = v.(venues.TradeBackfiller)
	case domain.Book:
		bs, ok = v.(venues.BookSnapshotter)
	}
	if !ok {
		return nil, &domain.CapabilityError{Venue: p.info.Name, What: "backfill of " + string(req.Type) + " (not implemented by the adapter)"}
	}
	if !req.SkipSymbolCheck {
		if err := a.checkSymbols(ctx, v, p.info.Name, req.Symbols); err != nil {
			return nil, err
		}
	}

	start := a.now()
	res := &BackfillResult{Datasets: make([]DatasetResult, len(p.ids))}
	rec := RunRecord{ID: NewRunID(start), Kind: "backfill", Venue: p.info.Name, Params: req.Params, Status: RunRunning, Started: start}
	for _, id := range p.ids {
		rec.Datasets = append(rec.Datasets, id.String())
	}
	rec.ID = a.runStart(ctx, rec)
	res.RunID = rec.ID
	prov := domain.Provenance{Venue: p.info.Name, Transport: domain.REST, RunID: res.RunID, ToolVersion: a.ToolVersion, Source: sourceOf(rest)}

	a.removeStaleTemp(ctx, p.ids)
	tracker := &runTracker{app: a, rec: rec, every: runUpdateEvery}
	par := req.Parallelism
	if par <= 0 {
		par = DefaultSymbolParallelism
	}
	var g errgroup.Group
	g.SetLimit(par)
	for i, id := range p.ids {
		g.Go(func() error {
			dr := &res.Datasets[i]
			dr.ID = id
			d := &datasetRun{app: a, st: st, plan: &p, id: id, res: dr, prov: prov, tracker: tracker}
			d.prov.FetchedAt = a.now().UnixNano()
			switch req.Type {
			case domain.OHLC:
				dr.Err = d.ohlc(ctx, cb)
			case domain.Trades:
				dr.Err = d.trades(ctx, tb)
			case domain.Book:
				dr.Err = d.book(ctx, bs)
			}
			if dr.Err != nil {
				dr.Err = fmt.Errorf("%s: %w", id, dr.Err)
				d.progress(StateFailed, dr.Err)
			}
			return nil
		})
	}
	_ = g.Wait()

	var errs []error
	for _, d := range res.Datasets {
		if d.Err != nil {
			errs = append(errs, d.Err)
		}
	}
	err = errors.Join(errs...)
	switch {
	case ctx.Err() != nil:
		res.Status = RunInterrupted
		if err == nil || !errors.Is(err, ctx.Err()) {
			err = errors.Join(err, fmt.Errorf("backfill interrupted: %w", context.Cause(ctx)))
		}
	case err != nil:
		res.Status = RunFailed
	default:
		res.Status = RunSucceeded
	}
	tracker.finish(ctx, res, err)
	return res, err
}

// removeStaleTemp deletes temporary files that crashed writers left in the
// datasets (older than StaleTempAge by the wall clock, so a concurrent
// writer's files are never touched). Failures are only logged.
func (a *App) removeStaleTemp(ctx context.Context, ids []domain.DatasetID) {
	opts := a.StoreOptions
	opts.Now = time.Now // file times are wall-clock times
	if opts.Logger == nil {
		opts.Logger = a.log()
	}
	st, err := store.Open(a.DataDir, opts)
	if err != nil {
		return
	}
	for _, id := range ids {
		removed, err := st.RemoveTemp(ctx, id, StaleTempAge)
		if err != nil {
			a.log().Warn("cannot remove stale temporary files", "dataset", id.String(), "err", err)
		}
		if len(removed) > 0 {
			a.log().Info("removed temporary files left by an interrupted writer", "dataset", id.String(), "files", len(removed))
		}
	}
}

// checkSymbols validates symbols against the venue's market list when the
// adapter can list markets. A failure to list is logged and ignored (the
// venue will reject unknown symbols itself).
func (a *App) checkSymbols(ctx context.Context, v venues.Venue, venue string, syms []domain.Symbol) error {
	ml, ok := v.(venues.MarketLister)
	if !ok {
		return nil
	}
	markets, err := ml.Markets(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		a.log().Warn("cannot list markets to check symbols; continuing", "venue", venue, "err", err)
		return nil
	}
	listed := make(map[domain.Symbol]bool, len(markets))
	for _, m := range markets {
		listed[m.Symbol] = true
	}
	for _, s := range syms {
		if listed[s] {
			continue
		}
		var similar []string
		for _, m := range markets {
			if m.Symbol.Base == s.Base || (m.Symbol.Quote == s.Quote && strings.HasPrefix(m.Symbol.Base, s.Base[:1])) {
				similar = append(similar, m.Symbol.String())
			}
		}
		slices.Sort(similar)
		if len(similar) > 5 {
			similar = similar[:5]
		}
		return &UnknownSymbolError{Venue: venue, Symbol: s, Similar: similar}
	}
	return nil
}

// runTracker aggregates per-dataset counters into the run record.
type runTracker struct {
	app   *App
	every time.Duration

	mu   sync.Mutex
	rec  RunRecord
	last time.Time
}

func (t *runTracker) add(ctx context.Context, records, added int64, gaps int) {
	t.mu.Lock()
	t.rec.Records += records
	t.rec.Added += added
	t.rec.Gaps += gaps
	now := t.app.now()
	var snap *RunRecord
	if now.Sub(t.last) >= t.every {
		t.last = now
		r := t.rec
		snap = &r
	}
	t.mu.Unlock()
	if snap != nil {
		t.app.runUpdate(ctx, *snap)
	}
}

func (t *runTracker) finish(ctx context.Context, res *BackfillResult, err error) {
	t.mu.Lock()
	r := t.rec
	t.mu.Unlock()
	r.Status = res.Status
	r.Ended = t.app.now()
	r.Records, r.Added, r.Gaps = 0, 0, 0
	for _, d := range res.Datasets {
		r.Records += d.Records
		r.Added += d.Added
		r.Gaps += len(d.Gaps)
	}
	if err != nil {
		r.Error = err.Error()
	}
	t.app.runFinish(ctx, r)
}

// datasetRun is the backfill of one dataset.
type datasetRun struct {
	app     *App
	st      *store.Store
	plan    *plan
	id      domain.DatasetID
	res     *DatasetResult
	prov    domain.Provenance
	tracker *runTracker

	totalNs, doneNs, position int64
	state                     BackfillState
}

func (d *datasetRun) progress(s BackfillState, err error) {
	d.state = s
	if f := d.plan.req.Progress; f != nil {
		f(BackfillProgress{Dataset: d.id, State: s, Records: d.res.Records, TotalNs: d.totalNs, DoneNs: min(d.doneNs, d.totalNs), Position: d.position, Err: err})
	}
}

// missing returns the holes to fetch, aligned to the bar grid for OHLC.
func (d *datasetRun) missing(ctx context.Context) ([]domain.Range, error) {
	holes, err := d.st.Missing(ctx, d.id, d.plan.rng)
	if err != nil {
		return nil, err
	}
	if d.id.Type == domain.OHLC {
		var out []domain.Range
		for _, h := range holes {
			h = domain.Range{Start: max(d.id.Span.Floor(h.Start), d.plan.rng.Start), End: min(d.id.Span.Ceil(h.End), d.plan.rng.End)}
			if h.Start >= h.End {
				continue
			}
			if n := len(out); n > 0 && out[n-1].End >= h.Start {
				out[n-1].End = max(out[n-1].End, h.End)
				continue
			}
			out = append(out, h)
		}
		holes = out
	}
	d.res.Range = d.plan.rng
	d.res.Missing = holes
	for _, h := range holes {
		d.totalNs += h.End - h.Start
	}
	return holes, nil
}

func (d *datasetRun) ohlc(ctx context.Context, cb venues.CandleBackfiller) error {
	holes, err := d.missing(ctx)
	if err != nil {
		return err
	}
	if len(holes) == 0 {
		d.progress(StateComplete, nil)
		return nil
	}
	d.progress(StatePlanned, nil)
	w, err := d.st.OHLCWriter(d.id, d.prov)
	if err != nil {
		return err
	}
	return fetchHoles(ctx, d, w, holes, func(b *domain.OHLCBar) int64 { return b.OpenTime },
		func(ctx context.Context, h domain.Range, cov func(domain.Range), prog func(venues.Progress)) iter.Seq2[domain.OHLCBar, error] {
			return cb.BackfillCandles(ctx, venues.CandleRequest{Symbol: d.id.Symbol, Span: d.id.Span, Range: h, Covered: cov, Progress: prog})
		})
}

func (d *datasetRun) trades(ctx context.Context, tb venues.TradeBackfiller) error {
	holes, err := d.missing(ctx)
	if err != nil {
		return err
	}
	if len(holes) == 0 {
		d.progress(StateComplete, nil)
		return nil
	}
	d.progress(StatePlanned, nil)
	w, err := d.st.TradeWriter(d.id, d.prov)
	if err != nil {
		return err
	}
	var gmu sync.Mutex
	onGap := func(g venues.Gap) {
		gmu.Lock()
		defer gmu.Unlock()
		d.app.log().Warn("venue reported a gap in trades", "dataset", d.id.String(), "range", g.Range.String(), "first_id", g.FirstID, "last_id", g.LastID, "reason", g.Reason)
		if len(d.res.Gaps) < maxReportedGapsPerDataset {
			d.res.Gaps = append(d.res.Gaps, g)
		}
	}
	return fetchHoles(ctx, d, w, holes, func(t *domain.Trade) int64 { return t.Time },
		func(ctx context.Context, h domain.Range, cov func(domain.Range), prog func(venues.Progress)) iter.Seq2[domain.Trade, error] {
			return tb.BackfillTrades(ctx, venues.TradeRequest{Symbol: d.id.Symbol, Range: h, Covered: cov, Progress: prog, Gap: onGap})
		})
}

func (d *datasetRun) book(ctx context.Context, bs venues.BookSnapshotter) error {
	d.progress(StateFetching, nil)
	snap, err := bs.BookSnapshot(ctx, d.id.Symbol, d.plan.depth)
	if err != nil {
		return err
	}
	now := d.app.now().UnixNano()
	if snap.RecvTime == 0 {
		snap.RecvTime = now
	}
	if snap.Symbol.IsZero() {
		snap.Symbol = d.id.Symbol
	}
	w, err := d.st.BookWriter(d.id, d.prov)
	if err != nil {
		return err
	}
	if err := w.Write(ctx, []domain.BookSnapshot{snap}); err != nil {
		w.Abort()
		return err
	}
	if err := w.Close(context.WithoutCancel(ctx)); err != nil {
		return err
	}
	stats := w.Stats()
	d.res.Records, d.res.Added, d.res.Files = 1, stats.Added, stats.Files
	d.position = max(snap.Time, snap.RecvTime)
	d.tracker.add(ctx, 1, stats.Added, 0)
	d.progress(StateDone, nil)
	return nil
}

// coverQueue holds ranges the venue declared complete until every row
// before their end has been handed to the writer.
type coverQueue struct {
	mu      sync.Mutex
	pending []domain.Range
}

func (q *coverQueue) add(r domain.Range) {
	q.mu.Lock()
	q.pending = append(q.pending, r)
	q.mu.Unlock()
}

// take removes and returns the ranges whose end is at or before watermark
// (every row with a time before watermark has been written).
func (q *coverQueue) take(watermark int64) []domain.Range {
	q.mu.Lock()
	defer q.mu.Unlock()
	var out []domain.Range
	kept := q.pending[:0]
	for _, r := range q.pending {
		if r.End <= watermark {
			out = append(out, r)
		} else {
			kept = append(kept, r)
		}
	}
	q.pending = kept
	return out
}

type fetchFunc[T any] func(ctx context.Context, hole domain.Range, covered func(domain.Range), progress func(venues.Progress)) iter.Seq2[T, error]

// fetchHoles drains the venue for each hole into w, declaring coverage only
// for ranges whose rows were all written, and closes w. On cancellation or a
// venue error the rows received so far are still committed.
func fetchHoles[T any](ctx context.Context, d *datasetRun, w *store.Writer[T], holes []domain.Range, ts func(*T) int64, fetch fetchFunc[T]) (err error) {
	// Writes after a cancellation use a context that is not cancelled, so
	// what was received is kept.
	wctx := context.WithoutCancel(ctx)
	var last store.WriterStats
	account := func() {
		s := w.Stats()
		d.res.Added, d.res.Files = s.Added, s.Files
		d.tracker.add(ctx, 0, s.Added-last.Added, 0)
		last = s
	}
	defer func() {
		fctx, cancel := context.WithTimeout(wctx, finalFlushTimeout)
		defer cancel()
		if cerr := w.Close(fctx); cerr != nil {
			err = errors.Join(err, cerr)
		}
		account()
		if err == nil {
			d.progress(StateDone, nil)
		}
	}()
	batch := make([]T, 0, backfillBatch)
	var q coverQueue
	for _, hole := range holes {
		holeStart := d.doneNs
		pos := hole.Start
		// watermark: every row with a time before it has been received.
		watermark := hole.Start
		flush := func() error {
			if len(batch) > 0 {
				if err := w.Write(wctx, batch); err != nil {
					batch = batch[:0]
					return err
				}
				n := int64(len(batch))
				d.res.Records += n
				d.tracker.add(ctx, n, 0, 0)
				batch = batch[:0]
			}
			for _, r := range q.take(watermark) {
				if err := w.Cover(wctx, r); err != nil {
					return err
				}
			}
			account()
			d.position = max(d.position, pos)
			d.doneNs = holeStart + (pos - hole.Start)
			d.progress(StateFetching, nil)
			return nil
		}
		onProgress := func(p venues.Progress) {
			if p.Position > pos && p.Position <= hole.End {
				pos = p.Position
			}
		}
		var ferr error
		for rec, err := range fetch(ctx, hole, q.add, onProgress) {
			if err != nil {
				ferr = err
				break
			}
			t := ts(&rec)
			if t < hole.Start || t >= hole.End {
				continue // outside what was asked: the adapter's contract, enforced
			}
			if t > watermark {
				// Rows come in time order: all rows before t are in hand.
				watermark = t
				pos = max(pos, t)
			}
			batch = append(batch, rec)
			if len(batch) == cap(batch) {
				if ferr = flush(); ferr != nil {
					break
				}
			}
		}
		if ferr == nil {
			// The venue answered the whole hole.
			watermark, pos = hole.End, hole.End
			q.add(hole)
			if ferr = flush(); ferr != nil {
				return ferr
			}
			continue
		}
		// Keep what arrived, with coverage only up to the rows written.
		if werr := flush(); werr != nil {
			ferr = errors.Join(ferr, werr)
		}
		return ferr
	}
	return nil
}
