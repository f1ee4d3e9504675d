package coinbase

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/pype-go/pype/transport/ws"
)

// This file runs one WebSocket feed connection (transport/ws: reconnect
// with backoff, protocol pings, a silence watchdog fed by the heartbeat
// channel) and hands its messages and connection events, in order, to a
// stream handler on one goroutine.
//
// Coinbase's Exchange feed takes every product and channel on one
// connection and has no connection lifetime, so there is no sharding and
// no planned reconnection: a new connection always follows a break, after
// which handlers resync books and fill trade holes over REST.

// feedHandler consumes one feed.
type feedHandler interface {
	// message processes a decoded message; returning false stops the
	// stream (the consumer stopped).
	message(f ws.Frame, m *wsMsg) bool
	// hole is called when the connection broke: messages may be lost
	// until resumed.
	hole() bool
	// resumed is called when a connection is live (the first one, or one
	// after a break); its subscriptions have been sent.
	resumed() bool
	// tick is called about once a second.
	tick() bool
}

// feed is one WebSocket feed connection with its subscriptions.
type feed struct {
	a        *Adapter
	name     string
	products []string
	channels []string
	client   *ws.Client

	evMu  sync.Mutex
	evs   []ws.Event
	evSig chan struct{}
	cur   uint64
	msg   wsMsg

	wake   <-chan struct{} // optional handler wake-ups (book state changes)
	onWake func() bool
}

// subscribeMsg is the feed's subscribe/unsubscribe request.
type subscribeMsg struct {
	Type       string   `json:"type"`
	ProductIDs []string `json:"product_ids"`
	Channels   []string `json:"channels"`
}

func (a *Adapter) newFeed(name string, products, channels []string) (*feed, error) {
	if len(products) == 0 {
		return nil, errors.New("coinbase: no product to subscribe (give at least one symbol)")
	}
	f := &feed{a: a, name: name, products: products, channels: channels, evSig: make(chan struct{}, 1)}
	cfg := ws.Config{
		Name: "coinbase-" + name,
		URL:  a.wsURL,
		OnConnect: func(ctx context.Context, s *ws.Session) error {
			// The feed closes a connection that has not subscribed within
			// 5 s: subscribe at once.
			return s.SendJSON(ctx, subscribeMsg{Type: "subscribe", ProductIDs: f.products, Channels: f.channels})
		},
		SilenceTimeout: a.opt.silence,
		Backoff:        a.opt.wsBackoff,
		SendRate:       50, // the feed allows 100 client messages per second per IP
		SendBurst:      10,
		HTTPClient:     a.cfg.HTTPClient,
		Logger:         a.log,
		OnEvent: func(ev ws.Event) {
			f.evMu.Lock()
			f.evs = append(f.evs, ev)
			f.evMu.Unlock()
			select {
			case f.evSig <- struct{}{}:
			default:
			}
		},
	}
	c, err := ws.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("coinbase: feed connection: %w", err)
	}
	f.client = c
	return f, nil
}

// send sends a subscribe or unsubscribe request on the live connection.
func (f *feed) send(ctx context.Context, typ string, products, channels []string) error {
	b, err := json.Marshal(subscribeMsg{Type: typ, ProductIDs: products, Channels: channels})
	if err != nil {
		return err
	}
	return f.client.Send(ctx, b)
}

type feedItem struct {
	frame ws.Frame
	err   error
}

// run connects and feeds h until ctx ends, h stops, the connection fails
// for good, or the feed refuses a subscription (the error is returned).
func (f *feed) run(ctx context.Context, h feedHandler) error {
	ctx, cancel := context.WithCancel(ctx)
	items := make(chan feedItem, 256)
	var wg sync.WaitGroup
	defer func() {
		cancel()
		wg.Wait()
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		for fr, err := range f.client.StreamRaw(ctx) {
			select {
			case items <- feedItem{fr, err}:
			case <-ctx.Done():
				return
			}
			if err != nil {
				return
			}
		}
	}()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		ok, err := f.events(h)
		if !ok || err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case it := <-items:
			if it.err != nil {
				return fmt.Errorf("coinbase: feed connection: %w", it.err)
			}
			ok, err := f.frame(it.frame, h)
			if !ok || err != nil {
				return err
			}
		case <-f.evSig:
		case <-f.wake:
			if f.onWake != nil && !f.onWake() {
				return nil
			}
		case <-tick.C:
			if !h.tick() {
				return nil
			}
		}
	}
}

// events handles the queued connection events.
func (f *feed) events(h feedHandler) (bool, error) {
	f.evMu.Lock()
	evs := f.evs
	f.evs = nil
	f.evMu.Unlock()
	for _, ev := range evs {
		switch ev.Kind {
		case ws.Connected:
			wasLive := f.cur != 0
			f.cur = ev.Gen
			if wasLive {
				f.a.log.Info("coinbase: feed reconnected; resyncing", "feed", f.name)
			}
			if !h.resumed() {
				return false, nil
			}
		case ws.Disconnected:
			if ev.Gen != f.cur || errors.Is(ev.Err, ws.ErrStopped) {
				continue
			}
			if !h.hole() {
				return false, nil
			}
		}
	}
	return true, nil
}

func (f *feed) frame(fr ws.Frame, h feedHandler) (bool, error) {
	if fr.Gen != f.cur {
		// Events are emitted before a connection's frames: read them.
		if ok, err := f.events(h); !ok || err != nil {
			return ok, err
		}
		if fr.Gen != f.cur {
			return true, nil // a frame of a connection already replaced
		}
	}
	m := &f.msg
	if err := parseWS(fr.Data, m); err != nil {
		f.a.log.Warn("coinbase: undecodable feed message skipped", "feed", f.name, "err", err)
		return true, nil
	}
	switch m.Kind {
	case msgError:
		e := &FeedError{Message: m.Message, Reason: m.Reason}
		f.a.log.Error("coinbase: feed refused a request", "feed", f.name, "message", m.Message, "reason", m.Reason)
		return false, e
	case msgSubscriptions:
		f.a.log.Debug("coinbase: subscribed", "feed", f.name, "channels", f.channels, "products", len(f.products))
		return true, nil
	case msgOther:
		return true, nil
	}
	return h.message(fr, m), nil
}
