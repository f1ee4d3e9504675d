package store

import (
	"errors"
	"fmt"
)

// CorruptFileError reports a partition file that cannot be read as a Parquet
// file of the expected schema. The store never overwrites such a file: a
// writer refuses to merge into it and readers stop at it. Move or delete the
// file (after inspecting it) to let the partition be written again.
type CorruptFileError struct {
	Path string
	Err  error
}

func (e *CorruptFileError) Error() string {
	return fmt.Sprintf("store: corrupt or unreadable parquet file %s: %v (the file was left untouched; move it away and re-fetch that range to repair)", e.Path, e.Err)
}

func (e *CorruptFileError) Unwrap() error { return e.Err }

// WriteError reports a failed write (disk full, I/O error, permission). The
// partition file that existed before the write is left as it was.
type WriteError struct {
	Path string // the partition file being written
	Op   string // create, write, sync, rename, ...
	Err  error
}

func (e *WriteError) Error() string {
	return fmt.Sprintf("store: %s %s: %v (previous file left intact)", e.Op, e.Path, e.Err)
}

func (e *WriteError) Unwrap() error { return e.Err }

// ErrClosed is returned by a Writer used after Close or Abort.
var ErrClosed = errors.New("store: writer is closed")
