package web_test

import (
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sellerguard/sellerguard/internal/app/apptest"
)

// The team page does what the API does, by form: invite (no more than one
// holds), accept the invitation on the invitee's own page, remove, leave;
// a refusal shows the page again with the reason and changes nothing.
func TestTeamPageForms(t *testing.T) {
	t.Parallel()
	in := apptest.Start(t, "sqlite")
	owner, biz := newOwner(t, in, "owner@pages.example", "Page Goods")
	manager := joinByInvitation(t, in, owner.token, biz, "manager@pages.example", map[string]string{"user_permissions": "edit", "listings": "edit"})

	// The invitee signs up to join, and sees the invitation on the page.
	if r := in.Do(t, "POST", "/api/v1/signup", "", map[string]any{"email": "new@pages.example", "password": pw, "joining": true}); r.Status != 202 {
		t.Fatalf("sign-up: %d %s", r.Status, r.Body)
	}
	if r := in.Do(t, "POST", "/api/v1/signup/verify", "", map[string]string{"email": "new@pages.example", "code": in.LastCode(t, "new@pages.example")}); r.Status != 201 {
		t.Fatalf("verify: %d", r.Status)
	}
	newcomer := &person{email: "new@pages.example", token: in.SignIn(t, "new@pages.example", pw)}
	if pg := pageGet(t, in, "/account/team", newcomer.token); pg.StatusCode != 200 || !strings.Contains(pg.body, `id="no-business"`) {
		t.Fatalf("team page of someone with no business: %d", pg.StatusCode)
	}

	form := func(vals ...string) url.Values {
		v := url.Values{"business_id": {biz}}
		for i := 0; i+1 < len(vals); i += 2 {
			v.Set(vals[i], vals[i+1])
		}
		return v
	}
	// A manager cannot grant payments (they have none): the page says why.
	pg := pageRequest(t, in, "POST", "/account/team", manager.token, form("action", "invite", "email", "new@pages.example", "perm:payments", "view"))
	if pg.StatusCode != 400 || !strings.Contains(pg.body, "You cannot give more access than you have.") {
		t.Fatalf("manager inviting with payments: %d %s", pg.StatusCode, pg.body)
	}
	if r := in.Do(t, "GET", "/api/v1/invitations", newcomer.token, nil); strings.Contains(string(r.Body), "Page Goods") {
		t.Fatalf("a refused invitation was sent: %s", r.Body)
	}
	pg = pageRequest(t, in, "POST", "/account/team", manager.token, form("action", "invite", "email", "new@pages.example", "perm:listings", "view"))
	if pg.StatusCode != 303 || pg.Header.Get("Location") != "/account/team?business_id="+biz+"&done=invited" {
		t.Fatalf("invite: %d %s", pg.StatusCode, pg.Header.Get("Location"))
	}
	pg = pageGet(t, in, "/account/team", newcomer.token)
	if !strings.Contains(pg.body, "Page Goods") || !strings.Contains(pg.body, "Listings: view.") {
		t.Fatalf("the invitation is not on the invitee's page")
	}
	list := in.Do(t, "GET", "/api/v1/invitations", newcomer.token, nil).JSON(t)["invitations"].([]any)
	inv := list[0].(map[string]any)["id"].(string)
	in.EnrollTOTP(t, newcomer.token) // the business requires two-step
	pg = pageRequest(t, in, "POST", "/account/team", newcomer.token, url.Values{"action": {"accept"}, "invitation_id": {inv}})
	if pg.StatusCode != 303 || pg.Header.Get("Location") != "/account/team?business_id="+biz+"&done=accepted" {
		t.Fatalf("accept: %d %s", pg.StatusCode, pg.Header.Get("Location"))
	}
	// A listings viewer sees their own access and a button to leave, not the members.
	pg = pageGet(t, in, "/account/team?business_id="+biz, newcomer.token)
	if !strings.Contains(pg.body, `id="your-access"`) || strings.Contains(pg.body, `id="members"`) {
		t.Fatalf("a member without user access sees: %s", pg.body)
	}
	newcomer.id = in.Do(t, "GET", "/api/v1/session", newcomer.token, nil).JSON(t)["user"].(map[string]any)["id"].(string)

	// The owner changes the newcomer's access from the page: listings view → edit.
	pg = pageGet(t, in, "/account/team?business_id="+biz+"&member="+newcomer.id, owner.token)
	if !strings.Contains(pg.body, `id="change-form"`) || !strings.Contains(pg.body, `id="offer-ownership"`) {
		t.Fatalf("the owner's change form for a member is missing")
	}
	pg = pageRequest(t, in, "POST", "/account/team", owner.token, form("action", "update", "user_id", newcomer.id, "perm:listings", "edit"))
	if pg.StatusCode != 303 || pg.Header.Get("Location") != "/account/team?business_id="+biz+"&done=updated" {
		t.Fatalf("update: %d %s %s", pg.StatusCode, pg.Header.Get("Location"), pg.body)
	}
	if r := in.Do(t, "POST", "/api/v1/businesses/"+biz+"/listings", newcomer.token, map[string]any{"listings": []map[string]any{{"sku": "P-1", "title": "Pot", "price_cents": 100, "quantity": 1, "condition": "new"}}}); r.Status != 200 {
		t.Fatalf("newcomer edits listings after the change: %d %s", r.Status, r.Body)
	}
	// A manager's change form never offers ownership, and cannot change the owner.
	if pg := pageGet(t, in, "/account/team?business_id="+biz+"&member="+newcomer.id, manager.token); strings.Contains(pg.body, `id="offer-ownership"`) {
		t.Fatalf("a manager is offered to hand over ownership")
	}
	if pg := pageRequest(t, in, "POST", "/account/team", manager.token, form("action", "update", "user_id", owner.id, "perm:listings", "view")); pg.StatusCode != 403 || !strings.Contains(pg.body, "The owner&#39;s access cannot be changed.") {
		t.Fatalf("manager changes the owner: %d %s", pg.StatusCode, pg.body)
	}

	// The manager may not remove the owner; the owner's page still lists them.
	pg = pageRequest(t, in, "POST", "/account/team", manager.token, form("action", "remove", "user_id", owner.id))
	if pg.StatusCode != 403 || !strings.Contains(pg.body, "The owner cannot be removed.") {
		t.Fatalf("manager removing the owner: %d", pg.StatusCode)
	}
	// The member leaves by themselves and is signed out (their only business).
	// Leaving asks first: the Leave button alone changes nothing.
	pg = pageRequest(t, in, "POST", "/account/team", newcomer.token, form("action", "remove", "user_id", newcomer.id))
	if pg.StatusCode != 200 || !strings.Contains(pg.body, `id="confirm-remove"`) || !strings.Contains(pg.body, "Leave Page Goods?") {
		t.Fatalf("leave without confirming: %d %s", pg.StatusCode, pg.body)
	}
	if r := in.Do(t, "GET", "/api/v1/session", newcomer.token, nil); r.Status != 200 || len(r.JSON(t)["memberships"].([]any)) != 1 {
		t.Fatalf("the member left before confirming: %d %s", r.Status, r.Body)
	}
	pg = pageRequest(t, in, "POST", "/account/team", newcomer.token, form("action", "remove", "user_id", newcomer.id, "confirm", "yes"))
	if pg.StatusCode != 303 || pg.Header.Get("Location") != "/account/team?done=left" {
		t.Fatalf("leave: %d %s", pg.StatusCode, pg.Header.Get("Location"))
	}
	if r := in.Do(t, "GET", "/api/v1/session", newcomer.token, nil); r.Status != 401 {
		t.Fatalf("a member who left their only business is still signed in: %d", r.Status)
	}
	// The owner removes the manager from the page, after confirming.
	pg = pageRequest(t, in, "POST", "/account/team", owner.token, form("action", "remove", "user_id", manager.id))
	if pg.StatusCode != 200 || !strings.Contains(pg.body, `id="confirm-remove"`) || !strings.Contains(pg.body, "Remove "+manager.email+"?") {
		t.Fatalf("remove without confirming: %d %s", pg.StatusCode, pg.body)
	}
	pg = pageRequest(t, in, "POST", "/account/team", owner.token, form("action", "remove", "user_id", manager.id, "confirm", "yes"))
	if pg.StatusCode != 303 || pg.Header.Get("Location") != "/account/team?business_id="+biz+"&done=removed" {
		t.Fatalf("owner removes the manager: %d %s", pg.StatusCode, pg.Header.Get("Location"))
	}
	if r := in.Do(t, "GET", "/api/v1/businesses/"+biz+"/members", manager.token, nil); r.Status != 401 && r.Status != 404 {
		t.Fatalf("removed manager lists members: %d", r.Status)
	}
	// The removed manager is told. The member who left by themselves was
	// told once, of the owner's change of their access, not of leaving.
	if !slices.Contains(subjectsTo(t, in, manager.email), "Your access to Page Goods changed") {
		t.Fatalf("the removed manager was not told: %v", subjectsTo(t, in, manager.email))
	}
	told := 0
	for _, s := range subjectsTo(t, in, newcomer.email) {
		if s == "Your access to Page Goods changed" {
			told++
		}
	}
	if told != 1 {
		t.Fatalf("the newcomer was told %d times of access changes, want 1 (the owner's change only)", told)
	}
	if pg := pageRequest(t, in, "POST", "/account/team", owner.token, form("action", "bogus")); pg.StatusCode != 400 {
		t.Fatalf("unknown action: %d", pg.StatusCode)
	}
}

// The review page: a view-only member reads it without decision buttons;
// an owner whose sign-in is old is asked to confirm first, and deciding
// then sends them to re-authenticate; the owner alone saves the rules.
func TestReviewPageForms(t *testing.T) {
	t.Parallel()
	in := apptest.Start(t, "sqlite", apptest.Env("SELLERGUARD_REAUTH_WINDOW", "5m"))
	owner, biz := newOwner(t, in, "owner@rpage.example", "Review Page Goods")
	viewer := joinByInvitation(t, in, owner.token, biz, "viewer@rpage.example", map[string]string{"user_permissions": "view"})
	member := joinByInvitation(t, in, owner.token, biz, "member@rpage.example", map[string]string{"listings": "view"})
	if r := in.Do(t, "POST", "/api/v1/businesses/"+biz+"/access-reviews", owner.token, nil); r.Status != 201 {
		t.Fatalf("start: %d", r.Status)
	}
	pg := pageGet(t, in, "/account/team/review?business_id="+biz, viewer.token)
	if pg.StatusCode != 200 || !strings.Contains(pg.body, member.email) || strings.Contains(pg.body, `id="review-submit"`) || strings.Contains(pg.body, `id="review-settings"`) {
		t.Fatalf("viewer's review page: %d", pg.StatusCode)
	}
	if pg := pageGet(t, in, "/account/team/review?business_id="+biz, member.token); pg.StatusCode != 403 {
		t.Fatalf("a listings-only member opens the review: %d", pg.StatusCode)
	}
	in.Clock.Advance(6 * time.Minute)
	pg = pageGet(t, in, "/account/team/review?business_id="+biz, owner.token)
	if !strings.Contains(pg.body, `id="reauth-first"`) {
		t.Fatalf("an owner with an old sign-in is not asked to confirm first")
	}
	list := in.Do(t, "GET", "/api/v1/businesses/"+biz+"/access-reviews", owner.token, nil).JSON(t)["reviews"].([]any)
	rid := list[0].(map[string]any)["id"].(string)
	decide := url.Values{"business_id": {biz}, "action": {"decide"}, "review_id": {rid}, "member": {member.id}, "decision:" + member.id: {"revoke"}}
	pg = pageRequest(t, in, "POST", "/account/team/review", owner.token, decide)
	if pg.StatusCode != 303 || pg.Header.Get("Location") != "/account/reauth?next=%2Faccount%2Fteam%2Freview" {
		t.Fatalf("stale decide: %d %s", pg.StatusCode, pg.Header.Get("Location"))
	}
	owner.signInAgain(t, in)
	// Nothing chosen: the page says so.
	pg = pageRequest(t, in, "POST", "/account/team/review", owner.token, url.Values{"business_id": {biz}, "action": {"decide"}, "review_id": {rid}, "member": {member.id}})
	if pg.StatusCode != 400 || !strings.Contains(pg.body, "Choose keep, reduce or remove for at least one member.") {
		t.Fatalf("empty decisions: %d", pg.StatusCode)
	}
	// A reduction through the page: listings view → none everywhere.
	reduce := url.Values{"business_id": {biz}, "action": {"decide"}, "review_id": {rid}, "member": {member.id, viewer.id},
		"decision:" + member.id: {"reduce"}, "perm:" + member.id + ":listings": {"none"}}
	pg = pageRequest(t, in, "POST", "/account/team/review", owner.token, reduce)
	if pg.StatusCode != 303 || pg.Header.Get("Location") != "/account/team/review?business_id="+biz+"&done=decided" {
		t.Fatalf("reduce: %d %s %s", pg.StatusCode, pg.Header.Get("Location"), pg.body)
	}
	member.signInAgain(t, in)
	if r := in.Do(t, "GET", "/api/v1/businesses/"+biz+"/listings", member.token, nil); r.Status != 403 {
		t.Fatalf("reduced member reads listings: %d", r.Status)
	}
	// Rules: out of range is refused with the reason; the viewer cannot save.
	bad := url.Values{"business_id": {biz}, "action": {"settings"}, "interval_days": {"12"}, "suspend_after_days": {"0"}}
	if pg := pageRequest(t, in, "POST", "/account/team/review", owner.token, bad); pg.StatusCode != 400 || !strings.Contains(pg.body, "Review every 30 to 365 days.") {
		t.Fatalf("bad rules: %d", pg.StatusCode)
	}
	bad.Set("interval_days", "abc")
	if pg := pageRequest(t, in, "POST", "/account/team/review", owner.token, bad); pg.StatusCode != 400 {
		t.Fatalf("non-numeric rules: %d", pg.StatusCode)
	}
	good := url.Values{"business_id": {biz}, "action": {"settings"}, "interval_days": {"45"}, "suspend_after_days": {"10"}}
	if pg := pageRequest(t, in, "POST", "/account/team/review", viewer.token, good); pg.StatusCode != 403 || !strings.Contains(pg.body, "You need edit access to user permissions") {
		t.Fatalf("viewer saves rules: %d", pg.StatusCode)
	}
	if pg := pageRequest(t, in, "POST", "/account/team/review", owner.token, good); pg.StatusCode != 303 {
		t.Fatalf("owner saves rules: %d %s", pg.StatusCode, pg.body)
	}
	if r := in.Do(t, "GET", "/api/v1/businesses/"+biz+"/access-review-settings", owner.token, nil).JSON(t); r["interval_days"].(float64) != 45 || r["suspend_after_days"].(float64) != 10 {
		t.Fatalf("rules after save: %v", r)
	}
}

// Ownership changes hands from the team page: the owner offers, the member
// sees the offer on their own page and accepts it.
func TestTeamPageOwnershipOffer(t *testing.T) {
	t.Parallel()
	in := apptest.Start(t, "sqlite")
	owner, biz := newOwner(t, in, "owner@hand.example", "Hand Goods")
	heir := joinByInvitation(t, in, owner.token, biz, "heir@hand.example", map[string]string{"listings": "view"})
	v := url.Values{"business_id": {biz}, "action": {"offer_ownership"}, "user_id": {heir.id}}
	if pg := pageRequest(t, in, "POST", "/account/team", owner.token, v); pg.StatusCode != 303 || pg.Header.Get("Location") != "/account/team?business_id="+biz+"&done=offered" {
		t.Fatalf("offer: %d %s", pg.StatusCode, pg.body)
	}
	if pg := pageGet(t, in, "/account/team?business_id="+biz, heir.token); !strings.Contains(pg.body, `id="ownership-offer"`) {
		t.Fatalf("the heir does not see the offer")
	}
	if pg := pageGet(t, in, "/account/team?business_id="+biz, owner.token); strings.Contains(pg.body, `id="ownership-offer"`) {
		t.Fatalf("the owner is shown the offer as if it were theirs")
	}
	accept := url.Values{"business_id": {biz}, "action": {"accept_ownership"}}
	if pg := pageRequest(t, in, "POST", "/account/team", heir.token, accept); pg.StatusCode != 303 || pg.Header.Get("Location") != "/account/team?business_id="+biz+"&done=owner" {
		t.Fatalf("accept: %d %s", pg.StatusCode, pg.body)
	}
	ms := in.Do(t, "GET", "/api/v1/session", heir.token, nil).JSON(t)["memberships"].([]any)
	if len(ms) != 1 || ms[0].(map[string]any)["role"] != "owner" {
		t.Fatalf("heir's memberships after accepting: %v", ms)
	}
}

// A form naming a business the user does not belong to acts on none of
// their businesses (never falls back to their own).
func TestPageFormsNeverFallBackToAnotherBusiness(t *testing.T) {
	t.Parallel()
	in := apptest.Start(t, "sqlite")
	owner, biz := newOwner(t, in, "owner@fallback.example", "Fallback Goods")
	_, other := newOwner(t, in, "rival@fallback.example", "Rival Goods")
	for _, c := range []struct{ path, action string }{{"/account/team", "invite"}, {"/account/business", "storefront"}, {"/account/team/review", "start"}} {
		v := url.Values{"business_id": {other}, "action": {c.action}, "email": {"x@fallback.example"}, "display_name": {"Hijack"}}
		if pg := pageRequest(t, in, "POST", c.path, owner.token, v); pg.StatusCode != 404 {
			t.Errorf("%s %s for another business: %d", c.path, c.action, pg.StatusCode)
		}
	}
	if r := in.Do(t, "GET", "/api/v1/businesses/"+biz+"/invitations", owner.token, nil); strings.Contains(string(r.Body), "x@fallback.example") {
		t.Fatalf("the invitation went to the owner's own business")
	}
	if r := in.Do(t, "GET", "/api/v1/businesses/"+biz+"/storefront", owner.token, nil); strings.Contains(string(r.Body), "Hijack") {
		t.Fatalf("the storefront of the owner's own business changed")
	}
}
