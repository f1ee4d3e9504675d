package operators

import (
	"fmt"
	"log/slog"
	"time"
)

// Operator is the interface every venue connector satisfies. Embed [*Base]
// to get all of it.
type Operator interface {
	// Configuration returns the common part of the operator's configuration.
	Configuration() OperatorConfiguration
	// Platform returns the venue the operator talks to.
	Platform() Platform
	// Name returns the platform identifier.
	Name() string
	// DisplayName returns a human-readable name (Name by default).
	DisplayName() string
	// CurrentTimestamp returns the venue's current time in nanoseconds
	// since the epoch: the local clock corrected by the measured
	// server-time offset.
	CurrentTimestamp() int64
	// Publishing returns the operator's event publisher.
	Publishing() *MultiPublisher
}

// Base implements [Operator] and carries what every operator shares: the
// configuration, a microsecond [NonceCreator], a [MultiPublisher], a
// [ClockOffset] tracking the venue's clock and a logger. Concrete operators
// embed *Base:
//
//	type Binance struct {
//		*operators.Base
//		cfg Config
//	}
//
// Base is safe for concurrent use.
type Base struct {
	config    OperatorConfiguration
	local     Clock
	nonce     *NonceCreator
	publisher *MultiPublisher
	offset    *ClockOffset
	logger    *slog.Logger

	ownsPublisher bool
}

// BaseOption configures a [Base].
type BaseOption func(*Base)

// WithClock makes the operator read local time from c (tests inject a fake
// clock). It drives the nonce creator and the clock offset too.
func WithClock(c Clock) BaseOption { return func(b *Base) { b.local = c } }

// WithLogger sets the operator's logger; it is tagged with the operator's
// name.
func WithLogger(l *slog.Logger) BaseOption { return func(b *Base) { b.logger = l } }

// WithPublisher makes the operator publish on p instead of a new publisher
// (e.g. to share one bus between operators). The operator's Close then does
// not close p.
func WithPublisher(p *MultiPublisher) BaseOption { return func(b *Base) { b.publisher = p } }

// WithNonceCreator replaces the default microsecond nonce creator (some
// venues want milliseconds, or a start value persisted across restarts).
func WithNonceCreator(n *NonceCreator) BaseOption { return func(b *Base) { b.nonce = n } }

// NewBase validates cfg and returns a Base with a new microsecond
// NonceCreator and a new MultiPublisher.
func NewBase(cfg OperatorConfiguration, opts ...BaseOption) (*Base, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	b := &Base{config: cfg}
	for _, o := range opts {
		o(b)
	}
	b.local = clockOrSystem(b.local)
	if b.logger == nil {
		b.logger = slog.Default()
	}
	b.logger = b.logger.With("operator", cfg.Platform.Identifier)
	if b.nonce == nil {
		b.nonce = ForMicroseconds(WithNonceClock(b.local))
	}
	owned := b.publisher == nil
	if owned {
		b.publisher = NewMultiPublisher(WithPublisherLogger(b.logger))
	}
	b.ownsPublisher = owned
	b.offset = NewClockOffset(b.local)
	return b, nil
}

// Configuration returns the operator configuration.
func (b *Base) Configuration() OperatorConfiguration { return b.config }

// Platform returns the configured platform.
func (b *Base) Platform() Platform { return b.config.Platform }

// Name returns the platform identifier.
func (b *Base) Name() string { return b.config.Platform.Identifier }

// DisplayName returns the configured display name, or Name.
func (b *Base) DisplayName() string {
	if b.config.DisplayName != "" {
		return b.config.DisplayName
	}
	return b.Name()
}

// String returns the display name and platform, for logs.
func (b *Base) String() string {
	return fmt.Sprintf("%s (%s)", b.DisplayName(), b.config.Platform)
}

// CurrentTimestamp returns the venue's time in nanoseconds since the epoch.
func (b *Base) CurrentTimestamp() int64 { return b.offset.Now().UnixNano() }

// CurrentTime returns the venue's time.
func (b *Base) CurrentTime() time.Time { return b.offset.Now() }

// LocalTime returns the uncorrected local clock.
func (b *Base) LocalTime() time.Time { return b.local.Now() }

// Publishing returns the event publisher.
func (b *Base) Publishing() *MultiPublisher { return b.publisher }

// Nonce returns the operator's nonce creator.
func (b *Base) Nonce() *NonceCreator { return b.nonce }

// ClockOffset returns the estimator of the venue's clock offset; feed it
// with [ClockOffset.Measure] or [ClockOffset.AddSample].
func (b *Base) ClockOffset() *ClockOffset { return b.offset }

// Logger returns the operator's logger.
func (b *Base) Logger() *slog.Logger { return b.logger }

// Close closes the publisher if the Base created it, delivering queued
// events first.
func (b *Base) Close() error {
	if b.ownsPublisher {
		return b.publisher.Close()
	}
	return nil
}
