package policy

import (
	"context"
	"errors"
	"testing"
)

type unanswered struct{}

func (unanswered) Breached(context.Context, string) (bool, error) {
	return false, errors.New("no answer")
}

// When the breach checker cannot answer, a fail-open policy accepts on the
// other checks and reports the password unverified; a fail-closed one
// refuses it; other reasons are reported either way.
func TestBreachUnavailableFailOpenOrClosed(t *testing.T) {
	ctx := context.Background()
	const good = "Velvet-Compass-Meadow-7734"
	open := New(Options{BreachFailOpen: true}, nil, unanswered{})
	if rs, unverified := open.CheckNew(ctx, good, Context{}); rs != nil || !unverified {
		t.Fatalf("fail open: %v, unverified %v", rs, unverified)
	}
	if rs, unverified := open.CheckNew(ctx, "short", Context{}); len(rs) == 0 || rs[0].Code != CodeTooShort || !unverified {
		t.Fatalf("fail open, short: %v, %v", rs, unverified)
	}
	closed := New(Options{}, nil, unanswered{})
	if rs, unverified := closed.CheckNew(ctx, good, Context{}); len(rs) != 1 || rs[0].Code != CodeBreachUnavailable || unverified {
		t.Fatalf("fail closed: %v, unverified %v", rs, unverified)
	}
	if rs := closed.Check(ctx, good, Context{}); len(rs) != 1 {
		t.Fatalf("Check and CheckNew disagree: %v", rs)
	}
}
