package app

import (
	"fmt"
	"log/slog"
	"net/http"

	"github.com/sellerguard/sellerguard/internal/breach"
	"github.com/sellerguard/sellerguard/internal/config"
	"github.com/sellerguard/sellerguard/internal/policy"
)

// NewPolicy builds the password policy from the settings: the shipped
// common-password list, the breached-password index if there is one, the
// range API if configured. It also returns the breach checker alone (nil
// when there is none), for the check at sign-in. close releases the index.
func NewPolicy(cfg *config.Config, logger *slog.Logger) (p *policy.Policy, breached policy.BreachChecker, close func(), err error) {
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
		checkers = append(checkers, &breach.RangeClient{
			BaseURL:  u,
			Client:   &http.Client{Timeout: cfg.Password.BreachAPITimeout},
			Timeout:  cfg.Password.BreachAPITimeout,
			FailOpen: cfg.Password.BreachAPIFailOpen,
			Padding:  true,
			Logger:   logger,
		})
	}
	if len(checkers) > 0 {
		breached = breach.Any(checkers...)
	}
	p = policy.New(policy.Options{
		MinLength:     cfg.PasswordMinLength,
		MinScore:      cfg.Password.MinScore,
		PlatformWords: cfg.Password.PlatformWordList(),
	}, common, breached)
	return p, breached, close, nil
}
