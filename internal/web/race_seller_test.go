package web_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/sellerguard/sellerguard"
	"github.com/sellerguard/sellerguard/internal/app/apptest"
	"github.com/sellerguard/sellerguard/internal/store"
)

// The same request sent several times at once by a seller (a double
// click, a retrying client, two tabs). SQLite runs one write transaction at
// a time, so each request sees what the one before it committed; PostgreSQL
// runs READ COMMITTED, where every transaction of a burst reads the state
// before any of them wrote. An outside probe found flows that answered 500
// there (a row deleted or replaced meanwhile), or did their work twice
// (two decisions on one invitation, two transfers of one business, one
// email change confirmed eight times). The requests that replace or end
// their own session (sign-out, password change, Secure my account,
// re-authentication) answered 500 on SQLite too: the session was gone by
// the time their turn came. Each test sends its burst on both databases;
// where the race is a matter of luck, the burst is repeated a few rounds
// so the old behaviour shows on PostgreSQL every time.

const raceN = 8

// raceBurst sends n requests at the same moment (send(i) makes and sends
// the i-th) and returns their statuses and bodies in order.
func raceBurst(n int, send func(i int) (int, string)) ([]int, []string) {
	statuses, bodies := make([]int, n), make([]string, n)
	var start, wg sync.WaitGroup
	start.Add(1)
	for i := range n {
		wg.Go(func() {
			start.Wait()
			statuses[i], bodies[i] = send(i)
		})
	}
	start.Done()
	wg.Wait()
	return statuses, bodies
}

// raceOKOr4xx fails the test for an answer of the burst that is neither ok
// nor a refusal (4xx).
func raceOKOr4xx(t *testing.T, what string, statuses []int, bodies []string, ok int) {
	t.Helper()
	for i, s := range statuses {
		if s != ok && (s < 400 || s >= 500) {
			t.Errorf("%s: request %d answered %d (all: %v): %.300s", what, i, s, statuses, bodies[i])
		}
	}
}

// raceOneEffect checks that a burst had one effect: one answer ok, and
// one audit event of that action since the count before.
func raceOneEffect(t *testing.T, in *apptest.Instance, what string, statuses []int, ok int, action string, before int) {
	t.Helper()
	if n := raceCount(statuses, ok); n != 1 {
		t.Errorf("%s: %d answers %d (all: %v), want 1", what, n, ok, statuses)
	}
	if n := raceAudit(t, in, action) - before; n != 1 {
		t.Errorf("%s: %d %s events, want 1", what, n, action)
	}
}

// raceJSON is v as a request body.
func raceJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// raceNo5xx fails the test for each answer of the burst that is a server
// error, with its body.
func raceNo5xx(t *testing.T, what string, statuses []int, bodies []string) {
	t.Helper()
	for i, s := range statuses {
		if s >= 500 {
			t.Errorf("%s: request %d answered %d (all: %v): %.300s", what, i, s, statuses, bodies[i])
		}
	}
}

// raceCount counts the statuses that are one of want.
func raceCount(statuses []int, want ...int) int {
	n := 0
	for _, s := range statuses {
		if slices.Contains(want, s) {
			n++
		}
	}
	return n
}

// raceOnly fails the test if an answer of the burst is not one of allowed.
func raceOnly(t *testing.T, what string, statuses []int, bodies []string, allowed ...int) {
	t.Helper()
	for i, s := range statuses {
		if !slices.Contains(allowed, s) {
			t.Errorf("%s: request %d answered %d, want one of %v (all: %v): %.300s", what, i, s, allowed, statuses, bodies[i])
		}
	}
}

// raceAudit counts the stored audit events with the action.
func raceAudit(t *testing.T, in *apptest.Instance, action string) int {
	t.Helper()
	n := 0
	if err := in.DB.EachAuditEvent(context.Background(), func(e store.AuditRecord) error {
		if e.Action == action {
			n++
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return n
}

// raceConfirmedMethods lists the ids of the user's confirmed second-step
// methods (authenticator apps, phones, passkeys), from the store.
func raceConfirmedMethods(t *testing.T, in *apptest.Instance, userID string) []string {
	t.Helper()
	ms, err := in.DB.ListMethods(context.Background(), userID)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, m := range ms {
		if m.Confirmed {
			ids = append(ids, m.ID)
		}
	}
	return ids
}

// raceAddMethod enrols one more authenticator app for the session's user
// and returns its method id.
func raceAddMethod(t *testing.T, in *apptest.Instance, userID, token string) string {
	t.Helper()
	before := raceConfirmedMethods(t, in, userID)
	in.EnrollTOTP(t, token)
	for _, id := range raceConfirmedMethods(t, in, userID) {
		if !slices.Contains(before, id) {
			return id
		}
	}
	t.Fatalf("no new method after enrolling an authenticator app (before: %v)", before)
	return ""
}

// raceIsMember says whether the user is an active member of biz (the
// store's answer), and with which role.
func raceIsMember(t *testing.T, in *apptest.Instance, biz, userID string) (bool, string) {
	t.Helper()
	m, err := in.DB.FindMember(context.Background(), biz, userID)
	if errors.Is(err, store.ErrNotFound) {
		return false, ""
	}
	if err != nil {
		t.Fatal(err)
	}
	return m.Status == sellerguard.MembershipActive, m.Role
}

// A seller removes an extra authenticator app and the click goes out
// eight times: one removal (204), the others find nothing left to remove
// (404), never a 500 — on PostgreSQL the losers used to fail deleting a row
// already gone. The first method stays, and one removal is audited. Five
// rounds, a new extra method each.
func TestRaceRemoveOneMethodEightTimes(t *testing.T) {
	t.Parallel()
	apptest.Dialects(t, func(t *testing.T, dialect string) {
		in := apptest.Start(t, dialect)
		owner, _ := newOwner(t, in, "twice@remove.example", "Remove Goods")
		first := raceConfirmedMethods(t, in, owner.id)
		for round := range 5 {
			what := fmt.Sprintf("remove round %d", round)
			extra := raceAddMethod(t, in, owner.id, owner.token)
			before := raceAudit(t, in, "two_step.method_removed")
			statuses, bodies := raceBurst(raceN, func(int) (int, string) {
				return rawRequest(t, in, "DELETE", "/api/v1/two-step/"+extra, "", nil, owner.token, nil)
			})
			raceOnly(t, what, statuses, bodies, http.StatusNoContent, http.StatusNotFound)
			raceOneEffect(t, in, what, statuses, http.StatusNoContent, "two_step.method_removed", before)
			if left := raceConfirmedMethods(t, in, owner.id); !slices.Equal(left, first) {
				t.Fatalf("%s: methods left %v, want the first one %v", what, left, first)
			}
		}
	})
}

// Sign-out pressed eight times with one token: each answer is 204 (signed
// out) or 401 (already signed out), never a 500 — the losers used to fail
// ending a session already ended. The token is dead after; the seller's
// other session is not touched. Three rounds, a new session each.
func TestRaceSignOutEightTimes(t *testing.T) {
	t.Parallel()
	apptest.Dialects(t, func(t *testing.T, dialect string) {
		in := apptest.Start(t, dialect)
		owner, _ := newOwner(t, in, "out@signout.example", "Signout Goods")
		for round := range 3 {
			what := fmt.Sprintf("sign-out round %d", round)
			token := secondStepAfterAdvance(t, in, in.SignIn(t, owner.email, pw), owner.secret)
			statuses, bodies := raceBurst(raceN, func(int) (int, string) {
				return rawRequest(t, in, "DELETE", "/api/v1/session", "", nil, token, nil)
			})
			raceOnly(t, what, statuses, bodies, http.StatusNoContent, http.StatusUnauthorized)
			if raceCount(statuses, http.StatusNoContent) == 0 {
				t.Errorf("%s: no sign-out answered 204 (all: %v)", what, statuses)
			}
			if r := in.Do(t, "GET", "/api/v1/session", token, nil); r.Status != http.StatusUnauthorized {
				t.Errorf("%s: the token after signing out: %d %s, want 401", what, r.Status, r.Body)
			}
			if r := in.Do(t, "GET", "/api/v1/session", owner.token, nil); r.Status != http.StatusOK {
				t.Errorf("%s: the seller's other session: %d %s, want 200", what, r.Status, r.Body)
			}
		}
	})
}

// racePasswords are eight new passwords the policy accepts, one per request.
func racePasswords(prefix string) []string {
	out := make([]string, raceN)
	for i := range out {
		out[i] = fmt.Sprintf("%s lantern %d orchard %d", prefix, 31+i*7, 977-i*13)
	}
	return out
}

// raceSignsIn tells which of the passwords sign the email in (201: the
// password is right, whatever second step follows).
func raceSignsIn(t *testing.T, in *apptest.Instance, email string, passwords []string) []int {
	t.Helper()
	var ok []int
	for i, p := range passwords {
		r := in.Do(t, "POST", "/api/v1/sessions", "", map[string]string{"email": email, "password": p})
		switch r.Status {
		case http.StatusCreated:
			ok = append(ok, i)
		case http.StatusUnauthorized:
		default:
			t.Fatalf("sign-in with password %d: %d %s", i, r.Status, r.Body)
		}
	}
	return ok
}

// Wrong passwords tried after a burst must not slow the checks down.
var raceLimits = []apptest.Option{
	apptest.Env("SELLERGUARD_LIMIT_FREE_FAILURES", "20"),
	apptest.Env("SELLERGUARD_LIMIT_NOTIFY_FAILURES", "30"),
	apptest.Env("SELLERGUARD_LIMIT_SOURCE_FAILURES", "1000"),
}

// raceOneOK checks a burst that replaces the caller's session (a password
// change, Secure my account, a re-authentication): exactly one answer is
// 200, carrying a new token that works; the others are refused (4xx),
// never a 500. It returns the index of the 200.
func raceOneOK(t *testing.T, in *apptest.Instance, what string, statuses []int, bodies []string) int {
	t.Helper()
	raceNo5xx(t, what, statuses, bodies)
	won := -1
	for i, s := range statuses {
		switch {
		case s == http.StatusOK && won < 0:
			won = i
		case s == http.StatusOK:
			t.Errorf("%s: requests %d and %d both answered 200 (all: %v), want one", what, won, i, statuses)
		case s >= 400 && s < 500:
		default:
			t.Errorf("%s: request %d answered %d (all: %v)", what, i, s, statuses)
		}
	}
	if won < 0 {
		t.Fatalf("%s: no request answered 200 (all: %v)", what, statuses)
	}
	var ans struct{ Token string }
	if err := json.Unmarshal([]byte(bodies[won]), &ans); err != nil || ans.Token == "" {
		t.Fatalf("%s: the answer: %v %s", what, err, bodies[won])
	}
	if r := in.Do(t, "GET", "/api/v1/session", ans.Token, nil); r.Status != http.StatusOK {
		t.Errorf("%s: the new token: %d %s", what, r.Status, r.Body)
	}
	return won
}

// A password change sent eight times at once, each with another new
// password: one changes it (200, with a token that works), the others are
// refused (4xx: their session was replaced), never a 500 — they used to
// fail replacing a session already replaced. Afterwards the password
// answered 200 signs in, and no other (nor the old one). Three rounds, a
// new seller each.
func TestRaceChangePasswordEightTimes(t *testing.T) {
	t.Parallel()
	apptest.Dialects(t, func(t *testing.T, dialect string) {
		in := apptest.Start(t, dialect, raceLimits...)
		for round := range 3 {
			what := fmt.Sprintf("change round %d", round)
			owner, _ := newOwner(t, in, fmt.Sprintf("pw%d@change.example", round), "Change Goods")
			news := racePasswords("amber canyon falcon")
			statuses, bodies := raceBurst(raceN, func(i int) (int, string) {
				return rawRequest(t, in, "POST", "/api/v1/account/password", "application/json",
					raceJSON(t, map[string]string{"current_password": pw, "new_password": news[i]}), owner.token, nil)
			})
			won := raceOneOK(t, in, what, statuses, bodies)
			if works := raceSignsIn(t, in, owner.email, append(news, pw)); !slices.Equal(works, []int{won}) {
				t.Errorf("%s: passwords that sign in: %v (index %d is the old one), want only %d, the one answered 200", what, works, raceN, won)
			}
		}
	})
}

// Secure my account (a new password, every other session ended, new
// backup codes) sent eight times at once with eight passwords: one
// secures it (200), none is a 500 — the others used to fail replacing a
// session already replaced — one account.secured event, and only the
// password answered 200 signs in afterwards. Three rounds, a new seller
// each.
func TestRaceSecureAccountEightTimes(t *testing.T) {
	t.Parallel()
	apptest.Dialects(t, func(t *testing.T, dialect string) {
		in := apptest.Start(t, dialect, raceLimits...)
		for round := range 3 {
			what := fmt.Sprintf("secure round %d", round)
			owner, _ := newOwner(t, in, fmt.Sprintf("wizard%d@secure.example", round), "Secure Goods")
			news := racePasswords("cobalt harbor thistle")
			before := raceAudit(t, in, "account.secured")
			statuses, bodies := raceBurst(raceN, func(i int) (int, string) {
				return rawRequest(t, in, "POST", "/api/v1/account/secure", "application/json",
					raceJSON(t, map[string]string{"new_password": news[i]}), owner.token, nil)
			})
			won := raceOneOK(t, in, what, statuses, bodies)
			if n := raceAudit(t, in, "account.secured") - before; n != 1 {
				t.Errorf("%s: %d account.secured events, want 1", what, n)
			}
			if works := raceSignsIn(t, in, owner.email, append(news, pw)); !slices.Equal(works, []int{won}) {
				t.Errorf("%s: passwords that sign in: %v (index %d is the old one), want only %d, the one answered 200", what, works, raceN, won)
			}
		}
	})
}

// One session re-authenticated four times at once, each with another
// valid backup code: one answer is 200 with the new session, the others
// are refused (4xx: the session they would replace is gone), never a 500 —
// they used to fail replacing a session already replaced. The old token is
// dead after. Three rounds, a new seller each.
func TestRaceReauthWithFourBackupCodes(t *testing.T) {
	t.Parallel()
	apptest.Dialects(t, func(t *testing.T, dialect string) {
		in := apptest.Start(t, dialect)
		for round := range 3 {
			what := fmt.Sprintf("reauth round %d", round)
			owner, _ := newOwner(t, in, fmt.Sprintf("codes%d@reauth.example", round), "Reauth Goods")
			r := in.Do(t, "POST", "/api/v1/two-step/backup-codes", owner.token, nil)
			if r.Status != 201 {
				t.Fatalf("%s: backup codes: %d %s", what, r.Status, r.Body)
			}
			var codes []string
			for _, c := range r.JSON(t)["codes"].([]any) {
				codes = append(codes, c.(string))
			}
			statuses, bodies := raceBurst(4, func(i int) (int, string) {
				return rawRequest(t, in, "POST", "/api/v1/session/reauth", "application/json",
					raceJSON(t, map[string]string{"password": pw, "method": "backup_codes", "code": codes[i]}), owner.token, nil)
			})
			raceOneOK(t, in, what, statuses, bodies)
			if r := in.Do(t, "GET", "/api/v1/session", owner.token, nil); r.Status != http.StatusUnauthorized {
				t.Errorf("%s: the replaced token: %d %s, want 401", what, r.Status, r.Body)
			}
		}
	})
}

// The owner cancels a deposit account in its cooling-off and the click
// goes out eight times: one cancellation (200), the others find no such
// account (404, or 409), never a 500 — on PostgreSQL they used to fail
// deleting an account already deleted. One audit event, no account left.
// Five rounds, a new account each.
func TestRaceCancelDepositAccountEightTimes(t *testing.T) {
	t.Parallel()
	apptest.Dialects(t, func(t *testing.T, dialect string) {
		in := apptest.Start(t, dialect)
		owner, biz := newOwner(t, in, "owner@depositrace.example", "Deposit Goods")
		pay := "/api/v1/businesses/" + biz + "/payments"
		for round := range 5 {
			what := fmt.Sprintf("cancel round %d", round)
			r := in.Do(t, "PUT", pay+"/deposit-account", owner.token, map[string]string{"holder": "Deposit Goods Ltd", "bank": "First Bank", "account_number": "GB29 NWBK 6016 1331 9268 19"})
			if r.Status != 201 {
				t.Fatalf("%s: add: %d %s", what, r.Status, r.Body)
			}
			id := r.JSON(t)["pending_account"].(map[string]any)["id"].(string)
			before := raceAudit(t, in, "business.deposit_account_cancelled")
			statuses, bodies := raceBurst(raceN, func(int) (int, string) {
				return rawRequest(t, in, "DELETE", pay+"/deposit-account/"+id, "", nil, owner.token, nil)
			})
			raceOnly(t, what, statuses, bodies, http.StatusOK, http.StatusNotFound, http.StatusConflict)
			raceOneEffect(t, in, what, statuses, http.StatusOK, "business.deposit_account_cancelled", before)
			if r := in.Do(t, "GET", pay, owner.token, nil); r.Status != 200 || r.JSON(t)["pending_account"] != nil || r.JSON(t)["payouts_account"] != nil {
				t.Fatalf("%s: payments after: %d %s", what, r.Status, r.Body)
			}
		}
	})
}

// The security promise of a business that requires two-step verification:
// nobody can remove their last second step. The owner has exactly two
// authenticator apps and removes both at once (four requests each): one
// goes (204), the other is refused as the last one (409) or already gone
// (404), never a 500 — and the owner always keeps a confirmed method. On
// PostgreSQL both removals used to see the other method still there and
// both went, leaving the account with none. Five rounds, a second method
// added again before each.
func TestRaceRemoveBothMethodsWhileRequired(t *testing.T) {
	t.Parallel()
	apptest.Dialects(t, func(t *testing.T, dialect string) {
		in := apptest.Start(t, dialect)
		owner, biz := newOwner(t, in, "last@required.example", "Required Goods")
		if r := in.Do(t, "PUT", "/api/v1/businesses/"+biz+"/two-step", owner.token, map[string]bool{"required": true}); r.Status != 200 {
			t.Fatalf("require two-step: %d %s", r.Status, r.Body)
		}
		for round := range 5 {
			ms := raceConfirmedMethods(t, in, owner.id)
			for len(ms) < 2 {
				raceAddMethod(t, in, owner.id, owner.token)
				ms = raceConfirmedMethods(t, in, owner.id)
			}
			if len(ms) != 2 {
				t.Fatalf("round %d: %d methods before the burst, want 2", round, len(ms))
			}
			statuses, bodies := raceBurst(raceN, func(i int) (int, string) {
				return rawRequest(t, in, "DELETE", "/api/v1/two-step/"+ms[i%2], "", nil, owner.token, nil)
			})
			what := fmt.Sprintf("round %d", round)
			raceOnly(t, what, statuses, bodies, http.StatusNoContent, http.StatusNotFound, http.StatusConflict)
			if n := raceCount(statuses, http.StatusNoContent); n != 1 {
				t.Errorf("%s: %d removals answered 204 (all: %v), want 1", what, n, statuses)
			}
			left := raceConfirmedMethods(t, in, owner.id)
			if len(left) == 0 {
				t.Fatalf("%s: the owner has no second step left while the business requires one (answers: %v)", what, statuses)
			}
			if r := in.Do(t, "GET", "/api/v1/two-step", owner.token, nil); r.Status != 200 || r.JSON(t)["enrolled"] != true {
				t.Fatalf("%s: the owner's two-step: %d %s", what, r.Status, r.Body)
			}
		}
	})
}

// An invitation is decided once. The invitee sends accept and decline at
// the same moment (four each): exactly one request succeeds, and the state
// matches it — a member and no decline, or declined and no membership. On
// PostgreSQL both kinds used to succeed (a member whose invitation says
// declined). Likewise the owner withdrawing the invitation while the
// invitee accepts it: withdrawn and no membership, or a member and every
// withdrawal refused. Three rounds each, a new invitee each round.
func TestRaceInvitationDecidedOnce(t *testing.T) {
	t.Parallel()
	apptest.Dialects(t, func(t *testing.T, dialect string) {
		in := apptest.Start(t, dialect)
		owner, biz := newOwner(t, in, "owner@invrace.example", "Invitation Goods")
		ctx := context.Background()
		check := func(what string, p *person, invID string, statuses []int, bodies []string, acceptAt func(i int) bool, other string) {
			t.Helper()
			raceNo5xx(t, what, statuses, bodies)
			var accepted, others int
			for i, s := range statuses {
				switch {
				case s >= 200 && s < 300 && acceptAt(i):
					accepted++
				case s >= 200 && s < 300:
					others++
				case s >= 400 && s < 500:
				default:
					t.Errorf("%s: request %d answered %d (all: %v)", what, i, s, statuses)
				}
			}
			member, _ := raceIsMember(t, in, biz, p.id)
			inv, err := in.DB.FindInvitation(ctx, invID)
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case accepted == 1 && others == 0:
				if !member || inv.Status != "accepted" {
					t.Errorf("%s: accepted, but member=%v and the invitation is %q", what, member, inv.Status)
				}
			case accepted == 0 && others == 1:
				if member || inv.Status == "accepted" || inv.Status == "pending" {
					t.Errorf("%s: %s, but member=%v and the invitation is %q", what, other, member, inv.Status)
				}
			default:
				t.Errorf("%s: %d accepts and %d %ss succeeded (all: %v), want exactly one of them; member=%v, invitation %q", what, accepted, others, other, statuses, member, inv.Status)
			}
		}
		for round := range 3 {
			p, invID := invitedPerson(t, in, owner.token, biz, fmt.Sprintf("both%d@invrace.example", round), map[string]string{"listings": "view"})
			statuses, bodies := raceBurst(raceN, func(i int) (int, string) {
				verb := "accept"
				if i%2 == 1 {
					verb = "decline"
				}
				return rawRequest(t, in, "POST", "/api/v1/invitations/"+invID+"/"+verb, "", nil, p.token, nil)
			})
			check(fmt.Sprintf("accept+decline round %d", round), p, invID, statuses, bodies, func(i int) bool { return i%2 == 0 }, "decline")
		}
		for round := range 3 {
			p, invID := invitedPerson(t, in, owner.token, biz, fmt.Sprintf("gone%d@invrace.example", round), map[string]string{"listings": "view"})
			statuses, bodies := raceBurst(raceN, func(i int) (int, string) {
				if i%2 == 1 {
					return rawRequest(t, in, "DELETE", "/api/v1/businesses/"+biz+"/invitations/"+invID, "", nil, owner.token, nil)
				}
				return rawRequest(t, in, "POST", "/api/v1/invitations/"+invID+"/accept", "", nil, p.token, nil)
			})
			check(fmt.Sprintf("withdraw+accept round %d", round), p, invID, statuses, bodies, func(i int) bool { return i%2 == 0 }, "withdrawal")
		}
	})
}

// A business changes hands once. The member offered ownership accepts
// eight times at once: one 200, the others refused (4xx), one
// business.ownership_transferred event and one owner — on PostgreSQL seven
// accepts answered 200, each recording a transfer. Then offers go back and
// forth while the member accepts (four requests) and the owner withdraws
// (four) at the same moment: either it changed hands and every withdrawal
// was refused, or it was withdrawn and every accept was refused (on
// PostgreSQL an accept and withdrawals both succeeded). Rounds repeat.
func TestRaceOwnershipTransferOnce(t *testing.T) {
	t.Parallel()
	apptest.Dialects(t, func(t *testing.T, dialect string) {
		in := apptest.Start(t, dialect)
		owner, biz := newOwner(t, in, "owner@ownrace.example", "Ownership Goods")
		heir := joinByInvitation(t, in, owner.token, biz, "heir@ownrace.example", map[string]string{"listings": "view"})
		path := "/api/v1/businesses/" + biz + "/ownership-transfer"
		roleOf := func(p *person) string {
			_, role := raceIsMember(t, in, biz, p.id)
			return role
		}
		offer := func(from, to *person) {
			t.Helper()
			if r := in.Do(t, "POST", path, from.token, map[string]string{"user_id": to.id}); r.Status != 201 {
				t.Fatalf("offer from %s to %s: %d %s", from.email, to.email, r.Status, r.Body)
			}
		}
		cur, next := owner, heir
		// Accept eight times at once, in two rounds (the business goes back).
		for round := range 2 {
			what := fmt.Sprintf("accept x8 round %d", round)
			before := raceAudit(t, in, "business.ownership_transferred")
			offer(cur, next)
			statuses, bodies := raceBurst(raceN, func(int) (int, string) {
				return rawRequest(t, in, "POST", path+"/accept", "", nil, next.token, nil)
			})
			raceOKOr4xx(t, what, statuses, bodies, http.StatusOK)
			raceOneEffect(t, in, what, statuses, http.StatusOK, "business.ownership_transferred", before)
			if roleOf(next) != "owner" || roleOf(cur) == "owner" {
				t.Fatalf("%s: roles after: %s %q, %s %q", what, next.email, roleOf(next), cur.email, roleOf(cur))
			}
			cur, next = next, cur
		}
		// Accept (the member offered it) and withdraw (the owner) at once.
		for round := range 4 {
			what := fmt.Sprintf("accept+withdraw round %d", round)
			offer(cur, next)
			statuses, bodies := raceBurst(raceN, func(i int) (int, string) {
				if i%2 == 1 {
					return rawRequest(t, in, "DELETE", path, "", nil, cur.token, nil)
				}
				return rawRequest(t, in, "POST", path+"/accept", "", nil, next.token, nil)
			})
			raceNo5xx(t, what, statuses, bodies)
			var accepted, withdrawn int
			for i, s := range statuses {
				switch {
				case s == http.StatusOK && i%2 == 0:
					accepted++
				case s == http.StatusNoContent && i%2 == 1:
					withdrawn++
				case s >= 400 && s < 500:
				default:
					t.Errorf("%s: request %d answered %d (all: %v)", what, i, s, statuses)
				}
			}
			switch {
			case accepted == 1 && withdrawn == 0:
				if roleOf(next) != "owner" || roleOf(cur) == "owner" {
					t.Fatalf("%s: accepted, but %s is %q and %s is %q", what, next.email, roleOf(next), cur.email, roleOf(cur))
				}
				cur, next = next, cur
			case accepted == 0 && withdrawn == 1:
				if roleOf(cur) != "owner" || roleOf(next) == "owner" {
					t.Fatalf("%s: withdrawn, but %s is %q and %s is %q", what, cur.email, roleOf(cur), next.email, roleOf(next))
				}
			default:
				t.Errorf("%s: %d accepts and %d withdrawals succeeded (all: %v), want exactly one of them; %s is %q, %s is %q",
					what, accepted, withdrawn, statuses, cur.email, roleOf(cur), next.email, roleOf(next))
				if roleOf(next) == "owner" {
					cur, next = next, cur
				}
			}
			if _, err := in.DB.FindOwnershipTransfer(context.Background(), biz); err == nil {
				t.Errorf("%s: an offer is still pending", what)
			}
		}
		checkAuditChain(t, in)
	})
}

// An email change confirmed eight times at once with its one code: one
// confirmation (200), the others refused (4xx: the code is used up), never
// a 500; the previous address is told exactly once, with one revert code,
// and one account.email_changed event is recorded. On PostgreSQL up to all
// eight answered 200, each mailing the old address another revert code.
// Four rounds, to a new address each.
func TestRaceConfirmEmailChangeEightTimes(t *testing.T) {
	t.Parallel()
	apptest.Dialects(t, func(t *testing.T, dialect string) {
		in := apptest.Start(t, dialect)
		owner, _ := newOwner(t, in, "old@emailrace.example", "Email Goods")
		told := func(addr string) int {
			n := 0
			for _, m := range in.Outbox(t) {
				if strings.EqualFold(m.To, addr) && strings.Contains(m.Subject, "sign-in email was changed") {
					n++
				}
			}
			return n
		}
		old := owner.email
		for round := range 4 {
			what := fmt.Sprintf("confirm round %d", round)
			target := fmt.Sprintf("new%d@emailrace.example", round)
			if r := in.Do(t, "POST", "/api/v1/account/email", owner.token, map[string]string{"email": target}); r.Status != 202 {
				t.Fatalf("%s: change: %d %s", what, r.Status, r.Body)
			}
			code := in.LastCode(t, target)
			toldBefore, eventsBefore := told(old), raceAudit(t, in, "account.email_changed")
			statuses, bodies := raceBurst(raceN, func(int) (int, string) {
				return rawRequest(t, in, "POST", "/api/v1/account/email/confirm", "application/json", raceJSON(t, map[string]string{"code": code}), owner.token, nil)
			})
			raceOKOr4xx(t, what, statuses, bodies, http.StatusOK)
			raceOneEffect(t, in, what, statuses, http.StatusOK, "account.email_changed", eventsBefore)
			if n := told(old) - toldBefore; n != 1 {
				t.Errorf("%s: the previous address %s was told %d times, want once", what, old, n)
			}
			if u, err := in.DB.FindUserByID(context.Background(), owner.id); err != nil || u.Email != target {
				t.Fatalf("%s: the account's address: %q %v, want %s", what, u.Email, err, target)
			}
			old = target
		}
	})
}
