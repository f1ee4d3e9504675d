package httpc

import (
	"errors"
	"net/url"
	"strings"
)

// defaultRedact lists the query parameters (compared case-insensitively,
// ignoring '-' and '_') stripped from URLs in errors and logs.
var defaultRedact = []string{
	"signature", "sign", "sig", "apikey", "key", "secret", "apisecret",
	"passphrase", "token", "accesstoken", "xmbxapikey", "otp", "password",
}

func normParam(s string) string {
	s = strings.ToLower(s)
	if strings.ContainsAny(s, "-_") {
		s = strings.NewReplacer("-", "", "_", "").Replace(s)
	}
	return s
}

// redactor strips secrets from URLs.
type redactor struct{ names map[string]bool }

func newRedactor(extra []string) redactor {
	r := redactor{names: make(map[string]bool, len(defaultRedact)+len(extra))}
	for _, n := range defaultRedact {
		r.names[n] = true
	}
	for _, n := range extra {
		r.names[normParam(n)] = true
	}
	return r
}

// url returns u as a string without user info and without sensitive query
// parameters, keeping the order of the others.
func (r redactor) url(u *url.URL) string {
	c := *u
	c.User = nil
	c.RawQuery = r.query(u.RawQuery)
	c.ForceQuery = false
	return c.String()
}

func (r redactor) query(raw string) string {
	if raw == "" {
		return ""
	}
	parts := strings.Split(raw, "&")
	keep := parts[:0]
	for _, p := range parts {
		k, _, _ := strings.Cut(p, "=")
		if uk, err := url.QueryUnescape(k); err == nil {
			k = uk
		}
		if r.names[normParam(k)] {
			continue
		}
		keep = append(keep, p)
	}
	return strings.Join(keep, "&")
}

// err rewrites the URL inside a *url.Error (net/http puts the full request
// URL, signature included, into its error strings).
func (r redactor) err(err error) error {
	var ue *url.Error
	if !errors.As(err, &ue) {
		return err
	}
	safe := "<url>"
	if u, perr := url.Parse(ue.URL); perr == nil {
		safe = r.url(u)
	}
	return &url.Error{Op: ue.Op, URL: safe, Err: ue.Err}
}
