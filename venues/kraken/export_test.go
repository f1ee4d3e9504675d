package kraken

// withTradesPage sets the rows per Trades request (tests: small pages put
// many page seams inside same-millisecond bursts).
func withTradesPage(n int) Option { return func(o *options) { o.tradesPage = n } }
