package operators

import (
	"context"
	"errors"
	"testing"
	"time"
)

type manualClock struct{ t time.Time }

func (m *manualClock) Now() time.Time { return m.t }

func TestClockOffsetMedianOfMidpoints(t *testing.T) {
	base := time.Unix(1_700_000_000, 0)
	c := NewClockOffset(&manualClock{t: base})
	// Each sample: send at s, server reads its clock at the midpoint and
	// reports mid+offset, receive at s+rtt.
	add := func(s time.Duration, rtt time.Duration, off time.Duration) bool {
		send := base.Add(s)
		return c.AddSample(send, send.Add(rtt/2).Add(off), send.Add(rtt))
	}
	if c.Offset() != 0 {
		t.Fatalf("initial offset %v", c.Offset())
	}
	add(0, 100*time.Millisecond, 250*time.Millisecond)
	if got := c.Offset(); got != 250*time.Millisecond {
		t.Fatalf("offset after one sample = %v, want 250ms", got)
	}
	add(time.Second, 20*time.Millisecond, 260*time.Millisecond)
	add(2*time.Second, 40*time.Millisecond, 5*time.Second) // outlier
	if got := c.Offset(); got != 260*time.Millisecond {
		t.Fatalf("median of 3 = %v, want 260ms (outlier ignored)", got)
	}
	add(3*time.Second, 40*time.Millisecond, 270*time.Millisecond)
	if got := c.Offset(); got != 265*time.Millisecond {
		t.Fatalf("median of 4 = %v, want 265ms", got)
	}
	if add(4*time.Second, 3*time.Second, time.Hour) {
		t.Fatal("sample with a 3 s round trip accepted")
	}
	if c.AddSample(base.Add(time.Second), base, base) {
		t.Fatal("sample with a negative round trip accepted")
	}
	if acc, rej := c.Samples(); acc != 4 || rej != 2 {
		t.Fatalf("samples = %d accepted, %d rejected; want 4, 2", acc, rej)
	}
	if got, want := c.Now(), base.Add(265*time.Millisecond); !got.Equal(want) {
		t.Fatalf("Now = %v, want %v", got, want)
	}
	c.Reset()
	if c.Offset() != 0 {
		t.Fatal("offset not reset")
	}
}

func TestClockOffsetWindow(t *testing.T) {
	base := time.Unix(0, 0)
	c := &ClockOffset{Window: 3, Local: &manualClock{t: base}}
	for i, off := range []time.Duration{1, 2, 3, 100, 100, 100} {
		c.AddSample(base, base.Add(off*time.Millisecond), base)
		_ = i
	}
	if got := c.Offset(); got != 100*time.Millisecond {
		t.Fatalf("offset %v, want 100ms: old samples leave the window", got)
	}
	if acc, _ := c.Samples(); acc != 3 {
		t.Fatalf("window holds %d samples, want 3", acc)
	}
}

func TestClockOffsetMeasure(t *testing.T) {
	clk := &manualClock{t: time.Unix(1000, 0)}
	c := NewClockOffset(clk)
	got, err := c.Measure(context.Background(), func(context.Context) (time.Time, error) {
		st := clk.t.Add(5*time.Millisecond + 2*time.Second) // server ahead by 2s
		clk.t = clk.t.Add(10 * time.Millisecond)
		return st, nil
	})
	if err != nil || got != 2*time.Second {
		t.Fatalf("Measure = %v, %v; want 2s, nil", got, err)
	}
	boom := errors.New("boom")
	if _, err := c.Measure(context.Background(), func(context.Context) (time.Time, error) { return time.Time{}, boom }); !errors.Is(err, boom) {
		t.Fatalf("Measure error = %v, want wrapping boom", err)
	}
	_, err = c.Measure(context.Background(), func(context.Context) (time.Time, error) {
		clk.t = clk.t.Add(time.Minute)
		return clk.t, nil
	})
	if err == nil {
		t.Fatal("slow sample not reported")
	}
}
