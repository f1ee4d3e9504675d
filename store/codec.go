package store

import (
	"fmt"
	"strings"

	"github.com/parquet-go/parquet-go/compress"
	"github.com/parquet-go/parquet-go/compress/gzip"
	"github.com/parquet-go/parquet-go/compress/lz4"
	"github.com/parquet-go/parquet-go/compress/snappy"
	"github.com/parquet-go/parquet-go/compress/uncompressed"
	"github.com/parquet-go/parquet-go/compress/zstd"
)

type codecSpec struct {
	name  string
	codec compress.Codec
}

func parseCodec(name string) (codecSpec, error) {
	switch strings.ToLower(strings.TrimSpace(name)) {
	case "", "zstd":
		return codecSpec{"zstd", &zstd.Codec{Level: zstd.SpeedFastest}}, nil
	case "snappy":
		return codecSpec{"snappy", &snappy.Codec{}}, nil
	case "gzip":
		return codecSpec{"gzip", &gzip.Codec{}}, nil
	case "lz4":
		return codecSpec{"lz4", &lz4.Codec{}}, nil
	case "none", "uncompressed":
		return codecSpec{"none", &uncompressed.Codec{}}, nil
	}
	return codecSpec{}, fmt.Errorf("store: invalid compression %q (accepted: zstd, snappy, gzip, lz4, none)", name)
}
