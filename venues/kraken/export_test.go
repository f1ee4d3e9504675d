package kraken

import "log/slog"

// withTradesPage sets the rows per Trades request (tests: small pages put
// many page seams inside same-millisecond bursts).
func withTradesPage(n int) Option { return func(o *options) { o.tradesPage = n } }

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
