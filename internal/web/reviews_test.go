package web_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sellerguard/sellerguard/internal/app/apptest"
)

const day = 24 * time.Hour

// person is someone with a login: their user id, current token and
// authenticator secret.
type person struct {
	email, id, token, secret string
}

// signInAgain signs the person in with password and authenticator app.
func (p *person) signInAgain(t *testing.T, in *apptest.Instance) {
	t.Helper()
	p.token = in.SecondStep(t, in.SignIn(t, p.email, pw), p.secret)
}

// joinByInvitation invites email to biz with perms, signs the person up
// without a business of their own, enrols two-step and accepts.
func joinByInvitation(t *testing.T, in *apptest.Instance, ownerTok, biz, email string, perms map[string]string) *person {
	t.Helper()
	p, invID := invitedPerson(t, in, ownerTok, biz, email, perms)
	if r := in.Do(t, "POST", "/api/v1/invitations/"+invID+"/accept", p.token, nil); r.Status != 200 {
		t.Fatalf("accept: %d %s", r.Status, r.Body)
	}
	return p
}

// invitedPerson is joinByInvitation up to the decision: the person sees
// the one invitation, whose id it returns.
func invitedPerson(t *testing.T, in *apptest.Instance, ownerTok, biz, email string, perms map[string]string) (*person, string) {
	t.Helper()
	if r := in.Do(t, "POST", "/api/v1/businesses/"+biz+"/invitations", ownerTok, map[string]any{"email": email, "permissions": perms}); r.Status != 201 {
		t.Fatalf("invite %s: %d %s", email, r.Status, r.Body)
	}
	if r := in.Do(t, "POST", "/api/v1/signup", "", map[string]any{"email": email, "password": pw, "joining": true}); r.Status != 202 {
		t.Fatalf("sign-up to join: %d %s", r.Status, r.Body)
	}
	r := in.Do(t, "POST", "/api/v1/signup/verify", "", map[string]string{"email": email, "code": in.LastCode(t, email)})
	if r.Status != 201 || r.JSON(t)["business_id"] != nil {
		t.Fatalf("verify: %d %s (want no business of their own)", r.Status, r.Body)
	}
	p := &person{email: email, id: r.JSON(t)["user_id"].(string)}
	p.token = in.SignIn(t, email, pw)
	p.secret = in.EnrollTOTP(t, p.token)
	list := in.Do(t, "GET", "/api/v1/invitations", p.token, nil).JSON(t)["invitations"].([]any)
	if len(list) != 1 {
		t.Fatalf("%s sees %d invitations", email, len(list))
	}
	return p, list[0].(map[string]any)["id"].(string)
}

func newOwner(t *testing.T, in *apptest.Instance, email, business string) (*person, string) {
	t.Helper()
	uid, biz := in.SignUp(t, email, pw, business)
	p := &person{email: email, id: uid, token: in.SignIn(t, email, pw)}
	p.secret = in.EnrollTOTP(t, p.token)
	return p, biz
}

func reviewMember(t *testing.T, review map[string]any, email string) map[string]any {
	t.Helper()
	for _, m := range review["members"].([]any) {
		if mm := m.(map[string]any); mm["email"] == email {
			return mm
		}
	}
	t.Fatalf("%s is not in the review: %v", email, review)
	return nil
}

func flagsOf(m map[string]any) []string {
	var out []string
	for _, f := range m["flags"].([]any) {
		out = append(out, f.(string))
	}
	return out
}

func subjectsTo(t *testing.T, in *apptest.Instance, to string) []string {
	var out []string
	for _, m := range in.Outbox(t) {
		if strings.EqualFold(m.To, to) {
			out = append(out, m.Subject)
		}
	}
	return out
}

// An access review lists each member with permissions, two-step status,
// last sign-in and last use per area; it flags members idle for 90 days
// and edit rights unused for 90 days; keep/reduce/revoke apply all or
// none, are audited, and a revoked member loses the business at once.
func TestAccessReviewFlagsDecidesAndRevokes(t *testing.T) {
	t.Parallel()
	apptest.Dialects(t, func(t *testing.T, dialect string) {
		in := apptest.Start(t, dialect)
		ctx := context.Background()
		owner, biz := newOwner(t, in, "owner@review.example", "Review Goods")
		active := joinByInvitation(t, in, owner.token, biz, "active@review.example", map[string]string{"listings": "edit"})
		stale := joinByInvitation(t, in, owner.token, biz, "stale@review.example", map[string]string{"payments": "edit", "listings": "view"})
		viewer := joinByInvitation(t, in, owner.token, biz, "viewer@review.example", map[string]string{"storefront": "view", "listings": "view"})

		listings := "/api/v1/businesses/" + biz + "/listings"
		in.Clock.Advance(91 * day)
		active.signInAgain(t, in)
		if r := in.Do(t, "POST", listings, active.token, map[string]any{"listings": []map[string]any{{"sku": "A-1", "title": "Lamp", "price_cents": 1200, "quantity": 3, "condition": "new"}}}); r.Status != 200 {
			t.Fatalf("active member edits listings: %d %s", r.Status, r.Body)
		}
		if err := in.Session.FlushLastSeen(ctx); err != nil {
			t.Fatal(err)
		}
		owner.signInAgain(t, in)

		reviews := "/api/v1/businesses/" + biz + "/access-reviews"
		r := in.Do(t, "POST", reviews, owner.token, nil)
		if r.Status != 201 {
			t.Fatalf("start review: %d %s", r.Status, r.Body)
		}
		review := r.JSON(t)["review"].(map[string]any)
		id := review["id"].(string)
		if again := in.Do(t, "POST", reviews, owner.token, nil); again.Status != 200 || again.JSON(t)["review"].(map[string]any)["id"] != id {
			t.Fatalf("a second start returns the open review: %d %s", again.Status, again.Body)
		}
		if n := len(review["members"].([]any)); n != 3 || review["open"].(float64) != 3 {
			t.Fatalf("review lists %d members, %v open; want 3 and 3", n, review["open"])
		}
		am := reviewMember(t, review, active.email)
		if f := flagsOf(am); len(f) != 0 || am["two_step"] != true || am["last_sign_in_at"] == nil {
			t.Fatalf("active member: flags %v, two-step %v, last sign-in %v", f, am["two_step"], am["last_sign_in_at"])
		}
		if l := am["areas"].(map[string]any)["listings"].(map[string]any); l["level"] != "edit" || l["last_edited_at"] == nil {
			t.Fatalf("active member's listings use: %v", l)
		}
		sm := reviewMember(t, review, stale.email)
		if f := flagsOf(sm); !slices.Equal(f, []string{"no_sign_in_90d", "edit_unused_90d"}) || len(sm["unused_edit_areas"].([]any)) != 1 || sm["unused_edit_areas"].([]any)[0] != "payments" {
			t.Fatalf("stale member: flags %v, unused %v", f, sm["unused_edit_areas"])
		}
		if f := flagsOf(reviewMember(t, review, viewer.email)); !slices.Equal(f, []string{"no_sign_in_90d"}) {
			t.Fatalf("viewer: flags %v", f)
		}

		// A manager cannot review; a listings-only member cannot even read it.
		if r := in.Do(t, "GET", reviews+"/"+id, active.token, nil); r.Status != 403 {
			t.Fatalf("listings member reads the review: %d", r.Status)
		}

		// All or none: one bad decision and nothing changes.
		decide := reviews + "/" + id + "/decisions"
		bad := in.Do(t, "POST", decide, owner.token, map[string]any{"decisions": []map[string]any{
			{"user_id": stale.id, "action": "revoke"},
			{"user_id": viewer.id, "action": "reduce", "permissions": map[string]string{"storefront": "edit"}},
		}})
		if bad.Status != 400 || !strings.Contains(string(bad.Body), "not_a_reduction") {
			t.Fatalf("bad batch: %d %s", bad.Status, bad.Body)
		}
		if r := in.Do(t, "GET", "/api/v1/businesses/"+biz+"/members", owner.token, nil); strings.Count(string(r.Body), `"user_id"`) != 4 {
			t.Fatalf("a refused batch removed someone: %s", r.Body)
		}

		good := in.Do(t, "POST", decide, owner.token, map[string]any{"decisions": []map[string]any{
			{"user_id": active.id, "action": "keep"},
			{"user_id": stale.id, "action": "revoke"},
			{"user_id": viewer.id, "action": "reduce", "permissions": map[string]string{"listings": "view"}},
		}})
		if good.Status != 200 {
			t.Fatalf("decide: %d %s", good.Status, good.Body)
		}
		done := good.JSON(t)["review"].(map[string]any)
		if done["status"] != "completed" || done["open"].(float64) != 0 || done["completed_at"] == nil {
			t.Fatalf("review after every decision: %v", done)
		}
		if again := in.Do(t, "POST", decide, owner.token, map[string]any{"decisions": []map[string]any{{"user_id": active.id, "action": "keep"}}}); again.Status != 409 {
			t.Fatalf("deciding a completed review: %d %s", again.Status, again.Body)
		}

		// The revoked member was signed out (their only business) and cannot
		// reach the business again; the reduced member lost storefront.
		if r := in.Do(t, "GET", "/api/v1/session", stale.token, nil); r.Status != 401 {
			t.Fatalf("revoked member's session: %d", r.Status)
		}
		stale.signInAgain(t, in)
		if r := in.Do(t, "GET", listings, stale.token, nil); r.Status != 404 {
			t.Fatalf("revoked member reads listings: %d %s", r.Status, r.Body)
		}
		viewer.signInAgain(t, in)
		if r := in.Do(t, "GET", "/api/v1/businesses/"+biz+"/storefront", viewer.token, nil); r.Status != 403 {
			t.Fatalf("reduced member reads the storefront: %d", r.Status)
		}
		if r := in.Do(t, "GET", listings, viewer.token, nil); r.Status != 200 {
			t.Fatalf("reduced member reads listings: %d", r.Status)
		}

		// Audited, and the owner was told.
		a := string(in.Do(t, "GET", "/api/v1/audit?business_id="+biz, owner.token, nil).Body)
		for _, want := range []string{"business.access_review_started", "business.access_review_decision", "business.access_review_completed"} {
			if !strings.Contains(a, want) {
				t.Errorf("audit log lacks %s", want)
			}
		}
		if !slices.ContainsFunc(subjectsTo(t, in, owner.email), func(s string) bool { return strings.HasPrefix(s, "Access to Review Goods was reviewed") }) {
			t.Errorf("the owner was not told of the review: %v", subjectsTo(t, in, owner.email))
		}
		// The removed and the reduced member are told themselves; the kept one is not.
		for _, p := range []*person{stale, viewer} {
			if !slices.Contains(subjectsTo(t, in, p.email), "Your access to Review Goods changed") {
				t.Errorf("%s was not told their access changed: %v", p.email, subjectsTo(t, in, p.email))
			}
		}
		if slices.Contains(subjectsTo(t, in, active.email), "Your access to Review Goods changed") {
			t.Errorf("the kept member was told their access changed")
		}
	})
}

// Reviews open by themselves when due, remind the owner while open, and a
// business that chose so suspends members left unreviewed; keeping a
// suspended member gives their access back.
func TestAccessReviewScheduleRemindersAndSuspension(t *testing.T) {
	t.Parallel()
	in := apptest.Start(t, "sqlite")
	ctx := context.Background()
	owner, biz := newOwner(t, in, "owner@sched.example", "Schedule Goods")
	member := joinByInvitation(t, in, owner.token, biz, "member@sched.example", map[string]string{"listings": "view"})
	settings := "/api/v1/businesses/" + biz + "/access-review-settings"
	if r := in.Do(t, "GET", settings, owner.token, nil); r.Status != 200 || r.JSON(t)["interval_days"].(float64) != 90 || r.JSON(t)["suspend_after_days"].(float64) != 0 {
		t.Fatalf("default settings: %d %s", r.Status, r.Body)
	}
	if r := in.Do(t, "PUT", settings, owner.token, map[string]any{"interval_days": 10, "suspend_after_days": 14}); r.Status != 400 || !strings.Contains(string(r.Body), "out_of_range") {
		t.Fatalf("10-day interval: %d %s", r.Status, r.Body)
	}
	if r := in.Do(t, "PUT", settings, member.token, map[string]any{"interval_days": 30, "suspend_after_days": 0}); r.Status != 403 {
		t.Fatalf("member sets review rules: %d", r.Status)
	}
	if r := in.Do(t, "PUT", settings, owner.token, map[string]any{"interval_days": 60, "suspend_after_days": 14}); r.Status != 200 {
		t.Fatalf("settings: %d %s", r.Status, r.Body)
	}
	if !slices.Contains(subjectsTo(t, in, owner.email), "Access review rules changed") {
		t.Fatalf("the change of review rules was not told: %v", subjectsTo(t, in, owner.email))
	}
	if a := string(in.Do(t, "GET", "/api/v1/audit?business_id="+biz, owner.token, nil).Body); !strings.Contains(a, "business.review_settings_changed") {
		t.Fatalf("the change of review rules is not audited")
	}

	run := func() (opened, reminded, suspended int) {
		t.Helper()
		r, err := in.Team.RunAccessReviews(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return r.Opened, r.Reminded, r.Suspended
	}
	if o, _, _ := run(); o != 0 {
		t.Fatalf("a review opened before it was due")
	}
	in.Clock.Advance(61 * day)
	if o, _, _ := run(); o != 1 {
		t.Fatalf("no review opened after 61 days of a 60-day interval")
	}
	if o, rm, _ := run(); o != 0 || rm != 0 {
		t.Fatalf("second run: opened %d, reminded %d", o, rm)
	}
	subjects := subjectsTo(t, in, owner.email)
	if !slices.Contains(subjects, "It is time to review who has access to Schedule Goods") {
		t.Fatalf("owner not told of the due review: %v", subjects)
	}
	in.Clock.Advance(8 * day)
	if _, rm, s := run(); rm != 1 || s != 0 {
		t.Fatalf("after 8 days: reminded %d, suspended %d", rm, s)
	}
	if !slices.Contains(subjectsTo(t, in, owner.email), "Reminder: the access review of Schedule Goods is still open") {
		t.Fatalf("no reminder: %v", subjectsTo(t, in, owner.email))
	}
	in.Clock.Advance(7 * day)
	if _, _, s := run(); s != 1 {
		t.Fatalf("after the 14-day grace: suspended %d, want 1", s)
	}
	member.signInAgain(t, in)
	if r := in.Do(t, "GET", "/api/v1/businesses/"+biz+"/listings", member.token, nil); r.Status != 404 {
		t.Fatalf("suspended member reads listings: %d", r.Status)
	}
	if !slices.Contains(subjectsTo(t, in, member.email), "Your access to Schedule Goods changed") {
		t.Fatalf("the suspended member was not told: %v", subjectsTo(t, in, member.email))
	}
	owner.signInAgain(t, in)
	ms := string(in.Do(t, "GET", "/api/v1/businesses/"+biz+"/members", owner.token, nil).Body)
	if !strings.Contains(ms, `"status":"suspended"`) {
		t.Fatalf("members list does not show the suspension: %s", ms)
	}
	list := in.Do(t, "GET", "/api/v1/businesses/"+biz+"/access-reviews", owner.token, nil).JSON(t)["reviews"].([]any)
	id := list[0].(map[string]any)["id"].(string)
	r := in.Do(t, "POST", "/api/v1/businesses/"+biz+"/access-reviews/"+id+"/decisions", owner.token,
		map[string]any{"decisions": []map[string]any{{"user_id": member.id, "action": "keep"}}})
	if r.Status != 200 || r.JSON(t)["review"].(map[string]any)["status"] != "completed" {
		t.Fatalf("keep: %d %s", r.Status, r.Body)
	}
	if r := in.Do(t, "GET", "/api/v1/businesses/"+biz+"/listings", member.token, nil); r.Status != 200 {
		t.Fatalf("kept member reads listings: %d %s", r.Status, r.Body)
	}
}

// The charge method: a Luhn-valid card, not stored in full, shown as brand, last four
// and expiry; payments: edit and a recent sign-in; the owner is told.
func TestChargeMethod(t *testing.T) {
	t.Parallel()
	in := apptest.Start(t, "sqlite")
	owner, biz := newOwner(t, in, "owner@charge.example", "Charge Goods")
	lister := joinByInvitation(t, in, owner.token, biz, "lister@charge.example", map[string]string{"listings": "edit"})
	_, other := newOwner(t, in, "rival@charge.example", "Rival")
	path := "/api/v1/businesses/" + biz + "/payments/charge-method"
	year := in.Clock.Now().Year() + 2
	card := map[string]any{"holder": "Ada Owner", "card_number": "4242 4242 4242 4242", "exp_month": 7, "exp_year": year}
	for _, bad := range []struct {
		field string
		body  map[string]any
	}{
		{"card_number", map[string]any{"holder": "Ada", "card_number": "4242 4242 4242 4241", "exp_month": 7, "exp_year": year}},
		{"card_number", map[string]any{"holder": "Ada", "card_number": "4242-abcd", "exp_month": 7, "exp_year": year}},
		{"exp_month", map[string]any{"holder": "Ada", "card_number": "4242424242424242", "exp_month": 13, "exp_year": year}},
		{"exp_year", map[string]any{"holder": "Ada", "card_number": "4242424242424242", "exp_month": 1, "exp_year": year - 5}},
		{"holder", map[string]any{"holder": " ", "card_number": "4242424242424242", "exp_month": 1, "exp_year": year}},
	} {
		r := in.Do(t, "PUT", path, owner.token, bad.body)
		if r.Status != 400 || !strings.Contains(string(r.Body), `"field":"`+bad.field+`"`) {
			t.Errorf("%v: %d %s", bad.body, r.Status, r.Body)
		}
	}
	if r := in.Do(t, "PUT", path, lister.token, card); r.Status != 403 {
		t.Fatalf("listings member sets the card: %d", r.Status)
	}
	if r := in.Do(t, "PUT", "/api/v1/businesses/"+other+"/payments/charge-method", owner.token, card); r.Status != 404 {
		t.Fatalf("owner sets another business's card: %d", r.Status)
	}
	if r := in.Do(t, "GET", "/api/v1/businesses/"+biz+"/payments", owner.token, nil); r.JSON(t)["charge_method"] != nil {
		t.Fatalf("a refused card was stored: %s", r.Body)
	}
	if r := in.Do(t, "PUT", path, owner.token, card); r.Status != 200 {
		t.Fatalf("set card: %d %s", r.Status, r.Body)
	}
	r := in.Do(t, "GET", "/api/v1/businesses/"+biz+"/payments", owner.token, nil)
	c := r.JSON(t)["charge_method"].(map[string]any)
	if c["brand"] != "Visa" || c["last4"] != "4242" || c["exp_month"].(float64) != 7 || strings.Contains(string(r.Body), "42424242") {
		t.Fatalf("payments answer: %s", r.Body)
	}
	if !slices.Contains(subjectsTo(t, in, owner.email), "The card your fees are charged to was changed") {
		t.Fatalf("owner not told: %v", subjectsTo(t, in, owner.email))
	}
	if a := string(in.Do(t, "GET", "/api/v1/audit?business_id="+biz, owner.token, nil).Body); !strings.Contains(a, "business.charge_method_changed") || strings.Contains(a, "4242424242") {
		t.Fatalf("audit of the card change: %s", a)
	}
}

// Ownership moves only when both people re-authenticate: the owner offers,
// the member accepts with a recent sign-in; the former owner becomes a
// member the new owner may remove.
func TestOwnershipTransfer(t *testing.T) {
	t.Parallel()
	in := apptest.Start(t, "sqlite", apptest.Env("SELLERGUARD_REAUTH_WINDOW", "5m"))
	owner, biz := newOwner(t, in, "owner@transfer.example", "Transfer Goods")
	heir := joinByInvitation(t, in, owner.token, biz, "heir@transfer.example", map[string]string{"listings": "view"})
	lister := joinByInvitation(t, in, owner.token, biz, "lister@transfer.example", map[string]string{"listings": "edit"})
	path := "/api/v1/businesses/" + biz + "/ownership-transfer"
	if r := in.Do(t, "POST", path, lister.token, map[string]string{"user_id": lister.id}); r.Status != 403 {
		t.Fatalf("member offers ownership to themselves: %d", r.Status)
	}
	if r := in.Do(t, "POST", path, owner.token, map[string]string{"user_id": "usr_nobody"}); r.Status != 400 {
		t.Fatalf("offer to a stranger: %d %s", r.Status, r.Body)
	}
	in.Clock.Advance(6 * time.Minute)
	if r := in.Do(t, "POST", path, owner.token, map[string]string{"user_id": heir.id}); r.Status != 403 || !strings.Contains(string(r.Body), "reauth_required") {
		t.Fatalf("offer with a stale sign-in: %d %s", r.Status, r.Body)
	}
	owner.signInAgain(t, in)
	if r := in.Do(t, "POST", path, owner.token, map[string]string{"user_id": heir.id}); r.Status != 201 {
		t.Fatalf("offer: %d %s", r.Status, r.Body)
	}
	if r := in.Do(t, "GET", path, lister.token, nil); r.Status != 404 {
		t.Fatalf("an uninvolved member sees the offer: %d", r.Status)
	}
	if r := in.Do(t, "GET", path, heir.token, nil); r.Status != 200 || r.JSON(t)["ownership_transfer"].(map[string]any)["to_user_id"] != heir.id {
		t.Fatalf("heir reads the offer: %d %s", r.Status, r.Body)
	}
	lister.signInAgain(t, in)
	if r := in.Do(t, "POST", path+"/accept", lister.token, nil); r.Status != 404 {
		t.Fatalf("someone else accepts: %d", r.Status)
	}
	if r := in.Do(t, "POST", path+"/accept", heir.token, nil); r.Status != 403 || !strings.Contains(string(r.Body), "reauth_required") {
		t.Fatalf("accept with a stale sign-in: %d %s", r.Status, r.Body)
	}
	heir.signInAgain(t, in)
	if r := in.Do(t, "POST", path+"/accept", heir.token, nil); r.Status != 200 {
		t.Fatalf("accept: %d %s", r.Status, r.Body)
	}
	members := "/api/v1/businesses/" + biz + "/members/"
	if r := in.Do(t, "DELETE", members+heir.id, owner.token, nil); r.Status != 403 {
		t.Fatalf("former owner removes the new owner: %d %s", r.Status, r.Body)
	}
	if r := in.Do(t, "DELETE", members+owner.id, heir.token, nil); r.Status != 204 {
		t.Fatalf("new owner removes the former owner: %d %s", r.Status, r.Body)
	}
	if a := string(in.Do(t, "GET", "/api/v1/audit?business_id="+biz, heir.token, nil).Body); !strings.Contains(a, "business.ownership_transferred") || !strings.Contains(a, "business.ownership_offered") {
		t.Fatalf("audit lacks the transfer")
	}
	if !slices.Contains(subjectsTo(t, in, owner.email), "You no longer own Transfer Goods") {
		t.Fatalf("former owner not told: %v", subjectsTo(t, in, owner.email))
	}
}

// Someone invited signs up without a business of their own; the sign-up
// form says clearly what is wrong when the two are mixed up.
func TestSignUpToJoin(t *testing.T) {
	t.Parallel()
	in := apptest.Start(t, "sqlite")
	if r := in.Do(t, "POST", "/api/v1/signup", "", map[string]any{"email": "j@join.example", "password": pw, "joining": true, "business_name": "Mine"}); r.Status != 400 || !strings.Contains(string(r.Body), "not_allowed") {
		t.Fatalf("joining with a business name: %d %s", r.Status, r.Body)
	}
	if r := in.Do(t, "POST", "/api/v1/signup", "", map[string]any{"email": "j@join.example", "password": pw}); r.Status != 400 || !strings.Contains(string(r.Body), `"business_name"`) {
		t.Fatalf("no business name, not joining: %d %s", r.Status, r.Body)
	}
	owner, biz := newOwner(t, in, "owner@join.example", "Join Goods")
	j := joinByInvitation(t, in, owner.token, biz, "j@join.example", map[string]string{"listings": "view"})
	s := in.Do(t, "GET", "/api/v1/session", j.token, nil).JSON(t)
	ms := s["memberships"].([]any)
	if len(ms) != 1 || ms[0].(map[string]any)["business_id"] != biz || ms[0].(map[string]any)["role"] != "member" {
		t.Fatalf("joined member's businesses: %v", ms)
	}
}

// A review whose undecided members all left completes by itself: no
// reminders about nobody, and a new review can open.
func TestAccessReviewCompletesWhenEveryoneLeft(t *testing.T) {
	t.Parallel()
	in := apptest.Start(t, "sqlite")
	owner, biz := newOwner(t, in, "owner@left.example", "Left Goods")
	member := joinByInvitation(t, in, owner.token, biz, "member@left.example", map[string]string{"listings": "view"})
	reviews := "/api/v1/businesses/" + biz + "/access-reviews"
	first := in.Do(t, "POST", reviews, owner.token, nil).JSON(t)["review"].(map[string]any)["id"].(string)
	if r := in.Do(t, "DELETE", "/api/v1/businesses/"+biz+"/members/"+member.id, member.token, nil); r.Status != 204 {
		t.Fatalf("member leaves: %d %s", r.Status, r.Body)
	}
	rv := in.Do(t, "GET", reviews+"/"+first, owner.token, nil).JSON(t)["review"].(map[string]any)
	if rv["open"].(float64) != 0 || reviewMember(t, rv, member.email)["status"] != "left" {
		t.Fatalf("review after the member left: %v", rv)
	}
	in.Clock.Advance(8 * day)
	owner.signInAgain(t, in)
	run, err := in.Team.RunAccessReviews(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if run.Reminded != 0 {
		t.Fatalf("reminded about a review with nobody left to decide")
	}
	if s := in.Do(t, "GET", reviews+"/"+first, owner.token, nil).JSON(t)["review"].(map[string]any)["status"]; s != "completed" {
		t.Fatalf("review status %v, want completed", s)
	}
}

// Edit rights given recently are not "unused for 90 days", however long
// the member has been there.
func TestAccessReviewCountsEditFromItsGrant(t *testing.T) {
	t.Parallel()
	in := apptest.Start(t, "sqlite")
	owner, biz := newOwner(t, in, "owner@grant.example", "Grant Goods")
	member := joinByInvitation(t, in, owner.token, biz, "member@grant.example", map[string]string{"listings": "view", "storefront": "edit"})
	in.Clock.Advance(200 * day)
	owner.signInAgain(t, in)
	member.signInAgain(t, in)
	if r := in.Do(t, "PATCH", "/api/v1/businesses/"+biz+"/members/"+member.id, owner.token,
		map[string]any{"permissions": map[string]string{"listings": "edit", "storefront": "edit"}}); r.Status != 200 {
		t.Fatalf("raise listings to edit: %d %s", r.Status, r.Body)
	}
	in.Clock.Advance(10 * day)
	owner.signInAgain(t, in)
	r := in.Do(t, "POST", "/api/v1/businesses/"+biz+"/access-reviews", owner.token, nil)
	m := reviewMember(t, r.JSON(t)["review"].(map[string]any), member.email)
	unused := m["unused_edit_areas"].([]any)
	if len(unused) != 1 || unused[0] != "storefront" {
		t.Fatalf("unused edit areas %v, want storefront only (listings was given 10 days ago)", unused)
	}
}

// Withdrawing or declining an offer of ownership is audited and told: the
// member an offer is withdrawn from, and the owner when it is declined.
func TestOwnershipOfferWithdrawnAndDeclined(t *testing.T) {
	t.Parallel()
	in := apptest.Start(t, "sqlite")
	owner, biz := newOwner(t, in, "owner@offer.example", "Offer Goods")
	heir := joinByInvitation(t, in, owner.token, biz, "heir@offer.example", map[string]string{"listings": "view"})
	path := "/api/v1/businesses/" + biz + "/ownership-transfer"
	offer := func() {
		t.Helper()
		if r := in.Do(t, "POST", path, owner.token, map[string]string{"user_id": heir.id}); r.Status != 201 {
			t.Fatalf("offer: %d %s", r.Status, r.Body)
		}
	}
	offer()
	if r := in.Do(t, "DELETE", path, owner.token, nil); r.Status != 204 {
		t.Fatalf("withdraw: %d %s", r.Status, r.Body)
	}
	if !slices.Contains(subjectsTo(t, in, heir.email), "Your access to Offer Goods changed") {
		t.Fatalf("the heir was not told of the withdrawal: %v", subjectsTo(t, in, heir.email))
	}
	if r := in.Do(t, "POST", path+"/accept", heir.token, nil); r.Status != 404 {
		t.Fatalf("accepting a withdrawn offer: %d", r.Status)
	}
	offer()
	if r := in.Do(t, "DELETE", path, heir.token, nil); r.Status != 204 {
		t.Fatalf("decline: %d %s", r.Status, r.Body)
	}
	if !slices.Contains(subjectsTo(t, in, owner.email), "The offer of ownership of Offer Goods was declined") {
		t.Fatalf("the owner was not told of the decline: %v", subjectsTo(t, in, owner.email))
	}
	a := string(in.Do(t, "GET", "/api/v1/audit?business_id="+biz, owner.token, nil).Body)
	for _, want := range []string{"business.ownership_offer_withdrawn", "business.ownership_offer_declined"} {
		if !strings.Contains(a, want) {
			t.Errorf("audit lacks %s", want)
		}
	}
}
