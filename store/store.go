package store

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/pype-go/pype/domain"
)

// Defaults for [Options].
const (
	DefaultRowGroupRows         = 1 << 17 // 131072 rows, close to DuckDB's 122880
	DefaultMaxBufferRows        = 1 << 18 // 262144 rows across all pending partitions
	DefaultMaxPendingPartitions = 16
)

// Options tunes a [Store]. The zero value gives the defaults.
type Options struct {
	// Logger receives warnings (inexact floats, skipped files) and commit
	// debug lines. Nil means slog.Default().
	Logger *slog.Logger
	// RowGroupRows is the number of rows per Parquet row group (and the
	// write granularity of spilled runs). Zero means DefaultRowGroupRows.
	RowGroupRows int
	// MaxBufferRows bounds the rows a Writer holds in memory across all its
	// pending partitions; beyond it rows are sorted and spilled to temporary
	// run files beside the dataset. Zero means DefaultMaxBufferRows.
	MaxBufferRows int
	// MaxPendingPartitions bounds the partitions a Writer keeps uncommitted
	// while it waits for their coverage; the oldest is committed first.
	// Zero means DefaultMaxPendingPartitions.
	MaxPendingPartitions int
	// Compression names the column codec: "zstd" (default), "snappy",
	// "gzip", "lz4" or "none".
	Compression string
	// Now is the clock used for provenance timestamps (nil: time.Now).
	Now func() time.Time

	fs fileSystem // nil: the OS; tests inject failures here
}

// Store is a directory of Parquet datasets. It is safe for concurrent use;
// commits to one dataset are serialised in-process and, on Unix, across
// processes by a lock file (.lock) in the dataset directory.
type Store struct {
	dir   string
	opts  Options
	log   *slog.Logger
	fs    fileSystem
	codec codecSpec

	mu    sync.Mutex
	locks map[string]*sync.Mutex
}

// DataDirError reports a data directory that cannot be used.
type DataDirError struct {
	Dir string
	Err error
}

func (e *DataDirError) Error() string {
	return fmt.Sprintf("store: data directory %q is not usable: %v (it must be a writable directory; create it or pass another with --data-dir)", e.Dir, e.Err)
}

func (e *DataDirError) Unwrap() error { return e.Err }

// Open opens (creating if needed) the data directory dir and checks that it
// is a writable directory, returning a *DataDirError otherwise.
func Open(dir string, opts Options) (*Store, error) {
	if dir == "" {
		return nil, &DataDirError{Dir: dir, Err: errors.New("empty path")}
	}
	codec, err := parseCodec(opts.Compression)
	if err != nil {
		return nil, err
	}
	s := &Store{dir: filepath.Clean(dir), opts: opts, codec: codec, locks: map[string]*sync.Mutex{}}
	s.fs = opts.fs
	if s.fs == nil {
		s.fs = osFS{}
	}
	s.log = opts.Logger
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.opts.RowGroupRows <= 0 {
		s.opts.RowGroupRows = DefaultRowGroupRows
	}
	if s.opts.MaxBufferRows <= 0 {
		s.opts.MaxBufferRows = DefaultMaxBufferRows
	}
	if s.opts.MaxPendingPartitions <= 0 {
		s.opts.MaxPendingPartitions = DefaultMaxPendingPartitions
	}
	if s.opts.Now == nil {
		s.opts.Now = time.Now
	}
	if err := s.fs.MkdirAll(s.dir, 0o755); err != nil {
		return nil, &DataDirError{Dir: s.dir, Err: err}
	}
	st, err := s.fs.Stat(s.dir)
	if err != nil {
		return nil, &DataDirError{Dir: s.dir, Err: err}
	}
	if !st.IsDir() {
		return nil, &DataDirError{Dir: s.dir, Err: errors.New("not a directory")}
	}
	probe, err := s.fs.CreateTemp(s.dir, ".pype-probe-*")
	if err != nil {
		return nil, &DataDirError{Dir: s.dir, Err: err}
	}
	name := probe.Name()
	_ = probe.Close()
	_ = s.fs.Remove(name)
	return s, nil
}

// Dir returns the data directory.
func (s *Store) Dir() string { return s.dir }

// DatasetDir returns the directory of a dataset:
// <data>/<venue>/<SYMBOL-PATH>/<type>[/<span>].
func (s *Store) DatasetDir(id domain.DatasetID) string {
	return filepath.Join(s.dir, filepath.FromSlash(id.String()))
}

// PartitionPath returns the file that holds the rows of id at time ts.
func (s *Store) PartitionPath(id domain.DatasetID, ts int64) string {
	p := partitionOf(GranularityOf(id), ts)
	return filepath.Join(s.DatasetDir(id), p.name+".parquet")
}

// Granularity is how a dataset is split into files.
type Granularity int

// Granularities.
const (
	Day Granularity = iota + 1
	Month
	Year
)

func (g Granularity) String() string {
	switch g {
	case Day:
		return "day"
	case Month:
		return "month"
	case Year:
		return "year"
	}
	return "unknown"
}

// GranularityOf returns the partitioning of a dataset: trades and books one
// file per UTC day; OHLC one file per UTC year for spans of an hour or more
// (≤ 8,784 bars of 1h), per month for minute spans (≤ 44,640 bars of 1m) and
// per day for second spans (86,400 bars of 1s), so that no OHLC file grows
// past ~50k–90k rows and an incremental update rewrites little.
func GranularityOf(id domain.DatasetID) Granularity {
	if id.Type != domain.OHLC {
		return Day
	}
	switch sp := id.Span; {
	case sp.IsMonthly() || time.Duration(sp) >= time.Hour:
		return Year
	case time.Duration(sp) >= time.Minute:
		return Month
	default:
		return Day
	}
}

// partition is one time bucket of a dataset: [start, end) and its file stem.
type partition struct {
	start, end int64
	name       string
}

func (p partition) rng() domain.Range { return domain.Range{Start: p.start, End: p.end} }

func partitionOf(g Granularity, ts int64) partition {
	t := domain.Time(ts)
	var s, e time.Time
	var name string
	switch g {
	case Year:
		s = time.Date(t.Year(), 1, 1, 0, 0, 0, 0, time.UTC)
		e = s.AddDate(1, 0, 0)
		name = s.Format("2006")
	case Month:
		s = time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
		e = s.AddDate(0, 1, 0)
		name = s.Format("2006-01")
	default:
		s = time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
		e = s.AddDate(0, 0, 1)
		name = s.Format("2006-01-02")
	}
	return partition{start: s.UnixNano(), end: e.UnixNano(), name: name}
}

// parsePartitionName reads a file stem written by partitionOf.
func parsePartitionName(g Granularity, stem string) (partition, bool) {
	layout := map[Granularity]string{Year: "2006", Month: "2006-01", Day: "2006-01-02"}[g]
	if len(stem) != len(layout) {
		return partition{}, false
	}
	t, err := time.ParseInLocation(layout, stem, time.UTC)
	if err != nil {
		return partition{}, false
	}
	p := partitionOf(g, t.UnixNano())
	return p, p.name == stem
}

// partitionsIn lists the partitions that intersect r, in time order.
func partitionsIn(g Granularity, r domain.Range) []partition {
	var out []partition
	for ts := r.Start; ts < r.End; {
		p := partitionOf(g, ts)
		out = append(out, p)
		ts = p.end
	}
	return out
}

// dataFile is a partition file found on disk.
type dataFile struct {
	part partition
	path string
	size int64
}

// listFiles returns the partition files of a dataset in time order. A
// missing dataset directory yields no files and no error.
func (s *Store) listFiles(id domain.DatasetID) ([]dataFile, error) {
	dir := s.DatasetDir(id)
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("store: listing %s: %w", dir, err)
	}
	g := GranularityOf(id)
	var out []dataFile
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || strings.HasPrefix(name, ".") || !strings.HasSuffix(name, ".parquet") {
			continue
		}
		p, ok := parsePartitionName(g, strings.TrimSuffix(name, ".parquet"))
		if !ok {
			s.log.Warn("store: ignoring file with an unexpected name", "file", filepath.Join(dir, name),
				"expected", "<"+map[Granularity]string{Year: "YYYY", Month: "YYYY-MM", Day: "YYYY-MM-DD"}[g]+">.parquet")
			continue
		}
		var size int64
		if info, err := e.Info(); err == nil {
			size = info.Size()
		}
		out = append(out, dataFile{part: p, path: filepath.Join(dir, name), size: size})
	}
	// os.ReadDir sorts by name, and the names sort in time order.
	return out, nil
}

// lockDataset serialises commits to one dataset directory.
func (s *Store) lockDataset(ctx context.Context, dir string) (unlock func(), err error) {
	s.mu.Lock()
	m := s.locks[dir]
	if m == nil {
		m = &sync.Mutex{}
		s.locks[dir] = m
	}
	s.mu.Unlock()
	m.Lock()
	release, err := lockFile(ctx, filepath.Join(dir, ".lock"))
	if err != nil {
		m.Unlock()
		return nil, fmt.Errorf("store: locking %s: %w", dir, err)
	}
	return func() { release(); m.Unlock() }, nil
}
