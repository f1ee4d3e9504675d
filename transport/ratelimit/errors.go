package ratelimit

import (
	"fmt"
	"strings"
)

// CostError reports a cost that can never be granted: a rule the limiter
// does not have, a negative amount, a rule named twice, or more units than
// the rule's limit (such a request would wait forever).
type CostError struct {
	Rule   string // the offending rule name
	N      int    // the requested units
	Limit  int    // the rule's limit (0 when the rule is unknown)
	Reason string // what is wrong, in words
	Known  []string
}

func (e *CostError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "ratelimit: cost %d for rule %q: %s", e.N, e.Rule, e.Reason)
	if len(e.Known) > 0 {
		fmt.Fprintf(&b, " (rules: %s)", strings.Join(e.Known, ", "))
	}
	return b.String()
}

// RuleError reports an invalid [Rule] given to [New] or [Limiter.SetRules].
type RuleError struct {
	Rule   Rule
	Reason string
}

func (e *RuleError) Error() string {
	return fmt.Sprintf("ratelimit: rule %q (limit %d per %v): %s", e.Rule.Name, e.Rule.Limit, e.Rule.Interval, e.Reason)
}
