// Package binance is pype's Binance spot venue adapter.
package binance
