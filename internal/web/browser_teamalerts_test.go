package web_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/sellerguard/sellerguard/internal/app/apptest"
)

// Issue 18, item 5, in real Chromium: the owner's Remove button asks first
// (No, go back changes nothing; Yes removes), the removed member is told
// "You no longer have access to …"; a deposit account another member added
// is shown as an alarm with the owner's Cancel button, which cancels it;
// the owner's own new account is shown plainly.
func TestBrowserRemovalConfirmAndPendingDepositCancel(t *testing.T) {
	in := apptest.Start(t, "sqlite")
	owner, biz := newOwner(t, in, "owner@confirm.example", "Confirm Goods")
	payer := joinByInvitation(t, in, owner.token, biz, "payer@confirm.example", map[string]string{"payments": "edit"})
	bob := joinByInvitation(t, in, owner.token, biz, "bob@confirm.example", map[string]string{"listings": "view"})
	members := func() int {
		return len(in.Do(t, "GET", "/api/v1/businesses/"+biz+"/members", owner.token, nil).JSON(t)["members"].([]any))
	}

	tb := newBrowserTab(t)
	steps := &totpSteps{}
	tb.navigate(in.URL + "/signin")
	browserSignIn(t, tb, owner.email, pw)
	wantTabLocation(t, tb, in, "/signin/second-step")
	tb.typeInto("code", steps.code(t, in, owner.secret))
	tb.click("second-step-submit")
	wantTabLocation(t, tb, in, "/account")

	// Remove asks first; "No, go back" changes nothing.
	team := "/account/team?business_id=" + url.QueryEscape(biz)
	tb.navigate(in.URL + team)
	tb.click("remove-" + bob.id)
	if h := tb.text("main h1"); h != "Remove bob@confirm.example?" {
		t.Fatalf("after Remove the page says %q", h)
	}
	wantTabStyled(t, tb)
	tb.screenshot("confirm-1-remove")
	if n := members(); n != 3 {
		t.Fatalf("%d members after Remove without confirming, want 3", n)
	}
	tb.click("cancel-remove")
	wantTabLocation(t, tb, in, team)
	if !tabEval[bool](tb, `document.getElementById('member-`+bob.id+`') !== null`) {
		t.Fatal("bob is gone from the team page after No, go back")
	}
	// Yes removes.
	tb.click("remove-" + bob.id)
	tb.click("confirm-remove")
	wantTabLocation(t, tb, in, team+"&done=removed")
	if n := members(); n != 2 {
		t.Fatalf("%d members after confirming, want 2", n)
	}
	if tabEval[bool](tb, `document.getElementById('member-`+bob.id+`') !== null`) {
		t.Fatal("bob is still on the team page after confirming")
	}
	// Bob, signed in again, opens the business: told, not bounced.
	bob.signInAgain(t, in)
	for _, path := range []string{team, "/account/business?business_id=" + url.QueryEscape(biz)} {
		if pg := pageGet(t, in, path, bob.token); pg.StatusCode != 403 || !strings.Contains(pg.body, "You no longer have access to Confirm Goods.") {
			t.Fatalf("the removed member opens %s: %d %s", path, pg.StatusCode, pg.body)
		}
	}
	// Someone who never belonged finds no business, exactly as before.
	rival, _ := newOwner(t, in, "rival@confirm.example", "Rival Goods")
	if pg := pageGet(t, in, team, rival.token); pg.StatusCode != 404 || strings.Contains(pg.body, "Confirm Goods") {
		t.Fatalf("a stranger opens the team page: %d %s", pg.StatusCode, pg.body)
	}

	// A deposit account the payments editor added: an alarm to the owner,
	// with the owner's Cancel button.
	pay := "/api/v1/businesses/" + biz + "/payments"
	if r := in.Do(t, "PUT", pay+"/deposit-account", payer.token, map[string]string{"holder": "Mallory", "bank": "Elsewhere", "account_number": "DE89370400440532013000"}); r.Status != 201 {
		t.Fatalf("payer adds an account: %d %s", r.Status, r.Body)
	}
	data := "/account/business?business_id=" + url.QueryEscape(biz)
	tb.navigate(in.URL + data)
	if !tabEval[bool](tb, `!!document.querySelector('#pending-account strong.error')`) {
		t.Fatalf("another member's new account is not an alarm: %q", tb.text("#pending-account"))
	}
	tb.screenshot("confirm-2-pending")
	tb.click("cancel-deposit")
	wantTabLocation(t, tb, in, "/account/business?business_id="+biz+"&done=cancel_deposit")
	if tabEval[bool](tb, `document.getElementById('pending-account') !== null`) {
		t.Fatalf("the cancelled account is still pending: %q", tb.text("#pending-account"))
	}
	if n := tb.text("main .notice"); !strings.Contains(n, "was cancelled") {
		t.Fatalf("notice after cancelling: %q", n)
	}
	if m := in.Do(t, "GET", pay, owner.token, nil).JSON(t); m["pending_account"] != nil || m["payouts_account"] != nil {
		t.Fatalf("payments after cancelling: %v", m)
	}
	// The deposit form of a business without an account says it is the first.
	if h := tabEval[string](tb, `document.querySelector('#deposit-form .hint').textContent`); !strings.Contains(h, "first deposit account") {
		t.Fatalf("deposit hint without any account: %q", h)
	}

	// The owner's own new account is shown, plainly.
	if r := in.Do(t, "PUT", pay+"/deposit-account", owner.token, map[string]string{"holder": "Confirm Goods Ltd", "bank": "First Bank", "account_number": "GB29 NWBK 6016 1331 9268 19"}); r.Status != 201 {
		t.Fatalf("owner adds an account: %d %s", r.Status, r.Body)
	}
	tb.navigate(in.URL + data)
	if tabEval[bool](tb, `!!document.querySelector('#pending-account .error')`) || !strings.Contains(tb.text("#pending-account"), "you added it") {
		t.Fatalf("the owner's own account is styled as an alarm or not shown: %q", tb.text("#pending-account"))
	}
	wantTabStyled(t, tb)
	tb.screenshot("confirm-3-own")
	tb.noConsoleErrors()
}
