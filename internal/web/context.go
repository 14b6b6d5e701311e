package web

import (
	"context"

	"github.com/sellerguard/sellerguard/internal/session"
)

func withPrincipal(ctx context.Context, p *session.Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}
