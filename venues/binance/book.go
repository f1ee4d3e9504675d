package binance

import (
	"context"
	"fmt"
	"net/url"
	"strconv"

	"github.com/pype-go/pype/domain"
)

// BookSnapshot fetches GET /api/v3/depth with up to depth levels per side
// (1…5000; the request weighs 5, 25, 50 or 250 by depth). Seq is the
// snapshot's lastUpdateId.
func (a *Adapter) BookSnapshot(ctx context.Context, sym domain.Symbol, depth int) (domain.BookSnapshot, error) {
	if depth <= 0 || depth > MaxDepth {
		return domain.BookSnapshot{}, &domain.CapabilityError{Venue: Name, What: fmt.Sprintf("book depth %d", depth), Accept: "1 to 5000 levels"}
	}
	vs, err := a.VenueSymbol(ctx, sym)
	if err != nil {
		return domain.BookSnapshot{}, err
	}
	b, err := a.depth(ctx, vs, depth)
	if err != nil {
		return domain.BookSnapshot{}, err
	}
	b.Symbol = sym
	return b, nil
}

func (a *Adapter) depth(ctx context.Context, venueSym string, limit int) (domain.BookSnapshot, error) {
	q := url.Values{}
	q.Set("symbol", venueSym)
	q.Set("limit", strconv.Itoa(limit))
	body, err := a.getWeighted(ctx, epDepth, q, DepthWeight(limit))
	if err != nil {
		return domain.BookSnapshot{}, err
	}
	b, err := parseDepth(body)
	if err != nil {
		return domain.BookSnapshot{}, err
	}
	b.RecvTime = a.localNow().UnixNano()
	if b.Time == 0 {
		b.Time = a.serverNow()
	}
	return b, nil
}
