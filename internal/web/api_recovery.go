package web

import (
	"net/http"

	"github.com/sellerguard/sellerguard/internal/account"
)

// "Can't sign in?": forgot password (internal/recovery, internal/account/recovery.go).
func (s *Server) registerRecovery(mux *recordingMux) {
	mux.Handle("POST /api/v1/recovery", s.api(s.apiStartRecovery))
	mux.Handle("POST /api/v1/recovery/verify", s.api(s.apiVerifyRecovery))
	mux.Handle("POST /api/v1/recovery/password", s.api(s.apiRecoveryPassword))
	s.registerRecoveryPages(mux)
}

type recoveryRequest struct {
	Email string `json:"email"`
}

// recoveryStarted is the one answer to every well-formed request: it does
// not say whether the address has an account.
var recoveryStarted = map[string]string{
	"status":  "code_sent_if_registered",
	"message": "If this address belongs to a SellerGuard account, a six-digit code is on its way to it. It is valid for 15 minutes.",
}

func (s *Server) apiStartRecovery(w http.ResponseWriter, r *http.Request) error {
	var req recoveryRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if err := s.Account.StartRecovery(r.Context(), req.Email, s.meta(r)); err != nil {
		return err
	}
	return writeJSON(w, http.StatusAccepted, answerIn(r, recoveryStarted))
}

type recoveryVerifyRequest struct {
	Email string `json:"email"`
	Code  string `json:"code"`
}

func (s *Server) apiVerifyRecovery(w http.ResponseWriter, r *http.Request) error {
	var req recoveryVerifyRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	token, err := s.Account.VerifyRecovery(r.Context(), req.Email, req.Code, s.meta(r))
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	return writeJSON(w, http.StatusOK, map[string]any{"recovery_token": token, "expires_in": 900})
}

type recoveryPasswordRequest struct {
	RecoveryToken string `json:"recovery_token"`
	Password      string `json:"password"`
}

func (s *Server) apiRecoveryPassword(w http.ResponseWriter, r *http.Request) error {
	var req recoveryPasswordRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	done, err := s.Account.RecoveryPassword(r.Context(), req.RecoveryToken, req.Password, s.meta(r))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, answerIn(r, recoveryDoneJSON(done)))
}

const recoveryDoneMessage = "Your password is changed and every session of the account has ended. Sign in with the new password; your second step is still needed."

const revertDoneMessage = "Your password is changed and every session of the account has ended. Sign in with the new password (your second step is still needed), then secure your account: decide on anything held and review every change made while you were out."

// recoveryDoneJSON says what happened and where to go next: signing in,
// then Secure my account after an undone email change (with the number of
// held items waiting there).
func recoveryDoneJSON(d account.RecoveryDone) map[string]any {
	if d.Revert {
		return map[string]any{"password_changed": true, "message": revertDoneMessage, "next": secureNext, "held_items": d.Holds}
	}
	return map[string]any{"password_changed": true, "message": recoveryDoneMessage, "next": "/signin"}
}
