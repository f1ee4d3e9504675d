package operators

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
)

// Constructor builds the operator registered under an identifier. ctx
// carries the factory's dependency chain: a constructor that needs another
// operator must call [OperatorFactory.Get] with this ctx (or one derived
// from it), which is how dependency cycles are detected.
type Constructor func(ctx context.Context) (Operator, error)

// UnknownOperatorError is returned by Get for an identifier nobody
// registered.
type UnknownOperatorError struct {
	Identifier string
	Known      []string // registered identifiers, sorted
}

func (e *UnknownOperatorError) Error() string {
	return fmt.Sprintf("operators: unknown operator %q (registered: %s)", e.Identifier, strings.Join(e.Known, ", "))
}

// DuplicateOperatorError is returned by Register for an identifier already
// registered.
type DuplicateOperatorError struct {
	Identifier string
}

func (e *DuplicateOperatorError) Error() string {
	return fmt.Sprintf("operators: operator %q is already registered", e.Identifier)
}

// DependencyCycleError is returned by Get when constructors depend on each
// other in a cycle. Cycle lists the identifiers, first and last equal.
type DependencyCycleError struct {
	Cycle []string
}

func (e *DependencyCycleError) Error() string {
	return "operators: operator dependency cycle: " + strings.Join(e.Cycle, " -> ")
}

// ConstructionError wraps an error returned (or a panic raised) by a
// Constructor.
type ConstructionError struct {
	Identifier string
	Err        error
}

func (e *ConstructionError) Error() string {
	return fmt.Sprintf("operators: construct %q: %v", e.Identifier, e.Err)
}

func (e *ConstructionError) Unwrap() error { return e.Err }

// ErrFactoryClosed is returned by Register and Get after Close.
var ErrFactoryClosed = errors.New("operators: factory closed")

// OperatorFactory builds operators by identifier, each at most once. It is
// a value, not a global; the CLI keeps one instance.
//
// Get builds the instance on first use and returns the same instance after
// that. Concurrent Gets of one identifier wait for a single construction
// (single flight). A failed construction is not cached: every Get waiting
// on it gets its error, and the next Get tries again.
//
// Dependencies and cycles. A constructor may Get other identifiers (a DApp
// asks for its chain) by passing on the ctx it was given; that ctx carries
// the chain of identifiers under construction on this call path. The
// factory also keeps a wait-for graph under its lock: an edge A → B while
// A's constructor is inside Get(B). A Get(X) on behalf of constructor R is
// a cycle if X is already on R's chain (recursion on one call path) or if
// X reaches R in the wait-for graph (constructors on different goroutines
// waiting for each other). The Get that would close the cycle fails with
// [*DependencyCycleError] instead of waiting, so no deadlock is possible
// as long as constructors pass their ctx on. (A constructor that calls Get
// with an unrelated context, e.g. context.Background(), is invisible to the
// detector; Get still honours that context's cancellation.)
//
// The zero value is ready to use.
type OperatorFactory struct {
	mu      sync.Mutex
	ctors   map[string]Constructor
	entries map[string]*factoryEntry
	waits   map[string]map[string]int // wait-for graph: waiter → target → count
	built   []string                  // construction order, for Close
	closed  bool
}

type factoryEntry struct {
	done chan struct{}
	op   Operator
	err  error
}

type chainKey struct{}

func chainOf(ctx context.Context) []string {
	c, _ := ctx.Value(chainKey{}).([]string)
	return c
}

func normalizeID(id string) string { return strings.ToLower(strings.TrimSpace(id)) }

// Register adds a constructor. Identifiers are case-insensitive and
// trimmed.
func (f *OperatorFactory) Register(identifier string, ctor Constructor) error {
	id := normalizeID(identifier)
	if id == "" {
		return errors.New("operators: Register: empty identifier")
	}
	if ctor == nil {
		return fmt.Errorf("operators: Register %q: nil constructor", id)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return ErrFactoryClosed
	}
	if _, dup := f.ctors[id]; dup {
		return &DuplicateOperatorError{Identifier: id}
	}
	if f.ctors == nil {
		f.ctors = make(map[string]Constructor)
	}
	f.ctors[id] = ctor
	return nil
}

// RegisterFunc registers a constructor without dependencies, in the
// specification's form func() (Operator, error).
func (f *OperatorFactory) RegisterFunc(identifier string, fn func() (Operator, error)) error {
	if fn == nil {
		return fmt.Errorf("operators: Register %q: nil constructor", normalizeID(identifier))
	}
	return f.Register(identifier, func(context.Context) (Operator, error) { return fn() })
}

// Registered returns the registered identifiers, sorted.
func (f *OperatorFactory) Registered() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.knownLocked()
}

func (f *OperatorFactory) knownLocked() []string {
	ids := make([]string, 0, len(f.ctors))
	for id := range f.ctors {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// Lookup returns the instance for identifier if it has been built.
func (f *OperatorFactory) Lookup(identifier string) (Operator, bool) {
	id := normalizeID(identifier)
	f.mu.Lock()
	defer f.mu.Unlock()
	e := f.entries[id]
	if e == nil {
		return nil, false
	}
	select {
	case <-e.done:
		return e.op, e.err == nil
	default:
		return nil, false
	}
}

// Get returns the instance for identifier, constructing it on first use.
// Errors: [*UnknownOperatorError], [*DependencyCycleError],
// [*ConstructionError], [ErrFactoryClosed], or ctx's error while waiting.
func (f *OperatorFactory) Get(ctx context.Context, identifier string) (Operator, error) {
	id := normalizeID(identifier)
	chain := chainOf(ctx)
	if i := slices.Index(chain, id); i >= 0 {
		return nil, &DependencyCycleError{Cycle: append(slices.Clone(chain[i:]), id)}
	}
	for {
		op, err := f.get(ctx, id, chain)
		if err != errRetry {
			return op, err
		}
	}
}

// errRetry is get's answer when the construction it waited for failed only
// because its initiator's context ended: the caller tries again.
var errRetry = errors.New("retry")

// get makes one attempt.
func (f *OperatorFactory) get(ctx context.Context, id string, chain []string) (op Operator, err error) {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return nil, ErrFactoryClosed
	}
	ctor, ok := f.ctors[id]
	if !ok {
		known := f.knownLocked()
		f.mu.Unlock()
		return nil, &UnknownOperatorError{Identifier: id, Known: known}
	}
	e := f.entries[id]
	if e != nil {
		select {
		case <-e.done:
			f.mu.Unlock()
			return e.op, e.err
		default:
		}
	}
	var requester string
	if len(chain) > 0 {
		requester = chain[len(chain)-1]
		if path := f.pathLocked(id, requester); path != nil {
			f.mu.Unlock()
			return nil, &DependencyCycleError{Cycle: append([]string{requester}, path...)}
		}
		f.addWaitLocked(requester, id)
		defer f.removeWait(requester, id)
	}
	if e != nil {
		// Another call is constructing it: wait.
		f.mu.Unlock()
		select {
		case <-e.done:
		case <-ctx.Done():
			return nil, fmt.Errorf("operators: waiting for %q: %w", id, ctx.Err())
		}
		var ce *ConstructionError
		if e.err != nil && errors.As(e.err, &ce) && isContextErr(ce.Err) && ctx.Err() == nil {
			return nil, errRetry
		}
		return e.op, e.err
	}
	e = &factoryEntry{done: make(chan struct{})}
	if f.entries == nil {
		f.entries = make(map[string]*factoryEntry)
	}
	f.entries[id] = e
	f.mu.Unlock()

	cctx := context.WithValue(ctx, chainKey{}, append(slices.Clip(chain), id))
	op, err = construct(cctx, id, ctor)

	f.mu.Lock()
	if err != nil {
		delete(f.entries, id)
	} else {
		f.built = append(f.built, id)
	}
	e.op, e.err = op, err
	close(e.done)
	f.mu.Unlock()
	return op, err
}

func isContextErr(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

func construct(ctx context.Context, id string, ctor Constructor) (op Operator, err error) {
	defer func() {
		if r := recover(); r != nil {
			op, err = nil, &ConstructionError{Identifier: id, Err: &PanicError{Value: r, Stack: debug.Stack()}}
		}
	}()
	op, err = ctor(ctx)
	if err != nil {
		var cycle *DependencyCycleError
		if errors.As(err, &cycle) {
			return nil, err // keep the cycle visible as the top-level error
		}
		return nil, &ConstructionError{Identifier: id, Err: err}
	}
	if op == nil {
		return nil, &ConstructionError{Identifier: id, Err: errors.New("constructor returned a nil operator")}
	}
	return op, nil
}

func (f *OperatorFactory) addWaitLocked(from, to string) {
	if f.waits == nil {
		f.waits = make(map[string]map[string]int)
	}
	m := f.waits[from]
	if m == nil {
		m = make(map[string]int)
		f.waits[from] = m
	}
	m[to]++
}

func (f *OperatorFactory) removeWait(from, to string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	m := f.waits[from]
	if m[to]--; m[to] <= 0 {
		delete(m, to)
	}
	if len(m) == 0 {
		delete(f.waits, from)
	}
}

// pathLocked returns a wait-for path from → ... → to (inclusive), or nil.
func (f *OperatorFactory) pathLocked(from, to string) []string {
	seen := map[string]bool{}
	var dfs func(n string) []string
	dfs = func(n string) []string {
		if n == to {
			return []string{n}
		}
		if seen[n] {
			return nil
		}
		seen[n] = true
		next := make([]string, 0, len(f.waits[n]))
		for m := range f.waits[n] {
			next = append(next, m)
		}
		slices.Sort(next) // deterministic error messages
		for _, m := range next {
			if p := dfs(m); p != nil {
				return append([]string{n}, p...)
			}
		}
		return nil
	}
	return dfs(from)
}

// Close closes every built instance that implements io.Closer, in reverse
// construction order (dependents before their dependencies), and makes
// later Register and Get calls fail with ErrFactoryClosed. It returns the
// joined close errors.
func (f *OperatorFactory) Close() error {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return nil
	}
	f.closed = true
	var ops []Operator
	for _, id := range slices.Backward(f.built) {
		ops = append(ops, f.entries[id].op)
	}
	f.mu.Unlock()
	var errs []error
	for _, op := range ops {
		if c, ok := op.(io.Closer); ok {
			if err := c.Close(); err != nil {
				errs = append(errs, fmt.Errorf("close %s: %w", op.Name(), err))
			}
		}
	}
	return errors.Join(errs...)
}
