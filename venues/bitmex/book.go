package bitmex

import (
	"context"
	"fmt"
	"net/url"
	"strconv"

	"github.com/pype-go/pype/domain"
)

// BookSnapshot fetches GET /orderBook/L2 with up to depth levels per side
// (0: the full book). Amounts are contracts. BitMEX books carry no
// sequence number, so Seq is 0; Time is the latest level timestamp (the
// venue's clock when the levels carry none).
func (a *Adapter) BookSnapshot(ctx context.Context, sym domain.Symbol, depth int) (domain.BookSnapshot, error) {
	if depth < 0 {
		return domain.BookSnapshot{}, &domain.CapabilityError{Venue: Name, What: fmt.Sprintf("book depth %d", depth), Accept: "1 or more levels per side, or 0 for the full book"}
	}
	vs, err := a.VenueSymbol(ctx, sym)
	if err != nil {
		return domain.BookSnapshot{}, err
	}
	q := url.Values{}
	q.Set("symbol", vs)
	q.Set("depth", strconv.Itoa(depth))
	body, err := a.get(ctx, pathL2, q)
	if err != nil {
		return domain.BookSnapshot{}, err
	}
	b, err := parseL2(body, vs)
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
