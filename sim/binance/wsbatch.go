package binance

import (
	"bufio"
	"net"
	"net/http"
	"sync"
)

// batchMax is how many bytes of WebSocket frames are gathered before they
// are written to the socket during a flush.
const batchMax = 64 << 10

// batchWriter sits between a WebSocket connection's frame writer and its
// socket. Between begin and end (one stream flush) it gathers the frames
// and writes them with one system call per batchMax bytes instead of one
// per message; otherwise (replies, pings, close frames outside a flush) it
// writes straight through. Frames are whole and in order either way.
type batchWriter struct {
	mu   sync.Mutex
	conn net.Conn
	on   bool
	buf  []byte
}

func (w *batchWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.on {
		return w.conn.Write(p)
	}
	w.buf = append(w.buf, p...)
	if len(w.buf) >= batchMax {
		if err := w.flushLocked(); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

func (w *batchWriter) flushLocked() error {
	if len(w.buf) == 0 {
		return nil
	}
	_, err := w.conn.Write(w.buf)
	w.buf = w.buf[:0]
	return err
}

// writeText writes one unmasked, uncompressed text frame holding p (the
// server side of RFC 6455: FIN, opcode 1, the payload length in 7, 16 or
// 64 bits). The frame goes out whole and in order with the frames the
// websocket library writes itself (control frames arrive here as one
// Write each; data replies come from the same goroutine as writeText).
func (w *batchWriter) writeText(p []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	switch n := len(p); {
	case n < 126:
		w.buf = append(w.buf, 0x81, byte(n))
	case n < 1<<16:
		w.buf = append(w.buf, 0x81, 126, byte(n>>8), byte(n))
	default:
		w.buf = append(w.buf, 0x81, 127, byte(n>>56), byte(n>>48), byte(n>>40), byte(n>>32), byte(n>>24), byte(n>>16),
			byte(n>>8), byte(n))
	}
	w.buf = append(w.buf, p...)
	if !w.on || len(w.buf) >= batchMax {
		return w.flushLocked()
	}
	return nil
}

// begin starts gathering frames.
func (w *batchWriter) begin() {
	w.mu.Lock()
	w.on = true
	w.mu.Unlock()
}

// end writes what was gathered and stops gathering.
func (w *batchWriter) end() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.on = false
	err := w.flushLocked()
	if cap(w.buf) > 4*batchMax {
		w.buf = nil
	}
	return err
}

// sync writes what was gathered so far and keeps gathering.
func (w *batchWriter) sync() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.flushLocked()
}

// hijackWriter hands websocket.Accept the hijacked connection with its
// buffered writer pointed at a batchWriter.
type hijackWriter struct {
	http.ResponseWriter
	bw *batchWriter
}

func (h *hijackWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, brw, err := http.NewResponseController(h.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	if brw.Writer.Buffered() > 0 {
		if err := brw.Writer.Flush(); err != nil {
			return nil, nil, err
		}
	}
	h.bw.conn = conn
	brw.Writer = bufio.NewWriterSize(h.bw, 4096)
	return conn, brw, nil
}
