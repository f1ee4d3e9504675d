package bitfinex

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/pype-go/pype/domain"
)

// bookPath is the REST path of a symbol's P0 (price-aggregated, full
// precision) book.
func bookPath(venueSym string) string { return "/book/" + venueSym + "/P0" }

// BookLength returns the smallest Bitfinex book length ("len") holding
// depth levels per side: 1, 25 or 100 over REST (ws: also 250). depth ≤ 0
// means the default 25.
func BookLength(depth int, ws bool) (int, error) {
	lens := BookLengths
	if ws {
		lens = WSBookLengths
	}
	if depth <= 0 {
		return DefaultSnapshotLn, nil
	}
	for _, l := range lens {
		if depth <= l {
			return l, nil
		}
	}
	names := make([]string, len(lens))
	for i, l := range lens {
		names[i] = strconv.Itoa(l)
	}
	return 0, &domain.CapabilityError{Venue: Name, What: fmt.Sprintf("book depth %d", depth), Accept: "up to " + strconv.Itoa(lens[len(lens)-1]) + " levels per side (len " + strings.Join(names, ", ") + ")"}
}

// BookSnapshot fetches GET /book/{sym}/P0?len=… with the smallest length
// holding depth levels per side (1, 25 or 100; depth ≤ 0 means 25) and
// returns at most depth levels per side, best first. Bitfinex's REST book
// carries no sequence number or timestamp: Seq is 0 and Time the local
// receive time.
func (a *Adapter) BookSnapshot(ctx context.Context, sym domain.Symbol, depth int) (domain.BookSnapshot, error) {
	vs, err := a.VenueSymbol(ctx, sym)
	if err != nil {
		return domain.BookSnapshot{}, err
	}
	n, err := BookLength(depth, false)
	if err != nil {
		return domain.BookSnapshot{}, err
	}
	q := url.Values{}
	q.Set("len", strconv.Itoa(n))
	body, err := a.get(ctx, bookPath(vs), q)
	if err != nil {
		return domain.BookSnapshot{}, err
	}
	recv := a.nowNs()
	bids, asks, err := parseBook(body)
	if err != nil {
		return domain.BookSnapshot{}, err
	}
	sortLevels(bids, asks)
	if depth > 0 {
		bids, asks = bids[:min(depth, len(bids))], asks[:min(depth, len(asks))]
	}
	return domain.BookSnapshot{Symbol: sym, Time: recv, RecvTime: recv, Bids: bids, Asks: asks}, nil
}

// sortLevels orders bids highest first and asks lowest first (Bitfinex
// already does; this guards against a venue change).
func sortLevels(bids, asks []domain.BookLevel) {
	slices.SortStableFunc(bids, func(x, y domain.BookLevel) int { return y.Price.Cmp(x.Price) })
	slices.SortStableFunc(asks, func(x, y domain.BookLevel) int { return x.Price.Cmp(y.Price) })
}
