package httpc

import (
	"net/url"
	"time"
)

// ParseRetryAfter exposes parseRetryAfter to tests.
func ParseRetryAfter(v string, now time.Time) (time.Duration, bool) { return parseRetryAfter(v, now) }

// RedactURL exposes the default redaction to tests.
func RedactURL(u *url.URL, extra ...string) string { return newRedactor(extra).url(u) }

// Ceiling exposes the backoff ceiling of a policy (after defaults).
func Ceiling(p RetryPolicy, n int) time.Duration { return p.withDefaults().ceiling(n) }
