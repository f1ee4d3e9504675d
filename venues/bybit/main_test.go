package bybit

import (
	"log/slog"
	"testing"

	"github.com/pype-go/pype/transport/ws"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

// wsFrameOf wraps raw bytes as a received frame.
func wsFrameOf(b []byte) ws.Frame { return ws.Frame{Data: b, Received: 1} }
