package orderbook

import (
	"context"
	"errors"
	"fmt"

	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/operators/exchange"
)

// LiveBooks is the order-book capability of a venue connector: subscribe a
// symbol and read its live L2 book.
type LiveBooks interface {
	// SubscribeBook starts keeping symbol's book in sync. It returns once
	// the venue subscription is requested; the book becomes readable when
	// it is live (see [View.WaitLive]).
	SubscribeBook(ctx context.Context, symbol domain.Symbol) error
	// UnsubscribeBook stops keeping symbol's book.
	UnsubscribeBook(ctx context.Context, symbol domain.Symbol) error
	// Book returns a read view of symbol's book; ok is false when the
	// symbol is not subscribed.
	Book(symbol domain.Symbol) (v *View, ok bool)
}

// OrderbookExchange is an [exchange.ExchangeOperator] with live L2 books
// (the specification's OrderbookExchange): best bid/ask, depth, VWAP and
// price for a size through [LiveBooks.Book].
type OrderbookExchange interface {
	exchange.ExchangeOperator
	LiveBooks
}

// Keeper implements [LiveBooks] on an [Engine] for a venue adapter, which
// supplies how to (un)subscribe the venue stream. Embed it in a connector:
//
//	type Kraken struct {
//		*exchange.Base
//		*orderbook.Keeper
//	}
//
// SubscribeBook adds the symbol to the engine before subscribing, so no
// diff that arrives right after the subscription is lost.
type Keeper struct {
	Engine *Engine
	// Subscribe asks the venue for symbol's book stream. Required.
	Subscribe func(ctx context.Context, symbol domain.Symbol) error
	// Unsubscribe cancels it; nil means nothing to send.
	Unsubscribe func(ctx context.Context, symbol domain.Symbol) error
}

// SubscribeBook implements [LiveBooks].
func (k *Keeper) SubscribeBook(ctx context.Context, symbol domain.Symbol) error {
	if k.Engine == nil || k.Subscribe == nil {
		return errors.New("orderbook: Keeper needs an Engine and a Subscribe function")
	}
	if err := k.Engine.Add(symbol); err != nil {
		return err
	}
	if err := k.Subscribe(ctx, symbol); err != nil {
		k.Engine.Remove(symbol)
		return fmt.Errorf("orderbook: subscribe %s book: %w", symbol, err)
	}
	return nil
}

// UnsubscribeBook implements [LiveBooks].
func (k *Keeper) UnsubscribeBook(ctx context.Context, symbol domain.Symbol) error {
	if k.Engine == nil {
		return errors.New("orderbook: Keeper needs an Engine")
	}
	k.Engine.Remove(symbol)
	if k.Unsubscribe != nil {
		if err := k.Unsubscribe(ctx, symbol); err != nil {
			return fmt.Errorf("orderbook: unsubscribe %s book: %w", symbol, err)
		}
	}
	return nil
}

// Book implements [LiveBooks].
func (k *Keeper) Book(symbol domain.Symbol) (*View, bool) {
	if k.Engine == nil {
		return nil, false
	}
	return k.Engine.Book(symbol)
}
