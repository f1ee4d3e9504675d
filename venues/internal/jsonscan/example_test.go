package jsonscan_test

import (
	"fmt"

	"github.com/pype-go/pype/venues/internal/jsonscan"
)

func Example() {
	body := []byte(`[{"id":"7","px":"101.50","side":"buy"},{"id":8,"px":"bad"}]`)
	s := jsonscan.New("trades", body)
	for more := s.EnterArray(); more; more = s.MoreArray() {
		for m := s.EnterObject(); m; m = s.MoreObject() {
			switch string(s.Key()) {
			case "id":
				fmt.Println("id", s.Int())
			case "px":
				fmt.Println("px", s.Dec())
			default:
				s.Skip()
			}
		}
	}
	s.End()
	// One check at the end: the first failure is kept.
	fmt.Println(s.Err())
	// Output:
	// id 7
	// px 101.50
	// id 8
	// px 0
	// decode trades: invalid decimal "bad": unmarshaling decimal.Decimal: parsing decimal: invalid decimal: unexpected character 'b' at byte 52 near ".50\",\"side\":\"buy\"},{\"id\":8,\"px\":\"bad\"}]"
}
