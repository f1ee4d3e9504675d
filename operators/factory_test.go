package operators

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
)

type stubOperator struct {
	*Base
	closed *[]string
}

func (s stubOperator) Close() error {
	*s.closed = append(*s.closed, s.Name())
	return s.Base.Close()
}

func newStub(t testing.TB, id string, closed *[]string) stubOperator {
	b, err := NewBase(OperatorConfiguration{Platform: ExchangePlatform(id)}, WithLogger(quietLogger()))
	if err != nil {
		t.Fatal(err)
	}
	if closed == nil {
		closed = new([]string)
	}
	return stubOperator{Base: b, closed: closed}
}

func TestFactoryGetOnceUnderConcurrency(t *testing.T) {
	var f OperatorFactory
	var builds atomic.Int64
	release := make(chan struct{})
	var closed []string
	if err := f.Register("binance", func(context.Context) (Operator, error) {
		builds.Add(1)
		<-release
		return newStub(t, "binance", &closed), nil
	}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	results := make([]Operator, 16)
	for i := range results {
		wg.Go(func() {
			op, err := f.Get(context.Background(), "Binance ")
			if err != nil {
				t.Error(err)
			}
			results[i] = op
		})
	}
	close(release)
	wg.Wait()
	if builds.Load() != 1 {
		t.Fatalf("constructed %d times, want 1", builds.Load())
	}
	for _, op := range results {
		if op != results[0] {
			t.Fatal("different instances returned")
		}
	}
	if op, ok := f.Lookup("binance"); !ok || op != results[0] {
		t.Fatal("Lookup does not see the instance")
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if len(closed) != 1 {
		t.Fatalf("closed %v", closed)
	}
	if _, err := f.Get(context.Background(), "binance"); !errors.Is(err, ErrFactoryClosed) {
		t.Fatalf("Get after Close = %v", err)
	}
}

func TestFactoryErrors(t *testing.T) {
	var f OperatorFactory
	ok := func(context.Context) (Operator, error) { return newStub(t, "kraken", nil), nil }
	if err := f.Register("kraken", ok); err != nil {
		t.Fatal(err)
	}
	var dup *DuplicateOperatorError
	if err := f.Register("KRAKEN", ok); !errors.As(err, &dup) || dup.Identifier != "kraken" {
		t.Fatalf("duplicate Register = %v", err)
	}
	if err := f.Register("", ok); err == nil {
		t.Fatal("empty identifier accepted")
	}
	if err := f.Register("x", nil); err == nil {
		t.Fatal("nil constructor accepted")
	}
	var unknown *UnknownOperatorError
	_, err := f.Get(context.Background(), "krakn")
	if !errors.As(err, &unknown) || unknown.Identifier != "krakn" || len(unknown.Known) != 1 {
		t.Fatalf("unknown Get = %v", err)
	}
	if got := err.Error(); got != `operators: unknown operator "krakn" (registered: kraken)` {
		t.Fatalf("message %q", got)
	}
	if _, ok := f.Lookup("nothing"); ok {
		t.Fatal("Lookup of unknown succeeded")
	}
}

func TestFactoryFailedConstructionIsRetried(t *testing.T) {
	var f OperatorFactory
	var n atomic.Int64
	boom := errors.New("no credentials")
	_ = f.Register("okx", func(context.Context) (Operator, error) {
		switch n.Add(1) {
		case 1:
			return nil, boom
		case 2:
			panic("bad config")
		case 3:
			return nil, nil
		}
		return newStub(t, "okx", nil), nil
	})
	var ce *ConstructionError
	if _, err := f.Get(context.Background(), "okx"); !errors.As(err, &ce) || !errors.Is(err, boom) {
		t.Fatalf("first Get = %v", err)
	}
	var pe *PanicError
	if _, err := f.Get(context.Background(), "okx"); !errors.As(err, &pe) {
		t.Fatalf("second Get = %v, want a recovered panic", err)
	}
	if _, err := f.Get(context.Background(), "okx"); !errors.As(err, &ce) {
		t.Fatalf("third Get = %v, want nil-operator error", err)
	}
	if op, err := f.Get(context.Background(), "okx"); err != nil || op == nil {
		t.Fatalf("fourth Get = %v, %v", op, err)
	}
	_ = f.Close()
}

func TestFactoryDependency(t *testing.T) {
	var f OperatorFactory
	var closed []string
	_ = f.Register("ethereum", func(context.Context) (Operator, error) {
		return newStub(t, "ethereum", &closed), nil
	})
	_ = f.Register("uniswap", func(ctx context.Context) (Operator, error) {
		chain, err := f.Get(ctx, "ethereum")
		if err != nil {
			return nil, err
		}
		if chain.Name() != "ethereum" {
			t.Errorf("dependency %s", chain.Name())
		}
		return newStub(t, "uniswap", &closed), nil
	})
	if _, err := f.Get(context.Background(), "uniswap"); err != nil {
		t.Fatal(err)
	}
	if _, ok := f.Lookup("ethereum"); !ok {
		t.Fatal("dependency not cached")
	}
	_ = f.Close()
	if len(closed) != 2 || closed[0] != "ethereum" && closed[0] != "uniswap" {
		t.Fatalf("closed %v", closed)
	}
	// ethereum finished constructing first, so it is closed last.
	if closed[0] != "uniswap" || closed[1] != "ethereum" {
		t.Fatalf("close order %v, want dependents first", closed)
	}
}

func TestFactoryCycleOnOneCallPath(t *testing.T) {
	var f OperatorFactory
	dep := func(next string) Constructor {
		return func(ctx context.Context) (Operator, error) {
			_, err := f.Get(ctx, next)
			return nil, err
		}
	}
	_ = f.Register("a", dep("b"))
	_ = f.Register("b", dep("c"))
	_ = f.Register("c", dep("a"))
	_ = f.Register("self", dep("self"))
	var cyc *DependencyCycleError
	_, err := f.Get(context.Background(), "a")
	if !errors.As(err, &cyc) {
		t.Fatalf("Get = %v, want a cycle error", err)
	}
	if got := cyc.Error(); got != "operators: operator dependency cycle: a -> b -> c -> a" {
		t.Fatalf("message %q", got)
	}
	if _, err := f.Get(context.Background(), "self"); !errors.As(err, &cyc) {
		t.Fatalf("self-dependency = %v", err)
	}
	// Nothing stays stuck "under construction".
	if _, err := f.Get(context.Background(), "b"); !errors.As(err, &cyc) {
		t.Fatalf("Get b = %v", err)
	}
}

func TestFactoryCycleAcrossGoroutines(t *testing.T) {
	// x's constructor waits for y, y's for x, each started by a different
	// goroutine: whichever Get closes the cycle fails instead of waiting.
	var f OperatorFactory
	xStarted, yStarted := make(chan struct{}), make(chan struct{})
	_ = f.Register("x", func(ctx context.Context) (Operator, error) {
		close(xStarted)
		<-yStarted
		_, err := f.Get(ctx, "y")
		return nil, err
	})
	_ = f.Register("y", func(ctx context.Context) (Operator, error) {
		close(yStarted)
		<-xStarted
		_, err := f.Get(ctx, "x")
		return nil, err
	})
	errs := make(chan error, 2)
	for _, id := range []string{"x", "y"} {
		go func() {
			_, err := f.Get(context.Background(), id)
			errs <- err
		}()
	}
	for range 2 {
		var cyc *DependencyCycleError
		if err := <-errs; !errors.As(err, &cyc) {
			t.Fatalf("Get = %v, want a cycle error", err)
		}
	}
}

func TestFactoryWaiterRetriesWhenInitiatorCancelled(t *testing.T) {
	var f OperatorFactory
	var n atomic.Int64
	started := make(chan struct{})
	_ = f.Register("bybit", func(ctx context.Context) (Operator, error) {
		if n.Add(1) == 1 {
			close(started)
			<-ctx.Done()
			return nil, ctx.Err()
		}
		return newStub(t, "bybit", nil), nil
	})
	ctx1, cancel1 := context.WithCancel(context.Background())
	first := make(chan error, 1)
	go func() {
		_, err := f.Get(ctx1, "bybit")
		first <- err
	}()
	<-started
	second := make(chan error, 1)
	go func() {
		_, err := f.Get(context.Background(), "bybit")
		second <- err
	}()
	cancel1()
	if err := <-first; !errors.Is(err, context.Canceled) {
		t.Fatalf("initiator = %v", err)
	}
	if err := <-second; err != nil {
		t.Fatalf("waiter = %v, want a fresh construction", err)
	}
	_ = f.Close()
}

func TestFactoryGetHonoursContextWhileWaiting(t *testing.T) {
	var f OperatorFactory
	release := make(chan struct{})
	started := make(chan struct{})
	_ = f.Register("slow", func(context.Context) (Operator, error) {
		close(started)
		<-release
		return newStub(t, "slow", nil), nil
	})
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = f.Get(context.Background(), "slow")
	}()
	<-started
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := f.Get(ctx, "slow"); !errors.Is(err, context.Canceled) {
		t.Fatalf("Get = %v", err)
	}
	close(release)
	<-done
	_ = f.Close()
}

func TestFactoryRegisterFunc(t *testing.T) {
	var f OperatorFactory
	if err := f.RegisterFunc("bitmex", func() (Operator, error) { return newStub(t, "bitmex", nil), nil }); err != nil {
		t.Fatal(err)
	}
	if err := f.RegisterFunc("nil", nil); err == nil {
		t.Fatal("nil func accepted")
	}
	op, err := f.Get(context.Background(), "bitmex")
	if err != nil || op.Name() != "bitmex" {
		t.Fatal(op, err)
	}
	if got := f.Registered(); len(got) != 1 || got[0] != "bitmex" {
		t.Fatal(got)
	}
	_ = f.Close()
	if err := f.Register("x", func(context.Context) (Operator, error) { return nil, nil }); !errors.Is(err, ErrFactoryClosed) {
		t.Fatal(err)
	}
}
