package operators

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
)

func quietPublisher() *MultiPublisher {
	return NewMultiPublisher(WithPublisherLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
}

var intTopic = NewTopic[int]("test.int")

func TestPublisherOrderingAndFanOut(t *testing.T) {
	p := quietPublisher()
	const n = 500
	var got [3][]int
	var subs []*Subscription
	for i := range got {
		s, err := Subscribe(p, intTopic, func(v int) { got[i] = append(got[i], v) })
		if err != nil {
			t.Fatal(err)
		}
		subs = append(subs, s)
	}
	for i := range n {
		if err := Publish(p, intTopic, i); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	for i, g := range got {
		if len(g) != n {
			t.Fatalf("subscriber %d got %d events, want %d", i, len(g), n)
		}
		for j, v := range g {
			if v != j {
				t.Fatalf("subscriber %d: event %d = %d (out of order)", i, j, v)
			}
		}
		if st := subs[i].Stats(); st.Delivered != n || st.Dropped != 0 {
			t.Fatalf("subscriber %d stats %+v", i, st)
		}
	}
	if st := p.Stats(); st.Published != n || st.Delivered != 3*n || st.Dropped != 0 {
		t.Fatalf("publisher stats %+v", st)
	}
}

func TestPublisherSlowSubscriberDoesNotBlockOthers(t *testing.T) {
	p := quietPublisher()
	gate := make(chan struct{})
	var slow []int
	if _, err := Subscribe(p, intTopic, func(v int) {
		<-gate
		slow = append(slow, v)
	}); err != nil {
		t.Fatal(err)
	}
	fastCh, _, err := SubscribeChan(p, intTopic, 0)
	if err != nil {
		t.Fatal(err)
	}
	const n = 1000
	for i := range n {
		_ = Publish(p, intTopic, i) // never blocks although "slow" is stuck
	}
	for i := range n {
		if v := <-fastCh; v != i {
			t.Fatalf("fast subscriber got %d, want %d", v, i)
		}
	}
	close(gate)
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if len(slow) != n {
		t.Fatalf("slow lossless subscriber got %d events, want all %d", len(slow), n)
	}
	if _, ok := <-fastCh; ok {
		t.Fatal("channel not closed after Close")
	}
}

func TestPublisherLossyKeepsNewest(t *testing.T) {
	p := quietPublisher()
	topic := NewLossyTopic[int]("test.lossy", 4)
	entered := make(chan struct{})
	gate := make(chan struct{})
	var got []int
	sub, err := Subscribe(p, topic, func(v int) {
		if v == 0 {
			close(entered)
			<-gate
		}
		got = append(got, v)
	})
	if err != nil {
		t.Fatal(err)
	}
	_ = Publish(p, topic, 0)
	<-entered // event 0 is in the callback; the queue is empty
	for i := 1; i <= 10; i++ {
		_ = Publish(p, topic, i)
	}
	close(gate)
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	want := []int{0, 7, 8, 9, 10}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
	if st := sub.Stats(); st.Dropped != 6 || st.MaxQueued != 4 {
		t.Fatalf("stats %+v, want 6 dropped, max queue 4", st)
	}
	if p.Stats().Dropped != 6 {
		t.Fatalf("publisher dropped = %d, want 6", p.Stats().Dropped)
	}
}

func TestPublisherQueueLimitOption(t *testing.T) {
	p := quietPublisher()
	topic := NewLossyTopic[int]("test.lossy", 100)
	ch, sub, err := SubscribeChan(p, topic, 0, WithQueueLimit(1), WithSubscriberName("one"))
	if err != nil {
		t.Fatal(err)
	}
	// Nobody reads: the goroutine holds one event at the channel send and
	// the queue keeps one more; the others are dropped.
	for i := range 10 {
		_ = Publish(p, topic, i)
	}
	sub.Unsubscribe()
	<-sub.Done()
	for range ch {
	}
	if st := sub.Stats(); st.Dropped < 8 {
		t.Fatalf("dropped %d, want ≥ 8 with queue limit 1", st.Dropped)
	}
	_ = p.Close()
}

func TestPublisherPanickingSubscriberIsRecovered(t *testing.T) {
	p := quietPublisher()
	var got []int
	sub, err := Subscribe(p, intTopic, func(v int) {
		if v == 2 {
			panic("boom")
		}
		got = append(got, v)
	})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		_ = Publish(p, intTopic, i)
	}
	_ = p.Close()
	if len(got) != 4 || got[2] != 3 {
		t.Fatalf("got %v, want [0 1 3 4]", got)
	}
	if sub.Stats().Panics != 1 || p.Stats().Panics != 1 {
		t.Fatalf("panics: sub %d, publisher %d; want 1", sub.Stats().Panics, p.Stats().Panics)
	}
}

func TestPublisherUnsubscribe(t *testing.T) {
	p := quietPublisher()
	defer p.Close()
	var (
		mu  sync.Mutex
		got []int
		sub *Subscription
	)
	ready := make(chan struct{})
	sub, err := Subscribe(p, intTopic, func(v int) {
		<-ready
		mu.Lock()
		got = append(got, v)
		mu.Unlock()
		if v == 3 {
			sub.Unsubscribe() // from inside the callback: must not deadlock
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	close(ready)
	for i := range 4 {
		_ = Publish(p, intTopic, i)
	}
	<-sub.Done()
	for i := 4; i < 10; i++ {
		_ = Publish(p, intTopic, i)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 4 {
		t.Fatalf("got %v after unsubscribing at 3", got)
	}
	if HasSubscribers(p, intTopic) {
		t.Fatal("HasSubscribers true after Unsubscribe")
	}
	sub.Unsubscribe() // idempotent
}

func TestPublisherTopicsAreKeyedByNameAndType(t *testing.T) {
	p := quietPublisher()
	strTopic := NewTopic[string]("test.int") // same name, other type
	var ints []int
	var strs []string
	_, _ = Subscribe(p, intTopic, func(v int) { ints = append(ints, v) })
	_, _ = Subscribe(p, strTopic, func(v string) { strs = append(strs, v) })
	_ = Publish(p, intTopic, 1)
	_ = Publish(p, strTopic, "a")
	_ = Publish(p, NewTopic[int]("other"), 2)
	_ = p.Close()
	if len(ints) != 1 || len(strs) != 1 {
		t.Fatalf("ints %v strs %v", ints, strs)
	}
}

func TestPublisherClosed(t *testing.T) {
	p := quietPublisher()
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if err := Publish(p, intTopic, 1); !errors.Is(err, ErrPublisherClosed) {
		t.Fatalf("Publish after Close: %v", err)
	}
	if _, err := Subscribe(p, intTopic, func(int) {}); !errors.Is(err, ErrPublisherClosed) {
		t.Fatalf("Subscribe after Close: %v", err)
	}
	if _, _, err := SubscribeChan(p, intTopic, 1); !errors.Is(err, ErrPublisherClosed) {
		t.Fatalf("SubscribeChan after Close: %v", err)
	}
	if _, err := Subscribe(quietPublisher(), intTopic, nil); err == nil {
		t.Fatal("nil callback accepted")
	}
	if err := p.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestPublisherShutdownAbandonsWhenContextEnds(t *testing.T) {
	p := quietPublisher()
	ch, sub, err := SubscribeChan(p, intTopic, 0)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		_ = Publish(p, intTopic, i)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err = p.Shutdown(ctx) // nobody reads ch
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Shutdown = %v, want context.Canceled", err)
	}
	<-sub.Done()
	if _, ok := <-ch; ok {
		t.Fatal("channel still open")
	}
	if st := sub.Stats(); st.Dropped != 5 {
		t.Fatalf("dropped %d, want 5", st.Dropped)
	}
}

func TestPublisherConcurrentPublishSubscribe(t *testing.T) {
	p := quietPublisher()
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 200 {
				_ = Publish(p, intTopic, g*1000+i)
			}
		})
		wg.Go(func() {
			for range 20 {
				s, err := Subscribe(p, intTopic, func(int) {})
				if err != nil {
					t.Error(err)
					return
				}
				s.Unsubscribe()
			}
		})
	}
	counts := make(map[int]int)
	var mu sync.Mutex
	_, _ = Subscribe(p, intTopic, func(v int) {
		mu.Lock()
		counts[v/1000]++
		mu.Unlock()
	})
	wg.Wait()
	_ = p.Close()
	_ = p.Stats()
}

func BenchmarkPublishFanOut10(b *testing.B) {
	p := quietPublisher()
	topic := NewTopic[int]("bench")
	for range 10 {
		if _, err := Subscribe(p, topic, func(int) {}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		_ = Publish(p, topic, i)
	}
	_ = p.Close() // includes draining: the cost of delivery is measured
}
