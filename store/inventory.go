package store

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/pype-go/pype/domain"
)

// PartitionInfo describes one partition file, read from its footer only.
type PartitionInfo struct {
	Name       string       // 2024, 2024-01 or 2024-01-02
	Path       string       // the file
	Range      domain.Range // the partition's time bucket
	Rows       int64
	Bytes      int64
	First      int64 // time of the first row (ns), valid when Rows > 0
	Last       int64 // time of the last row (ns), valid when Rows > 0
	Coverage   []domain.Range
	Provenance []ProvenanceRecord
	// Err is set (a *CorruptFileError) when the file cannot be read; the
	// other fields except Name, Path, Range and Bytes are then zero.
	Err error
}

// DatasetInfo summarises a dataset for inventories.
type DatasetInfo struct {
	ID         domain.DatasetID
	Dir        string
	Partitions []PartitionInfo // in time order
	Files      int
	Rows       int64
	Bytes      int64
	First      int64 // first row time (ns), valid when Rows > 0
	Last       int64 // last row time (ns), valid when Rows > 0
	// Coverage is the union of the ranges writers declared complete.
	Coverage []domain.Range
	// Gaps are the holes in Coverage between its first start and its last
	// end: ranges never fetched (or not completely) inside the dataset's span.
	Gaps []domain.Range
	// Corrupt lists the files that could not be read.
	Corrupt []string
	// Temp lists temporary files (commits or spills in progress, or left by
	// a crashed writer; see [Store.RemoveTemp]).
	Temp []string
}

// Info reads the footers of a dataset's files. A dataset with no files
// returns an empty DatasetInfo and no error.
func (s *Store) Info(ctx context.Context, id domain.DatasetID) (DatasetInfo, error) {
	if err := id.Validate(); err != nil {
		return DatasetInfo{}, fmt.Errorf("store: %w", err)
	}
	info := DatasetInfo{ID: id, Dir: s.DatasetDir(id)}
	files, err := s.listFiles(id)
	if err != nil {
		return info, err
	}
	var cov rangeSet
	for _, f := range files {
		if err := ctx.Err(); err != nil {
			return info, err
		}
		pi := partitionInfo(id, f)
		info.Partitions = append(info.Partitions, pi)
		info.Files++
		info.Bytes += pi.Bytes
		if pi.Err != nil {
			info.Corrupt = append(info.Corrupt, pi.Path)
			continue
		}
		if pi.Rows > 0 {
			if info.Rows == 0 || pi.First < info.First {
				info.First = pi.First
			}
			if info.Rows == 0 || pi.Last > info.Last {
				info.Last = pi.Last
			}
			info.Rows += pi.Rows
		}
		cov = cov.union(pi.Coverage)
	}
	info.Temp, _ = s.tempFiles(id)
	info.Coverage = cov
	if len(cov) > 1 {
		info.Gaps = cov.holes(domain.Range{Start: cov[0].Start, End: cov[len(cov)-1].End})
	}
	return info, nil
}

// Coverage returns the merged ranges a dataset is known to hold completely.
func (s *Store) Coverage(ctx context.Context, id domain.DatasetID) ([]domain.Range, error) {
	info, err := s.Info(ctx, id)
	if err != nil {
		return nil, err
	}
	if len(info.Corrupt) > 0 {
		return info.Coverage, &CorruptFileError{Path: info.Corrupt[0], Err: errors.New("coverage of this file is unknown")}
	}
	return info.Coverage, nil
}

// Missing returns the parts of r that the dataset's coverage does not
// include — what a backfill of r still has to fetch.
func (s *Store) Missing(ctx context.Context, id domain.DatasetID, r domain.Range) ([]domain.Range, error) {
	if err := r.Validate(); err != nil {
		return nil, err
	}
	cov, err := s.Coverage(ctx, id)
	if err != nil {
		return nil, err
	}
	return rangeSet(cov).holes(r), nil
}

func partitionInfo(id domain.DatasetID, f dataFile) PartitionInfo {
	pi := PartitionInfo{Name: f.part.name, Path: f.path, Range: f.part.rng(), Bytes: f.size}
	var pf *partFile
	var err error
	switch id.Type {
	case domain.OHLC:
		pf, err = openPartFile(f.path, ohlcKind)
	case domain.Trades:
		pf, err = openPartFile(f.path, tradeKind)
	case domain.Book:
		pf, err = openPartFile(f.path, bookKind)
	default:
		err = &CorruptFileError{Path: f.path, Err: fmt.Errorf("no schema for data type %q", id.Type)}
	}
	if err != nil {
		if !errors.As(err, new(*CorruptFileError)) {
			err = &CorruptFileError{Path: f.path, Err: err}
		}
		pi.Err = err
		return pi
	}
	defer pf.close()
	pi.Rows = pf.pf.NumRows()
	cov, err1 := decodeCoverage(pf.lookup(MetaCoverage))
	prov, err2 := decodeProvenance(pf.lookup(MetaProvenance))
	if err := errors.Join(err1, err2); err != nil {
		pi.Err = &CorruptFileError{Path: f.path, Err: err}
		return pi
	}
	pi.Coverage, pi.Provenance = cov, prov
	first, ok1 := parseTs(pf.lookup(MetaFirst))
	last, ok2 := parseTs(pf.lookup(MetaLast))
	if pi.Rows > 0 && !(ok1 && ok2) {
		// Written by another tool: use the row-group statistics.
		tsCol := map[domain.DataType]string{domain.OHLC: "open_time"}[id.Type]
		if tsCol == "" {
			tsCol = "ts"
		}
		leaf, _ := pf.pf.Schema().Lookup(tsCol)
		for i, rg := range pf.pf.Metadata().RowGroups {
			lo, hi, ok := int64Stats(rg.Columns, leaf.ColumnIndex)
			if !ok {
				continue
			}
			if i == 0 || lo < first {
				first = lo
			}
			if i == 0 || hi > last {
				last = hi
			}
		}
	}
	pi.First, pi.Last = first, last
	return pi
}

// Datasets lists the datasets under the data directory, in path order.
// Directories that do not form a valid dataset path are skipped.
func (s *Store) Datasets(ctx context.Context) ([]domain.DatasetID, error) {
	var out []domain.DatasetID
	err := filepath.WalkDir(s.dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if path == s.dir {
				return err
			}
			s.log.Warn("store: skipping unreadable directory", "dir", path, "err", err)
			return fs.SkipDir
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if !d.IsDir() || path == s.dir {
			return nil
		}
		if strings.HasPrefix(d.Name(), ".") {
			return fs.SkipDir
		}
		rel, _ := filepath.Rel(s.dir, path)
		parts := strings.Split(filepath.ToSlash(rel), "/")
		if len(parts) < 3 {
			return nil
		}
		id, ok := parseDatasetPath(parts)
		if !ok {
			if len(parts) >= 4 {
				return fs.SkipDir
			}
			return nil
		}
		out = append(out, id)
		return fs.SkipDir
	})
	if err != nil {
		return out, fmt.Errorf("store: listing datasets in %s: %w", s.dir, err)
	}
	return out, nil
}

// parseDatasetPath reads venue/SYMBOL/type[/span] back into an id.
func parseDatasetPath(parts []string) (domain.DatasetID, bool) {
	if len(parts) < 3 || len(parts) > 4 {
		return domain.DatasetID{}, false
	}
	sp := strings.Split(parts[1], "-")
	var symText string
	switch len(sp) {
	case 2:
		symText = sp[0] + "/" + sp[1]
	case 3:
		symText = sp[0] + "/" + sp[1] + ":" + sp[2]
	default:
		return domain.DatasetID{}, false
	}
	sym, err := domain.ParseSymbol(symText)
	if err != nil {
		return domain.DatasetID{}, false
	}
	typ := domain.DataType(parts[2])
	id := domain.DatasetID{Venue: parts[0], Symbol: sym, Type: typ}
	if typ.HasSpan() {
		if len(parts) != 4 {
			return domain.DatasetID{}, false
		}
		if id.Span, err = domain.ParseSpan(parts[3]); err != nil {
			return domain.DatasetID{}, false
		}
	} else if len(parts) != 3 {
		return domain.DatasetID{}, false
	}
	if id.Validate() != nil || id.String() != strings.Join(parts, "/") {
		return domain.DatasetID{}, false
	}
	return id, true
}

// List returns Info for every dataset under the data directory.
func (s *Store) List(ctx context.Context) ([]DatasetInfo, error) {
	ids, err := s.Datasets(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]DatasetInfo, 0, len(ids))
	for _, id := range ids {
		info, err := s.Info(ctx, id)
		if err != nil {
			return out, err
		}
		if info.Files == 0 {
			continue
		}
		out = append(out, info)
	}
	return out, nil
}

// isTemp reports whether a file name is one of the store's temporary files.
func isTemp(name string) bool {
	return strings.HasPrefix(name, ".") && strings.Contains(name, ".tmp")
}

func (s *Store) tempFiles(id domain.DatasetID) ([]string, error) {
	dir := s.DatasetDir(id)
	entries, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if !e.IsDir() && isTemp(e.Name()) {
			out = append(out, filepath.Join(dir, e.Name()))
		}
	}
	return out, nil
}

// RemoveTemp deletes the dataset's temporary files last modified more than
// olderThan ago — leftovers of crashed writers. A live writer keeps its
// spilled runs for as long as a partition is pending, so choose olderThan
// well above the longest backfill of one partition (a day is safe). It
// returns the files removed.
func (s *Store) RemoveTemp(ctx context.Context, id domain.DatasetID, olderThan time.Duration) ([]string, error) {
	if err := id.Validate(); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	files, err := s.tempFiles(id)
	if err != nil {
		return nil, fmt.Errorf("store: listing temporary files of %s: %w", id, err)
	}
	cutoff := s.opts.Now().Add(-olderThan)
	var removed []string
	for _, f := range files {
		if err := ctx.Err(); err != nil {
			return removed, err
		}
		st, err := os.Stat(f)
		if err != nil || st.ModTime().After(cutoff) {
			continue
		}
		if err := os.Remove(f); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return removed, fmt.Errorf("store: removing %s: %w", f, err)
		}
		removed = append(removed, f)
	}
	return removed, nil
}
