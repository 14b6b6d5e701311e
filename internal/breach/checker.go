package breach

import "context"

// A Checker reports whether a password is known to be breached. An error
// means the answer is unknown. *Index and *RangeClient are Checkers.
type Checker interface {
	Breached(ctx context.Context, password string) (bool, error)
}

var (
	_ Checker = (*Index)(nil)
	_ Checker = (*RangeClient)(nil)
)

// Any returns a Checker that asks each of checkers in turn (nil ones are
// skipped) and reports a password breached as soon as one does. If none
// does and one failed, it returns the first error. Put the cheap local
// index first, so that the network is asked only when it says no.
func Any(checkers ...Checker) Checker {
	var cs anyChecker
	for _, c := range checkers {
		if c != nil {
			cs = append(cs, c)
		}
	}
	return cs
}

type anyChecker []Checker

func (cs anyChecker) Breached(ctx context.Context, pw string) (bool, error) {
	var first error
	for _, c := range cs {
		bad, err := c.Breached(ctx, pw)
		if bad {
			return true, nil
		}
		if err != nil && first == nil {
			first = err
		}
	}
	return false, first
}
