package blockchaintest

import (
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"maps"
	"math/big"
	"slices"
	"sync"

	"github.com/pype-go/pype/operators/blockchain"
)

// Gas costs of the ledger's simple gas model.
const (
	TxGas          = 21_000 // intrinsic gas of every transaction
	DataZeroGas    = 4      // per zero byte of call data
	DataNonZeroGas = 16     // per non-zero byte of call data
)

// Contract is code the ledger runs for transactions and calls sent to its
// address. Execute must only change st through its own storage (it is
// handed a private copy on calls and estimates). A non-nil error reverts
// the execution; its message is the revert reason.
type Contract interface {
	Execute(st *State, call ContractCall) (out []byte, gas uint64, logs []blockchain.Log, err error)
	Clone() Contract
}

// ContractCall is one execution of a contract.
type ContractCall struct {
	Self  blockchain.Address
	From  blockchain.Address
	Value *big.Int
	Data  []byte
}

// State is the ledger's world state: native balances, account nonces and
// contracts with their storage.
type State struct {
	Balances  map[blockchain.Address]*big.Int
	Nonces    map[blockchain.Address]uint64
	Contracts map[blockchain.Address]Contract
}

func newState() *State {
	return &State{Balances: map[blockchain.Address]*big.Int{}, Nonces: map[blockchain.Address]uint64{}, Contracts: map[blockchain.Address]Contract{}}
}

func (s *State) clone() *State {
	c := newState()
	for a, v := range s.Balances {
		c.Balances[a] = new(big.Int).Set(v)
	}
	maps.Copy(c.Nonces, s.Nonces)
	for a, k := range s.Contracts {
		c.Contracts[a] = k.Clone()
	}
	return c
}

// Balance returns a's native balance (never nil).
func (s *State) Balance(a blockchain.Address) *big.Int {
	if v := s.Balances[a]; v != nil {
		return v
	}
	return new(big.Int)
}

func (s *State) add(a blockchain.Address, v *big.Int) {
	s.Balances[a] = new(big.Int).Add(s.Balance(a), v)
}

type pendingTx struct {
	stx  blockchain.SignedTransaction
	from blockchain.Address
	seq  uint64 // arrival order
}

type minedTx struct {
	stx     blockchain.SignedTransaction
	receipt *blockchain.Receipt
}

type block struct {
	number uint64
	hash   blockchain.BlockHash
	txs    []minedTx
	before *State // state before the block, for reorgs
}

// Ledger is an in-memory EVM-like chain for tests: accounts with native
// balances and nonces, a mempool with same-nonce replacement (fee bump
// rule), blocks mined on demand, receipts, a simple gas model, ERC-20 style
// contracts, and faults — reorg of the last blocks, dropped transactions,
// broadcasts that fail after (or before) reaching the mempool. It
// implements [blockchain.Chain]. All methods are safe for concurrent use.
type Ledger struct {
	mu       sync.Mutex
	chainID  string
	state    *State
	blocks   []*block
	mempool  map[blockchain.Address]map[uint64]*pendingTx
	byHash   map[blockchain.TxHash]*pendingTx
	receipts map[blockchain.TxHash]*blockchain.Receipt
	secrets  map[blockchain.Address][]byte
	accounts uint64
	arrivals uint64
	salt     uint64
	baseFee  *big.Int
	tip      *big.Int
	bump     int
	maxTxs   int
	sendFail []sendFault
	calls    map[string]int
}

type sendFault struct {
	err    error
	accept bool
}

// NewLedger returns a ledger for chainID with a genesis block, a base fee
// of 10 gwei and a suggested tip of 1 gwei.
func NewLedger(chainID string) *Ledger {
	l := &Ledger{
		chainID:  chainID,
		state:    newState(),
		mempool:  map[blockchain.Address]map[uint64]*pendingTx{},
		byHash:   map[blockchain.TxHash]*pendingTx{},
		receipts: map[blockchain.TxHash]*blockchain.Receipt{},
		secrets:  map[blockchain.Address][]byte{},
		baseFee:  big.NewInt(10_000_000_000),
		tip:      big.NewInt(1_000_000_000),
		bump:     10,
		calls:    map[string]int{},
	}
	l.blocks = append(l.blocks, &block{number: 0, hash: l.blockHash(0)})
	return l
}

func (l *Ledger) blockHash(n uint64) blockchain.BlockHash {
	var b [24]byte
	binary.BigEndian.PutUint64(b[:8], n)
	binary.BigEndian.PutUint64(b[8:16], l.salt)
	copy(b[16:], l.chainID)
	return sha256.Sum256(b[:])
}

// NewAccount creates an account holding balance and returns its address
// and a signer for it.
func (l *Ledger) NewAccount(balance *big.Int) (blockchain.Address, *Signer) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.accounts++
	var seed [16]byte
	binary.BigEndian.PutUint64(seed[:8], l.accounts)
	copy(seed[8:], "account")
	h := sha256.Sum256(seed[:])
	var a blockchain.Address
	copy(a[:], h[:20])
	secret := sha256.Sum256(append(h[:], "secret"...))
	l.secrets[a] = secret[:]
	if balance != nil {
		l.state.add(a, balance)
	}
	return a, &Signer{addr: a, secret: secret[:]}
}

// Fund adds amount to a's balance.
func (l *Ledger) Fund(a blockchain.Address, amount *big.Int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.state.add(a, amount)
}

// Deploy installs contract c at a fresh address and returns it.
func (l *Ledger) Deploy(c Contract) blockchain.Address {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.accounts++
	var seed [16]byte
	binary.BigEndian.PutUint64(seed[:8], l.accounts)
	copy(seed[8:], "contract")
	h := sha256.Sum256(seed[:])
	var a blockchain.Address
	copy(a[:], h[:20])
	l.state.Contracts[a] = c
	return a
}

// SetFees sets the base fee and the suggested tip.
func (l *Ledger) SetFees(baseFee, tip *big.Int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.baseFee, l.tip = new(big.Int).Set(baseFee), new(big.Int).Set(tip)
}

// SetMaxTxsPerBlock limits how many transactions a block holds (0: no
// limit).
func (l *Ledger) SetMaxTxsPerBlock(n int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.maxTxs = n
}

// FailNextSend makes the next SendRawTransaction return err. With accept
// the transaction still enters the mempool (a response lost after the node
// took it); without, it does not.
func (l *Ledger) FailNextSend(err error, accept bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sendFail = append(l.sendFail, sendFault{err, accept})
}

// Calls returns how many times each Chain method was called.
func (l *Ledger) Calls() map[string]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return maps.Clone(l.calls)
}

// Head returns the head block number.
func (l *Ledger) Head() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.head().number
}

func (l *Ledger) head() *block { return l.blocks[len(l.blocks)-1] }

// HeadHash returns the head block's hash.
func (l *Ledger) HeadHash() blockchain.BlockHash {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.head().hash
}

// Pending returns the hashes in the mempool, in arrival order.
func (l *Ledger) Pending() []blockchain.TxHash {
	l.mu.Lock()
	defer l.mu.Unlock()
	ps := slices.Collect(maps.Values(l.byHash))
	slices.SortFunc(ps, func(a, b *pendingTx) int { return cmp.Compare(a.seq, b.seq) })
	out := make([]blockchain.TxHash, len(ps))
	for i, p := range ps {
		out[i] = p.stx.Hash.(blockchain.TxHash)
	}
	return out
}

// Drop removes a transaction from the mempool, as a node evicting it
// would. It reports whether it was there.
func (l *Ledger) Drop(hash blockchain.TxHash) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	p, ok := l.byHash[hash]
	if !ok {
		return false
	}
	l.removePending(p)
	return true
}

func (l *Ledger) removePending(p *pendingTx) {
	delete(l.byHash, p.stx.Hash.(blockchain.TxHash))
	m := l.mempool[p.from]
	if m[p.stx.Tx.Nonce] == p {
		delete(m, p.stx.Tx.Nonce)
	}
}

// Mine mines one block with the executable mempool transactions (for each
// sender, consecutive nonces from its account nonce; senders ordered by
// fee, then arrival) and returns its number.
func (l *Ledger) Mine() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.mine()
}

// MineN mines n blocks.
func (l *Ledger) MineN(n int) uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	var h uint64
	for range n {
		h = l.mine()
	}
	return h
}

func (l *Ledger) mine() uint64 {
	prev := l.head()
	b := &block{number: prev.number + 1, before: l.state.clone()}
	b.hash = l.blockHash(b.number)
	for l.maxTxs <= 0 || len(b.txs) < l.maxTxs {
		p := l.nextExecutable()
		if p == nil {
			break
		}
		l.removePending(p)
		tx := p.stx.Tx
		maxCost := new(big.Int).Mul(new(big.Int).SetUint64(tx.Fee.GasLimit), l.price(tx.Fee))
		if l.state.Balance(p.from).Cmp(maxCost.Add(maxCost, orZero(tx.Value))) < 0 {
			continue // no longer affordable: invalid, evicted
		}
		r := l.execute(l.state, p.stx, b.number, b.hash, uint(len(b.txs)))
		b.txs = append(b.txs, minedTx{stx: p.stx, receipt: r})
		l.receipts[p.stx.Hash.(blockchain.TxHash)] = r
	}
	l.blocks = append(l.blocks, b)
	return b.number
}

// nextExecutable picks the best-paying transaction whose nonce is its
// sender's account nonce.
func (l *Ledger) nextExecutable() *pendingTx {
	var best *pendingTx
	for from, m := range l.mempool {
		p := m[l.state.Nonces[from]]
		if p == nil {
			continue
		}
		if best == nil {
			best = p
			continue
		}
		if c := l.price(p.stx.Tx.Fee).Cmp(l.price(best.stx.Tx.Fee)); c > 0 || c == 0 && p.seq < best.seq {
			best = p
		}
	}
	return best
}

// price is the effective gas price under the current base fee.
func (l *Ledger) price(f blockchain.Fee) *big.Int {
	if f.Model == blockchain.FeeLegacy {
		return new(big.Int).Set(f.GasPrice)
	}
	p := new(big.Int).Add(l.baseFee, f.MaxPriorityFeePerGas)
	if p.Cmp(f.MaxFeePerGas) > 0 {
		p.Set(f.MaxFeePerGas)
	}
	return p
}

func intrinsicGas(data []byte) uint64 {
	g := uint64(TxGas)
	for _, c := range data {
		if c == 0 {
			g += DataZeroGas
		} else {
			g += DataNonZeroGas
		}
	}
	return g
}

// execute applies a transaction to st and returns its receipt.
func (l *Ledger) execute(st *State, stx blockchain.SignedTransaction, number uint64, hash blockchain.BlockHash, index uint) *blockchain.Receipt {
	tx := stx.Tx
	from := tx.From.(blockchain.Address)
	price := l.price(tx.Fee)
	r := &blockchain.Receipt{TxHash: stx.Hash, BlockHash: hash, BlockNumber: number, Status: blockchain.StatusSuccess, EffectiveGasPrice: price}
	st.Nonces[from] = tx.Nonce + 1
	gas, logs, reason, ok := l.run(st, tx)
	if gas > tx.Fee.GasLimit {
		gas, ok, reason, logs = tx.Fee.GasLimit, false, "out of gas", nil
	}
	if !ok {
		r.Status = blockchain.StatusFailed
		r.RevertReason = reason
	}
	r.GasUsed = gas
	r.Logs = logs
	for i := range r.Logs {
		r.Logs[i].Index = index*100 + uint(i)
	}
	st.add(from, new(big.Int).Neg(r.Fee()))
	return r
}

// run executes tx's value transfer and contract code on st (rolled back on
// revert) and returns the gas used.
func (l *Ledger) run(st *State, tx blockchain.Transaction) (gas uint64, logs []blockchain.Log, reason string, ok bool) {
	gas = intrinsicGas(tx.Data)
	from := tx.From.(blockchain.Address)
	value := tx.Value
	if value == nil {
		value = new(big.Int)
	}
	if tx.To == nil {
		return gas, nil, "contract creation is not supported by the ledger", false
	}
	to := tx.To.(blockchain.Address)
	if st.Balance(from).Cmp(value) < 0 {
		return gas, nil, "insufficient balance for transfer", false
	}
	c := st.Contracts[to]
	if c == nil {
		st.add(from, new(big.Int).Neg(value))
		st.add(to, value)
		return gas, nil, "", true
	}
	work := c.Clone()
	out, used, logs, err := work.Execute(st, ContractCall{Self: to, From: from, Value: value, Data: tx.Data})
	_ = out
	gas += used
	if err != nil {
		return gas, nil, err.Error(), false
	}
	st.Contracts[to] = work
	st.add(from, new(big.Int).Neg(value))
	st.add(to, value)
	return gas, logs, "", true
}

// Reorg removes the last n blocks: their transactions return to the
// mempool (as nodes re-add them) and the state rolls back. New blocks get
// new hashes.
func (l *Ledger) Reorg(n int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.reorg(n, false)
}

// ReorgAndDrop removes the last n blocks and forgets their transactions.
func (l *Ledger) ReorgAndDrop(n int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.reorg(n, true)
}

func (l *Ledger) reorg(n int, drop bool) {
	for ; n > 0 && len(l.blocks) > 1; n-- {
		b := l.head()
		l.blocks = l.blocks[:len(l.blocks)-1]
		l.state = b.before
		for _, m := range b.txs {
			delete(l.receipts, m.stx.Hash.(blockchain.TxHash))
			if !drop {
				l.addPending(m.stx, m.stx.Tx.From.(blockchain.Address))
			}
		}
	}
	l.salt++
}

func (l *Ledger) addPending(stx blockchain.SignedTransaction, from blockchain.Address) {
	l.arrivals++
	p := &pendingTx{stx: stx, from: from, seq: l.arrivals}
	if l.mempool[from] == nil {
		l.mempool[from] = map[uint64]*pendingTx{}
	}
	if old := l.mempool[from][stx.Tx.Nonce]; old != nil {
		delete(l.byHash, old.stx.Hash.(blockchain.TxHash))
	}
	l.mempool[from][stx.Tx.Nonce] = p
	l.byHash[stx.Hash.(blockchain.TxHash)] = p
}

func asAddress(id blockchain.BlockchainIdentifier) (blockchain.Address, error) {
	a, ok := id.(blockchain.Address)
	if !ok {
		return blockchain.Address{}, fmt.Errorf("blockchaintest: %v is not an EVM address", id)
	}
	return a, nil
}

func asTxHash(id blockchain.BlockchainIdentifier) (blockchain.TxHash, error) {
	h, ok := id.(blockchain.TxHash)
	if !ok {
		return blockchain.TxHash{}, fmt.Errorf("blockchaintest: %v is not an EVM transaction hash", id)
	}
	return h, nil
}

func (l *Ledger) count(method string) { l.calls[method]++ }

// ChainID implements [blockchain.Chain].
func (l *Ledger) ChainID(context.Context) (string, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.count("ChainID")
	return l.chainID, nil
}

// BlockNumber implements [blockchain.Chain].
func (l *Ledger) BlockNumber(context.Context) (uint64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.count("BlockNumber")
	return l.head().number, nil
}

// NonceAt implements [blockchain.Chain]: the account nonce, plus with
// pending the consecutive mempool nonces after it.
func (l *Ledger) NonceAt(_ context.Context, account blockchain.BlockchainIdentifier, pending bool) (uint64, error) {
	a, err := asAddress(account)
	if err != nil {
		return 0, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.count("NonceAt")
	n := l.state.Nonces[a]
	if pending {
		for l.mempool[a][n] != nil {
			n++
		}
	}
	return n, nil
}

// Balance implements [blockchain.Chain].
func (l *Ledger) Balance(_ context.Context, account blockchain.BlockchainIdentifier) (*big.Int, error) {
	a, err := asAddress(account)
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.count("Balance")
	return new(big.Int).Set(l.state.Balance(a)), nil
}

// SuggestFees implements [blockchain.Chain].
func (l *Ledger) SuggestFees(context.Context) (blockchain.FeeSuggestion, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.count("SuggestFees")
	return blockchain.FeeSuggestion{
		BaseFee:     new(big.Int).Set(l.baseFee),
		GasPrice:    new(big.Int).Add(l.baseFee, l.tip),
		PriorityFee: new(big.Int).Set(l.tip),
	}, nil
}

// ExecutionError is a reverted call or estimate.
type ExecutionError struct {
	Reason string
}

func (e *ExecutionError) Error() string { return "execution reverted: " + e.Reason }

func (l *Ledger) simulate(call blockchain.CallRequest) ([]byte, uint64, error) {
	from := blockchain.Address{}
	if call.From != nil {
		a, err := asAddress(call.From)
		if err != nil {
			return nil, 0, err
		}
		from = a
	}
	st := l.state.clone()
	gas := intrinsicGas(call.Data)
	if call.To == nil {
		return nil, 0, &ExecutionError{Reason: "contract creation is not supported by the ledger"}
	}
	to, err := asAddress(call.To)
	if err != nil {
		return nil, 0, err
	}
	value := call.Value
	if value == nil {
		value = new(big.Int)
	}
	c := st.Contracts[to]
	if c == nil {
		return nil, gas, nil
	}
	out, used, _, err := c.Execute(st, ContractCall{Self: to, From: from, Value: value, Data: call.Data})
	if err != nil {
		return nil, 0, &ExecutionError{Reason: err.Error()}
	}
	return out, gas + used, nil
}

// EstimateGas implements [blockchain.Chain].
func (l *Ledger) EstimateGas(_ context.Context, call blockchain.CallRequest) (uint64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.count("EstimateGas")
	_, gas, err := l.simulate(call)
	return gas, err
}

// Call implements [blockchain.Chain].
func (l *Ledger) Call(_ context.Context, call blockchain.CallRequest) ([]byte, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.count("Call")
	out, _, err := l.simulate(call)
	return out, err
}

// SendRawTransaction implements [blockchain.Chain]: it checks the chain
// id, the signature, the nonce, the fee (base fee, replacement bump) and
// the balance, then adds the transaction to the mempool.
func (l *Ledger) SendRawTransaction(_ context.Context, stx blockchain.SignedTransaction) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.count("SendRawTransaction")
	var fault *sendFault
	if len(l.sendFail) > 0 {
		f := l.sendFail[0]
		l.sendFail = l.sendFail[1:]
		fault = &f
		if !f.accept {
			return f.err
		}
	}
	err := l.accept(stx)
	if fault != nil {
		return fault.err
	}
	return err
}

func (l *Ledger) accept(stx blockchain.SignedTransaction) error {
	tx := stx.Tx
	reject := func(r blockchain.RejectReason, msg string) error {
		return &blockchain.RejectedError{Reason: r, Message: msg}
	}
	if tx.ChainID != l.chainID {
		return reject(blockchain.RejectInvalid, fmt.Sprintf("chain id %q, want %q", tx.ChainID, l.chainID))
	}
	from, err := asAddress(tx.From)
	if err != nil {
		return reject(blockchain.RejectInvalid, err.Error())
	}
	hash, err := asTxHash(stx.Hash)
	if err != nil {
		return reject(blockchain.RejectInvalid, err.Error())
	}
	if !verify(l.secrets[from], stx) {
		return reject(blockchain.RejectInvalid, "invalid signature")
	}
	if _, ok := l.byHash[hash]; ok {
		return blockchain.ErrAlreadyKnown
	}
	if _, ok := l.receipts[hash]; ok {
		return blockchain.ErrAlreadyKnown
	}
	if err := tx.Fee.Validate(); err != nil {
		return reject(blockchain.RejectInvalid, err.Error())
	}
	if tx.Nonce < l.state.Nonces[from] {
		return reject(blockchain.RejectNonceTooLow, fmt.Sprintf("nonce %d, account nonce %d", tx.Nonce, l.state.Nonces[from]))
	}
	if tx.Fee.GasLimit < intrinsicGas(tx.Data) {
		return reject(blockchain.RejectGasLimit, fmt.Sprintf("gas limit %d below intrinsic gas %d", tx.Fee.GasLimit, intrinsicGas(tx.Data)))
	}
	if tx.Fee.PricePerGas().Cmp(l.baseFee) < 0 {
		return reject(blockchain.RejectUnderpriced, fmt.Sprintf("max fee per gas %s below base fee %s", tx.Fee.PricePerGas(), l.baseFee))
	}
	if old := l.mempool[from][tx.Nonce]; old != nil && !tx.Fee.Covers(old.stx.Tx.Fee, l.bump) {
		return reject(blockchain.RejectReplacementUnderpriced, fmt.Sprintf("replacing %v needs a %d%% higher fee", old.stx.Hash, l.bump))
	}
	need := new(big.Int).Add(tx.Fee.MaxCost(), orZero(tx.Value))
	if l.state.Balance(from).Cmp(need) < 0 {
		return reject(blockchain.RejectInsufficientFunds, fmt.Sprintf("balance %s, need %s", l.state.Balance(from), need))
	}
	l.addPending(stx, from)
	return nil
}

func orZero(x *big.Int) *big.Int {
	if x == nil {
		return new(big.Int)
	}
	return x
}

// Receipt implements [blockchain.Chain].
func (l *Ledger) Receipt(_ context.Context, hash blockchain.BlockchainIdentifier) (*blockchain.Receipt, error) {
	h, err := asTxHash(hash)
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.count("Receipt")
	r, ok := l.receipts[h]
	if !ok {
		return nil, fmt.Errorf("receipt of %v: %w", hash, blockchain.ErrNotFound)
	}
	c := *r
	c.Logs = slices.Clone(r.Logs)
	c.EffectiveGasPrice = new(big.Int).Set(r.EffectiveGasPrice)
	return &c, nil
}

// IsPending implements [blockchain.Chain].
func (l *Ledger) IsPending(_ context.Context, hash blockchain.BlockchainIdentifier) (bool, error) {
	h, err := asTxHash(hash)
	if err != nil {
		return false, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.count("IsPending")
	_, ok := l.byHash[h]
	return ok, nil
}

// Signer signs transactions for one ledger account. Its "signature" is an
// HMAC of the transaction encoding with the account's secret, which the
// ledger verifies: a test cannot send from an account it does not hold.
type Signer struct {
	addr   blockchain.Address
	secret []byte
}

// Address implements [blockchain.Signer].
func (s *Signer) Address() blockchain.BlockchainIdentifier { return s.addr }

// SignTransaction implements [blockchain.Signer]. The "signature" is an
// HMAC-SHA-256 of the encoding (a stand-in for secp256k1); the hash is
// keccak256 of the raw signed bytes, as on Ethereum.
func (s *Signer) SignTransaction(_ context.Context, tx blockchain.Transaction) (blockchain.SignedTransaction, error) {
	from, err := asAddress(tx.From)
	if err != nil {
		return blockchain.SignedTransaction{}, err
	}
	if from != s.addr {
		return blockchain.SignedTransaction{}, fmt.Errorf("blockchaintest: signer %v cannot sign for %v", s.addr, from)
	}
	enc := encode(tx)
	mac := hmac.New(sha256.New, s.secret)
	mac.Write(enc)
	raw := mac.Sum(enc)
	return blockchain.SignedTransaction{Tx: tx.Clone(), Hash: blockchain.TxHash(blockchain.LegacyKeccak256(raw)), Raw: raw}, nil
}

func verify(secret []byte, stx blockchain.SignedTransaction) bool {
	if secret == nil {
		return false
	}
	enc := encode(stx.Tx)
	if len(stx.Raw) != len(enc)+sha256.Size || !hmac.Equal(stx.Raw[:len(enc)], enc) {
		return false
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write(enc)
	if !hmac.Equal(mac.Sum(nil), stx.Raw[len(enc):]) {
		return false
	}
	h, ok := stx.Hash.(blockchain.TxHash)
	return ok && h == blockchain.TxHash(blockchain.LegacyKeccak256(stx.Raw))
}

// encode is a deterministic encoding of every signed field.
func encode(tx blockchain.Transaction) []byte {
	var b []byte
	str := func(s string) {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	num := func(x *big.Int) {
		if x == nil {
			str("nil")
			return
		}
		str(x.String())
	}
	id := func(x blockchain.BlockchainIdentifier) {
		if x == nil {
			str("")
			return
		}
		str(x.String())
	}
	str(tx.ChainID)
	id(tx.From)
	id(tx.To)
	b = binary.AppendUvarint(b, tx.Nonce)
	num(tx.Value)
	str(string(tx.Data))
	b = append(b, byte(tx.Fee.Model))
	b = binary.AppendUvarint(b, tx.Fee.GasLimit)
	num(tx.Fee.GasPrice)
	num(tx.Fee.MaxFeePerGas)
	num(tx.Fee.MaxPriorityFeePerGas)
	return b
}

var _ blockchain.Chain = (*Ledger)(nil)
var _ blockchain.Signer = (*Signer)(nil)
