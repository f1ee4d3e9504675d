package store

import (
	"flag"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	flag.Parse()
	// Property tests write real files; 30 cases keep the suite fast under
	// -race. Pass -rapid.checks=N to run more.
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == "rapid.checks" })
	if !set {
		_ = flag.Set("rapid.checks", "30")
	}
	goleak.VerifyTestMain(m)
}
