package web_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sellerguard/sellerguard/internal/app/apptest"
)

// A seller who lost password and phone in Chromium: from the sign-in page's
// "Can't sign in?" to the case form, signed out; then agents in the console:
// an agent signs in with password and authenticator code, finds the case in
// the queue, takes it, answers, has SellerGuard send a check code and records
// it and the deposit digits (seeing only "matches"), asks for the removal of
// the lost authenticator; a supervisor signs in and approves it.
func TestBrowserSupportCaseAndConsole(t *testing.T) {
	in := apptest.Start(t, "sqlite")
	owner := newRecoveryOwner(t, in, "lost@example.com")
	agent := addAgent(t, in, "agent@example.com", "agent")
	lead := addAgent(t, in, "lead@example.com", "supervisor")

	tb := newBrowserTab(t)
	tb.navigate(in.URL + "/signin")
	tb.navigate(in.URL + "/signin/help")
	tb.click("help-case-link")
	wantTabLocation(t, tb, in, "/support/new?kind=cannot_sign_in")
	if v := tb.value("kind"); v != "cannot_sign_in" {
		t.Errorf("kind preselected = %q", v)
	}
	tb.typeInto("account_email", owner.email)
	tb.typeInto("contact_email", owner.email)
	tb.typeInto("description", "I lost my phone and forgot my password.")
	if resp := tb.click("case-submit"); resp.Status != 202 {
		t.Fatalf("case form: %d", resp.Status)
	}
	if got := tb.text("#case-notice"); !strings.Contains(got, "case reference is on its way") {
		t.Errorf("notice = %q", got)
	}
	wantTabStyled(t, tb)
	tb.screenshot("support-case-sent")

	signInAgent := func(a testAgent) {
		t.Helper()
		in.Clock.Advance(31 * time.Second)
		tb.navigate(in.URL + "/agent/signin")
		tb.typeInto("email", a.email)
		tb.typeInto("password", agentPW)
		tb.typeInto("code", oathtool(t, a.secret, in.Clock.Now()))
		tb.click("agent-signin-submit")
		wantTabLocation(t, tb, in, "/agent")
	}
	signInAgent(agent)
	if got := tb.text("#queue"); !strings.Contains(got, owner.email) || !strings.Contains(got, "cannot_sign_in") {
		t.Fatalf("queue = %q", got)
	}
	tb.do("open the case", chromedp.Click(chromedp.CSS("#queue a")), chromedp.WaitVisible(chromedp.ID("assign-me")))
	tb.click("assign-me")
	if got := tb.text("#case-assigned"); got != agent.id {
		t.Errorf("assigned = %q", got)
	}
	tb.typeInto("body", "Please read out the code SellerGuard just sent to your email.")
	tb.click("message-submit")
	tb.click("check-send")
	code := in.LastCode(t, owner.email)
	tb.typeInto("ev-value", code)
	tb.click("evidence-submit")
	if got := tb.text("#agent-notice"); got != "email_code: matches." {
		t.Errorf("email code check = %q", got)
	}
	tabEval[string](tb, `document.getElementById("ev-kind").value = "deposit_last4"`)
	tb.typeInto("ev-value", owner.last4)
	tb.click("evidence-submit")
	if got := tb.text("#evidence"); strings.Count(got, "matches") != 2 {
		t.Errorf("evidence = %q", got)
	}
	if page := tb.text("main"); strings.Contains(page, code) || strings.Contains(page, owner.secret) {
		t.Fatal("the console shows a secret")
	}
	tabEval[string](tb, `document.getElementById("act-kind").value = "remove_second_step"`)
	tabEval[string](tb, `document.getElementById("act-method").value = "`+owner.methodID+`"`)
	tb.click("action-submit")
	if got := tb.text("#actions"); !strings.Contains(got, "pending_approval") {
		t.Fatalf("actions = %q", got)
	}
	caseURL := strings.TrimSuffix(tb.location(), "/actions") // the form posted to the case's actions
	tb.click("agent-signout")

	signInAgent(lead)
	tb.navigate(caseURL)
	resp, err := chromedp.RunResponse(tb.ctx, chromedp.Click(chromedp.CSS("#actions .approve")))
	if err != nil || resp.Status != 200 {
		t.Fatalf("approve: %v %v", resp, err)
	}
	if got := tb.text("#actions"); !strings.Contains(got, "waiting") {
		t.Errorf("after approval = %q", got)
	}
	tb.screenshot("support-console-approved")
	tb.noConsoleErrors()

	// The waiting period ends; the method is gone, and the audit chain holds.
	in.Clock.Advance(73 * time.Hour)
	if n, err := in.Support.RunDue(context.Background()); err != nil || n != 1 {
		t.Fatalf("run due: %d %v", n, err)
	}
	checkAuditChain(t, in)
}
