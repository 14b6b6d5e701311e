package web

import (
	"context"

	"github.com/sellerguard/sellerguard/internal/auth"
)

func withPrincipal(ctx context.Context, p *auth.Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}
