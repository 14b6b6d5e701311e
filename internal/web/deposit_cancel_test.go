package web_test

import (
	"strings"
	"testing"
	"time"

	"github.com/sellerguard/sellerguard/internal/app/apptest"
)

// The owner cancels a deposit account in its cooling-off, on SQLite and
// PostgreSQL: only the owner (a payments editor is refused), only with a
// recent sign-in, only while it cools off (after that 409), never a held
// one; the removal is audited and told to the owner and user managers (not
// to others) in the same transaction; a first account's copy speaks of no
// previous account.
func TestOwnerCancelsPendingDepositAccount(t *testing.T) {
	t.Parallel()
	apptest.Dialects(t, func(t *testing.T, dialect string) {
		in := apptest.Start(t, dialect)
		owner, biz := newOwner(t, in, "owner@cancel.example", "Cancel Goods")
		payer := joinByInvitation(t, in, owner.token, biz, "payer@cancel.example", map[string]string{"payments": "edit"})
		manager := joinByInvitation(t, in, owner.token, biz, "manager@cancel.example", map[string]string{"user_permissions": "edit"})
		lister := joinByInvitation(t, in, owner.token, biz, "lister@cancel.example", map[string]string{"listings": "edit"})
		rival, _ := newOwner(t, in, "rival@cancel.example", "Rival Goods")
		pay := "/api/v1/businesses/" + biz + "/payments"
		in.DrainOutbox(t)

		// The first account: the answer and the notice speak of no previous account.
		r := in.Do(t, "PUT", pay+"/deposit-account", payer.token, map[string]string{"holder": "Mallory", "bank": "Elsewhere", "account_number": "DE89370400440532013000"})
		if r.Status != 201 || strings.Contains(r.JSON(t)["message"].(string), "previous account") || !strings.Contains(r.JSON(t)["message"].(string), "first") {
			t.Fatalf("first account: %d %s", r.Status, r.Body)
		}
		id := r.JSON(t)["pending_account"].(map[string]any)["id"].(string)
		for _, m := range in.Outbox(t) {
			if m.To == owner.email && strings.Contains(m.Subject, "new deposit account was added") {
				if strings.Contains(m.Body, "previous account") || !strings.Contains(m.Body, "first deposit account") {
					t.Fatalf("the notice of a first account:\n%s", m.Body)
				}
			}
		}
		del := pay + "/deposit-account/" + id
		// A payments editor, a user manager and a lister are refused (403); another business's owner finds nothing (404).
		for _, who := range []*person{payer, manager, lister} {
			if r := in.Do(t, "DELETE", del, who.token, nil); r.Status != 403 || r.JSON(t)["code"] != "forbidden" {
				t.Fatalf("%s cancels: %d %s", who.email, r.Status, r.Body)
			}
		}
		if r := in.Do(t, "DELETE", del, rival.token, nil); r.Status != 404 {
			t.Fatalf("another business's owner cancels: %d %s", r.Status, r.Body)
		}
		// An old sign-in: re-authentication first.
		in.Clock.Advance(11 * time.Minute)
		if r := in.Do(t, "DELETE", del, owner.token, nil); r.Status != 403 || r.JSON(t)["code"] != "reauth_required" {
			t.Fatalf("cancel with an old sign-in: %d %s", r.Status, r.Body)
		}
		fresh := in.SecondStep(t, in.SignIn(t, owner.email, pw), owner.secret)
		before := len(in.Outbox(t))
		r = in.Do(t, "DELETE", del, fresh, nil)
		if r.Status != 200 || r.JSON(t)["pending_account"] != nil || r.JSON(t)["payouts_account"] != nil {
			t.Fatalf("cancel: %d %s", r.Status, r.Body)
		}
		told := map[string]bool{}
		for _, m := range in.Outbox(t)[before:] {
			if strings.Contains(m.Subject, "was cancelled") && strings.Contains(m.Body, "3000") {
				told[m.To] = true
			}
		}
		if !told[owner.email] || !told[manager.email] || told[payer.email] || told[lister.email] {
			t.Fatalf("told of the cancellation: %v", told)
		}
		audit := string(in.Do(t, "GET", "/api/v1/audit?business_id="+biz+"&category=business", fresh, nil).Body)
		if !strings.Contains(audit, "business.deposit_account_cancelled") || strings.Contains(audit, "532013000") {
			t.Fatalf("audit: %.400s", audit)
		}
		if dest, err := in.SellerData.PayoutDestination(t.Context(), biz, in.Clock.Now().Add(100*time.Hour)); err != nil || dest != nil {
			t.Fatalf("the cancelled account would still receive payouts: %+v %v", dest, err)
		}
		if r := in.Do(t, "DELETE", del, fresh, nil); r.Status != 404 {
			t.Fatalf("cancel twice: %d %s", r.Status, r.Body)
		}
		// Once its cooling-off has ended, an account receives payouts: 409.
		r = in.Do(t, "PUT", pay+"/deposit-account", fresh, map[string]string{"holder": "Cancel Goods Ltd", "bank": "First Bank", "account_number": "GB29 NWBK 6016 1331 9268 19"})
		if r.Status != 201 {
			t.Fatalf("second account: %d %s", r.Status, r.Body)
		}
		id = r.JSON(t)["pending_account"].(map[string]any)["id"].(string)
		in.Clock.Advance(73 * time.Hour)
		fresh = in.SecondStep(t, in.SignIn(t, owner.email, pw), owner.secret)
		if r := in.Do(t, "DELETE", pay+"/deposit-account/"+id, fresh, nil); r.Status != 409 {
			t.Fatalf("cancel after the cooling-off: %d %s", r.Status, r.Body)
		}
		// With an account in use, a new one's copy speaks of the previous one.
		r = in.Do(t, "PUT", pay+"/deposit-account", fresh, map[string]string{"holder": "Other", "bank": "Second Bank", "account_number": "FR1420041010050500013M02606"})
		if r.Status != 201 || !strings.Contains(r.JSON(t)["message"].(string), "previous account") {
			t.Fatalf("a second account's message: %d %s", r.Status, r.Body)
		}
	})
}
