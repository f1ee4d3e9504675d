package blockchain_test

import (
	"errors"
	"fmt"

	"github.com/pype-go/pype/operators/blockchain"
)

func ExampleParseAddress() {
	a, err := blockchain.ParseAddress("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed")
	fmt.Println(a, err)
	fmt.Println(a.EIP55())

	// One letter re-cased: the checksum catches it.
	_, err = blockchain.ParseAddress("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD")
	fmt.Println(errors.Is(err, blockchain.ErrChecksum))
	// Output:
	// 0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed <nil>
	// 0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed
	// true
}

func ExampleLegacyKeccak256() {
	h := blockchain.LegacyKeccak256([]byte("transfer(address,uint256)"))
	fmt.Printf("selector 0x%x\n", h[:4])
	// Output:
	// selector 0xa9059cbb
}
