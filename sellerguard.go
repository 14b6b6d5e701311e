// Package sellerguard holds the domain types of SellerGuard and its one error
// type. It imports no HTTP and no SQL driver: the packages that hold rules
// (internal/session, internal/account, internal/team, internal/audit, …) and the packages that talk to the outside
// (internal/store, internal/web, internal/mail) all speak in these terms.
package sellerguard

import "time"

// User is one login. A user may belong to several businesses.
type User struct {
	ID                string
	Email             string
	Status            string // UserActive or UserLocked
	PasswordChangedAt time.Time
	CreatedAt         time.Time
	// Language is the language the user chose ("en", "zh-CN"; "" until
	// they choose); SignupLanguage the one they signed up in.
	Language       string
	SignupLanguage string
}

// WritingLanguage is the language to write to the user in: their choice,
// else the language they signed up in.
func (u User) WritingLanguage() string {
	if u.Language != "" {
		return u.Language
	}
	if u.SignupLanguage != "" {
		return u.SignupLanguage
	}
	return "en"
}

// User statuses.
const (
	UserActive = "active"
	UserLocked = "locked"
)

// Business is one seller account: a store with its owner and staff.
type Business struct {
	ID        string
	Name      string
	CreatedAt time.Time
}

// Membership links a user to a business with a role.
type Membership struct {
	BusinessID   string
	BusinessName string
	UserID       string
	Role         string // RoleOwner or RoleMember
	Status       string
	CreatedAt    time.Time
	// RequireTwoStep is the business's rule: its members must use two-step
	// verification before they reach its data.
	RequireTwoStep bool
	// RequireBackupMethod is the business's rule: members with a single
	// second-step method must add a backup before they change payment
	// information.
	RequireBackupMethod bool
	// Permissions are a member's levels per area (the owner has every area
	// at edit and stores none).
	Permissions Permissions
}

// Areas of a business that permissions are given for.
const (
	AreaPayments        = "payments"
	AreaStorefront      = "storefront"
	AreaListings        = "listings"
	AreaUserPermissions = "user_permissions"
	AreaAuditLog        = "audit_log"
)

// Areas lists every area, in the order pages show them.
var Areas = []string{AreaPayments, AreaStorefront, AreaListings, AreaUserPermissions, AreaAuditLog}

// Permission levels, ordered: none < view < edit.
const (
	LevelNone = "none"
	LevelView = "view"
	LevelEdit = "edit"
)

// LevelRank orders levels; an unknown level ranks as none.
func LevelRank(level string) int {
	switch level {
	case LevelView:
		return 1
	case LevelEdit:
		return 2
	}
	return 0
}

// Permissions maps an area to a level; a missing area is none.
type Permissions map[string]string

// Full lists every area: the level given, none where nothing was.
func (p Permissions) Full() Permissions {
	out := Permissions{}
	for _, a := range Areas {
		out[a] = LevelNone
		if l := p[a]; l != "" {
			out[a] = l
		}
	}
	return out
}

// Levels is a membership's level in every area: edit everywhere for the
// owner, else what the member was given (none where nothing was).
func (m Membership) Levels() Permissions {
	if m.Role != RoleOwner {
		return m.Permissions.Full()
	}
	out := Permissions{}
	for _, a := range Areas {
		out[a] = LevelEdit
	}
	return out
}

// ManagesUsers is the one rule for "user manager", used wherever SellerGuard
// asks who manages a business's users (who is told of business events, who
// may invite, change access and decide reviews): the owner, or a member
// with edit on user permissions. A suspended member manages nobody: they
// reach nothing of the business, so they can neither act for it nor be told
// of its events.
func (m Membership) ManagesUsers() bool {
	if m.Status == MembershipSuspended {
		return false
	}
	return m.Levels()[AreaUserPermissions] == LevelEdit
}

// Membership roles and statuses.
const (
	RoleOwner        = "owner"
	RoleMember       = "member"
	MembershipActive = "active"
	// MembershipSuspended is a member left unreviewed past a business's
	// grace period: they keep their place but reach nothing until the
	// owner keeps (or changes) them.
	MembershipSuspended = "suspended"
)

// Session is a signed-in browser or program. Only the SHA-256 of its token is
// stored; the token itself exists only in the client's hands.
type Session struct {
	ID         string
	UserID     string
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time // absolute end
	IP         string
	UserAgent  string
	AuthLevel  string // AuthFull, or AuthPartial until the second step is done
	ReauthAt   time.Time
}

// Session assurance levels.
const (
	AuthFull    = "full"
	AuthPartial = "partial" // password right, second step still to do
)

// Outbox channels.
const (
	ChannelEmail = "email"
	ChannelSMS   = "sms"
)

// OutboxMessage is an email or SMS waiting for, or past, delivery.
type OutboxMessage struct {
	ID            string
	UserID        string // the user it is about ("" for an address without an account)
	Event         string // the notification event (internal/notify), "" for codes
	Channel       string
	To            string
	Subject       string
	Body          string
	Status        string
	Attempts      int
	NextAttemptAt time.Time
	CreatedAt     time.Time
	SentAt        time.Time
	LastError     string
	MessageID     string
	// Texts, when set, writes Subject and Body in the recipient's
	// language: it is called right before the message is queued, where
	// the recipient is known (their saved language, else the one they
	// signed up in). Without it Subject and Body go as they are (English).
	// Not stored.
	Texts Texts
	// Lang is the language for a recipient without an account (a sign-up
	// code: the language of the request; an invitation: the inviter's).
	// Not stored.
	Lang string
}

// Texts renders a message's subject and body in a language ("en",
// "zh-CN"): the body without the anti-phishing header, which the sender
// adds.
type Texts interface {
	Render(lang string) (subject, body string)
}

// Outbox statuses.
const (
	OutboxPending = "pending"
	OutboxSending = "sending"
	OutboxSent    = "sent"
	OutboxFailed  = "failed"
)

// AuditEvent is one entry of the tamper-evident audit log.
type AuditEvent struct {
	ID         string
	Chain      string
	Seq        int64
	BusinessID string
	ActorID    string
	ActorEmail string
	Action     string
	Category   string
	TargetType string
	TargetID   string
	IP         string
	UserAgent  string
	// SessionID is the session the change was made in ("" outside one:
	// scheduled jobs, the CLI, events written before sessions were noted).
	SessionID string
	Before    string // JSON, secrets redacted
	After     string // JSON, secrets redacted
	CreatedAt time.Time
	PrevHash  string
	Hash      string
}

// Audit categories.
const (
	CategoryAccount  = "account"
	CategorySession  = "session"
	CategoryBusiness = "business"
	CategorySupport  = "support"
)
