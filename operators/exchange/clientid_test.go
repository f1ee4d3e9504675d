package exchange

import (
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pype-go/pype/operators"
)

func TestClientOrderIDs(t *testing.T) {
	clock := operators.ClockFunc(func() time.Time { return time.Unix(1_700_000_000, 0) })
	tests := []struct {
		policy ClientOrderIDPolicy
		re     string
	}{
		{ClientOrderIDPolicy{}, `^[0-9A-Za-z]{13}$`},
		{ClientOrderIDPolicy{Prefix: "pype", MaxLength: 36}, `^pype[0-9A-Za-z]{13}$`},
		{ClientOrderIDPolicy{Charset: Hex}, `^[0-9a-f]{19}$`},
		{ClientOrderIDPolicy{Charset: UUID}, `^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`},
		{ClientOrderIDPolicy{Charset: Numeric, MaxLength: 13}, `^[0-9]{1,13}$`},
		{ClientOrderIDPolicy{Charset: Numeric, Prefix: "7"}, `^7[0-9]{16}$`},
	}
	for _, tt := range tests {
		g, err := NewClientOrderIDs(tt.policy, operators.ForMicroseconds(operators.WithNonceClock(clock)))
		if err != nil {
			t.Fatalf("%+v: %v", tt.policy, err)
		}
		re := regexp.MustCompile(tt.re)
		seen := map[string]bool{}
		for range 1000 {
			id := g.Next()
			if !re.MatchString(id) {
				t.Fatalf("%+v: id %q does not match %s", tt.policy, id, tt.re)
			}
			if err := tt.policy.ValidateID(id); err != nil {
				t.Fatalf("generated id fails its own policy: %v", err)
			}
			if seen[id] {
				t.Fatalf("%+v: duplicate id %q", tt.policy, id)
			}
			seen[id] = true
		}
	}
}

func TestClientOrderIDsDistinctInstances(t *testing.T) {
	clock := operators.ClockFunc(func() time.Time { return time.Unix(1_700_000_000, 0) })
	a, _ := NewClientOrderIDs(ClientOrderIDPolicy{}, operators.ForMicroseconds(operators.WithNonceClock(clock)))
	b, _ := NewClientOrderIDs(ClientOrderIDPolicy{}, operators.ForMicroseconds(operators.WithNonceClock(clock)))
	// Same clock, same nonce: the instance tags keep them apart (a
	// collision of the two random 4-character tags has odds 1 in 62^4).
	if a.Next() == b.Next() {
		t.Fatal("two instances generated the same id")
	}
}

func TestClientOrderIDsConcurrent(t *testing.T) {
	g, _ := NewClientOrderIDs(ClientOrderIDPolicy{}, nil)
	var mu sync.Mutex
	seen := map[string]bool{}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 500 {
				id := g.Next()
				mu.Lock()
				if seen[id] {
					t.Errorf("duplicate %q", id)
				}
				seen[id] = true
				mu.Unlock()
			}
		})
	}
	wg.Wait()
}

func TestClientOrderIDPolicyErrors(t *testing.T) {
	for _, p := range []ClientOrderIDPolicy{
		{Prefix: "my-bot"},                // '-' not alphanumeric
		{Prefix: strings.Repeat("a", 20)}, // leaves no room in 32
		{Charset: UUID, Prefix: "x"},      // no prefix for UUIDs
		{Charset: Numeric, Prefix: "a"},   // letters in numeric
		{Charset: Numeric, MaxLength: 5},  // too short
		{Charset: IDCharset(9)},           // unknown
	} {
		if _, err := NewClientOrderIDs(p, nil); err == nil {
			t.Errorf("%+v accepted", p)
		}
	}
	p := ClientOrderIDPolicy{MaxLength: 36, Extra: "-_"}
	for id, ok := range map[string]bool{"abc-DEF_1": true, "": false, "a b": false, strings.Repeat("x", 37): false, "é": false} {
		if err := p.ValidateID(id); (err == nil) != ok {
			t.Errorf("ValidateID(%q) = %v", id, err)
		}
	}
	if err := p.ValidateID("a/b"); err == nil || !strings.Contains(err.Error(), `alphanumeric characters plus "-_"`) {
		t.Errorf("message: %v", err)
	}
}

func BenchmarkClientOrderID(b *testing.B) {
	g, _ := NewClientOrderIDs(ClientOrderIDPolicy{}, nil)
	b.ReportAllocs()
	for b.Loop() {
		g.Next()
	}
}
