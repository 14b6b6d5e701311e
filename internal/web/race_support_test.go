package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sellerguard/sellerguard/internal/app/apptest"
	"github.com/sellerguard/sellerguard/internal/store"
)

// The support console's flows sent several times at the same moment. On
// PostgreSQL (READ COMMITTED) two transactions that read "is this still
// pending?" before either wrote both acted on the answer: an enrolment
// code used twice, an approval given seven times, an action left pending
// on a case its owner had disowned, one resolution told eight times, two
// supervisors disabling each other. SQLite runs one writer at a time, so
// the same tests pass there; both databases run each. A race that does not
// show every time is run a few bounded rounds.

// rsDesk signs in a support desk: an agent who asks for actions and two
// supervisors who may approve them; it returns their tokens.
func rsDesk(t *testing.T, in *apptest.Instance) (agent string, supervisors []string) {
	t.Helper()
	return agentToken(t, in, addAgent(t, in, "agent@race.example", "agent")), []string{
		agentToken(t, in, addAgent(t, in, "lead1@race.example", "supervisor")),
		agentToken(t, in, addAgent(t, in, "lead2@race.example", "supervisor")),
	}
}

// rsCaseView is a case as an agent reads it through the API.
type rsCaseView struct {
	State    string `json:"state"`
	Disowned bool   `json:"disowned_by_owner"`
	Actions  []struct {
		ID    string `json:"id"`
		State string `json:"state"`
	} `json:"actions"`
}

func rsAgentCase(t *testing.T, in *apptest.Instance, token, caseID string) rsCaseView {
	t.Helper()
	r := in.Do(t, "GET", "/api/v1/agent/cases/"+caseID, token, nil)
	if r.Status != 200 {
		t.Fatalf("agent's view of the case: %d %s", r.Status, r.Body)
	}
	var v rsCaseView
	if err := json.Unmarshal(r.Body, &v); err != nil {
		t.Fatalf("agent's view of the case: %v: %s", err, r.Body)
	}
	return v
}

// rsOwnCase opens a case as the signed-in seller and returns its id and
// reference.
func rsOwnCase(t *testing.T, in *apptest.Instance, token, kind string) (id, ref string) {
	t.Helper()
	r := in.Do(t, "POST", "/api/v1/support/cases", token, map[string]string{"kind": kind, "description": "Please help me with my account."})
	if r.Status != 201 {
		t.Fatalf("open case: %d %s", r.Status, r.Body)
	}
	m := r.JSON(t)
	return m["id"].(string), m["reference"].(string)
}

// rsRecoveryCase opens a case as the signed-in owner and records two
// matching pieces of evidence of different kinds (an emailed check code,
// the deposit account's last digits), so recovery actions can be asked
// for.
func rsRecoveryCase(t *testing.T, in *apptest.Instance, owner recoveryOwner, agentTok string) (id, ref string) {
	t.Helper()
	id, ref = rsOwnCase(t, in, owner.token, "cannot_sign_in")
	if r := in.Do(t, "POST", "/api/v1/agent/cases/"+id+"/check-codes", agentTok, map[string]string{"kind": "email_code"}); r.Status != 202 {
		t.Fatalf("check code: %d %s", r.Status, r.Body)
	}
	evidence(t, in, agentTok, id, "email_code", in.LastCode(t, owner.email), true)
	evidence(t, in, agentTok, id, "deposit_last4", owner.last4, true)
	return id, ref
}

// rsCaseAudit returns the audit events about the case with this reference
// (every support event of a case names it), in chain order. They are all
// in the chain of the case's business, whose head is locked to the end of
// each writing transaction: the order is the order of the commits.
func rsCaseAudit(t *testing.T, in *apptest.Instance, ref string) []store.AuditRecord {
	t.Helper()
	var out []store.AuditRecord
	if err := in.DB.EachAuditEvent(context.Background(), func(e store.AuditRecord) error {
		if strings.Contains(e.After, `"`+ref+`"`) {
			out = append(out, e)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for _, e := range out {
		if e.Chain != out[0].Chain {
			t.Fatalf("the events of case %s are in two chains (%s, %s)", ref, out[0].Chain, e.Chain)
		}
	}
	slices.SortFunc(out, func(a, b store.AuditRecord) int { return int(a.Seq - b.Seq) })
	return out
}

func rsAfter(t *testing.T, e store.AuditRecord) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(e.After), &m); err != nil {
		t.Fatalf("audit event %s: %v: %s", e.Action, err, e.After)
	}
	return m
}

// An agent enrols with the code a supervisor gave: a user would check
// that the code works once, however many times the form is sent at the
// same moment (a double click, a retry), so one authenticator secret
// exists for the agent and it is the one they were shown. On PostgreSQL
// two of eight enrolments answered 200 with different secrets, and the
// first secret shown did not sign in.
func TestRaceSupportAgentEnrolOnce(t *testing.T) {
	t.Parallel()
	apptest.Dialects(t, func(t *testing.T, dialect string) {
		in := apptest.Start(t, dialect)
		const n, rounds = 8, 4
		for round := range rounds {
			email := fmt.Sprintf("enrol%d@race.example", round)
			_, code, err := in.Support.AddAgent(context.Background(), nil, email, "agent")
			if err != nil {
				t.Fatalf("round %d: add agent: %v", round, err)
			}
			body := raceJSON(t, map[string]string{"email": email, "enrolment_code": code, "password": agentPW})
			statuses, bodies := raceBurst(n, func(int) (int, string) {
				return rawRequest(t, in, "POST", "/api/v1/agent/enrol", "application/json", body, "", nil)
			})
			var secrets []string
			for i, s := range statuses {
				switch {
				case s == http.StatusOK:
					var e struct {
						Secret string `json:"totp_secret"`
					}
					if err := json.Unmarshal([]byte(bodies[i]), &e); err != nil || e.Secret == "" {
						t.Fatalf("round %d: enrolment answered 200 without a secret: %s", round, bodies[i])
					}
					secrets = append(secrets, e.Secret)
				case s < 400 || s >= 500:
					t.Errorf("round %d: an enrolment answered %d %.300s (all: %v), want 200 once and 4xx", round, s, bodies[i], statuses)
				}
			}
			if len(secrets) != 1 {
				t.Fatalf("round %d: %d enrolments with one code answered 200 (all: %v), want exactly one secret handed out", round, len(secrets), statuses)
			}
			in.Clock.Advance(31 * time.Second) // a fresh time step
			r := in.Do(t, "POST", "/api/v1/agent/sessions", "", map[string]string{"email": email, "password": agentPW, "code": oathtool(t, secrets[0], in.Clock.Now())})
			if r.Status != 201 {
				t.Fatalf("round %d: the secret handed out does not sign the agent in: %d %s", round, r.Status, r.Body)
			}
			in.Clock.Advance(11 * time.Minute) // the refused enrolments count against the address: a new window
		}
	})
}

// A supervisor approves a recovery action; a second supervisor approves
// it too, both clicking several times. A user would check that it was
// approved once: one 200 and 409 for the rest, one approval in the audit
// log, one notice to the owner, and the cancel code in that notice works.
// On PostgreSQL seven of eight approvals answered 200, the owner got
// seven notices, and only the last one's code cancelled anything.
func TestRaceSupportApproveActionOnce(t *testing.T) {
	t.Parallel()
	apptest.Dialects(t, func(t *testing.T, dialect string) {
		in := apptest.Start(t, dialect)
		at, sups := rsDesk(t, in)
		const n, rounds = 8, 3
		for round := range rounds {
			owner := newRecoveryOwner(t, in, fmt.Sprintf("approve%d@race.example", round))
			caseID, ref := rsRecoveryCase(t, in, owner, at)
			r := in.Do(t, "POST", "/api/v1/agent/cases/"+caseID+"/actions", at, map[string]string{"kind": "require_password_change"})
			if r.Status != 201 {
				t.Fatalf("round %d: request: %d %s", round, r.Status, r.Body)
			}
			actID := r.JSON(t)["id"].(string)
			before := len(in.Outbox(t))
			statuses, bodies := raceBurst(n, func(i int) (int, string) {
				return rawRequest(t, in, "POST", "/api/v1/agent/actions/"+actID+"/approve", "", nil, sups[i%2], nil)
			})
			approved := 0
			for i, s := range statuses {
				switch s {
				case http.StatusOK:
					approved++
				case http.StatusConflict:
				default:
					t.Errorf("round %d: an approval answered %d %.300s (all: %v)", round, s, bodies[i], statuses)
				}
			}
			if approved != 1 {
				t.Errorf("round %d: %d approvals of one action answered 200 (all: %v), want 1", round, approved, statuses)
			}
			events := 0
			for _, e := range rsCaseAudit(t, in, ref) {
				if e.Action == "support.recovery_action_approved" && rsAfter(t, e)["action"] == actID {
					events++
				}
			}
			if events != 1 {
				t.Errorf("round %d: %d support.recovery_action_approved events for the action, want 1", round, events)
			}
			notices := messagesTo(newMessages(t, in, before), owner.email)
			if len(notices) != 1 {
				t.Errorf("round %d: the owner got %d notices of the approval, want 1", round, len(notices))
			}
			if len(notices) == 0 {
				t.FailNow()
			}
			// Every code the owner was given must cancel: the owner may
			// act on any notice they received.
			for i, m := range notices {
				code := notMeCodeRE.FindString(m.Body)
				if code == "" {
					t.Fatalf("round %d: notice %d holds no cancel code: %s", round, i, m.Body)
				}
				if r := in.Do(t, "POST", "/api/v1/support/not-me", "", map[string]string{"code": code}); r.Status != 200 {
					t.Errorf("round %d: the cancel code of notice %d of %d: %d %s, want 200", round, i+1, len(notices), r.Status, r.Body)
				}
			}
			if v := rsAgentCase(t, in, at, caseID); !v.Disowned || len(v.Actions) != 1 || v.Actions[0].State != "cancelled" {
				t.Errorf("round %d: after the owner's cancel: %+v, want the case disowned and the action cancelled", round, v)
			}
		}
		checkAuditChain(t, in)
	})
}

// The owner says "this wasn't me" while supervisors approve the case's
// recovery actions, and while an agent asks for more. A user would check
// that a disowned case has nothing left that could still change the
// account: every action of it is cancelled (an approval or a request
// either came before the disowning, and the disowning cancelled it and
// counted it in what the owner was told, or came after and was refused
// with 409), and no approval or request was recorded (and told to the
// owner) after the disowning. On PostgreSQL requests that read the case
// before the disowning committed left actions pending_approval on the
// disowned case.
func TestRaceSupportDisownWhileActing(t *testing.T) {
	t.Parallel()
	apptest.Dialects(t, func(t *testing.T, dialect string) {
		in := apptest.Start(t, dialect)
		at, sups := rsDesk(t, in)
		const n, rounds = 7, 3
		// check is what a round asserts once its burst is over: disown is
		// the answer to the owner's disowning, statuses and bodies those of
		// the agents' requests (want: their status of success, else 409),
		// event names the audit event of a successful one, before is the
		// outbox's length before the burst.
		check := func(t *testing.T, what string, caseID, ref string, disown int, statuses []int, bodies []string, want int, event string, before int, owner recoveryOwner) {
			t.Helper()
			if disown != 200 {
				t.Errorf("%s: the owner's disowning answered %d, want 200", what, disown)
			}
			succeeded := 0
			for i, s := range statuses {
				switch s {
				case want:
					succeeded++
				case http.StatusConflict:
				default:
					t.Errorf("%s: a request answered %d %.300s (all: %v), want %d or 409", what, s, bodies[i], statuses, want)
				}
			}
			v := rsAgentCase(t, in, at, caseID)
			if !v.Disowned {
				t.Fatalf("%s: the case is not disowned after the owner's 200: %+v", what, v)
			}
			var left []string
			for _, a := range v.Actions {
				if a.State != "cancelled" {
					left = append(left, a.ID+" "+a.State)
				}
			}
			if len(left) > 0 {
				t.Errorf("%s: %d of the disowned case's %d actions are not cancelled: %v", what, len(left), len(v.Actions), left)
			}
			disowned, cancelled, late, recorded := 0, -1.0, 0, 0
			for _, e := range rsCaseAudit(t, in, ref) {
				switch e.Action {
				case "support.case_disowned":
					disowned++
					cancelled, _ = rsAfter(t, e)["actions_cancelled"].(float64)
				case event:
					recorded++
					if disowned > 0 {
						late++
					}
				}
			}
			if disowned != 1 {
				t.Fatalf("%s: %d support.case_disowned events, want 1", what, disowned)
			}
			if late != 0 {
				t.Errorf("%s: %d %s events come after the disowning in the audit chain", what, late, event)
			}
			if recorded != succeeded {
				t.Errorf("%s: %d %s events for %d requests that answered %d", what, recorded, event, succeeded, want)
			}
			if int(cancelled) != len(v.Actions) {
				t.Errorf("%s: the owner was told %v action(s) were cancelled, the case has %d", what, cancelled, len(v.Actions))
			}
			told := 0
			for _, m := range messagesTo(newMessages(t, in, before), owner.email) {
				if strings.Contains(m.Subject, "will be changed by Seller Support") || strings.Contains(m.Subject, "asked to change your account") {
					told++
				}
			}
			if told != succeeded {
				t.Errorf("%s: the owner got %d notices of approvals or requests, %d answered %d", what, told, succeeded, want)
			}
		}
		for round := range rounds {
			owner := newRecoveryOwner(t, in, fmt.Sprintf("disown%d@race.example", round))
			disownPath := func(caseID string) string { return "/api/v1/support/cases/" + caseID + "/not-me" }

			// Seven pending actions; each approved once while the owner
			// disowns the case.
			caseID, ref := rsRecoveryCase(t, in, owner, at)
			acts := make([]string, n)
			for i := range acts {
				r := in.Do(t, "POST", "/api/v1/agent/cases/"+caseID+"/actions", at, map[string]string{"kind": "require_password_change"})
				if r.Status != 201 {
					t.Fatalf("round %d: request %d: %d %s", round, i, r.Status, r.Body)
				}
				acts[i] = r.JSON(t)["id"].(string)
			}
			before := len(in.Outbox(t))
			statuses, bodies := raceBurst(n+1, func(i int) (int, string) {
				if i == n {
					return rawRequest(t, in, "POST", disownPath(caseID), "", nil, owner.token, nil)
				}
				return rawRequest(t, in, "POST", "/api/v1/agent/actions/"+acts[i]+"/approve", "", nil, sups[i%2], nil)
			})
			check(t, fmt.Sprintf("round %d, approvals", round), caseID, ref, statuses[n], statuses[:n], bodies[:n], http.StatusOK, "support.recovery_action_approved", before, owner)

			// Seven requests for an action while the owner disowns the
			// case.
			caseID, ref = rsRecoveryCase(t, in, owner, at)
			before = len(in.Outbox(t))
			body := raceJSON(t, map[string]string{"kind": "require_password_change"})
			statuses, bodies = raceBurst(n+1, func(i int) (int, string) {
				if i == n {
					return rawRequest(t, in, "POST", disownPath(caseID), "", nil, owner.token, nil)
				}
				return rawRequest(t, in, "POST", "/api/v1/agent/cases/"+caseID+"/actions", "application/json", body, at, nil)
			})
			check(t, fmt.Sprintf("round %d, requests", round), caseID, ref, statuses[n], statuses[:n], bodies[:n], http.StatusCreated, "support.recovery_action_requested", before, owner)
		}
		checkAuditChain(t, in)
	})
}

// Agents mark a case resolved at the same moment (several of them, or one
// clicking again). A user would check that the seller is told once that
// the case is resolved, that each click is answered 200 or 409 and never
// 5xx, and that the log holds one change of state. On PostgreSQL eight
// resolutions sent the seller eight "is resolved" emails.
func TestRaceSupportResolveToldOnce(t *testing.T) {
	t.Parallel()
	apptest.Dialects(t, func(t *testing.T, dialect string) {
		in := apptest.Start(t, dialect)
		const email = "resolved@race.example"
		in.SignUp(t, email, pw, "Resolved Shop")
		seller := in.SignIn(t, email, pw)
		caseID, ref := rsOwnCase(t, in, seller, "other")
		tokens := []string{
			agentToken(t, in, addAgent(t, in, "agent1@race.example", "agent")),
			agentToken(t, in, addAgent(t, in, "agent2@race.example", "agent")),
		}
		const n, rounds = 8, 4
		body := raceJSON(t, map[string]string{"state": "resolved"})
		for round := range rounds {
			if round > 0 {
				if r := in.Do(t, "POST", "/api/v1/agent/cases/"+caseID+"/state", tokens[0], map[string]string{"state": "open"}); r.Status != 200 {
					t.Fatalf("round %d: reopen: %d %s", round, r.Status, r.Body)
				}
			}
			before := len(in.Outbox(t))
			statuses, bodies := raceBurst(n, func(i int) (int, string) {
				return rawRequest(t, in, "POST", "/api/v1/agent/cases/"+caseID+"/state", "application/json", body, tokens[i%2], nil)
			})
			for i, s := range statuses {
				if s != http.StatusOK && s != http.StatusConflict {
					t.Errorf("round %d: a resolution answered %d %.300s (all: %v), want 200 or 409", round, s, bodies[i], statuses)
				}
			}
			told := 0
			for _, m := range messagesTo(newMessages(t, in, before), email) {
				if strings.Contains(m.Subject, ref) && strings.Contains(m.Subject, "resolved") {
					told++
				}
			}
			if told != 1 {
				t.Errorf("round %d: the seller got %d \"is resolved\" emails after %d resolutions at once (%v), want 1", round, told, n, statuses)
			}
			changes := 0
			for _, e := range rsCaseAudit(t, in, ref) {
				if e.Action == "support.case_state_changed" && rsAfter(t, e)["to"] == "resolved" {
					changes++
				}
			}
			if changes != round+1 {
				t.Errorf("round %d: %d changes to resolved in the audit log so far, want %d (one a round)", round, changes, round+1)
			}
			if v := rsAgentCase(t, in, tokens[0], caseID); v.State != "resolved" {
				t.Errorf("round %d: the case is %s, want resolved", round, v.State)
			}
		}
	})
}

// The only two active supervisors disable each other at the same moment.
// A user would check that Seller Support is not left without a
// supervisor: not both succeed, at least one of them is still active, and
// that one can still manage agents. On PostgreSQL both answered 204 and
// no supervisor was left to add or re-enable anyone. Each round adds two
// new supervisors and has one of them disable whoever is left active from
// the round before, so the two are again the only active supervisors.
func TestRaceSupportSupervisorsDisableEachOther(t *testing.T) {
	t.Parallel()
	apptest.Dialects(t, func(t *testing.T, dialect string) {
		in := apptest.Start(t, dialect)
		const rounds, perSide = 6, 2
		for round := range rounds {
			pair := []testAgent{
				addAgent(t, in, fmt.Sprintf("lead%da@race.example", round), "supervisor"),
				addAgent(t, in, fmt.Sprintf("lead%db@race.example", round), "supervisor"),
			}
			tokens := []string{agentToken(t, in, pair[0]), agentToken(t, in, pair[1])}
			rs, err := in.DB.ListSupportAgents(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			for _, a := range rs {
				if a.Role == "supervisor" && a.Status == "active" && a.ID != pair[0].id && a.ID != pair[1].id {
					if r := in.Do(t, "POST", "/api/v1/agent/agents/"+a.ID+"/disable", tokens[0], nil); r.Status != 204 {
						t.Fatalf("round %d: disable the supervisor left from before: %d %s", round, r.Status, r.Body)
					}
				}
			}
			statuses, bodies := raceBurst(2*perSide, func(i int) (int, string) {
				by, target := i%2, 1-i%2
				return rawRequest(t, in, "POST", "/api/v1/agent/agents/"+pair[target].id+"/disable", "", nil, tokens[by], nil)
			})
			var disabledBy [2]bool
			for i, s := range statuses {
				switch {
				case s == http.StatusNoContent:
					disabledBy[i%2] = true
				case s >= 500 || s < 400:
					t.Errorf("round %d: a disabling answered %d %.300s (all: %v)", round, s, bodies[i], statuses)
				}
			}
			if disabledBy[0] && disabledBy[1] {
				t.Errorf("round %d: both supervisors disabled each other (answers %v)", round, statuses)
			}
			var active []int
			for k, a := range pair {
				rec := supportAgentOf(t, in, a.email)
				if rec.Status == "active" {
					active = append(active, k)
				}
				if disabledBy[1-k] && rec.Status != "disabled" {
					t.Errorf("round %d: disabling %s answered 204 but it is %s", round, a.email, rec.Status)
				}
			}
			if len(active) == 0 {
				t.Fatalf("round %d: no active supervisor is left (answers %v)", round, statuses)
			}
			if r := in.Do(t, "GET", "/api/v1/agent/agents", tokens[active[0]], nil); r.Status != 200 {
				t.Errorf("round %d: the supervisor left active cannot list agents: %d %s", round, r.Status, r.Body)
			}
		}
	})
}
