package web_test

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sellerguard/sellerguard/internal/app/apptest"
	"github.com/sellerguard/sellerguard/internal/audit"
	"github.com/sellerguard/sellerguard/internal/store"
)

var notMeCodeRE = regexp.MustCompile(`[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}`)

// newMessages returns the outbox messages after the first n.
func newMessages(t *testing.T, in *apptest.Instance, n int) []apptest.Message {
	t.Helper()
	return in.Outbox(t)[n:]
}

func messagesTo(ms []apptest.Message, to string) []apptest.Message {
	var out []apptest.Message
	for _, m := range ms {
		if strings.EqualFold(m.To, to) {
			out = append(out, m)
		}
	}
	return out
}

func countCases(t *testing.T, in *apptest.Instance) int {
	t.Helper()
	cs, err := in.DB.ListSupportCases(context.Background(), store.CaseFilter{})
	if err != nil {
		t.Fatal(err)
	}
	return len(cs)
}

// A signed-out case answers byte for byte alike for a registered and an
// unknown account; the contact gets the reference, the owner a notice
// with a "this wasn't me" code, and no email carries a link.
func TestSupportCaseSignedOutAnswersAlike(t *testing.T) {
	t.Parallel()
	apptest.Dialects(t, func(t *testing.T, dialect string) {
		in := apptest.Start(t, dialect)
		in.SignUp(t, "owner@example.com", pw, "Owner Shop")
		n := len(in.Outbox(t))
		body := func(account, contact string) map[string]string {
			return map[string]string{"kind": "cannot_sign_in", "account_email": account, "contact_email": contact, "description": "I lost my phone."}
		}
		a := in.Do(t, "POST", "/api/v1/support/cases", "", body("Owner@Example.com", "someone@example.net"))
		b := in.Do(t, "POST", "/api/v1/support/cases", "", body("nobody@example.com", "someone@example.net"))
		if a.Status != 202 || b.Status != 202 || !bytes.Equal(a.Body, b.Body) {
			t.Fatalf("answers differ: %d %s / %d %s", a.Status, a.Body, b.Status, b.Body)
		}
		sent := newMessages(t, in, n)
		refs := messagesTo(sent, "someone@example.net")
		if len(refs) != 2 || !strings.Contains(refs[0].Body, "Case reference: SC-") {
			t.Fatalf("want two case references to the contact, got %+v", refs)
		}
		notice := messagesTo(sent, "owner@example.com")
		if len(notice) != 1 || !strings.Contains(notice[0].Body, "without signing in") {
			t.Fatalf("want one notice to the owner, got %+v", notice)
		}
		for _, m := range sent {
			if strings.Contains(m.Body, "http://") || strings.Contains(m.Body, "https://") {
				t.Errorf("a support email carries a link: %s", m.Body)
			}
		}
		code := notMeCodeRE.FindString(notice[0].Body)
		if code == "" {
			t.Fatalf("no code in the notice: %s", notice[0].Body)
		}
		// The owner says "this wasn't me" with the code; a wrong code fails.
		if r := in.Do(t, "POST", "/api/v1/support/not-me", "", map[string]string{"code": "AAAA-BBBB-CCCC-DDDD"}); r.Status != 400 || r.JSON(t)["code"] != "invalid_code" {
			t.Fatalf("wrong code: %d %s", r.Status, r.Body)
		}
		if r := in.Do(t, "POST", "/api/v1/support/not-me", "", map[string]string{"code": strings.ToLower(code)}); r.Status != 200 {
			t.Fatalf("not me: %d %s", r.Status, r.Body)
		}
		owner := in.SignIn(t, "owner@example.com", pw)
		r := in.Do(t, "GET", "/api/v1/support/cases", owner, nil)
		cases := r.JSON(t)["cases"].([]any)
		if r.Status != 200 || len(cases) != 1 {
			t.Fatalf("my cases: %d %s", r.Status, r.Body)
		}
		c := cases[0].(map[string]any)
		if c["disowned"] != true || c["about_your_account"] != true {
			t.Fatalf("case after not-me: %v", c)
		}
	})
}

// Signed in, a case is the user's: listed, read, answered; an agent's
// reply is emailed without a link and shown, an internal note is not.
func TestSupportCaseSignedInConversation(t *testing.T) {
	t.Parallel()
	apptest.Dialects(t, func(t *testing.T, dialect string) {
		in := apptest.Start(t, dialect)
		in.SignUp(t, "seller@example.com", pw, "Seller Shop")
		token := in.SignIn(t, "seller@example.com", pw)
		r := in.Do(t, "POST", "/api/v1/support/cases", token, map[string]string{"kind": "compromised", "description": "Someone changed my listings."})
		if r.Status != 201 {
			t.Fatalf("open: %d %s", r.Status, r.Body)
		}
		id := r.JSON(t)["id"].(string)
		// Signed in, the account and contact fields are not taken.
		if r := in.Do(t, "POST", "/api/v1/support/cases", token, map[string]string{"kind": "other", "description": "x", "account_email": "victim@example.com"}); r.Status != 400 {
			t.Fatalf("signed in with account_email: %d %s", r.Status, r.Body)
		}
		agent := addAgent(t, in, "agent@example.com", "agent")
		at := agentToken(t, in, agent)
		n := len(in.Outbox(t))
		if r := in.Do(t, "POST", "/api/v1/agent/cases/"+id+"/messages", at, map[string]any{"body": "internal: looks genuine", "internal": true}); r.Status != 201 {
			t.Fatalf("note: %d %s", r.Status, r.Body)
		}
		if r := in.Do(t, "POST", "/api/v1/agent/cases/"+id+"/messages", at, map[string]any{"body": "Which listings changed?"}); r.Status != 201 || r.JSON(t)["state"] != "waiting_on_seller" {
			t.Fatalf("reply: %d %s", r.Status, r.Body)
		}
		mail := messagesTo(newMessages(t, in, n), "seller@example.com")
		if len(mail) != 1 || !strings.Contains(mail[0].Body, "Which listings changed?") || !strings.Contains(mail[0].Body, "go to Support") || strings.Contains(mail[0].Body, "http") {
			t.Fatalf("reply email: %+v", mail)
		}
		r = in.Do(t, "GET", "/api/v1/support/cases/"+id, token, nil)
		if r.Status != 200 || strings.Contains(string(r.Body), "looks genuine") || !strings.Contains(string(r.Body), "Which listings changed?") {
			t.Fatalf("seller's view: %d %s", r.Status, r.Body)
		}
		if r := in.Do(t, "POST", "/api/v1/support/cases/"+id+"/messages", token, map[string]string{"body": "All of them."}); r.Status != 201 || r.JSON(t)["state"] != "waiting_on_agent" {
			t.Fatalf("answer: %d %s", r.Status, r.Body)
		}
		// Another seller sees no such case.
		in.SignUp(t, "other@example.com", pw, "Other Shop")
		other := in.SignIn(t, "other@example.com", pw)
		if r := in.Do(t, "GET", "/api/v1/support/cases/"+id, other, nil); r.Status != 404 {
			t.Fatalf("another seller's case: %d %s", r.Status, r.Body)
		}
		if r := in.Do(t, "POST", "/api/v1/agent/cases/"+id+"/state", at, map[string]string{"state": "resolved"}); r.Status != 200 {
			t.Fatalf("resolve: %d %s", r.Status, r.Body)
		}
		// The queue filters.
		if r := in.Do(t, "GET", "/api/v1/agent/cases?state=resolved&kind=compromised", at, nil); r.Status != 200 || len(r.JSON(t)["cases"].([]any)) != 1 {
			t.Fatalf("queue: %d %s", r.Status, r.Body)
		}
		if r := in.Do(t, "GET", "/api/v1/agent/cases?min_age_hours=2", at, nil); r.Status != 200 || len(r.JSON(t)["cases"].([]any)) != 0 {
			t.Fatalf("queue by age: %d %s", r.Status, r.Body)
		}
	})
}

// Opening cases is limited per account email (and per source address).
func TestSupportCaseLimits(t *testing.T) {
	t.Parallel()
	in := apptest.Start(t, "sqlite")
	for i := range 4 {
		r := in.Do(t, "POST", "/api/v1/support/cases", "", map[string]string{"kind": "other", "account_email": "limited@example.com", "contact_email": "c@example.net", "description": "help"})
		want := 202
		if i == 3 {
			want = 429
		}
		if r.Status != want {
			t.Fatalf("case %d: %d %s", i+1, r.Status, r.Body)
		}
	}
	if n := countCases(t, in); n != 3 {
		t.Fatalf("%d cases stored, want 3", n)
	}
}

// Bad input on the new routes: clear 400s (or 404 for ids), and nothing
// is written.
func TestSupportBadInput(t *testing.T) {
	t.Parallel()
	apptest.Dialects(t, func(t *testing.T, dialect string) {
		in := apptest.Start(t, dialect)
		in.SignUp(t, "bad@example.com", pw, "Bad Shop")
		seller := in.SignIn(t, "bad@example.com", pw)
		sup := agentToken(t, in, addAgent(t, in, "sup@example.com", "supervisor"))
		r := in.Do(t, "POST", "/api/v1/support/cases", "", map[string]string{"kind": "other", "account_email": "bad@example.com", "contact_email": "c@example.net", "description": "help"})
		if r.Status != 202 {
			t.Fatal(r.Status)
		}
		cs, _ := in.DB.ListSupportCases(context.Background(), store.CaseFilter{})
		id := cs[0].ID
		long := strings.Repeat("x", 4001)
		cases := []struct {
			method, path, token string
			body                any
			status              int
			field               string
		}{
			{"POST", "/api/v1/support/cases", "", map[string]string{"kind": "weird", "account_email": "a@example.com", "contact_email": "b@example.com", "description": "x"}, 400, "kind"},
			{"POST", "/api/v1/support/cases", "", map[string]string{"kind": "other", "account_email": "not-an-email", "contact_email": "b@example.com", "description": "x"}, 400, "account_email"},
			{"POST", "/api/v1/support/cases", "", map[string]string{"kind": "other", "account_email": "a@example.com", "contact_email": "", "description": "x"}, 400, "contact_email"},
			{"POST", "/api/v1/support/cases", "", map[string]string{"kind": "other", "account_email": "a@example.com", "contact_email": "b@example.com", "description": long}, 400, "description"},
			{"POST", "/api/v1/support/cases", "", map[string]string{"kind": "other", "account_email": "a@example.com", "contact_email": "b@example.com", "description": "x\x00"}, 400, "description"},
			{"POST", "/api/v1/support/cases", "", map[string]any{"kind": "other", "attachment": "AAAA"}, 400, "attachment"},
			{"POST", "/api/v1/support/cases", "", `[1,2]`, 400, ""},
			{"POST", "/api/v1/support/cases/" + id + "/messages", seller, map[string]string{"body": ""}, 400, "body"},
			{"POST", "/api/v1/support/cases/case_nope/messages", seller, map[string]string{"body": "hi"}, 404, ""},
			{"POST", "/api/v1/support/not-me", "", map[string]string{"code": "short"}, 400, "code"},
			{"POST", "/api/v1/agent/enrol", "", map[string]string{"email": "x@example.com", "enrolment_code": "1", "password": "p"}, 400, "enrolment_code"},
			{"POST", "/api/v1/agent/sessions", "", map[string]any{"email": 5}, 400, "email"},
			{"GET", "/api/v1/agent/cases?min_age_hours=-1", sup, nil, 400, "min_age_hours"},
			{"GET", "/api/v1/agent/cases?state=nonsense", sup, nil, 400, "state"},
			{"POST", "/api/v1/agent/cases/" + id + "/state", sup, map[string]string{"state": "closed"}, 400, "state"},
			{"POST", "/api/v1/agent/cases/" + id + "/messages", sup, map[string]any{"body": long}, 400, "body"},
			{"POST", "/api/v1/agent/cases/" + id + "/assign", sup, map[string]string{"agent_id": "agt_nobody"}, 400, "agent_id"},
			{"POST", "/api/v1/agent/cases/" + id + "/check-codes", sup, map[string]string{"kind": "carrier_pigeon"}, 400, "kind"},
			{"POST", "/api/v1/agent/cases/" + id + "/evidence", sup, map[string]string{"kind": "deposit_last4", "value": "12a4"}, 400, "value"},
			{"POST", "/api/v1/agent/cases/" + id + "/evidence", sup, map[string]string{"kind": "password", "value": "x"}, 400, "kind"},
			{"POST", "/api/v1/agent/cases/" + id + "/actions", sup, map[string]string{"kind": "delete_account"}, 400, "kind"},
			{"POST", "/api/v1/agent/cases/" + id + "/actions", sup, map[string]string{"kind": "change_email", "new_email": "nope"}, 400, "new_email"},
			{"POST", "/api/v1/agent/cases/" + id + "/actions", sup, map[string]string{"kind": "end_sessions", "new_email": "x@example.com"}, 400, "kind"},
			{"POST", "/api/v1/agent/actions/act_nope/approve", sup, nil, 404, ""},
			{"POST", "/api/v1/agent/agents", sup, map[string]string{"email": "n@example.com", "role": "admin"}, 400, "role"},
			{"POST", "/api/v1/agent/agents/agt_nope/disable", sup, nil, 404, ""},
		}
		n := len(in.Outbox(t))
		before := countCases(t, in)
		for _, c := range cases {
			r := in.Do(t, c.method, c.path, c.token, c.body)
			if r.Status != c.status {
				t.Errorf("%s %s %v: %d %s, want %d", c.method, c.path, c.body, r.Status, r.Body, c.status)
				continue
			}
			if c.field != "" && !strings.Contains(string(r.Body), `"field":"`+c.field+`"`) {
				t.Errorf("%s %s: %s does not name field %s", c.method, c.path, r.Body, c.field)
			}
		}
		if got := countCases(t, in); got != before {
			t.Errorf("bad input wrote cases: %d → %d", before, got)
		}
		if got := len(in.Outbox(t)); got != n {
			t.Errorf("bad input sent %d messages", got-n)
		}
		c, err := in.Support.CaseForAgent(context.Background(), supportAgentOf(t, in, "sup@example.com"), id)
		if err != nil || len(c.Messages) != 1 || len(c.Evidence) != 0 || len(c.Actions) != 0 {
			t.Errorf("bad input changed the case: %+v %v", c, err)
		}
	})
}

// Agent routes refuse seller sessions and seller routes refuse agent
// sessions: every documented route of each side, with the other side's
// token (a matrix like the business-route one).
func TestSupportSessionMatrix(t *testing.T) {
	t.Parallel()
	in := apptest.Start(t, "sqlite")
	in.SignUp(t, "matrix@example.com", pw, "Matrix Shop")
	seller := in.SignIn(t, "matrix@example.com", pw)
	agent := agentToken(t, in, addAgent(t, in, "matrix-agent@example.com", "supervisor"))
	d := loadOpenAPI(t)
	checked := 0
	for _, o := range d.ops {
		if oaIsPage(o) {
			continue
		}
		perm, _ := o.op["x-permission"].(string)
		gate := oaPermissions[perm]
		var wrong string
		switch {
		case gate.agent:
			wrong = seller
		case gate.credentials:
			wrong = agent
		default:
			continue
		}
		a := oaRequest(t, in, o, wrong)
		if a.Status != 401 || oaRefusal(o, a) != "anonymous" {
			t.Errorf("%s with the other side's session: %d %s", o, a.Status, a.Body)
		}
		checked++
	}
	if checked < 60 {
		t.Fatalf("only %d routes checked", checked)
	}
	// And the right side's session gets in.
	if r := in.Do(t, "GET", "/api/v1/agent/session", agent, nil); r.Status != 200 {
		t.Fatalf("agent: %d", r.Status)
	}
	if r := in.Do(t, "GET", "/api/v1/support/cases", seller, nil); r.Status != 200 {
		t.Fatalf("seller: %d", r.Status)
	}
}

// Agent sign-in needs the password and a TOTP code; a code works once;
// the session ends after 30 idle minutes, and at once when disabled.
func TestAgentSessions(t *testing.T) {
	t.Parallel()
	apptest.Dialects(t, func(t *testing.T, dialect string) {
		in := apptest.Start(t, dialect)
		sup := addAgent(t, in, "lead@example.com", "supervisor")
		a := addAgent(t, in, "worker@example.com", "agent")
		in.Clock.Advance(31 * time.Second)
		code := oathtool(t, a.secret, in.Clock.Now())
		if r := in.Do(t, "POST", "/api/v1/agent/sessions", "", map[string]string{"email": a.email, "password": "wrong password here!!", "code": code}); r.Status != 401 {
			t.Fatalf("wrong password: %d %s", r.Status, r.Body)
		}
		r := in.Do(t, "POST", "/api/v1/agent/sessions", "", map[string]string{"email": a.email, "password": agentPW, "code": code})
		if r.Status != 201 {
			t.Fatalf("sign in: %d %s", r.Status, r.Body)
		}
		token := r.JSON(t)["token"].(string)
		if r := in.Do(t, "POST", "/api/v1/agent/sessions", "", map[string]string{"email": a.email, "password": agentPW, "code": code}); r.Status != 401 {
			t.Fatalf("replayed code: %d %s", r.Status, r.Body)
		}
		// Not a supervisor: no agent management, no approvals.
		if r := in.Do(t, "GET", "/api/v1/agent/agents", token, nil); r.Status != 403 {
			t.Fatalf("agent lists agents: %d", r.Status)
		}
		in.Clock.Advance(29 * time.Minute)
		if r := in.Do(t, "GET", "/api/v1/agent/session", token, nil); r.Status != 200 {
			t.Fatalf("within idle time: %d", r.Status)
		}
		in.Clock.Advance(31 * time.Minute)
		if r := in.Do(t, "GET", "/api/v1/agent/session", token, nil); r.Status != 401 {
			t.Fatalf("after 31 idle minutes: %d", r.Status)
		}
		token = agentToken(t, in, a)
		st := agentToken(t, in, sup)
		if r := in.Do(t, "POST", "/api/v1/agent/agents/"+a.id+"/disable", st, nil); r.Status != 204 {
			t.Fatalf("disable: %d %s", r.Status, r.Body)
		}
		if r := in.Do(t, "GET", "/api/v1/agent/session", token, nil); r.Status != 401 {
			t.Fatalf("disabled agent's session: %d", r.Status)
		}
		// Eight hours at most, however busy.
		st = agentToken(t, in, sup)
		for range 17 {
			in.Clock.Advance(29 * time.Minute)
			in.Do(t, "GET", "/api/v1/agent/session", st, nil)
		}
		if r := in.Do(t, "GET", "/api/v1/agent/session", st, nil); r.Status != 401 {
			t.Fatalf("after 8 h: %d", r.Status)
		}
		// A supervisor adds an agent: the enrolment code is shown once.
		st = agentToken(t, in, sup)
		r = in.Do(t, "POST", "/api/v1/agent/agents", st, map[string]string{"email": "new@example.com", "role": "agent"})
		if r.Status != 201 || r.JSON(t)["enrolment_code"] == "" {
			t.Fatalf("add: %d %s", r.Status, r.Body)
		}
	})
}

func supportAgentOf(t *testing.T, in *apptest.Instance, email string) supportAgent {
	t.Helper()
	rec, err := in.DB.FindSupportAgentByEmail(context.Background(), email)
	if err != nil {
		t.Fatal(err)
	}
	return supportAgent{ID: rec.ID, Email: rec.Email, Role: rec.Role, Status: rec.Status}
}

// checkAuditChain verifies every hash chain.
func checkAuditChain(t *testing.T, in *apptest.Instance) {
	t.Helper()
	rep, err := audit.Verify(context.Background(), in.DB)
	if err != nil {
		t.Fatalf("audit verify: %v (%+v)", err, rep)
	}
}

// The case form and its emails speak the visitor's language: the form in
// Simplified Chinese for a Chinese browser, and the case reference to a
// contact without an account in the language the case was opened in.
func TestSupportInChinese(t *testing.T) {
	t.Parallel()
	in := apptest.Start(t, "sqlite")
	st, body := langPage(t, in, "/support/new", "", zh)
	if st != 200 || !strings.Contains(body, "联系卖家支持") || !strings.Contains(body, "我无法登录") {
		t.Fatalf("the case form in Chinese: %d %s", st, body)
	}
	n := len(in.Outbox(t))
	r := in.DoWith(t, "POST", "/api/v1/support/cases", "", zh, map[string]string{"kind": "other", "account_email": "nobody@example.com", "contact_email": "zh@example.net", "description": "你好"})
	if r.Status != 202 {
		t.Fatalf("open: %d %s", r.Status, r.Body)
	}
	mail := messagesTo(newMessages(t, in, n), "zh@example.net")
	if len(mail) != 1 || !strings.Contains(mail[0].Subject, "卖家支持") || !strings.Contains(mail[0].Body, "案例编号：SC-") {
		t.Fatalf("the reference email in Chinese: %+v", mail)
	}
}
