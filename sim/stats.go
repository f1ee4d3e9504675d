package sim

import (
	"sort"
	"sync"
	"sync/atomic"
)

// Stats counts what a venue listener served. It is safe for concurrent use.
type Stats struct {
	mu        sync.Mutex
	endpoints map[string]int64
	faults    map[string]int64
	weight    atomic.Int64
	s429      atomic.Int64
	s418      atomic.Int64
	wsOpen    atomic.Int64
	wsTotal   atomic.Int64
	wsMsgs    atomic.Int64
	requests  atomic.Int64
}

// NewStats returns empty stats.
func NewStats() *Stats {
	return &Stats{endpoints: map[string]int64{}, faults: map[string]int64{}}
}

// StatsSnapshot is a point-in-time copy of [Stats], as served by
// GET /_sim/stats.
type StatsSnapshot struct {
	Venue              string           `json:"venue"`
	Requests           int64            `json:"requests"`
	Endpoints          map[string]int64 `json:"endpoints"`
	WeightUsed         int64            `json:"weight_used"`
	Status429          int64            `json:"status_429"`
	Status418          int64            `json:"status_418"`
	Faults             map[string]int64 `json:"faults"`
	WSConnections      int64            `json:"ws_connections"`
	WSConnectionsTotal int64            `json:"ws_connections_total"`
	WSMessages         int64            `json:"ws_messages"`
}

// Request counts one request to endpoint (a path).
func (s *Stats) Request(endpoint string) {
	s.requests.Add(1)
	s.mu.Lock()
	if _, ok := s.endpoints[endpoint]; !ok && len(s.endpoints) >= 1000 {
		endpoint = "other"
	}
	s.endpoints[endpoint]++
	s.mu.Unlock()
}

// Fault counts one injected fault of a kind.
func (s *Stats) Fault(kind string) {
	s.mu.Lock()
	s.faults[kind]++
	s.mu.Unlock()
}

// WSOpened counts a new WebSocket connection; call the returned func when
// it closes.
func (s *Stats) WSOpened() (closed func()) {
	s.wsOpen.Add(1)
	s.wsTotal.Add(1)
	var once sync.Once
	return func() { once.Do(func() { s.wsOpen.Add(-1) }) }
}

// WSMessages counts n WebSocket messages sent.
func (s *Stats) WSMessages(n int) { s.wsMsgs.Add(int64(n)) }

// Snapshot copies the counters.
func (s *Stats) Snapshot() StatsSnapshot {
	s.mu.Lock()
	ep := make(map[string]int64, len(s.endpoints))
	for k, v := range s.endpoints {
		ep[k] = v
	}
	fa := make(map[string]int64, len(s.faults))
	for k, v := range s.faults {
		fa[k] = v
	}
	s.mu.Unlock()
	return StatsSnapshot{Requests: s.requests.Load(), Endpoints: ep, WeightUsed: s.weight.Load(),
		Status429: s.s429.Load(), Status418: s.s418.Load(), Faults: fa,
		WSConnections: s.wsOpen.Load(), WSConnectionsTotal: s.wsTotal.Load(), WSMessages: s.wsMsgs.Load()}
}

// FaultKinds returns the fault kinds counted so far, sorted.
func (s StatsSnapshot) FaultKinds() []string {
	out := make([]string, 0, len(s.Faults))
	for k := range s.Faults {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
