package ws

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"time"
)

// Defaults applied by [New] to zero Config fields.
const (
	DefaultReadLimit      = 64 << 20 // 64 MiB: full-depth snapshots exceed the library's 32 KiB
	DefaultPingInterval   = 30 * time.Second
	DefaultPongTimeout    = 15 * time.Second
	DefaultConnectTimeout = 30 * time.Second
	DefaultWriteTimeout   = 10 * time.Second
	DefaultHealthyAfter   = 30 * time.Second
	DefaultOverlap        = 2 * time.Second
	DefaultFrameBuffer    = 256
)

// Config configures a [Client]. Only URL (or URLFunc) is required; zero
// values select the documented defaults.
type Config struct {
	// Name identifies the client in logs (e.g. "binance-spot").
	Name string

	// URL to dial: ws://, wss:// (http:// and https:// are accepted as
	// aliases). Ignored when URLFunc is set.
	URL string
	// URLFunc, if set, computes the URL before every connection attempt
	// (combined-stream URLs change with the subscription set, listen keys
	// expire). An error is treated as a failed attempt (retried) unless
	// wrapped with Permanent.
	URLFunc func(ctx context.Context) (string, error)

	// Header is sent with every handshake (e.g. API keys). Never logged.
	Header http.Header
	// HTTPClient performs the handshake; nil means http.DefaultClient.
	HTTPClient *http.Client
	// Subprotocols to negotiate.
	Subprotocols []string
	// ConnectTimeout bounds dial + handshake + OnConnect. Default 30 s.
	ConnectTimeout time.Duration

	// OnConnect runs on every connection after the handshake and before any
	// frame is delivered: (re)send subscriptions, log in. It may Send and,
	// for request/response handshakes, Read on the Session. Frames it reads
	// are not delivered to the stream. An error fails the attempt (retried
	// with backoff) unless wrapped with Permanent. It must honour ctx.
	OnConnect func(ctx context.Context, s *Session) error

	// ReadLimit is the largest accepted message in bytes. 0 means 64 MiB,
	// -1 unlimited. A bigger message drops the connection (reconnect).
	ReadLimit int64

	// PingInterval between protocol (RFC 6455) pings; 0 means 30 s, a
	// negative value disables client pings. Server pings (Binance, every
	// 20 s) are always answered.
	PingInterval time.Duration
	// PongTimeout: a ping unanswered for this long, with no other frame
	// received meanwhile, drops the connection. 0 means 15 s.
	PongTimeout time.Duration

	// Heartbeat sends a venue application ping (OKX "ping", Bybit
	// {"op":"ping"}). Disabled when Interval or Message is zero.
	Heartbeat Heartbeat

	// IsControl reports frames that are connection housekeeping (the
	// venue's pong, heartbeat frames): they count as activity for the
	// watchdog but are not delivered to the stream. Nil delivers all.
	// Called from the reader goroutine; data is only valid during the call.
	IsControl func(data []byte) bool

	// SilenceTimeout: no frame at all (data, control frame, protocol ping or
	// pong) for this long ⇒ reconnect. 0 disables. Set it a bit above the
	// venue's heartbeat/ping period (or Heartbeat.Interval + reply time).
	// Time the consumer spends not reading does not count as silence.
	SilenceTimeout time.Duration

	// MaxLifetime, if > 0, replaces a connection before it gets this old
	// (Binance cuts at 24 h: use e.g. 23h30m). The replacement is dialled
	// and subscribed while the old one still delivers (make-before-break);
	// the old one is closed Overlap later.
	MaxLifetime time.Duration
	// Overlap is how long both connections deliver after a planned
	// reconnection. 0 means 2 s. Consumers dedupe frames of the overlap
	// (trade ids, book update ids).
	Overlap time.Duration

	// Backoff computes reconnection delays. Nil means ExpBackoff{} (1 s to
	// 60 s, factor 2, jitter).
	Backoff Backoff
	// HealthyAfter is how long a connection must stay up before the backoff
	// attempt counter resets. 0 means 30 s.
	HealthyAfter time.Duration
	// MaxAttempts ends the stream with a *GiveUpError after that many
	// consecutive failed connection attempts. 0 retries forever.
	MaxAttempts int

	// WriteTimeout bounds a Send whose context has no deadline. 0 means
	// 10 s. Note: a write interrupted by its context closes the connection
	// (a half-written frame cannot be recovered); the client reconnects.
	WriteTimeout time.Duration

	// SendRate caps outgoing messages per connection (messages per second,
	// including application heartbeats and protocol pings); 0 means no cap.
	// Binance allows 5 incoming messages per second per connection.
	SendRate float64
	// SendBurst is the limiter's burst; 0 means 1.
	SendBurst int

	// OnEvent receives connection events in order, synchronously from the
	// supervisor goroutine: keep it fast and do not call Client.Send from it
	// (it may wait for a connection the supervisor is about to make).
	OnEvent func(Event)

	// Logger for connection lifecycle messages; nil means slog.Default().
	Logger *slog.Logger
	// Clock is the time source (nil: system clock). For tests.
	Clock Clock
	// RedactURL rewrites URLs before they appear in logs, events and
	// errors (e.g. hide a listen key in the path). User info is always
	// removed first.
	RedactURL func(string) string

	// FrameBuffer is the number of frames buffered between the reader and
	// the consumer. 0 means 256. When it is full the reader waits
	// (TCP backpressure); the waiting does not count as silence.
	FrameBuffer int
}

// Heartbeat configures a venue application ping.
type Heartbeat struct {
	// Interval between messages.
	Interval time.Duration
	// Message returns the frame to send (sent as text). It may be called
	// from several goroutines (two connections overlap in a planned
	// reconnection).
	Message func() []byte
	// IdleOnly sends only when nothing was received for Interval (OKX:
	// "send ping if no message arrived within N seconds").
	IdleOnly bool
}

func (h Heartbeat) enabled() bool { return h.Interval > 0 && h.Message != nil }

// settings is the validated, defaulted configuration.
type settings struct {
	Config
	clock Clock
	log   *slog.Logger
}

func (cfg Config) resolve() (*settings, error) {
	s := &settings{Config: cfg}
	if cfg.URLFunc == nil {
		if cfg.URL == "" {
			return nil, fmt.Errorf("ws: Config.URL is empty and Config.URLFunc is nil: set one (ws://… or wss://…)")
		}
		if err := s.checkURL(cfg.URL); err != nil {
			return nil, err
		}
	}
	if s.ConnectTimeout <= 0 {
		s.ConnectTimeout = DefaultConnectTimeout
	}
	switch {
	case s.ReadLimit == 0:
		s.ReadLimit = DefaultReadLimit
	case s.ReadLimit < -1:
		return nil, fmt.Errorf("ws: Config.ReadLimit %d is invalid: use a byte count > 0, 0 for the default (64 MiB) or -1 for no limit", s.ReadLimit)
	}
	if s.PingInterval == 0 {
		s.PingInterval = DefaultPingInterval
	}
	if s.PongTimeout < 0 {
		return nil, fmt.Errorf("ws: Config.PongTimeout %v is negative: use > 0 or 0 for the default (%v)", s.PongTimeout, DefaultPongTimeout)
	}
	if s.PongTimeout == 0 {
		s.PongTimeout = DefaultPongTimeout
	}
	if s.Heartbeat.Interval < 0 {
		return nil, fmt.Errorf("ws: Config.Heartbeat.Interval %v is negative", s.Heartbeat.Interval)
	}
	if s.Heartbeat.Interval > 0 && s.Heartbeat.Message == nil {
		return nil, fmt.Errorf("ws: Config.Heartbeat.Interval is %v but Heartbeat.Message is nil: set the message to send", s.Heartbeat.Interval)
	}
	if s.SilenceTimeout < 0 {
		return nil, fmt.Errorf("ws: Config.SilenceTimeout %v is negative: use > 0, or 0 to disable", s.SilenceTimeout)
	}
	if s.MaxLifetime < 0 {
		return nil, fmt.Errorf("ws: Config.MaxLifetime %v is negative: use > 0, or 0 for no limit", s.MaxLifetime)
	}
	if s.Overlap < 0 {
		return nil, fmt.Errorf("ws: Config.Overlap %v is negative", s.Overlap)
	}
	if s.Overlap == 0 {
		s.Overlap = DefaultOverlap
	}
	if s.MaxLifetime > 0 && s.Overlap >= s.MaxLifetime {
		return nil, fmt.Errorf("ws: Config.Overlap %v must be shorter than Config.MaxLifetime %v", s.Overlap, s.MaxLifetime)
	}
	if s.Backoff == nil {
		s.Backoff = ExpBackoff{}
	}
	if s.HealthyAfter <= 0 {
		s.HealthyAfter = DefaultHealthyAfter
	}
	if s.MaxAttempts < 0 {
		return nil, fmt.Errorf("ws: Config.MaxAttempts %d is negative: use > 0, or 0 to retry forever", s.MaxAttempts)
	}
	if s.WriteTimeout <= 0 {
		s.WriteTimeout = DefaultWriteTimeout
	}
	if s.SendRate < 0 || s.SendBurst < 0 {
		return nil, fmt.Errorf("ws: Config.SendRate %v / SendBurst %d must not be negative (0 = no cap / burst 1)", s.SendRate, s.SendBurst)
	}
	if s.SendBurst == 0 {
		s.SendBurst = 1
	}
	if s.FrameBuffer <= 0 {
		s.FrameBuffer = DefaultFrameBuffer
	}
	s.clock = cfg.Clock
	if s.clock == nil {
		s.clock = systemClock{}
	}
	s.log = cfg.Logger
	if s.log == nil {
		s.log = slog.Default()
	}
	s.log = s.log.With("component", "ws")
	if cfg.Name != "" {
		s.log = s.log.With("name", cfg.Name)
	}
	if cfg.Header != nil {
		s.Header = cfg.Header.Clone()
	}
	return s, nil
}

// redact returns raw without user info, passed through RedactURL.
func (s *settings) redact(raw string) string {
	if u, err := url.Parse(raw); err == nil && u.User != nil {
		u.User = nil
		raw = u.String()
	}
	if s.RedactURL != nil {
		raw = s.RedactURL(raw)
	}
	return raw
}

func (s *settings) checkURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return &URLError{URL: s.redact(raw), Reason: "does not parse", Err: err}
	}
	switch u.Scheme {
	case "ws", "wss", "http", "https":
	default:
		return &URLError{URL: s.redact(raw), Reason: fmt.Sprintf("scheme %q is not supported (accepted: ws, wss, http, https)", u.Scheme)}
	}
	if u.Host == "" {
		return &URLError{URL: s.redact(raw), Reason: "no host"}
	}
	return nil
}
