// Package bitfinex is pype's Bitfinex (API v2) venue adapter.
package bitfinex
