package app

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/sellerguard/sellerguard/internal/breach"
	"github.com/sellerguard/sellerguard/internal/config"
	"github.com/sellerguard/sellerguard/internal/policy"
)

// NewPolicy builds the password policy from the settings: the shipped
// common-password list, the breached-password index if there is one, the
// range API if configured (by default outside local mode). It also returns
// the breach checker alone (nil when there is none), for the check at
// sign-in. close releases the index. unavailable (may be nil) is called
// each time the range API cannot answer.
func NewPolicy(cfg *config.Config, logger *slog.Logger, unavailable func()) (p *policy.Policy, breached policy.BreachChecker, close func(), err error) {
	common, err := policy.DefaultCommonList()
	if err != nil {
		return nil, nil, nil, err
	}
	var checkers []breach.Checker
	close = func() {}
	if path := cfg.BreachIndexToOpen(); path != "" {
		ix, err := breach.Open(path)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("breached-password index: %w", err)
		}
		checkers = append(checkers, ix)
		close = func() { _ = ix.Close() }
	}
	if u := cfg.Password.BreachAPIURL; u != "" {
		checkers = append(checkers, &observedChecker{
			Checker: &breach.RangeClient{
				BaseURL: u,
				Client:  &http.Client{Timeout: cfg.Password.BreachAPITimeout},
				Timeout: cfg.Password.BreachAPITimeout,
				Padding: true,
				Logger:  logger,
			},
			failOpen: cfg.Password.BreachAPIFailOpen, logger: logger, unavailable: unavailable,
		})
	}
	if len(checkers) > 0 {
		breached = breach.Any(checkers...)
	}
	p = policy.New(policy.Options{
		MinLength:      cfg.PasswordMinLength,
		MinScore:       cfg.Password.MinScore,
		PlatformWords:  cfg.Password.PlatformWordList(),
		BreachFailOpen: cfg.Password.BreachAPIFailOpen,
	}, common, breached)
	return p, breached, close, nil
}

// observedChecker counts and logs the range API's failures to answer; the
// policy (fail open or closed) and the sign-in decide what they mean.
type observedChecker struct {
	breach.Checker
	failOpen    bool
	logger      *slog.Logger
	unavailable func()
}

func (c *observedChecker) Breached(ctx context.Context, pw string) (bool, error) {
	bad, err := c.Checker.Breached(ctx, pw)
	if err != nil {
		if c.unavailable != nil {
			c.unavailable()
		}
		if c.failOpen {
			c.logger.Warn("breached-password range API could not answer; accepting the password on the other checks (fail open) and checking it again at the next sign-in", "err", err)
		} else {
			c.logger.Warn("breached-password range API could not answer; refusing new passwords (fail closed)", "err", err)
		}
	}
	return bad, err
}
