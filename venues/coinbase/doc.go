// Package coinbase is pype's Coinbase Exchange venue adapter.
package coinbase
