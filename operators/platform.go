package operators

import (
	"fmt"
	"strings"
)

// PlatformKind says what sort of venue a [Platform] is. The zero value is
// [UnknownKind], which [Platform.Validate] rejects.
type PlatformKind uint8

const (
	// UnknownKind is the zero PlatformKind.
	UnknownKind PlatformKind = iota
	// CentralizedExchange is an order-book venue reached over HTTP and
	// WebSocket APIs (Binance, Kraken, ...).
	CentralizedExchange
	// Blockchain is a chain reached through RPC endpoints; DApps live on one.
	Blockchain
)

var kindNames = [...]string{
	UnknownKind:         "unknown",
	CentralizedExchange: "centralized_exchange",
	Blockchain:          "blockchain",
}

// String returns "centralized_exchange", "blockchain" or "unknown".
func (k PlatformKind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("PlatformKind(%d)", uint8(k))
}

// MarshalText implements encoding.TextMarshaler.
func (k PlatformKind) MarshalText() ([]byte, error) {
	if int(k) >= len(kindNames) {
		return nil, fmt.Errorf("operators: invalid platform kind %d", uint8(k))
	}
	return []byte(kindNames[k]), nil
}

// UnmarshalText implements encoding.TextUnmarshaler. It accepts the names
// String returns ("cex" and "chain" are accepted as short forms).
func (k *PlatformKind) UnmarshalText(b []byte) error {
	switch strings.ToLower(strings.TrimSpace(string(b))) {
	case "centralized_exchange", "cex", "exchange":
		*k = CentralizedExchange
	case "blockchain", "chain":
		*k = Blockchain
	case "unknown", "":
		*k = UnknownKind
	default:
		return fmt.Errorf("operators: unknown platform kind %q (accepted: centralized_exchange, blockchain)", b)
	}
	return nil
}

// Platform identifies a venue. It is a comparable value and can be used as a
// map key. Identifier is the venue's short lowercase name ("binance",
// "ethereum"); ChainID is set for blockchains ("1" for Ethereum mainnet,
// "cosmoshub-4", ...) and empty otherwise; Testnet marks test networks and
// exchange sandboxes.
type Platform struct {
	Identifier string       `json:"identifier"`
	Kind       PlatformKind `json:"kind"`
	ChainID    string       `json:"chain_id,omitempty"`
	Testnet    bool         `json:"testnet,omitempty"`
}

// ExchangePlatform returns the Platform of a centralized exchange.
func ExchangePlatform(identifier string) Platform {
	return Platform{Identifier: identifier, Kind: CentralizedExchange}
}

// ChainPlatform returns the Platform of a blockchain with the given chain id.
func ChainPlatform(identifier, chainID string) Platform {
	return Platform{Identifier: identifier, Kind: Blockchain, ChainID: chainID}
}

// WithTestnet returns a copy of p with the Testnet flag set to testnet.
func (p Platform) WithTestnet(testnet bool) Platform {
	p.Testnet = testnet
	return p
}

// IsZero reports whether p is the zero Platform.
func (p Platform) IsZero() bool { return p == Platform{} }

// String renders p as "identifier", "identifier[chain=ID]" and/or with a
// "(testnet)" suffix.
func (p Platform) String() string {
	var b strings.Builder
	b.WriteString(p.Identifier)
	if p.ChainID != "" {
		b.WriteString("[chain=")
		b.WriteString(p.ChainID)
		b.WriteString("]")
	}
	if p.Testnet {
		b.WriteString("(testnet)")
	}
	return b.String()
}

// Validate checks that the identifier is a non-empty lowercase token of
// letters, digits, '-', '_' and '.', that the kind is known and that only
// blockchains carry a chain id.
func (p Platform) Validate() error {
	if p.Identifier == "" {
		return fmt.Errorf("operators: platform identifier is empty (want e.g. %q)", "binance")
	}
	for _, r := range p.Identifier {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return fmt.Errorf("operators: platform identifier %q contains %q (accepted: lowercase letters, digits, '-', '_', '.')", p.Identifier, r)
		}
	}
	switch p.Kind {
	case CentralizedExchange:
		if p.ChainID != "" {
			return fmt.Errorf("operators: platform %q is a centralized exchange but has chain id %q", p.Identifier, p.ChainID)
		}
	case Blockchain:
	default:
		return fmt.Errorf("operators: platform %q has kind %v (accepted: centralized_exchange, blockchain)", p.Identifier, p.Kind)
	}
	return nil
}

// OperatorConfiguration is the part of an operator's configuration every
// operator has. Concrete operators embed it in their own configuration
// struct and add endpoints, credential sources and limits:
//
//	type Config struct {
//		operators.OperatorConfiguration
//		RESTBaseURL string
//		Credentials CredentialSource
//	}
type OperatorConfiguration struct {
	// Platform is the venue this operator talks to. Required.
	Platform Platform `json:"platform"`
	// DisplayName is a human-readable name; empty means the platform
	// identifier.
	DisplayName string `json:"display_name,omitempty"`
}

// Validate checks the platform.
func (c OperatorConfiguration) Validate() error {
	if err := c.Platform.Validate(); err != nil {
		return fmt.Errorf("operator configuration: %w", err)
	}
	return nil
}

// OperatorConfig returns c itself. Configuration structs that embed
// OperatorConfiguration inherit this method, so any of them satisfies
// [Configurer].
func (c OperatorConfiguration) OperatorConfig() OperatorConfiguration { return c }

// Configurer is satisfied by OperatorConfiguration and by every struct that
// embeds it.
type Configurer interface {
	OperatorConfig() OperatorConfiguration
}
