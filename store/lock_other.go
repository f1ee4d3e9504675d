//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package store

import "context"

// lockFile is a no-op on platforms without flock: commits are serialised
// within one process only.
func lockFile(ctx context.Context, path string) (release func(), err error) {
	return func() {}, ctx.Err()
}
