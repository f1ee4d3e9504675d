package kraken

import (
	"context"
	"fmt"
	"net/url"
	"strconv"

	"github.com/pype-go/pype/domain"
)

// BookSnapshot fetches GET /0/public/Depth with up to depth levels per side
// (1 to 500). Kraken's snapshots carry no sequence number (Seq is 0); Time
// is the venue clock when the answer arrived.
func (a *Adapter) BookSnapshot(ctx context.Context, sym domain.Symbol, depth int) (domain.BookSnapshot, error) {
	if depth <= 0 || depth > MaxDepth {
		return domain.BookSnapshot{}, &domain.CapabilityError{Venue: Name, What: fmt.Sprintf("book depth %d", depth), Accept: "1 to 500 levels"}
	}
	p, err := a.Pair(ctx, sym)
	if err != nil {
		return domain.BookSnapshot{}, err
	}
	q := url.Values{}
	q.Set("pair", p.Altname)
	q.Set("count", strconv.Itoa(depth))
	body, err := a.get(ctx, pathDepth, q, publicCost())
	if err != nil {
		return domain.BookSnapshot{}, err
	}
	b, err := parseDepth(body)
	if err != nil {
		return domain.BookSnapshot{}, err
	}
	return domain.BookSnapshot{Symbol: sym, Time: a.serverNow(), RecvTime: a.localNow().UnixNano(), Bids: b.Bids, Asks: b.Asks}, nil
}
