package bybit

import (
	"context"
	"fmt"
	"net/url"
	"strconv"

	"github.com/pype-go/pype/domain"
)

// BookSnapshot fetches GET /v5/market/orderbook with up to depth levels per
// side (spot 1…200, linear/inverse 1…500). Seq is the snapshot's update id
// u, Time the venue's ts.
func (a *Adapter) BookSnapshot(ctx context.Context, sym domain.Symbol, depth int) (domain.BookSnapshot, error) {
	cat, vs, err := a.VenueSymbol(ctx, sym)
	if err != nil {
		return domain.BookSnapshot{}, err
	}
	if m := maxDepth(cat); depth <= 0 || depth > m {
		return domain.BookSnapshot{}, &domain.CapabilityError{Venue: Name, What: fmt.Sprintf("book depth %d on %s", depth, cat),
			Accept: fmt.Sprintf("1 to %d levels", m)}
	}
	q := url.Values{}
	q.Set("category", string(cat))
	q.Set("symbol", vs)
	q.Set("limit", strconv.Itoa(depth))
	body, err := a.get(ctx, epOrderbook, q)
	if err != nil {
		return domain.BookSnapshot{}, err
	}
	b, err := parseOrderbook(body)
	if err != nil {
		return domain.BookSnapshot{}, err
	}
	b.Symbol = sym
	b.RecvTime = a.localNow().UnixNano()
	if b.Time == 0 {
		b.Time = a.serverNow()
	}
	return b, nil
}
