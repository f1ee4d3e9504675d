package operators

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"slices"
	"sync"
	"sync/atomic"
)

// ErrPublisherClosed is returned by [Publish] and the Subscribe functions
// once the [MultiPublisher] is closed.
var ErrPublisherClosed = errors.New("operators: publisher closed")

// DefaultLossyLimit is the per-subscriber queue length of a lossy topic
// created with a non-positive limit.
const DefaultLossyLimit = 1024

// Topic names a stream of events of type T on a [MultiPublisher]. Topics are
// comparable values, normally declared once as package-level constants of
// the package that publishes them:
//
//	var OrderEvents = operators.NewTopic[OrderEvent]("exchange.order")
//
// Two topics are the same when their names and event types are equal.
//
// A lossless topic (NewTopic) never drops an event: each subscriber has an
// unbounded queue, so a slow subscriber grows its own queue and never blocks
// the publisher or other subscribers. Use it for orders, fills and
// transactions. A lossy topic (NewLossyTopic) bounds each subscriber's queue
// and drops the oldest queued event when it is full, counting drops in
// [SubscriptionStats.Dropped]; use it for market data where the newest value
// matters most.
type Topic[T any] struct {
	name  string
	lossy bool
	limit int
}

// NewTopic returns a lossless topic.
func NewTopic[T any](name string) Topic[T] { return Topic[T]{name: name} }

// NewLossyTopic returns a lossy topic whose subscribers queue at most limit
// events (DefaultLossyLimit when limit ≤ 0).
func NewLossyTopic[T any](name string, limit int) Topic[T] {
	if limit <= 0 {
		limit = DefaultLossyLimit
	}
	return Topic[T]{name: name, lossy: true, limit: limit}
}

// Name returns the topic's name.
func (t Topic[T]) Name() string { return t.name }

// Lossy reports whether the topic may drop events for slow subscribers.
func (t Topic[T]) Lossy() bool { return t.lossy }

// Limit returns the per-subscriber queue bound of a lossy topic (0 for
// lossless topics).
func (t Topic[T]) Limit() int { return t.limit }

// String returns the topic's name and event type.
func (t Topic[T]) String() string {
	return fmt.Sprintf("%s(%v)", t.name, reflect.TypeFor[T]())
}

type topicKey struct {
	name string
	typ  reflect.Type
}

func keyOf[T any](t Topic[T]) topicKey { return topicKey{t.name, reflect.TypeFor[T]()} }

// MultiPublisher fans events out to subscribers of typed topics (the
// specification's MultiPublisher). Each subscription owns one delivery
// goroutine and one queue, so a subscriber sees its topic's events in
// publishing order, and a slow or blocked subscriber only delays itself. A
// panicking callback is recovered, logged and counted; the subscription
// keeps receiving later events.
//
// [MultiPublisher.Close] stops accepting events, delivers what is queued and
// waits for every delivery goroutine. The zero value is ready to use and
// logs with slog.Default().
type MultiPublisher struct {
	logger *slog.Logger

	mu     sync.RWMutex
	closed bool
	subs   map[topicKey][]subscriber
	nextID uint64
	wg     sync.WaitGroup

	published atomic.Uint64
	delivered atomic.Uint64
	dropped   atomic.Uint64
	panics    atomic.Uint64
}

// PublisherOption configures a [MultiPublisher].
type PublisherOption func(*MultiPublisher)

// WithPublisherLogger sets the logger used to report panicking subscribers.
func WithPublisherLogger(l *slog.Logger) PublisherOption {
	return func(p *MultiPublisher) { p.logger = l }
}

// NewMultiPublisher returns an empty publisher.
func NewMultiPublisher(opts ...PublisherOption) *MultiPublisher {
	p := &MultiPublisher{}
	for _, o := range opts {
		o(p)
	}
	return p
}

func (p *MultiPublisher) log() *slog.Logger {
	if p.logger == nil {
		return slog.Default()
	}
	return p.logger
}

// PublisherStats are a publisher's counters.
type PublisherStats struct {
	Published   uint64 // Publish calls accepted
	Delivered   uint64 // events handed to callbacks or channels
	Dropped     uint64 // events dropped by lossy topics or an aborted shutdown
	Panics      uint64 // callbacks that panicked
	Subscribers int    // live subscriptions
	Queued      int    // events waiting in subscriber queues
}

// Stats returns the publisher's counters.
func (p *MultiPublisher) Stats() PublisherStats {
	st := PublisherStats{
		Published: p.published.Load(),
		Delivered: p.delivered.Load(),
		Dropped:   p.dropped.Load(),
		Panics:    p.panics.Load(),
	}
	p.mu.RLock()
	defer p.mu.RUnlock()
	for _, list := range p.subs {
		for _, s := range list {
			st.Subscribers++
			st.Queued += s.handle().Stats().Queued
		}
	}
	return st
}

// Publish queues v for every current subscriber of topic t. It never blocks
// on subscribers. It returns [ErrPublisherClosed] after Close.
func Publish[T any](p *MultiPublisher, t Topic[T], v T) error {
	key := keyOf(t)
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.closed {
		return ErrPublisherClosed
	}
	p.published.Add(1)
	for _, s := range p.subs[key] {
		s.(*subscription[T]).enqueue(v)
	}
	return nil
}

// HasSubscribers reports whether topic t has at least one subscriber, so a
// publisher can skip building events nobody reads.
func HasSubscribers[T any](p *MultiPublisher, t Topic[T]) bool {
	key := keyOf(t)
	p.mu.RLock()
	defer p.mu.RUnlock()
	return len(p.subs[key]) > 0
}

// SubscribeOption configures one subscription.
type SubscribeOption func(*subConfig)

type subConfig struct {
	name  string
	limit int
}

// WithSubscriberName names the subscription in logs and stats.
func WithSubscriberName(name string) SubscribeOption {
	return func(c *subConfig) { c.name = name }
}

// WithQueueLimit overrides the queue bound of a lossy topic for this
// subscription. It has no effect on lossless topics, which never drop.
func WithQueueLimit(n int) SubscribeOption {
	return func(c *subConfig) { c.limit = n }
}

// Subscribe calls fn, from a goroutine owned by the publisher, for every
// event published on t after Subscribe returns, in publishing order. fn is
// never called concurrently with itself. A panic in fn is recovered,
// logged and counted.
func Subscribe[T any](p *MultiPublisher, t Topic[T], fn func(T), opts ...SubscribeOption) (*Subscription, error) {
	if fn == nil {
		return nil, errors.New("operators: Subscribe: nil callback")
	}
	s := newSubscription(p, t, opts)
	s.deliver = func(v T) (keepGoing bool) {
		defer func() {
			if r := recover(); r != nil {
				keepGoing = true
				s.panics.Add(1)
				p.panics.Add(1)
				p.log().Error("operators: subscriber panicked; event skipped",
					"topic", t.name, "subscriber", s.label(), "panic", fmt.Sprint(r))
			}
		}()
		fn(v)
		s.delivered.Add(1)
		p.delivered.Add(1)
		return true
	}
	if err := p.add(s); err != nil {
		return nil, err
	}
	return s.Subscription, nil
}

// SubscribeChan returns a channel receiving the events published on t
// after it returns, in publishing order. buffer is the channel's capacity;
// events beyond it wait in the subscription's queue (lossless topics) or
// displace older queued events (lossy topics). The channel is closed after
// Unsubscribe, or after Close has delivered everything queued. The reader
// must keep reading until then, or Unsubscribe.
func SubscribeChan[T any](p *MultiPublisher, t Topic[T], buffer int, opts ...SubscribeOption) (<-chan T, *Subscription, error) {
	if buffer < 0 {
		buffer = 0
	}
	s := newSubscription(p, t, opts)
	ch := make(chan T, buffer)
	s.ch = ch
	s.deliver = func(v T) bool {
		select {
		case ch <- v:
			s.delivered.Add(1)
			p.delivered.Add(1)
			return true
		case <-s.abort:
			return false
		}
	}
	if err := p.add(s); err != nil {
		return nil, nil, err
	}
	return ch, s.Subscription, nil
}

func (p *MultiPublisher) add(s subscriber) error {
	h := s.handle()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return ErrPublisherClosed
	}
	if p.subs == nil {
		p.subs = make(map[topicKey][]subscriber)
	}
	p.nextID++
	h.id = p.nextID
	p.subs[h.key] = append(slices.Clip(p.subs[h.key]), s)
	p.wg.Add(1)
	go s.run()
	return nil
}

func (p *MultiPublisher) remove(h *Subscription) {
	p.mu.Lock()
	defer p.mu.Unlock()
	list := p.subs[h.key]
	i := slices.IndexFunc(list, func(s subscriber) bool { return s.handle() == h })
	if i < 0 {
		return
	}
	// Copy so that a concurrent reader of the old slice is unaffected.
	list = slices.Delete(slices.Clone(list), i, i+1)
	if len(list) == 0 {
		delete(p.subs, h.key)
	} else {
		p.subs[h.key] = list
	}
}

// Close stops accepting events, delivers every queued event and waits for
// all delivery goroutines to finish. Close is Shutdown without a deadline;
// a subscriber that never returns (or a channel nobody reads) makes it
// wait forever, so services should prefer Shutdown.
func (p *MultiPublisher) Close() error { return p.Shutdown(context.Background()) }

// Shutdown stops accepting events and delivers what is queued until ctx is
// done; then it abandons undelivered events (counted as dropped), stops the
// delivery goroutines and waits for them. A callback already running is
// waited for. It returns an error wrapping ctx.Err() if events were
// abandoned. Calling it again is safe.
func (p *MultiPublisher) Shutdown(ctx context.Context) error {
	p.mu.Lock()
	p.closed = true
	var all []subscriber
	for _, list := range p.subs {
		all = append(all, list...)
	}
	p.mu.Unlock()
	for _, s := range all {
		s.handle().beginClose()
	}
	done := make(chan struct{})
	go func() {
		p.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
	}
	before := p.dropped.Load()
	for _, s := range all {
		s.handle().stop()
	}
	<-done
	return fmt.Errorf("operators: publisher shutdown: %w (%d queued events abandoned)", ctx.Err(), p.dropped.Load()-before)
}

// SubscriptionStats are one subscription's counters.
type SubscriptionStats struct {
	Delivered uint64 // events handed to the callback or channel
	Dropped   uint64 // events dropped (lossy topic full, aborted shutdown)
	Panics    uint64 // callback panics
	Queued    int    // events waiting now
	MaxQueued int    // the largest queue length seen
}

// Subscription is the handle of one subscriber. Unsubscribe ends it.
type Subscription struct {
	pub   *MultiPublisher
	key   topicKey
	id    uint64
	name  string
	lossy bool
	limit int

	abortOnce    sync.Once
	abort        chan struct{} // closed by Unsubscribe or an expired Shutdown
	done         chan struct{} // closed when the delivery goroutine has exited
	wake         chan struct{} // capacity 1: "the queue changed"
	unsubOnce    sync.Once
	unsubscribed atomic.Bool

	mu        sync.Mutex
	closing   bool // deliver what is queued, then exit
	queued    int
	maxQueued int

	delivered atomic.Uint64
	dropped   atomic.Uint64
	panics    atomic.Uint64
}

// Topic returns the subscribed topic's name.
func (s *Subscription) Topic() string { return s.key.name }

// ID returns the subscription's id, unique within its publisher.
func (s *Subscription) ID() uint64 { return s.id }

func (s *Subscription) label() string {
	if s.name != "" {
		return s.name
	}
	return fmt.Sprintf("#%d", s.id)
}

// Unsubscribe ends the subscription: events still queued are discarded and
// no new callback starts after it returns (one already running finishes).
// It does not wait for the delivery goroutine, so it is safe to call from
// the callback itself; Done reports when the goroutine has exited.
// Calling it more than once is safe.
func (s *Subscription) Unsubscribe() {
	s.unsubOnce.Do(func() {
		s.unsubscribed.Store(true)
		s.pub.remove(s)
		s.mu.Lock()
		s.closing = true
		s.mu.Unlock()
		s.abortOnce.Do(func() { close(s.abort) })
	})
}

// Done is closed when the subscription's delivery goroutine has exited
// (after Unsubscribe, or once the publisher is closed and the queue
// delivered).
func (s *Subscription) Done() <-chan struct{} { return s.done }

// Stats returns the subscription's counters.
func (s *Subscription) Stats() SubscriptionStats {
	s.mu.Lock()
	q, mq := s.queued, s.maxQueued
	s.mu.Unlock()
	return SubscriptionStats{
		Delivered: s.delivered.Load(),
		Dropped:   s.dropped.Load(),
		Panics:    s.panics.Load(),
		Queued:    q,
		MaxQueued: mq,
	}
}

func (s *Subscription) beginClose() {
	s.mu.Lock()
	s.closing = true
	s.mu.Unlock()
	s.signal()
}

func (s *Subscription) stop() { s.abortOnce.Do(func() { close(s.abort) }) }

func (s *Subscription) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *Subscription) aborted() bool {
	select {
	case <-s.abort:
		return true
	default:
		return false
	}
}

type subscriber interface {
	handle() *Subscription
	run()
}

type subscription[T any] struct {
	*Subscription
	q       []T // guarded by Subscription.mu
	spare   []T // owned by the delivery goroutine
	ch      chan T
	deliver func(T) bool
}

func newSubscription[T any](p *MultiPublisher, t Topic[T], opts []SubscribeOption) *subscription[T] {
	var cfg subConfig
	for _, o := range opts {
		o(&cfg)
	}
	limit := t.limit
	if cfg.limit > 0 {
		limit = cfg.limit
	}
	return &subscription[T]{Subscription: &Subscription{
		pub:   p,
		key:   keyOf(t),
		name:  cfg.name,
		lossy: t.lossy,
		limit: limit,
		abort: make(chan struct{}),
		done:  make(chan struct{}),
		wake:  make(chan struct{}, 1),
	}}
}

func (s *subscription[T]) handle() *Subscription { return s.Subscription }

func (s *subscription[T]) enqueue(v T) {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		return
	}
	if s.lossy && len(s.q) >= s.limit {
		var zero T
		s.q[0] = zero
		s.q = s.q[1:]
		s.dropped.Add(1)
		s.pub.dropped.Add(1)
	}
	s.q = append(s.q, v)
	s.queued = len(s.q)
	if s.queued > s.maxQueued {
		s.maxQueued = s.queued
	}
	s.mu.Unlock()
	s.signal()
}

// run is the delivery goroutine: it takes the whole queue at once and hands
// the events over one by one, outside the lock.
func (s *subscription[T]) run() {
	defer s.pub.wg.Done()
	defer close(s.done)
	if s.ch != nil {
		defer close(s.ch)
	}
	for {
		s.mu.Lock()
		if len(s.q) == 0 {
			closing := s.closing
			s.mu.Unlock()
			if closing {
				return
			}
			select {
			case <-s.wake:
				continue
			case <-s.abort:
				return
			}
		}
		batch := s.q
		s.q = s.spare
		s.queued = 0
		s.mu.Unlock()
		for i := range batch {
			if s.aborted() || !s.deliver(batch[i]) {
				s.abandon(len(batch) - i)
				return
			}
			var zero T
			batch[i] = zero
		}
		s.spare = batch[:0]
	}
}

// abandon counts events left behind when the subscription is stopped. After
// Unsubscribe they were discarded on request and are not counted; after an
// expired Shutdown they are dropped.
func (s *subscription[T]) abandon(inFlight int) {
	s.mu.Lock()
	n := inFlight + len(s.q)
	s.q = nil
	s.queued = 0
	s.mu.Unlock()
	if !s.unsubscribed.Load() {
		s.dropped.Add(uint64(n))
		s.pub.dropped.Add(uint64(n))
	}
}
