package binance

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/operators"
	"github.com/pype-go/pype/operators/exchange"
	"github.com/pype-go/pype/operators/orderbook"
)

// Exchange is the Binance spot operator: the market-data side of an
// orderbook.OrderbookExchange. It has
//
//   - trading rules for every market, from exchangeInfo (tick, lot,
//     min/max amount, price and notional, order types), refreshed by
//     FetchUpdates;
//   - live L2 books (SubscribeBook / Book), kept by an orderbook.Engine
//     from <sym>@depth@100ms diffs and REST snapshots with Binance's U/u
//     rule, many books per connection, resynced on any gap or reconnect;
//   - CurrentTimestamp: the local clock corrected by the offset measured
//     from GET /api/v3/time (FetchUpdates measures again).
//
// Order placement, balances and fills come with the trading issue; the
// order tracker and client order ids of exchange.Base are already there.
// Run FetchUpdates periodically (operators.NewOperatorProcessor(ex)) to keep
// the clock offset and rules fresh. Close stops the book feed.
type Exchange struct {
	*exchange.Base
	a    *Adapter
	feed *bookFeed

	cancel context.CancelFunc
	done   chan struct{}
	mu     sync.Mutex
	runErr error

	rulesAt time.Time
}

var _ orderbook.OrderbookExchange = (*Exchange)(nil)

// NewExchange returns the operator on top of an opened adapter: it loads
// the trading rules, measures the venue's clock and starts the (idle) book
// feed. The adapter stays owned by the caller.
func NewExchange(ctx context.Context, a *Adapter, opts ...exchange.Option) (*Exchange, error) {
	platform := operators.ExchangePlatform(Name).WithTestnet(strings.Contains(a.restURL, "testnet"))
	base, err := exchange.NewBase(operators.OperatorConfiguration{Platform: platform, DisplayName: "Binance"},
		append([]exchange.Option{exchange.WithOperatorOptions(operators.WithLogger(a.log))}, opts...)...)
	if err != nil {
		return nil, err
	}
	e := &Exchange{Base: base, a: a, done: make(chan struct{})}
	if err := e.refreshRules(ctx); err != nil {
		base.Close()
		return nil, err
	}
	if err := e.SyncClock(ctx); err != nil {
		e.Logger().Warn("binance: server time unavailable; CurrentTimestamp is the local clock until FetchUpdates succeeds", "err", err)
	}
	if e.feed, err = a.newBookFeed(base.Publishing(), 0); err != nil {
		base.Close()
		return nil, err
	}
	fctx, cancel := context.WithCancel(context.Background())
	e.cancel = cancel
	go func() {
		defer close(e.done)
		err := e.feed.m.run(fctx, e.feed)
		if err != nil {
			e.Logger().Error("binance: book feed stopped", "err", err)
		}
		e.mu.Lock()
		e.runErr = err
		e.mu.Unlock()
	}()
	return e, nil
}

// Adapter returns the underlying venue adapter.
func (e *Exchange) Adapter() *Adapter { return e.a }

// Markets lists the venue's markets (exchange.MarketLister).
func (e *Exchange) Markets(ctx context.Context) ([]domain.Market, error) { return e.a.Markets(ctx) }

// SyncClock measures the venue's clock offset once (GET /api/v3/time).
func (e *Exchange) SyncClock(ctx context.Context) error {
	_, err := e.ClockOffset().Measure(ctx, func(ctx context.Context) (time.Time, error) {
		body, err := e.a.get(ctx, epTime, nil)
		if err != nil {
			return time.Time{}, err
		}
		ns, err := parseServerTime(body)
		return time.Unix(0, ns), err
	})
	return err
}

func (e *Exchange) refreshRules(ctx context.Context) error {
	if err := e.a.Refresh(ctx); err != nil {
		return fmt.Errorf("binance: load trading rules: %w", err)
	}
	t := e.a.symbols.Load()
	if t == nil || len(t.rules) == 0 {
		return errors.New("binance: exchangeInfo listed no markets")
	}
	if err := e.SetTradingRules(t.rules...); err != nil {
		return err
	}
	e.rulesAt = time.Now()
	return nil
}

// FetchUpdates implements operators.Fetcher: it measures the clock offset
// and reloads the trading rules when they are older than an hour. Book
// updates need no polling (they stream).
func (e *Exchange) FetchUpdates(ctx context.Context) error {
	err := e.SyncClock(ctx)
	if time.Since(e.rulesAt) > e.a.opt.infoTTL {
		err = errors.Join(err, e.refreshRules(ctx))
	}
	return err
}

func (e *Exchange) running() error {
	select {
	case <-e.done:
		e.mu.Lock()
		defer e.mu.Unlock()
		if e.runErr != nil {
			return fmt.Errorf("binance: book feed stopped: %w", e.runErr)
		}
		return errors.New("binance: exchange closed")
	default:
		return nil
	}
}

// SubscribeBook starts keeping symbol's book (orderbook.LiveBooks). It
// returns once the stream is requested; the book is readable when live
// (View.WaitLive).
func (e *Exchange) SubscribeBook(ctx context.Context, symbol domain.Symbol) error {
	if err := e.running(); err != nil {
		return err
	}
	vs, err := e.a.VenueSymbol(ctx, symbol)
	if err != nil {
		return err
	}
	b := newBookSym(symbol, vs)
	var addErr error
	if !e.feed.m.do(ctx, e.done, func() bool { addErr = e.feed.add(b); return true }) {
		if err := e.running(); err != nil {
			return err
		}
		return fmt.Errorf("binance: subscribe %s book: %w", symbol, ctx.Err())
	}
	return addErr
}

// UnsubscribeBook stops keeping symbol's book.
func (e *Exchange) UnsubscribeBook(ctx context.Context, symbol domain.Symbol) error {
	if err := e.running(); err != nil {
		return err
	}
	if !e.feed.m.do(ctx, e.done, func() bool { e.feed.remove(symbol); return true }) {
		if err := e.running(); err != nil {
			return err
		}
		return fmt.Errorf("binance: unsubscribe %s book: %w", symbol, ctx.Err())
	}
	return nil
}

// Book returns a read view of symbol's book; ok is false when it is not
// subscribed. The view refuses reads while the book is not live.
func (e *Exchange) Book(symbol domain.Symbol) (*orderbook.View, bool) {
	return e.feed.eng.Book(symbol)
}

// Close stops the book feed and the operator's publisher. It does not close
// the adapter.
func (e *Exchange) Close() error {
	e.cancel()
	<-e.done
	e.feed.close()
	return e.Base.Close()
}
