package bitfinex

import (
	"log/slog"

	"github.com/pype-go/pype/transport/ratelimit"
	"testing"
	"time"
)

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

// waitFor polls cond (a condition set by another goroutine of the code
// under test, which offers no signal) until it holds or 10 s pass.
func waitFor(t testing.TB, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10 s")
		}
		time.Sleep(time.Millisecond)
	}
}

func ratelimitRule(name string) ratelimit.Rule {
	return ratelimit.Rule{Name: name, Limit: 1, Interval: time.Minute}
}
