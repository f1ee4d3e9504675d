package app

import (
	"context"
	"fmt"
	"strings"

	"github.com/pype-go/pype/domain"
	"github.com/pype-go/pype/store"
)

// Filter selects datasets; zero fields match everything.
type Filter struct {
	Venue   string
	Symbols []domain.Symbol
	Type    domain.DataType
	Span    domain.Span
}

// Match reports whether id passes the filter.
func (f Filter) Match(id domain.DatasetID) bool {
	if f.Venue != "" && !strings.EqualFold(f.Venue, id.Venue) {
		return false
	}
	if len(f.Symbols) > 0 {
		found := false
		for _, s := range f.Symbols {
			if s == id.Symbol {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	if f.Type != "" && f.Type != id.Type {
		return false
	}
	if f.Span.Valid() && f.Span != id.Span {
		return false
	}
	return true
}

// Inventory lists the datasets in the data directory that match f, with
// files, rows, time extent, coverage, gaps between covered ranges and
// unreadable files. A data directory that does not exist holds nothing.
func (a *App) Inventory(ctx context.Context, f Filter) ([]store.DatasetInfo, error) {
	st, err := a.openStoreRead()
	if err != nil || st == nil {
		return nil, err
	}
	ids, err := st.Datasets(ctx)
	if err != nil {
		return nil, err
	}
	var out []store.DatasetInfo
	for _, id := range ids {
		if !f.Match(id) {
			continue
		}
		info, err := st.Info(ctx, id)
		if err != nil {
			return out, fmt.Errorf("inventory of %s: %w", id, err)
		}
		if info.Files == 0 {
			continue
		}
		out = append(out, info)
	}
	return out, nil
}
