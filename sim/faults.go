package sim

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Faults lists the misbehaviours a venue listener injects. The zero value
// injects nothing. Rates are probabilities per request (or per WebSocket
// message) in [0, 1]; decisions come from a seeded generator, so a client
// that sends the same requests in the same order sees the same faults.
type Faults struct {
	Latency         time.Duration // added before every REST response
	Jitter          time.Duration // plus a uniform random extra in [0, Jitter)
	ServerErrorRate float64       // answer 500/502/503/504 with an HTML body
	ResetRate       float64       // reset the TCP connection without a response
	TruncateRate    float64       // send the headers and half the body, then cut
	RateLimitRate   float64       // answer 429 as if the weight limit were hit
	WSDropEvery     int           // close each WebSocket after every N messages
	DepthGapEvery   int           // skip one depth diff (an update-id gap) every N diffs
	WSDelayRate     float64       // hold a message back for WSDelay
	WSDelay         time.Duration
	WSDuplicateRate float64       // send a message twice
	ClockSkew       time.Duration // added to the server time the venue reports
}

// IsZero reports whether no fault is configured.
func (f Faults) IsZero() bool { return f == Faults{} }

// faultKeys documents the text form accepted by [ParseFaults].
var faultKeys = []string{"latency", "jitter", "5xx", "reset", "truncate", "429", "wsdrop", "depthgap", "wsdelay", "wsdup", "skew"}

// ParseFaults reads the text form of [Faults]: comma-separated key=value
// pairs, e.g. "latency=50ms,jitter=20ms,5xx=0.05,reset=0.02,truncate=0.02,
// 429=0.01,wsdrop=1000,depthgap=200,wsdelay=0.01:250ms,wsdup=0.01,skew=-2s".
// An empty string is the zero Faults.
func ParseFaults(s string) (Faults, error) {
	var f Faults
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			return f, fmt.Errorf("fault %q: want key=value (keys: %s)", part, strings.Join(faultKeys, ", "))
		}
		k, v = strings.ToLower(strings.TrimSpace(k)), strings.TrimSpace(v)
		var err error
		dur := func(dst *time.Duration) {
			*dst, err = time.ParseDuration(v)
		}
		rate := func(dst *float64, val string) {
			*dst, err = strconv.ParseFloat(val, 64)
			if err == nil && (*dst < 0 || *dst > 1) {
				err = fmt.Errorf("rate %v is outside [0, 1]", *dst)
			}
		}
		count := func(dst *int) {
			*dst, err = strconv.Atoi(v)
			if err == nil && *dst < 0 {
				err = fmt.Errorf("count %d is negative", *dst)
			}
		}
		switch k {
		case "latency":
			dur(&f.Latency)
		case "jitter":
			dur(&f.Jitter)
		case "5xx", "servererror":
			rate(&f.ServerErrorRate, v)
		case "reset":
			rate(&f.ResetRate, v)
		case "truncate":
			rate(&f.TruncateRate, v)
		case "429", "ratelimit":
			rate(&f.RateLimitRate, v)
		case "wsdrop":
			count(&f.WSDropEvery)
		case "depthgap":
			count(&f.DepthGapEvery)
		case "wsdelay":
			r, d, ok := strings.Cut(v, ":")
			if !ok {
				d = "250ms"
			}
			rate(&f.WSDelayRate, r)
			if err == nil {
				f.WSDelay, err = time.ParseDuration(d)
			}
		case "wsdup":
			rate(&f.WSDuplicateRate, v)
		case "skew":
			dur(&f.ClockSkew)
		default:
			return f, fmt.Errorf("unknown fault %q (keys: %s)", k, strings.Join(faultKeys, ", "))
		}
		if err != nil {
			return f, fmt.Errorf("fault %s=%s: %w", k, v, err)
		}
	}
	return f, nil
}

// String prints f in the form [ParseFaults] reads.
func (f Faults) String() string {
	var p []string
	add := func(k, v string) { p = append(p, k+"="+v) }
	fl := func(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }
	if f.Latency != 0 {
		add("latency", f.Latency.String())
	}
	if f.Jitter != 0 {
		add("jitter", f.Jitter.String())
	}
	if f.ServerErrorRate != 0 {
		add("5xx", fl(f.ServerErrorRate))
	}
	if f.ResetRate != 0 {
		add("reset", fl(f.ResetRate))
	}
	if f.TruncateRate != 0 {
		add("truncate", fl(f.TruncateRate))
	}
	if f.RateLimitRate != 0 {
		add("429", fl(f.RateLimitRate))
	}
	if f.WSDropEvery != 0 {
		add("wsdrop", strconv.Itoa(f.WSDropEvery))
	}
	if f.DepthGapEvery != 0 {
		add("depthgap", strconv.Itoa(f.DepthGapEvery))
	}
	if f.WSDelayRate != 0 {
		add("wsdelay", fl(f.WSDelayRate)+":"+f.WSDelay.String())
	}
	if f.WSDuplicateRate != 0 {
		add("wsdup", fl(f.WSDuplicateRate))
	}
	if f.ClockSkew != 0 {
		add("skew", f.ClockSkew.String())
	}
	return strings.Join(p, ",")
}

// Fault kinds as counted in [StatsSnapshot.Faults].
const (
	FaultLatency     = "latency"
	FaultServerError = "5xx"
	FaultReset       = "reset"
	FaultTruncate    = "truncate"
	FaultRateLimit   = "429"
	FaultWSDrop      = "ws_drop"
	FaultDepthGap    = "depth_gap"
	FaultWSDelay     = "ws_delay"
	FaultWSDuplicate = "ws_duplicate"
)

type faultKind int

const (
	faultServerError faultKind = iota
	faultReset
	faultTruncate
	faultRateLimit
	faultWSDelay
	faultWSDup
)

// FaultInjector holds a venue's current [Faults] and their seeded
// decisions. It is safe for concurrent use; Set takes effect for the next
// request or message.
type FaultInjector struct {
	f     atomic.Pointer[Faults] // never nil after NewFaultInjector
	key   uint64
	n     atomic.Uint64
	stats *Stats
}

// NewFaultInjector returns an injector seeded with seed. stats may be nil.
func NewFaultInjector(f Faults, seed uint64, stats *Stats) *FaultInjector {
	fi := &FaultInjector{key: mix64(seed ^ 0x6661756c74), stats: stats}
	fi.f.Store(&f)
	return fi
}

// Set replaces the faults.
func (fi *FaultInjector) Set(f Faults) { fi.f.Store(&f) }

// Get returns the current faults.
func (fi *FaultInjector) Get() Faults { return *fi.faults() }

// faults returns the current faults without copying (read-only). The
// zero FaultInjector injects nothing.
func (fi *FaultInjector) faults() *Faults {
	if f := fi.f.Load(); f != nil {
		return f
	}
	return &noFaults
}

var noFaults Faults

func (fi *FaultInjector) draw() float64 { return unit(mix64(fi.key ^ fi.n.Add(1)*0x9e3779b97f4a7c15)) }

func (fi *FaultInjector) intn(n int) int { return int(fi.draw() * float64(n)) }

// roll decides one fault of a kind and counts it when it fires.
func (fi *FaultInjector) roll(k faultKind) bool { return fi.rollWith(fi.faults(), k) }

func (fi *FaultInjector) rollWith(f *Faults, k faultKind) bool {
	var p float64
	var name string
	switch k {
	case faultServerError:
		p, name = f.ServerErrorRate, FaultServerError
	case faultReset:
		p, name = f.ResetRate, FaultReset
	case faultTruncate:
		p, name = f.TruncateRate, FaultTruncate
	case faultRateLimit:
		p, name = f.RateLimitRate, FaultRateLimit
	case faultWSDelay:
		p, name = f.WSDelayRate, FaultWSDelay
	case faultWSDup:
		p, name = f.WSDuplicateRate, FaultWSDuplicate
	}
	if p <= 0 || fi.draw() >= p {
		return false
	}
	fi.count(name)
	return true
}

func (fi *FaultInjector) count(name string) {
	if fi.stats != nil {
		fi.stats.Fault(name)
	}
}

// ClockSkew returns the configured server-time skew.
func (fi *FaultInjector) ClockSkew() time.Duration { return fi.Get().ClockSkew }

const serverErrorHTML = `<html>
<head><title>%d %s</title></head>
<body>
<center><h1>%d %s</h1></center>
<hr><center>nginx</center>
</body>
</html>
`

// Middleware applies the REST faults (latency, reset, 5xx, truncation) to
// next. Requests under /_sim/ and WebSocket upgrades are passed through.
func (fi *FaultInjector) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/_sim/") || isUpgrade(r) {
			next.ServeHTTP(w, r)
			return
		}
		f := fi.Get()
		if f.IsZero() {
			next.ServeHTTP(w, r)
			return
		}
		if d := f.Latency; d > 0 || f.Jitter > 0 {
			if f.Jitter > 0 {
				d += time.Duration(fi.draw() * float64(f.Jitter))
			}
			fi.count(FaultLatency)
			if err := sleepCtx(r.Context(), d); err != nil {
				return
			}
		}
		if fi.roll(faultReset) {
			resetConn(w)
			return
		}
		if fi.roll(faultServerError) {
			codes := []int{500, 502, 503, 504}
			c := codes[fi.intn(len(codes))]
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(c)
			fmt.Fprintf(w, serverErrorHTML, c, http.StatusText(c), c, http.StatusText(c))
			return
		}
		if fi.roll(faultTruncate) {
			rec := &recorder{header: http.Header{}, code: 200}
			next.ServeHTTP(rec, r)
			for k, v := range rec.header {
				w.Header()[k] = v
			}
			body := rec.body.Bytes()
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
			w.WriteHeader(rec.code)
			_, _ = w.Write(body[:len(body)/2])
			if fl, ok := w.(http.Flusher); ok {
				fl.Flush()
			}
			panic(http.ErrAbortHandler) // closes the connection mid-body
		}
		next.ServeHTTP(w, r)
	})
}

func isUpgrade(r *http.Request) bool {
	return strings.EqualFold(r.Header.Get("Upgrade"), "websocket")
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// resetConn closes the client connection with a TCP RST and no response.
func resetConn(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

type recorder struct {
	header http.Header
	code   int
	body   bytes.Buffer
	wrote  bool
}

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) WriteHeader(c int) {
	if !r.wrote {
		r.code, r.wrote = c, true
	}
}
func (r *recorder) Write(p []byte) (int, error) { r.wrote = true; return r.body.Write(p) }

// WSFaults decides the WebSocket faults of one connection.
type WSFaults struct {
	fi    *FaultInjector
	sent  int
	diffs int
}

// WSAction is what to do with one outgoing WebSocket message.
type WSAction struct {
	Skip      bool          // do not send (a depth diff: leaves an update-id gap)
	Duplicate bool          // send twice
	Delay     time.Duration // hold back before sending
	Close     bool          // close the connection after this message
}

// NewWSFaults returns the fault state of a new connection.
func (fi *FaultInjector) NewWSFaults() *WSFaults { return &WSFaults{fi: fi} }

// Next decides the action for the next message; depthDiff marks an
// order-book diff message (eligible for gaps).
func (w *WSFaults) Next(depthDiff bool) WSAction {
	f := w.fi.faults()
	if *f == (Faults{}) {
		w.sent++
		return WSAction{}
	}
	var a WSAction
	if depthDiff && f.DepthGapEvery > 0 {
		w.diffs++
		if w.diffs%f.DepthGapEvery == 0 {
			w.fi.count(FaultDepthGap)
			return WSAction{Skip: true}
		}
	}
	if w.fi.rollWith(f, faultWSDelay) {
		a.Delay = f.WSDelay
	}
	if w.fi.rollWith(f, faultWSDup) {
		a.Duplicate = true
	}
	w.sent++
	if f.WSDropEvery > 0 && w.sent%f.WSDropEvery == 0 {
		w.fi.count(FaultWSDrop)
		a.Close = true
	}
	return a
}
