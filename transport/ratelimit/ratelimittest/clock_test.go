package ratelimittest_test

import (
	"context"
	"testing"
	"time"

	"github.com/pype-go/pype/transport/ratelimit/ratelimittest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var t0 = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

func TestClockTimers(t *testing.T) {
	c := ratelimittest.NewClock(t0)
	a := c.NewTimer(2 * time.Second)
	b := c.NewTimer(time.Second)
	z := c.NewTimer(0)
	select {
	case <-z.C():
	default:
		t.Fatal("zero-duration timer did not fire at once")
	}
	if got := c.Pending(); got != 2 {
		t.Fatalf("Pending = %d, want 2", got)
	}
	if d, ok := c.NextDeadline(); !ok || !d.Equal(t0.Add(time.Second)) {
		t.Fatalf("NextDeadline = %v %v", d, ok)
	}
	c.Advance(time.Second)
	select {
	case at := <-b.C():
		if !at.Equal(t0.Add(time.Second)) {
			t.Fatalf("fired at %v", at)
		}
	default:
		t.Fatal("due timer did not fire")
	}
	select {
	case <-a.C():
		t.Fatal("timer fired early")
	default:
	}
	if !a.Stop() {
		t.Fatal("Stop of a pending timer returned false")
	}
	if a.Stop() {
		t.Fatal("second Stop returned true")
	}
	c.Set(t0) // never backwards
	if !c.Now().Equal(t0.Add(time.Second)) {
		t.Fatalf("clock went backwards: %v", c.Now())
	}
	if _, ok := c.NextDeadline(); ok {
		t.Fatal("NextDeadline with no timers")
	}
}

func TestWaitForTimers(t *testing.T) {
	c := ratelimittest.NewClock(t0)
	done := make(chan struct{})
	go func() {
		defer close(done)
		<-c.NewTimer(time.Minute).C()
	}()
	if err := c.WaitForTimers(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	c.Advance(time.Minute)
	<-done
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := c.WaitForTimers(ctx, 5); err == nil {
		t.Fatal("WaitForTimers ignored a cancelled context")
	}
}
