package web

import (
	"net/http"

	"github.com/sellerguard/sellerguard/internal/session"
)

// apiCancelDepositAccount cancels a deposit account still in its
// cooling-off period (the owner, recent sign-in) and answers the payment
// information as it is now.
func (s *Server) apiCancelDepositAccount(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	info, err := s.SellerData.CancelDepositAccount(r.Context(), p, r.PathValue("business_id"), r.PathValue("account_id"), s.meta(r))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"payouts_account": toDepositJSON(info.Payouts), "pending_account": toDepositJSON(info.Pending),
		"charge_method": toChargeJSON(info.Charge)})
}
