package binance

import (
	"sync"

	"github.com/pype-go/pype/sim"
)

// frameSlots is how many recent diff payloads a frameRing keeps (at 100 ms
// steps: the last 102 s of virtual time).
const frameSlots = 1024

// frameRing keeps the formatted depthUpdate payloads of the most recent
// steps of one (symbol, speed), so connections streaming the same diffs
// format each one once. A payload is a pure function of its step.
type frameRing struct {
	mu    sync.Mutex
	slots [frameSlots]struct {
		to  int64 // last step of the payload; valid when buf != nil
		buf []byte
	}
}

// get appends the payload ending at step to when the ring has it.
func (r *frameRing) get(dst []byte, to int64) ([]byte, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if s := &r.slots[to&(frameSlots-1)]; s.buf != nil && s.to == to {
		return append(dst, s.buf...), true
	}
	return dst, false
}

// put stores the payload ending at step to.
func (r *frameRing) put(to int64, payload []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := &r.slots[to&(frameSlots-1)]
	s.buf = append(s.buf[:0], payload...)
	s.to = to
}

// frameRings holds the rings of every series, made on first use.
type frameRings struct {
	mu sync.Mutex
	m  map[frameKey]*frameRing
}

type frameKey struct {
	sr   *sim.Series
	slow bool
}

func (f *frameRings) ring(sr *sim.Series, slow bool) *frameRing {
	f.mu.Lock()
	defer f.mu.Unlock()
	k := frameKey{sr, slow}
	r := f.m[k]
	if r == nil {
		if f.m == nil {
			f.m = map[frameKey]*frameRing{}
		}
		r = &frameRing{}
		f.m[k] = r
	}
	return r
}
