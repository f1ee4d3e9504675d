package paginate_test

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/transport/paginate"
)

// A venue adapter plugs its one-request fetcher into OHLC. This fake venue
// serves hourly bars but, unlike its declared 1000, only 300 per request:
// OHLC notices and fetches the rest.
func ExampleOHLC() {
	venue := func(ctx context.Context, w domain.Range, limit int) ([]domain.OHLCBar, error) {
		var bars []domain.OHLCBar
		for t := w.Start; t < w.End && len(bars) < min(limit, 300); t += int64(time.Hour) {
			bars = append(bars, domain.OHLCBar{OpenTime: t})
		}
		return bars, nil
	}
	from, _ := domain.ParseTime("2024-01-20")
	to, _ := domain.ParseTime("2024-03-01")
	windows := 0
	var bars []domain.OHLCBar
	for bar, err := range paginate.OHLC(context.Background(), domain.Range{Start: from, End: to}, venue, paginate.OHLCOptions{
		Span:        domain.Span1h,
		Limit:       1000, // the venue's Capability.MaxPerRequest
		Concurrency: 2,
		Coverage:    func(c paginate.Coverage) { windows++ },
	}) {
		if err != nil {
			fmt.Println("error:", err)
			return
		}
		bars = append(bars, bar)
	}
	fmt.Println(len(bars), "bars in", windows, "windows")
	fmt.Println("first", domain.FormatNs(bars[0].OpenTime))
	fmt.Println("last ", domain.FormatNs(bars[len(bars)-1].OpenTime))
	// Output:
	// 984 bars in 1 windows
	// first 2024-01-20T00:00:00Z
	// last  2024-02-29T23:00:00Z
}

// Bitfinex-style trade paging: there is no id cursor, so each page restarts
// AT the last page's final millisecond and Trades removes the overlap by
// trade id. Here three trades share the millisecond where the first
// 4-trade page ends.
func ExampleTrades() {
	base, _ := domain.ParseTime("2024-03-01")
	ms := []int64{0, 1, 2, 2, 2, 3, 4}
	var history []domain.Trade
	for i, m := range ms {
		history = append(history, domain.Trade{ID: strconv.Itoa(100 + i), Time: base + m*int64(time.Millisecond)})
	}
	venue := func(ctx context.Context, startMs int64) (paginate.TradesPage[int64], error) {
		var page paginate.TradesPage[int64]
		for _, t := range history {
			if t.Time/int64(time.Millisecond) >= startMs && len(page.Items) < 4 {
				page.Items = append(page.Items, t)
			}
		}
		page.Done = len(page.Items) < 4
		if !page.Done {
			page.Next = page.Items[len(page.Items)-1].Time / int64(time.Millisecond)
		}
		return page, nil
	}
	w := domain.Range{Start: base, End: base + 4*int64(time.Millisecond)}
	for t, err := range paginate.Trades(context.Background(), w, w.Start/int64(time.Millisecond), venue, paginate.TradesOptions{}) {
		if err != nil {
			fmt.Println("error:", err)
			return
		}
		fmt.Print(t.ID, " ")
	}
	fmt.Println()
	// Output:
	// 100 101 102 103 104 105
}

// Draining sub-windows concurrently, then proving with the venue's
// contiguous ids that nothing was lost at the seams.
func ExampleTradeWindows() {
	base, _ := domain.ParseTime("2024-03-01")
	trade := func(id int64) domain.Trade {
		return domain.Trade{ID: strconv.FormatInt(id, 10), Time: base + id*int64(time.Millisecond)}
	}
	// An id-cursor venue (Binance aggTrades fromId); ids 1…1000.
	venue := func(ctx context.Context, fromID int64) (paginate.TradesPage[int64], error) {
		var page paginate.TradesPage[int64]
		for id := fromID; id < fromID+100 && id <= 1000; id++ {
			page.Items = append(page.Items, trade(id))
		}
		page.Next, page.Done = fromID+100, fromID+100 > 1000
		return page, nil
	}
	first := func(ctx context.Context, w domain.Range) (int64, error) {
		return (w.Start - base + int64(time.Millisecond) - 1) / int64(time.Millisecond), nil
	}
	r := domain.Range{Start: base + int64(time.Millisecond), End: base + 1001*int64(time.Millisecond)}
	n := 0
	trades := paginate.TradeWindows(context.Background(), r, first, venue, paginate.TradeWindowsOptions{Parts: 8, Concurrency: 4})
	for _, err := range paginate.CheckContiguous(trades, nil) {
		if err != nil {
			fmt.Println("error:", err)
			return
		}
		n++
	}
	fmt.Println(n, "trades, ids contiguous")
	// Output:
	// 1000 trades, ids contiguous
}

// Backward follows a newest-first cursor; the consumer stops when it has
// gone back far enough.
func ExampleBackward() {
	venue := func(ctx context.Context, before int) (paginate.Page[int, int], error) {
		var page paginate.Page[int, int]
		for id := before - 1; id >= before-3 && id > 0; id-- {
			page.Items = append(page.Items, id)
		}
		page.Next, page.Done = before-3, before-3 <= 1
		return page, nil
	}
	for id, err := range paginate.Backward(context.Background(), 11, venue, paginate.BackwardOptions{MaxPages: 100}) {
		if err != nil {
			fmt.Println("error:", err)
			return
		}
		if id < 5 {
			break
		}
		fmt.Print(id, " ")
	}
	fmt.Println()
	// Output:
	// 10 9 8 7 6 5
}

// Forward lays windows on a grid aligned to the bar, not to the window.
func ExampleWindows() {
	from, _ := domain.ParseTime("2024-01-20T10:30:00Z")
	to, _ := domain.ParseTime("2024-01-22T12:00:00Z")
	for w := range paginate.Windows(domain.Range{Start: from, End: to}, domain.Span1d, domain.Span1h) {
		fmt.Println(w)
	}
	// Output:
	// [2024-01-20T10:00:00Z, 2024-01-21T10:00:00Z)
	// [2024-01-21T10:00:00Z, 2024-01-22T10:00:00Z)
	// [2024-01-22T10:00:00Z, 2024-01-22T12:00:00Z)
}

func ExampleProgress_ETA() {
	p := paginate.Progress{Done: 25, Total: 100}
	eta, _ := p.ETA(30 * time.Second)
	f, _ := p.Fraction()
	fmt.Printf("%.0f%% done, about %s left\n", 100*f, eta)
	// Output:
	// 25% done, about 1m30s left
}
