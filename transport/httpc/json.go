package httpc

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"

	"github.com/pype-go/pype/transport/ratelimit"
)

// JSON decodes the body into v; a malformed body gives a [*DecodeError]
// holding the start of the body.
func (r *Response) JSON(v any) error {
	if err := json.Unmarshal(r.Body, v); err != nil {
		return &DecodeError{Method: r.Method, URL: r.URL, Body: truncate(r.Body, MaxErrorBody), Err: err}
	}
	return nil
}

// DoJSON sends req and decodes the JSON body of the response into a T.
func DoJSON[T any](ctx context.Context, c *Client, req *Request) (T, error) {
	var v T
	resp, err := c.Do(ctx, req)
	if err != nil {
		return v, err
	}
	if err := resp.JSON(&v); err != nil {
		var zero T
		return zero, err
	}
	return v, nil
}

// GetJSON sends a GET request and decodes the JSON body into a T.
func GetJSON[T any](ctx context.Context, c *Client, path string, query url.Values, cost ratelimit.Cost) (T, error) {
	return DoJSON[T](ctx, c, &Request{Method: http.MethodGet, Path: path, Query: query, Cost: cost})
}
