package web_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sellerguard/sellerguard/internal/app/apptest"
	"github.com/sellerguard/sellerguard/internal/store"
)

// recoveryOwner is an owner with a deposit account and an authenticator
// app: the account that gets lost.
type recoveryOwner struct {
	email, biz, last4, methodID, secret, token string
}

func newRecoveryOwner(t *testing.T, in *apptest.Instance, email string) recoveryOwner {
	t.Helper()
	uid, biz := in.SignUp(t, email, pw, "Lost Shop")
	token := in.SignIn(t, email, pw)
	secret := in.EnrollTOTP(t, token)
	if r := in.Do(t, "PUT", "/api/v1/businesses/"+biz+"/payments/deposit-account", token, map[string]string{"holder": "Lost Shop Ltd", "bank": "First Bank", "account_number": "GB29 NWBK 6016 1331 9268 19"}); r.Status != 201 {
		t.Fatalf("deposit account: %d %s", r.Status, r.Body)
	}
	accts, err := in.DB.DepositAccounts(context.Background(), biz)
	if err != nil || len(accts) != 1 {
		t.Fatal(accts, err)
	}
	ms, err := in.DB.ListMethods(context.Background(), uid)
	if err != nil || len(ms) != 1 {
		t.Fatal(ms, err)
	}
	return recoveryOwner{email: email, biz: biz, last4: accts[0].Last4, methodID: ms[0].ID, secret: secret, token: token}
}

// openCaseSignedOut opens a case without signing in and returns its id.
func openCaseSignedOut(t *testing.T, in *apptest.Instance, account, contact string) string {
	t.Helper()
	if r := in.Do(t, "POST", "/api/v1/support/cases", "", map[string]string{"kind": "cannot_sign_in", "account_email": account, "contact_email": contact, "description": "I lost my phone and my password."}); r.Status != 202 {
		t.Fatalf("open: %d %s", r.Status, r.Body)
	}
	cs, err := in.DB.ListSupportCases(context.Background(), store.CaseFilter{})
	if err != nil {
		t.Fatal(err)
	}
	return cs[len(cs)-1].ID
}

func evidence(t *testing.T, in *apptest.Instance, token, caseID, kind, value string, want bool) {
	t.Helper()
	r := in.Do(t, "POST", "/api/v1/agent/cases/"+caseID+"/evidence", token, map[string]string{"kind": kind, "value": value})
	if r.Status != 201 || r.JSON(t)["matched"] != want {
		t.Fatalf("evidence %s: %d %s, want matched=%v", kind, r.Status, r.Body, want)
	}
}

// The full recovery: an owner who lost password and phone opens a case
// signed out; an agent verifies an email code and the deposit digits; a
// second agent who is a supervisor approves; every address is told during
// the waiting period; then the method goes, the owner resets the password
// by emailed code, enrols a new authenticator, and the audit log tells the
// story with intact chains. Agents never see a secret.
func TestSupportFullRecovery(t *testing.T) {
	t.Parallel()
	apptest.Dialects(t, func(t *testing.T, dialect string) {
		in := apptest.Start(t, dialect)
		owner := newRecoveryOwner(t, in, "lost@example.com")
		caseID := openCaseSignedOut(t, in, owner.email, owner.email)
		agent := addAgent(t, in, "agent@example.com", "agent")
		lead := addAgent(t, in, "lead@example.com", "supervisor")
		at, st := agentToken(t, in, agent), agentToken(t, in, lead)

		if r := in.Do(t, "POST", "/api/v1/agent/cases/"+caseID+"/assign", at, map[string]string{"agent_id": agent.id}); r.Status != 200 {
			t.Fatalf("assign: %d %s", r.Status, r.Body)
		}
		// Not enough evidence yet: a recovery action is refused.
		if r := in.Do(t, "POST", "/api/v1/agent/cases/"+caseID+"/actions", at, map[string]string{"kind": "remove_second_step", "method_id": owner.methodID}); r.Status != 403 {
			t.Fatalf("action without evidence: %d %s", r.Status, r.Body)
		}
		if r := in.Do(t, "POST", "/api/v1/agent/cases/"+caseID+"/check-codes", at, map[string]string{"kind": "email_code"}); r.Status != 202 {
			t.Fatalf("check code: %d %s", r.Status, r.Body)
		}
		code := in.LastCode(t, owner.email)
		evidence(t, in, at, caseID, "email_code", code, true)
		evidence(t, in, at, caseID, "deposit_last4", "0000", false)
		// One kind twice is still one piece of evidence.
		if r := in.Do(t, "POST", "/api/v1/agent/cases/"+caseID+"/actions", at, map[string]string{"kind": "remove_second_step", "method_id": owner.methodID}); r.Status != 403 {
			t.Fatalf("action with one piece of evidence: %d %s", r.Status, r.Body)
		}
		evidence(t, in, at, caseID, "deposit_last4", owner.last4, true)
		r := in.Do(t, "POST", "/api/v1/agent/cases/"+caseID+"/actions", at, map[string]string{"kind": "remove_second_step", "method_id": owner.methodID})
		if r.Status != 201 || r.JSON(t)["state"] != "pending_approval" {
			t.Fatalf("request: %d %s", r.Status, r.Body)
		}
		actID := r.JSON(t)["id"].(string)
		// An agent who is no supervisor cannot approve; nor can a
		// supervisor approve their own request.
		if r := in.Do(t, "POST", "/api/v1/agent/actions/"+actID+"/approve", at, nil); r.Status != 403 {
			t.Fatalf("agent approves: %d %s", r.Status, r.Body)
		}
		own := in.Do(t, "POST", "/api/v1/agent/cases/"+caseID+"/actions", st, map[string]string{"kind": "require_password_change"})
		if own.Status != 201 {
			t.Fatalf("supervisor's own request: %d %s", own.Status, own.Body)
		}
		if r := in.Do(t, "POST", "/api/v1/agent/actions/"+own.JSON(t)["id"].(string)+"/approve", st, nil); r.Status != 403 {
			t.Fatalf("self-approval: %d %s", r.Status, r.Body)
		}
		n := len(in.Outbox(t))
		r = in.Do(t, "POST", "/api/v1/agent/actions/"+actID+"/approve", st, nil)
		if r.Status != 200 || r.JSON(t)["state"] != "waiting" {
			t.Fatalf("approve: %d %s", r.Status, r.Body)
		}
		notices := messagesTo(newMessages(t, in, n), owner.email)
		if len(notices) != 1 || !strings.Contains(notices[0].Body, "unless you cancel") || notMeCodeRE.FindString(notices[0].Body) == "" {
			t.Fatalf("waiting-period notice: %+v", notices)
		}
		// Nothing any agent can read holds a secret.
		view := in.Do(t, "GET", "/api/v1/agent/cases/"+caseID, st, nil)
		u, err := in.DB.FindUserByEmail(context.Background(), owner.email)
		if err != nil {
			t.Fatal(err)
		}
		for _, secret := range []string{code, owner.secret, u.PasswordHash, "GB29", "13319268", pw} {
			if strings.Contains(string(view.Body), secret) {
				t.Fatalf("the agent's view holds a secret %q: %s", secret, view.Body)
			}
		}
		// Before the waiting period is over, nothing happens.
		if done, err := in.Support.RunDue(context.Background()); err != nil || done != 0 {
			t.Fatalf("early run: %d %v", done, err)
		}
		in.Clock.Advance(72*time.Hour + time.Minute)
		if done, err := in.Support.RunDue(context.Background()); err != nil || done != 1 {
			t.Fatalf("due run: %d %v", done, err)
		}
		if ms, _ := in.DB.ListMethods(context.Background(), u.ID); len(ms) != 0 {
			t.Fatalf("the method is still there: %+v", ms)
		}
		if r := in.Do(t, "GET", "/api/v1/session", owner.token, nil); r.Status != 401 {
			t.Fatalf("an old session survived the recovery: %d", r.Status)
		}
		// The owner resets the password with an emailed code and signs in;
		// then sets up a new authenticator.
		tok := recoveryToken(t, in, owner.email)
		if r := in.Do(t, "POST", "/api/v1/recovery/password", "", map[string]string{"recovery_token": tok, "password": newPW}); r.Status != 200 {
			t.Fatalf("reset: %d %s", r.Status, r.Body)
		}
		session := in.SignIn(t, owner.email, newPW)
		in.EnrollTOTP(t, session)
		// The story is in the business's audit log, with the agents as
		// actors, and every chain verifies.
		r = in.Do(t, "GET", "/api/v1/audit?business_id="+owner.biz+"&category=support&limit=100", session, nil)
		if r.Status != 200 {
			t.Fatalf("audit: %d %s", r.Status, r.Body)
		}
		for _, want := range []string{"support.case_opened", "support.evidence_recorded", "support.recovery_action_requested", "support.recovery_action_approved", "support.remove_second_step", agent.id, lead.id} {
			if !strings.Contains(string(r.Body), want) {
				t.Errorf("audit log lacks %s: %s", want, r.Body)
			}
		}
		checkAuditChain(t, in)
	})
}

// The attacker's version: a case opened for someone else's account with
// facts the attacker phished (deposit digits, a listing SKU); the owner
// cancels from the notice during the waiting period and nothing happens.
func TestSupportOwnerCancelsAnAttackersRecovery(t *testing.T) {
	t.Parallel()
	apptest.Dialects(t, func(t *testing.T, dialect string) {
		in := apptest.Start(t, dialect)
		owner := newRecoveryOwner(t, in, "victim@example.com")
		if err := in.DB.PutListing(context.Background(), store.Listing{ID: "lst_support1", BusinessID: owner.biz, SKU: "MUG-RED-01", Title: "Red mug", PriceCents: 900, Quantity: 3, Condition: "new", UpdatedAt: in.Clock.Now()}); err != nil {
			t.Fatal(err)
		}
		caseID := openCaseSignedOut(t, in, owner.email, "attacker@evil.example")
		agent := addAgent(t, in, "agent@example.com", "agent")
		lead := addAgent(t, in, "lead@example.com", "supervisor")
		at, st := agentToken(t, in, agent), agentToken(t, in, lead)
		evidence(t, in, at, caseID, "deposit_last4", owner.last4, true)
		evidence(t, in, at, caseID, "listing_sku", "mug-red-01", true)
		r := in.Do(t, "POST", "/api/v1/agent/cases/"+caseID+"/actions", at, map[string]string{"kind": "change_email", "new_email": "attacker@evil.example"})
		if r.Status != 201 {
			t.Fatalf("request: %d %s", r.Status, r.Body)
		}
		actID := r.JSON(t)["id"].(string)
		n := len(in.Outbox(t))
		if r := in.Do(t, "POST", "/api/v1/agent/actions/"+actID+"/approve", st, nil); r.Status != 200 {
			t.Fatalf("approve: %d %s", r.Status, r.Body)
		}
		sent := newMessages(t, in, n)
		if len(messagesTo(sent, "attacker@evil.example")) != 0 {
			t.Fatal("the attacker's contact address was told of the waiting period")
		}
		notice := messagesTo(sent, owner.email)
		if len(notice) != 1 {
			t.Fatalf("notices: %+v", sent)
		}
		in.Clock.Advance(24 * time.Hour)
		if r := in.Do(t, "POST", "/api/v1/support/not-me", "", map[string]string{"code": notMeCodeRE.FindString(notice[0].Body)}); r.Status != 200 {
			t.Fatalf("cancel: %d %s", r.Status, r.Body)
		}
		in.Clock.Advance(49 * time.Hour)
		if done, err := in.Support.RunDue(context.Background()); err != nil || done != 0 {
			t.Fatalf("run after cancel: %d %v", done, err)
		}
		if u, err := in.DB.FindUserByEmail(context.Background(), owner.email); err != nil || u.Email != owner.email {
			t.Fatalf("the email changed: %+v %v", u, err)
		}
		// The case is marked; no further action goes through it.
		at = agentToken(t, in, agent) // the old session idled out meanwhile
		view := in.Do(t, "GET", "/api/v1/agent/cases/"+caseID, at, nil).JSON(t)
		if view["disowned_by_owner"] != true || view["actions"].([]any)[0].(map[string]any)["state"] != "cancelled" {
			t.Fatalf("case after cancel: %v", view)
		}
		if r := in.Do(t, "POST", "/api/v1/agent/cases/"+caseID+"/actions", at, map[string]string{"kind": "lock_sign_in"}); r.Status != 409 {
			t.Fatalf("action on a disowned case: %d %s", r.Status, r.Body)
		}
		checkAuditChain(t, in)
	})
}

// Locking sign-in throws the session out at once and keeps the right
// password out; the password reset by emailed code opens the account
// again. Ending sessions ends them. Both are audited and told.
func TestSupportLockAndEndSessions(t *testing.T) {
	t.Parallel()
	apptest.Dialects(t, func(t *testing.T, dialect string) {
		in := apptest.Start(t, dialect)
		in.SignUp(t, "locked@example.com", pw, "Locked Shop")
		seller := in.SignIn(t, "locked@example.com", pw)
		r := in.Do(t, "POST", "/api/v1/support/cases", seller, map[string]string{"kind": "compromised", "description": "Someone is in my account."})
		if r.Status != 201 {
			t.Fatal(r.Status)
		}
		caseID := r.JSON(t)["id"].(string)
		at := agentToken(t, in, addAgent(t, in, "agent@example.com", "agent"))
		second := in.SignIn(t, "locked@example.com", pw)
		n := len(in.Outbox(t))
		if r := in.Do(t, "POST", "/api/v1/agent/cases/"+caseID+"/actions", at, map[string]string{"kind": "end_sessions"}); r.Status != 201 || r.JSON(t)["state"] != "done" {
			t.Fatalf("end sessions: %d %s", r.Status, r.Body)
		}
		for _, tok := range []string{seller, second} {
			if r := in.Do(t, "GET", "/api/v1/session", tok, nil); r.Status != 401 {
				t.Fatalf("a session survived: %d", r.Status)
			}
		}
		attacker := in.SignIn(t, "locked@example.com", pw)
		if r := in.Do(t, "POST", "/api/v1/agent/cases/"+caseID+"/actions", at, map[string]string{"kind": "lock_sign_in"}); r.Status != 201 {
			t.Fatalf("lock: %d %s", r.Status, r.Body)
		}
		if r := in.Do(t, "GET", "/api/v1/session", attacker, nil); r.Status != 401 {
			t.Fatalf("the attacker's session survived the lock: %d", r.Status)
		}
		if r := in.Do(t, "POST", "/api/v1/sessions", "", map[string]string{"email": "locked@example.com", "password": pw}); r.Status != 401 {
			t.Fatalf("sign-in while locked: %d %s", r.Status, r.Body)
		}
		told := messagesTo(newMessages(t, in, n), "locked@example.com")
		if len(told) != 2 || !strings.Contains(told[1].Body, "locked sign-in") {
			t.Fatalf("the owner was not told: %+v", told)
		}
		tok := recoveryToken(t, in, "locked@example.com")
		if r := in.Do(t, "POST", "/api/v1/recovery/password", "", map[string]string{"recovery_token": tok, "password": newPW}); r.Status != 200 {
			t.Fatalf("reset: %d %s", r.Status, r.Body)
		}
		in.SignIn(t, "locked@example.com", newPW)
		checkAuditChain(t, in)
	})
}
