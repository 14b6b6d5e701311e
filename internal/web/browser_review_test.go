package web_test

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/sellerguard/sellerguard/internal/app/apptest"
)

// The access review end to end in real Chromium: the owner signs in with
// password and authenticator app (codes from oathtool), opens the team page,
// starts a review, sees the member who has not signed in for 90 days
// flagged, removes them and keeps the active one. The removed member can
// still sign in to their login, but the business is gone from it.
func TestBrowserAccessReviewRevokesStaleMember(t *testing.T) {
	in := apptest.Start(t, "sqlite")
	ctx := context.Background()
	owner, biz := newOwner(t, in, "owner@browser-review.example", "Lantern Supplies")
	stale := joinByInvitation(t, in, owner.token, biz, "stale@browser-review.example", map[string]string{"payments": "edit"})
	active := joinByInvitation(t, in, owner.token, biz, "active@browser-review.example", map[string]string{"listings": "edit"})

	in.Clock.Advance(91 * day)
	active.signInAgain(t, in)
	if r := in.Do(t, "POST", "/api/v1/businesses/"+biz+"/listings", active.token, map[string]any{"listings": []map[string]any{{"sku": "L-1", "title": "Brass lantern", "price_cents": 4500, "quantity": 2, "condition": "new"}}}); r.Status != 200 {
		t.Fatalf("active member edits listings: %d %s", r.Status, r.Body)
	}
	if err := in.Session.FlushLastSeen(ctx); err != nil {
		t.Fatal(err)
	}

	tb := newBrowserTab(t)
	steps := &totpSteps{}
	tb.navigate(in.URL + "/signin")
	browserSignIn(t, tb, owner.email, pw)
	wantTabLocation(t, tb, in, "/signin/second-step")
	tb.typeInto("code", steps.code(t, in, owner.secret))
	tb.click("second-step-submit")
	wantTabLocation(t, tb, in, "/account")

	tb.navigate(in.URL + "/account/team?business_id=" + url.QueryEscape(biz))
	if h := tb.text("main h1"); h != "Team of Lantern Supplies" {
		t.Fatalf("team page heading %q", h)
	}
	if rows := tabEval[int](tb, `document.querySelectorAll('#members tbody tr').length`); rows != 3 {
		t.Fatalf("members table has %d rows, want 3 (owner and two members)", rows)
	}
	tb.screenshot("review-1-team")
	tb.click("review-link")
	if s := tb.text("#review-status"); s != "No review yet." {
		t.Fatalf("review page before any review says %q", s)
	}
	tb.click("start-review")
	wantTabLocation(t, tb, in, "/account/team/review?business_id="+biz+"&done=started")
	flags := tb.text("#flags-" + stale.id)
	if !strings.Contains(flags, "no sign-in for 90 days") || !strings.Contains(flags, "edit rights unused for 90 days (Payments)") {
		t.Fatalf("stale member's flags read %q", flags)
	}
	if tabEval[bool](tb, `document.getElementById('flags-`+active.id+`') !== null`) {
		t.Fatalf("the active member is flagged: %q", tb.text("#flags-"+active.id))
	}
	// Flagged members come first.
	if first := tabEval[string](tb, `document.querySelector('.review-row').id`); first != "row-"+stale.id {
		t.Errorf("first row is %s, want the flagged member", first)
	}
	tb.screenshot("review-2-flagged")
	tb.do("choose remove and keep", chromedp.Click(chromedp.ID("revoke-"+stale.id)), chromedp.Click(chromedp.ID("keep-"+active.id)))
	tb.click("review-submit")
	wantTabLocation(t, tb, in, "/account/team/review?business_id="+biz+"&done=decided")
	if d := tb.text("#decided-" + stale.id); !strings.Contains(d, "removed") {
		t.Fatalf("decided row for the stale member: %q", d)
	}
	if s := tb.text("#review-status"); !strings.HasPrefix(s, "The last review was completed") {
		t.Fatalf("after every decision the page says %q", s)
	}
	tb.screenshot("review-3-done")

	// The business's data page, as the owner sees it: every area editable.
	tb.navigate(in.URL + "/account/business?business_id=" + url.QueryEscape(biz))
	for _, id := range []string{"deposit-form", "charge-form", "storefront-form", "listing-form"} {
		if !tabEval[bool](tb, `document.getElementById('`+id+`') !== null`) {
			t.Errorf("the owner's data page has no #%s", id)
		}
	}
	if rows := tabEval[int](tb, `document.querySelectorAll('#listings-table tbody tr').length`); rows != 1 {
		t.Errorf("listings table has %d rows, want the active member's one listing", rows)
	}
	wantTabStyled(t, tb)
	tb.screenshot("review-4-data")
	tb.noConsoleErrors()

	// The removed member signs in to their own login; the business is gone.
	stale.signInAgain(t, in)
	if ms := in.Do(t, "GET", "/api/v1/session", stale.token, nil).JSON(t)["memberships"].([]any); len(ms) != 0 {
		t.Fatalf("removed member still has businesses: %v", ms)
	}
	if r := in.Do(t, "GET", "/api/v1/businesses/"+biz+"/payments", stale.token, nil); r.Status != 404 {
		t.Fatalf("removed member reads payments: %d %s", r.Status, r.Body)
	}
	if r := in.Do(t, "GET", "/api/v1/businesses/"+biz+"/listings", active.token, nil); r.Status != 200 {
		t.Fatalf("kept member reads listings: %d", r.Status)
	}
}
