package web

import (
	"net/http"
	"time"

	"github.com/sellerguard/sellerguard/internal/account"
	"github.com/sellerguard/sellerguard/internal/session"
	"github.com/sellerguard/sellerguard/internal/store"
)

// Held items after an undone sign-in email change (internal/account/holds.go):
// the owner lists them and confirms or removes each, through the API and
// on Secure my account.
func (s *Server) registerHolds(mux *recordingMux) {
	mux.Handle("GET /api/v1/account/holds", s.apiFull(s.apiListHolds))
	mux.Handle("POST /api/v1/account/holds/{hold_id}/confirm", s.apiAuthed(s.apiDecideHold(account.HoldConfirm)))
	mux.Handle("POST /api/v1/account/holds/{hold_id}/remove", s.apiAuthed(s.apiDecideHold(account.HoldRemove)))
	mux.Handle("POST /account/holds/{hold_id}/confirm", s.pageAuthed(s.pageDecideHold(account.HoldConfirm)))
	mux.Handle("POST /account/holds/{hold_id}/remove", s.pageAuthed(s.pageDecideHold(account.HoldRemove)))
}

type holdJSON struct {
	ID         string     `json:"id"`
	Kind       string     `json:"kind"`
	Summary    string     `json:"summary"`
	BusinessID *string    `json:"business_id"`
	AddedAt    time.Time  `json:"added_at"`
	HeldAt     time.Time  `json:"held_at"`
	Decision   *string    `json:"decision"`
	DecidedAt  *time.Time `json:"decided_at"`
}

func toHoldJSON(h store.Hold) holdJSON {
	j := holdJSON{ID: h.ID, Kind: h.Kind, Summary: h.Summary, AddedAt: h.AddedAt.UTC(), HeldAt: h.CreatedAt.UTC()}
	if h.BusinessID != "" {
		j.BusinessID = &h.BusinessID
	}
	if !h.DecidedAt.IsZero() {
		d, at := h.Decision, h.DecidedAt.UTC()
		j.Decision, j.DecidedAt = &d, &at
	}
	return j
}

func (s *Server) apiListHolds(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	hs, err := s.Account.ListHolds(r.Context(), p)
	if err != nil {
		return err
	}
	out := make([]holdJSON, 0, len(hs))
	for _, h := range hs {
		out = append(out, toHoldJSON(h))
	}
	return writeJSON(w, http.StatusOK, map[string]any{"holds": out})
}

func (s *Server) apiDecideHold(decision string) func(http.ResponseWriter, *http.Request, *session.Principal) error {
	return func(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
		h, err := s.Account.DecideHold(r.Context(), p, r.PathValue("hold_id"), decision, s.meta(r))
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, map[string]any{"hold": toHoldJSON(h)})
	}
}

func (s *Server) pageDecideHold(decision string) func(http.ResponseWriter, *http.Request, *session.Principal) error {
	return func(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
		if err := parseForm(r); err != nil {
			return err
		}
		_, err := s.Account.DecideHold(r.Context(), p, r.PathValue("hold_id"), decision, s.meta(r))
		if s.needsReauth(w, r, err, "/account/secure") {
			return nil
		}
		if err != nil {
			return err // the error page says why (already decided, gone, no access)
		}
		http.Redirect(w, r, "/account/secure?held="+decision, http.StatusSeeOther)
		return nil
	}
}

// secureNext is the one place a sign-in may be sent on to by a "next"
// value: Secure my account (after an undone email change).
const secureNext = "/account/secure"

// landingAfterSignIn is where a finished sign-in goes: Secure my account
// when it was asked for or while held items wait for the owner's
// decision, else the account page.
func (s *Server) landingAfterSignIn(r *http.Request, userID, next string) string {
	if next == secureNext {
		return secureNext
	}
	if n, err := s.Account.CountHolds(r.Context(), userID); err == nil && n > 0 {
		return secureNext
	}
	return "/account"
}
