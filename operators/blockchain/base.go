package blockchain

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/pype-go/pype/operators"
)

// Base implements [BlockchainOperator] on a [Chain] and an optional
// [Signer]: fee estimation under the network's fee policy, nonce
// management, broadcasting with error classification, transaction
// tracking and polling. Concrete chain operators embed *Base:
//
//	type Ethereum struct {
//		*blockchain.Base
//	}
//
// Base is an [operators.Fetcher]: run it under an
// [operators.OperatorProcessor] (interval ≈ the block time) to keep the
// tracker current, or call [Base.Poll] yourself. Base is safe for
// concurrent use.
type Base struct {
	*operators.Base
	net     NetworkConfig
	chain   Chain
	signer  Signer
	nonces  *NonceManager
	tracker *TxTracker
}

var _ BlockchainOperator = (*Base)(nil)

// Option configures a [Base].
type Option func(*baseConfig)

type baseConfig struct {
	signer Signer
	ops    []operators.BaseOption
}

// WithSigner makes the operator sign with s (without one it is read-only).
func WithSigner(s Signer) Option { return func(c *baseConfig) { c.signer = s } }

// WithOperatorOptions passes options to the embedded [operators.Base]
// (clock, logger, publisher, nonce creator).
func WithOperatorOptions(opts ...operators.BaseOption) Option {
	return func(c *baseConfig) { c.ops = append(c.ops, opts...) }
}

// NewBase returns an operator for network net served by chain.
func NewBase(net NetworkConfig, chain Chain, opts ...Option) (*Base, error) {
	if err := net.Validate(); err != nil {
		return nil, err
	}
	if chain == nil {
		return nil, errors.New("blockchain: NewBase: nil Chain")
	}
	var cfg baseConfig
	for _, o := range opts {
		o(&cfg)
	}
	ob, err := operators.NewBase(operators.OperatorConfiguration{Platform: net.Platform}, cfg.ops...)
	if err != nil {
		return nil, err
	}
	b := &Base{Base: ob, net: net, chain: chain, signer: cfg.signer, nonces: NewNonceManager(chain)}
	b.tracker = NewTxTracker(TrackerConfig{
		Finality:  net.Finality(),
		DropAfter: net.DropPolls(),
		Publisher: ob.Publishing(),
		Clock:     operators.ClockFunc(func() time.Time { return ob.LocalTime() }),
	})
	return b, nil
}

// Network returns the network configuration.
func (b *Base) Network() NetworkConfig { return b.net }

// Chain returns the node API the operator uses.
func (b *Base) Chain() Chain { return b.chain }

// Address returns the signer's account, or nil.
func (b *Base) Address() BlockchainIdentifier {
	if b.signer == nil {
		return nil
	}
	return b.signer.Address()
}

// Nonces returns the nonce manager.
func (b *Base) Nonces() *NonceManager { return b.nonces }

// Tracker returns the transaction tracker.
func (b *Base) Tracker() *TxTracker { return b.tracker }

// BlockNumber returns the head block number.
func (b *Base) BlockNumber(ctx context.Context) (uint64, error) { return b.chain.BlockNumber(ctx) }

// Balance returns an account's native balance.
func (b *Base) Balance(ctx context.Context, account BlockchainIdentifier) (*big.Int, error) {
	return b.chain.Balance(ctx, account)
}

// Call executes a read-only message call.
func (b *Base) Call(ctx context.Context, call CallRequest) ([]byte, error) {
	return b.chain.Call(ctx, call)
}

// Receipt returns a transaction's receipt, or an error wrapping ErrNotFound.
func (b *Base) Receipt(ctx context.Context, hash BlockchainIdentifier) (*Receipt, error) {
	return b.chain.Receipt(ctx, hash)
}

func (b *Base) sender(req TxRequest) (BlockchainIdentifier, error) {
	if req.From != nil {
		return req.From, nil
	}
	if b.signer == nil {
		return nil, ErrNoSigner
	}
	return b.signer.Address(), nil
}

// EstimateFee estimates gas (plus the network's margin) and prices it with
// the node's suggestion under the network's fee policy.
func (b *Base) EstimateFee(ctx context.Context, req TxRequest) (Fee, error) {
	from, err := b.sender(req)
	if err != nil && !errors.Is(err, ErrNoSigner) {
		return Fee{}, err
	}
	gas, err := b.chain.EstimateGas(ctx, CallRequest{From: from, To: req.To, Value: req.Value, Data: req.Data})
	if err != nil {
		return Fee{}, fmt.Errorf("blockchain: estimate gas: %w", err)
	}
	pol := b.net.Fees
	fee := Fee{Model: pol.Model, GasLimit: gas + gas*uint64(pol.gasMargin())/100}
	sug, err := b.chain.SuggestFees(ctx)
	if err != nil {
		return Fee{}, fmt.Errorf("blockchain: suggest fees: %w", err)
	}
	switch pol.Model {
	case FeeLegacy:
		if sug.GasPrice == nil {
			return Fee{}, errors.New("blockchain: the node suggests no gas price")
		}
		fee.GasPrice = cloneInt(sug.GasPrice)
	default:
		if sug.BaseFee == nil {
			return Fee{}, fmt.Errorf("blockchain: network %s has no base fee; configure FeeLegacy", b.net.Platform.Identifier)
		}
		tip := sug.PriorityFee
		if tip == nil {
			tip = pol.PriorityFee
		}
		tip = orZero(tip)
		maxFee := new(big.Int).Mul(sug.BaseFee, big.NewInt(int64(pol.baseMultiplier())))
		maxFee.Quo(maxFee, big.NewInt(100))
		maxFee.Add(maxFee, tip)
		fee.MaxFeePerGas, fee.MaxPriorityFeePerGas = maxFee, tip
	}
	if err := b.checkCap(fee); err != nil {
		return Fee{}, err
	}
	return fee, nil
}

func (b *Base) checkCap(fee Fee) error {
	if c := b.net.Fees.MaxFeePerGas; c != nil && fee.PricePerGas().Cmp(c) > 0 {
		return &FeeCapError{Wanted: fee.PricePerGas(), Cap: cloneInt(c)}
	}
	return nil
}

// BuildTransaction fills in the sender (the signer), the fee (estimated
// unless req.Fee is set) and the nonce (reserved from the nonce manager
// unless req.Nonce is set). A reserved nonce must be used or released:
// [Base.Send] does both; callers of BuildTransaction who give up call
// Nonces().Release.
func (b *Base) BuildTransaction(ctx context.Context, req TxRequest) (Transaction, error) {
	from, err := b.sender(req)
	if err != nil {
		return Transaction{}, err
	}
	var fee Fee
	if req.Fee != nil {
		fee = req.Fee.clone()
		if err := fee.Validate(); err != nil {
			return Transaction{}, err
		}
		if err := b.checkCap(fee); err != nil {
			return Transaction{}, err
		}
	} else if fee, err = b.EstimateFee(ctx, req); err != nil {
		return Transaction{}, err
	}
	var nonce uint64
	if req.Nonce != nil {
		nonce = *req.Nonce
	} else if nonce, err = b.nonces.Next(ctx, from); err != nil {
		return Transaction{}, err
	}
	return Transaction{
		ChainID: b.net.Platform.ChainID,
		From:    from,
		To:      req.To,
		Nonce:   nonce,
		Value:   orZero(req.Value),
		Data:    append([]byte(nil), req.Data...),
		Fee:     fee,
	}, nil
}

// SignTransaction signs tx with the operator's signer.
func (b *Base) SignTransaction(ctx context.Context, tx Transaction) (SignedTransaction, error) {
	if b.signer == nil {
		return SignedTransaction{}, ErrNoSigner
	}
	if !Equal(tx.From, b.signer.Address()) {
		return SignedTransaction{}, fmt.Errorf("blockchain: transaction from %v cannot be signed by %v", tx.From, b.signer.Address())
	}
	if tx.ChainID != b.net.Platform.ChainID {
		return SignedTransaction{}, fmt.Errorf("blockchain: transaction for chain %q on network with chain id %q", tx.ChainID, b.net.Platform.ChainID)
	}
	stx, err := b.signer.SignTransaction(ctx, tx)
	if err != nil {
		return SignedTransaction{}, fmt.Errorf("blockchain: sign: %w", err)
	}
	return stx, nil
}

// Broadcast submits stx, tracks it and settles its nonce: accepted (or
// already known) → BROADCASTED; rejected → FAILED with the
// [*RejectedError] (the nonce is released, or re-read from the chain when
// it was too low); any other error leaves the outcome unknown → it stays
// PENDING_BROADCAST with an [*UncertainBroadcastError] and polling settles
// it. Broadcasting a tracked transaction again (a dropped one) is allowed.
func (b *Base) Broadcast(ctx context.Context, stx SignedTransaction) (TxInfo, error) {
	info, err := b.tracker.Track(stx)
	if err != nil && !errors.Is(err, ErrAlreadyTracked) {
		return TxInfo{}, err
	}
	if err != nil {
		info, _ = b.tracker.Get(stx.Hash)
	}
	from, nonce := stx.Tx.From, stx.Tx.Nonce
	sendErr := b.chain.SendRawTransaction(ctx, stx)
	var rej *RejectedError
	switch {
	case sendErr == nil || errors.Is(sendErr, ErrAlreadyKnown):
		b.nonces.Commit(from, nonce, stx.Hash)
		info, _ = b.tracker.Observe(stx.Hash, Observation{Kind: ObsBroadcastOK})
		return info, nil
	case errors.As(sendErr, &rej):
		if info.State == PendingBroadcast {
			info, _ = b.tracker.Observe(stx.Hash, Observation{Kind: ObsBroadcastFailed, Err: sendErr})
		}
		if rej.Reason == RejectNonceTooLow {
			if rerr := b.nonces.Reset(ctx, from); rerr != nil {
				return info, errors.Join(sendErr, rerr)
			}
		} else {
			b.nonces.Release(from, nonce, stx.Hash)
		}
		return info, sendErr
	default:
		b.nonces.Commit(from, nonce, stx.Hash)
		return info, &UncertainBroadcastError{Hash: stx.Hash, Err: sendErr}
	}
}

// Send builds, signs, broadcasts and tracks a transaction. A nonce it
// reserved is released when building the rest, signing or broadcasting
// fails for good.
func (b *Base) Send(ctx context.Context, req TxRequest) (TxInfo, error) {
	tx, err := b.BuildTransaction(ctx, req)
	if err != nil {
		return TxInfo{}, err
	}
	stx, err := b.SignTransaction(ctx, tx)
	if err != nil {
		if req.Nonce == nil {
			b.nonces.Release(tx.From, tx.Nonce, nil)
		}
		return TxInfo{}, err
	}
	return b.Broadcast(ctx, stx)
}

// replaceable returns the tracked transaction hash if a replacement for it
// makes sense.
func (b *Base) replaceable(hash BlockchainIdentifier) (TxInfo, error) {
	info, ok := b.tracker.Get(hash)
	if !ok {
		return TxInfo{}, fmt.Errorf("%w: %v", ErrUnknownTx, hash)
	}
	switch info.State {
	case PendingBroadcast, Broadcasted, Dropped:
		return info, nil
	}
	return info, fmt.Errorf("blockchain: tx %v is %v; only a transaction not yet mined can be replaced", hash, info.State)
}

// SpeedUp re-sends a pending transaction with the same nonce and its fee
// raised by the network's replacement bump (at least), so it replaces the
// original in the mempool. Whichever is mined, the other ends REPLACED.
func (b *Base) SpeedUp(ctx context.Context, hash BlockchainIdentifier) (TxInfo, error) {
	orig, err := b.replaceable(hash)
	if err != nil {
		return TxInfo{}, err
	}
	t := orig.Tx.Tx
	fee := t.Fee.Bump(b.net.Fees.ReplacementBump())
	nonce := t.Nonce
	return b.Send(ctx, TxRequest{From: t.From, To: t.To, Value: t.Value, Data: t.Data, Nonce: &nonce, Fee: &fee})
}

// Cancel replaces a pending transaction with a zero-value transfer to the
// sender itself (same nonce, bumped fee).
func (b *Base) Cancel(ctx context.Context, hash BlockchainIdentifier) (TxInfo, error) {
	orig, err := b.replaceable(hash)
	if err != nil {
		return TxInfo{}, err
	}
	t := orig.Tx.Tx
	fee := t.Fee.Bump(b.net.Fees.ReplacementBump())
	req := TxRequest{From: t.From, To: t.From}
	if gas, err := b.chain.EstimateGas(ctx, CallRequest{From: t.From, To: t.From}); err == nil {
		fee.GasLimit = gas
	}
	nonce := t.Nonce
	req.Nonce, req.Fee = &nonce, &fee
	return b.Send(ctx, req)
}

// WaitForConfirmations waits until the transaction has n confirmations
// (or is finalized). The tracker only learns what polls observe, so run a
// poll loop (or call Poll) meanwhile.
func (b *Base) WaitForConfirmations(ctx context.Context, hash BlockchainIdentifier, n uint64) (TxInfo, error) {
	return b.tracker.WaitConfirmations(ctx, hash, n)
}

// FetchUpdates implements [operators.Fetcher] by calling Poll.
func (b *Base) FetchUpdates(ctx context.Context) error { return b.Poll(ctx) }

// Poll looks at every tracked transaction that is not final and feeds what
// the chain says to the tracker: receipts (confirmations, finality, a
// receipt that moved or vanished in a reorg), a nonce consumed by another
// transaction (replaced), the mempool (seen or missing → dropped, which
// releases the nonce). Errors are joined; one transaction's failure does
// not stop the others.
func (b *Base) Poll(ctx context.Context) error {
	head, err := b.chain.BlockNumber(ctx)
	if err != nil {
		return fmt.Errorf("blockchain: poll: head: %w", err)
	}
	latest := map[BlockchainIdentifier]uint64{}
	nonceOf := func(from BlockchainIdentifier) (uint64, error) {
		if n, ok := latest[from]; ok {
			return n, nil
		}
		n, err := b.chain.NonceAt(ctx, from, false)
		if err == nil {
			latest[from] = n
		}
		return n, err
	}
	// Receipts first, so that a replacement mined in this poll is known
	// when the transactions it replaced are looked at.
	var errs []error
	var absent []TxInfo
	for _, info := range b.tracker.Active() {
		if err := ctx.Err(); err != nil {
			return err
		}
		found, err := b.pollReceipt(ctx, info, head)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("tx %v: %w", info.Hash, err))
		case !found:
			absent = append(absent, info)
		}
	}
	for _, info := range absent {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := b.pollAbsent(ctx, info, head, nonceOf); err != nil {
			errs = append(errs, fmt.Errorf("tx %v: %w", info.Hash, err))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("blockchain: poll: %w", errors.Join(errs...))
	}
	return nil
}

// pollReceipt looks up the receipt; found reports whether there was one.
func (b *Base) pollReceipt(ctx context.Context, info TxInfo, head uint64) (found bool, err error) {
	hash := info.Hash
	r, err := b.chain.Receipt(ctx, hash)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if info.State.IsMined() && !sameBlock(info.Receipt, r) {
		// Re-mined in another block after a reorg.
		if _, err := b.tracker.Observe(hash, Observation{Kind: ObsUnmined, Head: head}); err != nil {
			return true, err
		}
	}
	info, err = b.tracker.Observe(hash, Observation{Kind: ObsMined, Receipt: r, Head: head})
	if err != nil {
		return true, err
	}
	b.nonces.Confirm(info.From, info.Nonce)
	return true, nil
}

// pollAbsent settles a transaction without a receipt: un-mined by a reorg,
// replaced, pending, or missing.
func (b *Base) pollAbsent(ctx context.Context, info TxInfo, head uint64, nonceOf func(BlockchainIdentifier) (uint64, error)) error {
	hash := info.Hash
	var err error
	if info.State.IsMined() {
		if info, err = b.tracker.Observe(hash, Observation{Kind: ObsUnmined, Head: head}); err != nil {
			return err
		}
	}
	used, err := nonceOf(info.From)
	if err != nil {
		return err
	}
	if used > info.Nonce {
		var by BlockchainIdentifier
		for _, o := range b.tracker.BySenderNonce(info.From, info.Nonce) {
			if !Equal(o.Hash, hash) && o.State.IsMined() {
				by = o.Hash
			}
		}
		_, err = b.tracker.Observe(hash, Observation{Kind: ObsNonceTaken, ReplacedBy: by, Head: head})
		if err == nil && info.State != Replaced {
			b.nonces.Confirm(info.From, info.Nonce)
		}
		return err
	}
	pending, err := b.chain.IsPending(ctx, hash)
	if err != nil {
		return err
	}
	if pending {
		_, err = b.tracker.Observe(hash, Observation{Kind: ObsSeen, Head: head})
		return err
	}
	next, err := b.tracker.Observe(hash, Observation{Kind: ObsMissing, Head: head})
	if err == nil && next.State == Dropped && info.State != Dropped {
		b.nonces.Release(info.From, info.Nonce, hash)
	}
	return err
}
