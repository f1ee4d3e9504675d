//go:build !linux

package main

import "errors"

func limitFileSize(limit string) error {
	if limit == "" {
		return nil
	}
	return errors.New("file size limits are only supported on Linux")
}
