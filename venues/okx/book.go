package okx

import (
	"context"
	"fmt"
	"net/url"
	"strconv"

	"github.com/pype-go/pype/domain"
)

// BookSnapshot fetches a REST order book with up to depth levels per side:
// GET /api/v5/market/books for 1…400 levels (40 requests / 2 s), GET
// /api/v5/market/books-full for 401…5000 (10 requests / 2 s). OKX's REST
// books carry no sequence id (Seq is 0); Time is the book's ts.
func (a *Adapter) BookSnapshot(ctx context.Context, sym domain.Symbol, depth int) (domain.BookSnapshot, error) {
	if depth <= 0 || depth > MaxBooksFull {
		return domain.BookSnapshot{}, &domain.CapabilityError{Venue: Name, What: fmt.Sprintf("book depth %d", depth),
			Accept: "1 to 400 levels (/market/books) or up to 5000 (/market/books-full)"}
	}
	inst, err := a.VenueSymbol(ctx, sym)
	if err != nil {
		return domain.BookSnapshot{}, err
	}
	ep := epBooks
	if depth > MaxBooks {
		ep = epBooksFull
	}
	q := url.Values{}
	q.Set("instId", inst)
	q.Set("sz", strconv.Itoa(depth))
	body, err := a.get(ctx, ep, q)
	if err != nil {
		return domain.BookSnapshot{}, err
	}
	b, err := parseBook(body)
	if err != nil {
		return domain.BookSnapshot{}, fmt.Errorf("okx: %s?%s: %w", ep, q.Encode(), err)
	}
	b.Symbol = sym
	b.RecvTime = a.localNow().UnixNano()
	if b.Time == 0 {
		b.Time = a.serverNow()
	}
	return b, nil
}
