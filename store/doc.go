// Package store keeps pype's market data as Parquet files that DuckDB,
// polars, pandas and Spark read directly, and provides the streaming
// writers, readers, inventory and verification built on them. The run
// history (SQLite) lives in the sub-package [github.com/pype-go/pype/store/runs].
//
// # Layout
//
// One dataset per (venue, symbol, data type, span), one file per time
// partition:
//
//	<data>/<venue>/<SYMBOL-PATH>/<type>[/<span>]/<partition>.parquet
//
//	data/binance/BTC-USDT/trades/2024-03-01.parquet       trades: one file per UTC day
//	data/binance/BTC-USDT/book/2024-03-01.parquet         book snapshots: per UTC day
//	data/binance/BTC-USDT/ohlc/1h/2024.parquet            OHLC ≥ 1h: per UTC year
//	data/binance/BTC-USDT/ohlc/1m/2024-03.parquet         OHLC minutes: per UTC month
//	data/binance/BTC-USDT/ohlc/1s/2024-03-01.parquet      OHLC seconds: per UTC day
//	data/bybit/BTC-USDT-perp/ohlc/1M/2024.parquet         a perpetual, monthly bars
//
// The venue is lower case, the symbol is [domain.Symbol.PathName], the span
// is [domain.Span.String] (1M is a month, 1m a minute). Partitions are sized
// so that no file holds more than a few million rows and an incremental
// update rewrites one small file ([GranularityOf]). Files whose names start
// with "." are temporary (a commit or spill in progress) or the dataset's
// .lock file; readers ignore them.
//
// # Schema
//
// Timestamps are INT64 columns with logical type TIMESTAMP(NANOS,
// isAdjustedToUTC=true), so every reader sees real UTC timestamps. Prices
// and amounts are DOUBLE. See [OHLCRow], [TradeRow] and [BookRow]:
//
//	ohlc:   open_time, open, high, low, close, volume, quote_volume, trades
//	trades: ts, id, price, amount, side ("buy"/"sell", NULL if unknown), recv_ts (NULL for REST history)
//	book:   ts, side ("bid"/"ask"), price, amount, level (0 = best), seq, recv_ts
//
// Rows are sorted by key within a file (OHLC: open_time; trades: ts, then
// trade id — numeric ids numerically; books: ts, seq, asks by price
// ascending, then bids by price descending), and the key is unique: a file
// never holds two rows with the same key.
//
// # Book snapshots
//
// A book snapshot is the set of rows sharing (ts, seq): ts is the venue's
// time (the receive time when the venue gives none), seq the venue's
// sequence number (0 when it has none). Snapshots with the same ts and
// different seq are distinct states and read back as such, in seq order.
// Two states written with the same (ts, seq) — a venue without sequence
// numbers changing its book twice within its clock's resolution, a rerun —
// are the same snapshot: the state written last replaces the earlier one
// entirely (the book as of the end of that instant); its levels are never
// mixed with the earlier state's. Within a snapshot, level numbers run 0, 1,
// 2, … per side from the best price; [Store.Verify] counts snapshots that
// break this or are crossed ([VerifyReport.BadBooks]).
//
// # Float rule
//
// A decimal with at most 15 significant digits ([domain.MaxExactFloatDigits])
// survives decimal → float64 → shortest decimal exactly, so prices and
// amounts read back as the venue sent them (the value, not the scale:
// "1.500" reads as "1.5"). Values with more digits are stored as the nearest
// float64; writers log a warning with the first such value, count them
// ([WriterStats.Inexact]) and record the count in the file's provenance.
//
// # Writes
//
// A [Writer] (from [Store.TradeWriter], [Store.OHLCWriter] or
// [Store.BookWriter]) accepts batches in time order with bounded memory: at
// most [Options.MaxBufferRows] rows are buffered, beyond that they are
// sorted and streamed into a temporary Parquet run beside the dataset, in
// row groups of [Options.RowGroupRows]. A multi-million-trade backfill is
// never held in memory. A partition is committed by writing a complete new
// file to a temporary name in the same directory, fsyncing it, renaming it
// over the old one and fsyncing the directory: readers see the old file or
// the new one, never a mix, and a failed write (disk full, I/O error)
// leaves the old file byte-identical. When a partition already has a file,
// the commit is a streaming sorted merge of the old file, the spilled runs
// and the buffered rows, de-duplicated by key with the newest row winning
// (OHLC: a later bar replaces a forming one; trades: the same trade id is
// kept once, id-less trades are keyed by (ts, price, amount, side); books:
// the newest state of a (ts, seq) snapshot wins as a whole). If nothing
// changed the old file is left untouched.
//
// A file that cannot be read (corrupt, truncated, wrong schema) is never
// overwritten: writers and readers fail with a [*CorruptFileError] naming
// it. Commits to one dataset are serialised within the process and, on
// Unix, across processes (flock on the dataset's .lock file).
//
// # Provenance and coverage
//
// Each file's footer carries key-value metadata (see [MetaProvenance]):
//
//   - pype.provenance: a JSON list of [ProvenanceRecord] (venue, transport,
//     run id, tool version, source, fetch and write times, rows), one per
//     distinct writer. A later writer appends its record; it never replaces
//     an earlier one.
//   - pype.coverage: the time ranges the file is known to hold completely,
//     as declared by [Writer.Cover] after a range was requested and answered.
//     Venues have real gaps with no bar or trade, so completeness is tracked
//     by ranges, never inferred from rows. A covered partition without rows
//     gets an empty file so its coverage is kept.
//   - pype.first / pype.last: the first and last row times.
//
// The footer is the manifest: files stay self-describing when copied, and
// [Store.Info], [Store.List], [Store.Coverage] and [Store.Missing] read
// footers only, never rows. [Store.Verify] reads rows to check ordering,
// duplicates, the OHLC grid, trade-id continuity and book snapshots' level
// numbering.
//
// # Querying the files
//
// DuckDB:
//
//	SELECT * FROM read_parquet('data/binance/BTC-USDT/trades/*.parquet')
//	WHERE ts >= TIMESTAMPTZ '2024-03-01' AND ts < TIMESTAMPTZ '2024-03-02';
//
//	SELECT time_bucket(INTERVAL 5 MINUTE, open_time) AS t, last(close ORDER BY open_time)
//	FROM read_parquet('data/binance/BTC-USDT/ohlc/1m/*.parquet') GROUP BY t ORDER BY t;
//
//	SELECT key, value FROM parquet_kv_metadata('data/binance/BTC-USDT/trades/2024-03-01.parquet');
//
// polars:
//
//	import polars as pl
//	df = pl.scan_parquet("data/binance/BTC-USDT/trades/*.parquet").filter(
//	    pl.col("ts") >= pl.datetime(2024, 3, 1, time_zone="UTC")).collect()
//
// pandas (pyarrow):
//
//	import pandas as pd
//	df = pd.read_parquet("data/binance/BTC-USDT/ohlc/1h/")  # ts columns are datetime64[ns, UTC]
//
// DuckDB reads the timestamp columns as TIMESTAMPTZ (microsecond
// precision); polars and pandas keep nanoseconds (Datetime("ns", "UTC")).
//
// Readers see the last committed state; files being written are hidden
// behind temporary names until renamed.
package store
