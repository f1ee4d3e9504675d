package coinbase

import (
	"context"
	"fmt"
	"net/url"

	"github.com/pype-go/pype/domain"
)

// BookSnapshot fetches GET /products/{id}/book with up to depth levels per
// side: level=1 (the best bid and ask) for depth 1, else level=2 (the full
// aggregated book), cut to depth locally; depth 0 keeps the whole book. Seq
// is the book's sequence number.
func (a *Adapter) BookSnapshot(ctx context.Context, sym domain.Symbol, depth int) (domain.BookSnapshot, error) {
	if depth < 0 {
		return domain.BookSnapshot{}, &domain.CapabilityError{Venue: Name, What: fmt.Sprintf("book depth %d", depth), Accept: "0 (full book) or a positive level count"}
	}
	product, err := a.VenueSymbol(ctx, sym)
	if err != nil {
		return domain.BookSnapshot{}, err
	}
	level := "2"
	if depth == 1 {
		level = "1"
	}
	q := url.Values{}
	q.Set("level", level)
	resp, err := a.get(ctx, epBook, product, q)
	if err != nil {
		return domain.BookSnapshot{}, err
	}
	b, err := parseBook(resp.Body)
	if err != nil {
		return domain.BookSnapshot{}, err
	}
	if depth > 0 {
		b.Bids = b.Bids[:min(depth, len(b.Bids))]
		b.Asks = b.Asks[:min(depth, len(b.Asks))]
	}
	b.Symbol = sym
	b.RecvTime = a.localNow().UnixNano()
	if b.Time == 0 {
		b.Time = a.serverNow()
	}
	return b, nil
}
