package web

import (
	"net/http"
	"slices"

	"github.com/sellerguard/sellerguard"
	"github.com/sellerguard/sellerguard/internal/session"
	"github.com/sellerguard/sellerguard/internal/twostep"
)

// passkeysPage lists the user's passkeys and offers to add one; the
// ceremony itself runs in /static/passkey.js against the JSON API.
type passkeysPage struct {
	Passkeys      []methodJSON
	Enrolled      bool
	Notice        string
	Message       string
	ReauthMinutes int
}

func (s *Server) passkeysPageFor(r *http.Request, p *session.Principal) (*passkeysPage, error) {
	ov, err := s.TwoStep.ListTwoStep(r.Context(), p)
	if err != nil {
		return nil, err
	}
	pg := &passkeysPage{Enrolled: ov.Protection.Enrolled, ReauthMinutes: int(s.Session.TwoStep.ReauthWindow.Minutes())}
	for _, m := range ov.Methods {
		if m.Kind == twostep.KindPasskey {
			pg.Passkeys = append(pg.Passkeys, toMethodJSON(m))
		}
	}
	if s.Session.RequireRecentAuth(p) != nil {
		pg.Message = tr(r, "passkeys.notice.reauth")
	}
	return pg, nil
}

func (s *Server) pagePasskeys(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	pg, err := s.passkeysPageFor(r, p)
	if err != nil {
		return err
	}
	switch r.URL.Query().Get("done") {
	case "added":
		pg.Notice = tr(r, "passkeys.notice.added")
	case "removed":
		pg.Notice = tr(r, "passkeys.notice.removed")
	}
	s.render(w, r, http.StatusOK, "passkeys", pg)
	return nil
}

func (s *Server) pageRemovePasskey(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	err := s.TwoStep.RemoveMethod(r.Context(), p, r.PathValue("id"), s.meta(r))
	if err == nil {
		http.Redirect(w, r, "/account/two-step/passkeys?done=removed", http.StatusSeeOther)
		return nil
	}
	if _, _, ok := formError(err); !ok {
		return err
	}
	pg, lerr := s.passkeysPageFor(r, p)
	if lerr != nil {
		return lerr
	}
	pg.Message = sellerguard.ErrorMessage(err)
	s.render(w, r, statusOf(s.classify(r, err).Code), "passkeys", pg)
	return nil
}

// passkeySignInPage is the second step with a passkey.
type passkeySignInPage struct {
	TrustedDays int
	HasPasskey  bool
}

func (s *Server) pagePasskeySignIn(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	if p.Session.AuthLevel == sellerguard.AuthFull {
		http.Redirect(w, r, "/account", http.StatusSeeOther)
		return nil
	}
	kinds, err := s.TwoStep.SecondStepMethods(r.Context(), p)
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "passkeys-signin", &passkeySignInPage{TrustedDays: int(s.Session.TwoStep.TrustedBrowserFor.Hours() / 24), HasPasskey: slices.Contains(kinds, twostep.KindPasskey)})
	return nil
}
