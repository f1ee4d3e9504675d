package okx_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/pype-go/pype/sim"
	"github.com/pype-go/pype/sim/okx"
)

// Run the OKX simulator and read one REST answer from it.
func Example() {
	now := time.Date(2024, 3, 15, 12, 0, 0, 0, time.UTC)
	srv, err := sim.Start(context.Background(), sim.Config{Registry: sim.NewRegistry(okx.New()), Now: now, Frozen: true})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Close()
	resp, err := http.Get(srv.Venue("okx").RESTURL + "/api/v5/public/time")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(string(body))
	// Output: {"code":"0","msg":"","data":[{"ts":"1710504000000"}]}
}
