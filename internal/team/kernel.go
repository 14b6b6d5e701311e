package team

import (
	"github.com/sellerguard/sellerguard/internal/session"
)

// Service holds the team rules on the shared base (session.Service).
type Service struct {
	*session.Service
	// Reviews are the access-review rules (defaults: every 90 days,
	// reminders weekly).
	Reviews ReviewConfig
}
