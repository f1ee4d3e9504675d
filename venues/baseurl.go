package venues

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
)

// URLError reports a venue base URL that cannot be used.
type URLError struct {
	Venue    string
	URL      string
	Accepted []string // URL schemes accepted
	Err      error    // parse error, if any
}

func (e *URLError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: invalid base URL %q: %v", e.Venue, e.URL, e.Err)
	}
	return fmt.Sprintf("%s: invalid base URL %q (accepted: %s://host[:port][/path])", e.Venue, e.URL, strings.Join(e.Accepted, "|"))
}

func (e *URLError) Unwrap() error { return e.Err }

// BaseURL validates a venue base URL: given, or def when given is empty,
// must parse, use one of schemes and name a host. The result has no
// trailing slash; when it has no path, defPath (e.g. "/api/v1") is
// appended, so a simulator's root URL works for venues whose API lives
// under a path.
func BaseURL(venue, given, def, defPath string, schemes ...string) (string, error) {
	if given == "" {
		given = def
	}
	u, err := url.Parse(given)
	if err != nil {
		return "", &URLError{Venue: venue, URL: given, Accepted: schemes, Err: err}
	}
	if !slices.Contains(schemes, u.Scheme) || u.Host == "" {
		return "", &URLError{Venue: venue, URL: given, Accepted: schemes}
	}
	given = strings.TrimRight(given, "/")
	if strings.Trim(u.Path, "/") == "" {
		given += defPath
	}
	return given, nil
}
