//go:build linux

package main

import (
	"os/signal"
	"strconv"
	"syscall"
)

// limitFileSize sets RLIMIT_FSIZE so writes past limit bytes fail with
// EFBIG, as writes on a full disk fail with ENOSPC.
func limitFileSize(limit string) error {
	if limit == "" {
		return nil
	}
	n, err := strconv.ParseUint(limit, 10, 64)
	if err != nil {
		return err
	}
	signal.Ignore(syscall.SIGXFSZ) // get the error instead of the signal
	return syscall.Setrlimit(syscall.RLIMIT_FSIZE, &syscall.Rlimit{Cur: n, Max: n})
}
