package httpc_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/pype-go/pype/transport/httpc"
	"github.com/pype-go/pype/transport/ratelimit"
)

// A Binance-style client: limiter, usage header, venue error codes.
func Example() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-MBX-USED-WEIGHT-1M", "42")
		if r.URL.Query().Get("symbol") != "BTCUSDT" {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"code":-1121,"msg":"Invalid symbol."}`)
			return
		}
		fmt.Fprint(w, `[[1704067200000,"42283.58","42554.57","42261.02","42475.23","1271.68"]]`)
	}))
	defer srv.Close()

	lim, _ := ratelimit.New([]ratelimit.Rule{{Name: "REQUEST_WEIGHT", Limit: 6000, Interval: time.Minute}})
	c, err := httpc.New(srv.URL,
		httpc.WithName("binance"),
		httpc.WithLimiter(lim),
		httpc.WithUsageHeader("X-MBX-USED-WEIGHT-1M", "REQUEST_WEIGHT"),
		httpc.WithErrorDecoder(func(status int, body []byte) (string, string) {
			var e struct {
				Code int    `json:"code"`
				Msg  string `json:"msg"`
			}
			if json.Unmarshal(body, &e) != nil || e.Code == 0 {
				return "", ""
			}
			return strconv.Itoa(e.Code), e.Msg
		}),
	)
	if err != nil {
		panic(err)
	}
	defer c.Close()

	ctx := context.Background()
	klines := ratelimit.Cost{{Rule: "REQUEST_WEIGHT", N: 2}}
	rows, err := httpc.GetJSON[[][]any](ctx, c, "/api/v3/klines",
		url.Values{"symbol": {"BTCUSDT"}, "interval": {"1h"}}, klines)
	fmt.Println(rows[0][1], err)
	fmt.Println("weight used:", lim.Stats().Rules[0].Used)

	_, err = c.Get(ctx, "/api/v3/klines", url.Values{"symbol": {"NOPE"}}, klines)
	var he *httpc.HTTPError
	if errors.As(err, &he) {
		fmt.Println(he.Status, he.VenueCode, he.VenueMsg)
	}
	// Output:
	// 42283.58 <nil>
	// weight used: 42
	// 400 -1121 Invalid symbol.
}

// A venue signer: Binance appends a timestamp and an HMAC-SHA256 signature
// of the query string, and sends the key in a header. The signature never
// appears in errors or logs.
func ExampleSignerFunc() {
	const key, secret = "my-api-key", "my-secret"
	signer := httpc.SignerFunc(func(ctx context.Context, t *httpc.SignTarget) error {
		q := t.URL.RawQuery
		if q != "" {
			q += "&"
		}
		q += "timestamp=" + strconv.FormatInt(t.Time.UnixMilli(), 10)
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write([]byte(q))
		mac.Write(t.Body)
		t.URL.RawQuery = q + "&signature=" + hex.EncodeToString(mac.Sum(nil))
		t.Header.Set("X-MBX-APIKEY", key)
		return nil
	})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Println("server got signature:", len(r.URL.Query().Get("signature")) == 64,
			"key:", r.Header.Get("X-MBX-APIKEY") == key)
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, `{"code":-2015,"msg":"Invalid API-key, IP, or permissions for action."}`)
	}))
	defer srv.Close()
	c, _ := httpc.New(srv.URL, httpc.WithSigner(signer),
		httpc.WithNow(func() time.Time { return time.UnixMilli(1704067200000) }))
	defer c.Close()

	_, err := c.Do(context.Background(), &httpc.Request{Path: "/api/v3/account", Signed: true,
		Query: url.Values{"recvWindow": {"5000"}}})
	fmt.Println(strings.Replace(err.Error(), srv.URL, "https://venue.example.invalid", 1))
	// Output:
	// server got signature: true key: true
	// httpc: GET https://venue.example.invalid/api/v3/account?recvWindow=5000&timestamp=1704067200000: HTTP 401 Unauthorized: "{\"code\":-2015,\"msg\":\"Invalid API-key, IP, or permissions for action.\"}"
}

// Kraken reports errors inside HTTP 200 bodies; a classifier turns them
// into soft errors, retried when transient and never an empty result.
func ExampleWithClassifier() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"error":["EQuery:Unknown asset pair"]}`)
	}))
	defer srv.Close()
	kraken := func(status int, h http.Header, body []byte) error {
		var v struct {
			Error []string `json:"error"`
		}
		if json.Unmarshal(body, &v) != nil || len(v.Error) == 0 {
			return nil
		}
		code, msg, _ := strings.Cut(v.Error[0], ":")
		return &httpc.SoftError{Code: code, Msg: msg,
			Retryable: code == "EGeneral" && msg == "Too many requests" || code == "EService"}
	}
	c, _ := httpc.New(srv.URL, httpc.WithClassifier(kraken))
	defer c.Close()
	_, err := c.Get(context.Background(), "/0/public/OHLC", url.Values{"pair": {"NOPE"}}, nil)
	var se *httpc.SoftError
	fmt.Println(errors.As(err, &se), se.Code, se.Msg, se.Retryable)
	// Output:
	// true EQuery Unknown asset pair false
}
