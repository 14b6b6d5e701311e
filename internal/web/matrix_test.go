package web_test

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/sellerguard/sellerguard/internal/app/apptest"
)

// Issue #5: every business route, for every kind of caller. The expected
// answer of each call comes from the route's rule (mxRule.expect) and the
// caller's standing, never from a hand-written table of numbers.

var mxAreas = []string{"payments", "storefront", "listings", "user_permissions", "audit_log"}

type mxKind int

const (
	mxOwner     mxKind = iota // owns the business
	mxMember                  // belongs to it with perms
	mxOutsider                // signed in, but not in the business (another owner, a removed member)
	mxAnonymous               // no token at all
)

type mxCaller struct {
	name  string
	kind  mxKind
	token string
	perms map[string]string // a member's permissions
}

// level is the caller's level in an area: the owner edits everything, a
// member holds what they were given, anyone else nothing.
func (c mxCaller) level(area string) string {
	switch c.kind {
	case mxOwner:
		return "edit"
	case mxMember:
		if l := c.perms[area]; l != "" {
			return l
		}
	}
	return "none"
}

func mxRank(level string) int {
	switch level {
	case "view":
		return 1
	case "edit":
		return 2
	}
	return 0
}

// mxRule is what a route demands and what it answers.
type mxRule struct {
	area, level string // a member needs at least this level in this area
	ownerOnly   bool   // members are refused at every level
	refused     int    // the answer to a member refused by the rule: 403 unless set (404 where the route hides itself)
	ok          int    // the answer to a caller the rule lets through
	okCode      string // when ok is a problem status: its code
	okKey       string // a top-level key of a successful JSON answer
}

// expect derives a caller's answer: anonymous 401; not in the business
// (another business's owner, a removed member) 404 exactly like a business
// that does not exist; refused by the rule 403 (or the route's own refusal);
// otherwise the route's answer to an authorised caller.
func (r mxRule) expect(c mxCaller) (int, string) {
	switch c.kind {
	case mxAnonymous:
		return 401, "unauthenticated"
	case mxOutsider:
		return 404, "not_found"
	}
	allowed := c.kind == mxOwner || !r.ownerOnly && mxRank(c.level(r.area)) >= mxRank(r.level)
	if !allowed {
		if r.refused == 404 {
			return 404, "not_found"
		}
		return 403, "forbidden"
	}
	return r.ok, r.okCode
}

// mxRoute is one business route: its rule, how one call is made (request
// may first set up state the call needs, e.g. a member to remove) and what
// a call's answer used up (after).
type mxRoute struct {
	method, pattern string
	rule            mxRule
	request         func(t *testing.T) (path string, body any)
	after           func(r apptest.Response)
}

func TestEveryBusinessRouteForEveryCaller(t *testing.T) {
	t.Parallel()
	in := apptest.Start(t, "sqlite")
	owner, biz := newOwner(t, in, "owner@matrix.example", "Matrix Goods")
	rival, _ := newOwner(t, in, "rival@matrix.example", "Rival Goods")
	base := "/api/v1/businesses/" + biz

	callers := []mxCaller{{name: "owner", kind: mxOwner, token: owner.token}}
	for _, a := range mxAreas {
		for _, l := range []string{"view", "edit"} {
			perms := map[string]string{a: l}
			p := joinByInvitation(t, in, owner.token, biz, fmt.Sprintf("%s-%s@matrix.example", a, l), perms)
			callers = append(callers, mxCaller{name: "member with " + a + ":" + l, kind: mxMember, token: p.token, perms: perms})
		}
	}
	nothing := joinByInvitation(t, in, owner.token, biz, "nothing@matrix.example", map[string]string{})
	callers = append(callers,
		mxCaller{name: "member with no permissions", kind: mxMember, token: nothing.token, perms: map[string]string{}},
		mxCaller{name: "owner of another business", kind: mxOutsider, token: rival.token})

	// People the routes act on, none of them a caller: the member offered
	// ownership, a member whose permissions are changed, members decided on
	// in the access review, and a member (with a business of their own, so
	// removal does not sign them out) who is removed and joins again.
	heir := joinByInvitation(t, in, owner.token, biz, "heir@matrix.example", map[string]string{})
	patchee := joinByInvitation(t, in, owner.token, biz, "patchee@matrix.example", map[string]string{})
	var reviewees []string
	for i := range 3 {
		reviewees = append(reviewees, joinByInvitation(t, in, owner.token, biz, fmt.Sprintf("reviewee%d@matrix.example", i), map[string]string{}).id)
	}
	yoyoToken, yoyoID := joinAs(t, in, owner.token, biz, "yoyo@matrix.example", map[string]string{})
	yoyoMember := true

	// A removed member held edit everywhere; removed from their only
	// business they are signed out, so they sign in again.
	all := map[string]string{}
	for _, a := range mxAreas {
		all[a] = "edit"
	}
	gone := joinByInvitation(t, in, owner.token, biz, "gone@matrix.example", all)
	if r := in.Do(t, "DELETE", base+"/members/"+gone.id, owner.token, nil); r.Status != 204 {
		t.Fatalf("remove: %d %s", r.Status, r.Body)
	}
	gone.signInAgain(t, in)
	callers = append(callers,
		mxCaller{name: "removed member", kind: mxOutsider, token: gone.token},
		mxCaller{name: "anonymous", kind: mxAnonymous})

	// An open access review (which every member above is part of) and a
	// pending offer of ownership to the heir.
	r := in.Do(t, "POST", base+"/access-reviews", owner.token, nil)
	if r.Status != 201 {
		t.Fatalf("open access review: %d %s", r.Status, r.Body)
	}
	reviewID := r.JSON(t)["review"].(map[string]any)["id"].(string)
	offerPending := false
	ensureOffer := func(t *testing.T) {
		if offerPending {
			return
		}
		if r := in.Do(t, "POST", base+"/ownership-transfer", owner.token, map[string]any{"user_id": heir.id}); r.Status != 201 {
			t.Fatalf("offer ownership: %d %s", r.Status, r.Body)
		}
		offerPending = true
	}
	ensureOffer(t)

	serial := 0
	next := func() int { serial++; return serial }
	pendingInvitation := ""
	pendingDeposit := ""
	nextReviewee := 0

	routes := []mxRoute{
		{method: "GET", pattern: "/members", rule: mxRule{area: "user_permissions", level: "view", ok: 200, okKey: "members"}},
		// The same permissions every time, so each authorised call succeeds.
		{method: "PATCH", pattern: "/members/{patchee}", rule: mxRule{area: "user_permissions", level: "edit", ok: 200, okKey: "member"},
			request: func(*testing.T) (string, any) {
				return base + "/members/" + patchee.id, map[string]any{"permissions": map[string]string{}}
			}},
		// The yo-yo member joins again before each call that follows a removal.
		{method: "DELETE", pattern: "/members/{yoyo}", rule: mxRule{area: "user_permissions", level: "edit", ok: 204},
			request: func(t *testing.T) (string, any) {
				if !yoyoMember {
					mxRejoin(t, in, owner.token, biz, "yoyo@matrix.example", yoyoToken)
					yoyoMember = true
				}
				return base + "/members/" + yoyoID, nil
			},
			after: func(r apptest.Response) { yoyoMember = yoyoMember && r.Status != 204 }},
		{method: "GET", pattern: "/invitations", rule: mxRule{area: "user_permissions", level: "view", ok: 200, okKey: "invitations"}},
		// No permissions, so a user_permissions:edit member grants nothing beyond their own.
		{method: "POST", pattern: "/invitations", rule: mxRule{area: "user_permissions", level: "edit", ok: 201, okKey: "invitation"},
			request: func(*testing.T) (string, any) {
				return base + "/invitations", map[string]any{"email": fmt.Sprintf("invitee%d@matrix.example", next()), "permissions": map[string]string{}}
			}},
		// A pending invitation exists before each call; one withdrawn is replaced.
		{method: "DELETE", pattern: "/invitations/{id}", rule: mxRule{area: "user_permissions", level: "edit", ok: 204},
			request: func(t *testing.T) (string, any) {
				if pendingInvitation == "" {
					r := in.Do(t, "POST", base+"/invitations", owner.token, map[string]any{"email": fmt.Sprintf("withdrawn%d@matrix.example", next()), "permissions": map[string]string{}})
					if r.Status != 201 {
						t.Fatalf("invite: %d %s", r.Status, r.Body)
					}
					pendingInvitation = r.JSON(t)["invitation"].(map[string]any)["id"].(string)
				}
				return base + "/invitations/" + pendingInvitation, nil
			},
			after: func(r apptest.Response) {
				if r.Status == 204 {
					pendingInvitation = ""
				}
			}},
		{method: "GET", pattern: "/payments", rule: mxRule{area: "payments", level: "view", ok: 200, okKey: "payouts_account"}},
		{method: "PUT", pattern: "/payments/deposit-account", rule: mxRule{area: "payments", level: "edit", ok: 201, okKey: "pending_account"},
			request: func(*testing.T) (string, any) {
				return base + "/payments/deposit-account", map[string]any{"holder": "Matrix Goods Ltd", "bank": "Example Bank", "account_number": "GB29 NWBK 6016 1331 9268 19"}
			}},
		// Only the owner cancels a deposit account in its cooling-off
		// (members are refused at every payments level); a pending account
		// exists before each call, and one cancelled is added again.
		{method: "DELETE", pattern: "/payments/deposit-account/{account_id}", rule: mxRule{area: "payments", level: "view", ownerOnly: true, ok: 200, okKey: "payouts_account"},
			request: func(t *testing.T) (string, any) {
				if pendingDeposit == "" {
					r := in.Do(t, "PUT", base+"/payments/deposit-account", owner.token, map[string]any{"holder": "Matrix Goods Ltd", "bank": "Example Bank", "account_number": "GB29 NWBK 6016 1331 9268 19"})
					if r.Status != 201 {
						t.Fatalf("add deposit account: %d %s", r.Status, r.Body)
					}
					pendingDeposit = r.JSON(t)["pending_account"].(map[string]any)["id"].(string)
				}
				return base + "/payments/deposit-account/" + pendingDeposit, nil
			},
			after: func(r apptest.Response) {
				if r.Status == 200 {
					pendingDeposit = ""
				}
			}},
		{method: "PUT", pattern: "/payments/charge-method", rule: mxRule{area: "payments", level: "edit", ok: 200, okKey: "charge_method"},
			request: func(*testing.T) (string, any) {
				return base + "/payments/charge-method", map[string]any{"holder": "M Goods", "card_number": "4242 4242 4242 4242", "exp_month": 12, "exp_year": in.Clock.Now().Year() + 2}
			}},
		{method: "GET", pattern: "/storefront", rule: mxRule{area: "storefront", level: "view", ok: 200, okKey: "storefront"}},
		{method: "PUT", pattern: "/storefront", rule: mxRule{area: "storefront", level: "edit", ok: 200, okKey: "storefront"},
			request: func(*testing.T) (string, any) {
				return base + "/storefront", map[string]any{"display_name": "Matrix Goods", "support_email": "help@matrix.example"}
			}},
		{method: "GET", pattern: "/listings", rule: mxRule{area: "listings", level: "view", ok: 200, okKey: "listings"}},
		// A new SKU every call.
		{method: "POST", pattern: "/listings", rule: mxRule{area: "listings", level: "edit", ok: 200, okKey: "listings"},
			request: func(*testing.T) (string, any) {
				return base + "/listings", map[string]any{"listings": []map[string]any{{"sku": fmt.Sprintf("MX-%d", next()), "title": "Lamp", "price_cents": 1200, "quantity": 1, "condition": "new"}}}
			}},
		{method: "GET", pattern: "/access-reviews", rule: mxRule{area: "user_permissions", level: "view", ok: 200, okKey: "reviews"}},
		// A review is open (opened above with 201), so starting one returns it: 200.
		{method: "POST", pattern: "/access-reviews", rule: mxRule{area: "user_permissions", level: "edit", ok: 200, okKey: "review"}},
		{method: "GET", pattern: "/access-reviews/{review_id}", rule: mxRule{area: "user_permissions", level: "view", ok: 200, okKey: "review"},
			request: func(*testing.T) (string, any) { return base + "/access-reviews/" + reviewID, nil }},
		// Keep a reviewee who holds nothing; a decision that succeeded uses
		// them up (refused ones change nothing), so the next call takes the next.
		{method: "POST", pattern: "/access-reviews/{review_id}/decisions", rule: mxRule{area: "user_permissions", level: "edit", ok: 200, okKey: "review"},
			request: func(*testing.T) (string, any) {
				who := "usr_spent" // more successes than reviewees: already reported as failures
				if nextReviewee < len(reviewees) {
					who = reviewees[nextReviewee]
				}
				return base + "/access-reviews/" + reviewID + "/decisions", map[string]any{"decisions": []map[string]any{{"user_id": who, "action": "keep"}}}
			},
			after: func(r apptest.Response) {
				if r.Status == 200 {
					nextReviewee++
				}
			}},
		{method: "GET", pattern: "/access-review-settings", rule: mxRule{area: "user_permissions", level: "view", ok: 200, okKey: "interval_days"}},
		{method: "PUT", pattern: "/access-review-settings", rule: mxRule{area: "user_permissions", level: "edit", ownerOnly: true, ok: 200, okKey: "interval_days"},
			request: func(*testing.T) (string, any) {
				return base + "/access-review-settings", map[string]any{"interval_days": 90, "suspend_after_days": 0}
			}},
		// The business's own security rules: the owner's alone; members at
		// every level are refused (403), outsiders find no business (404).
		{method: "PUT", pattern: "/two-step", rule: mxRule{area: "user_permissions", level: "edit", ownerOnly: true, ok: 200, okKey: "two_step_required"},
			request: func(*testing.T) (string, any) { return base + "/two-step", map[string]any{"required": true} }},
		{method: "PUT", pattern: "/password-rules", rule: mxRule{area: "user_permissions", level: "edit", ownerOnly: true, ok: 200, okKey: "max_age_days"},
			request: func(*testing.T) (string, any) {
				return base + "/password-rules", map[string]any{"max_age_days": 0, "strict": false}
			}},
		// A transfer is pending to the heir: the owner and those who view user
		// permissions see it; any other member is told there is none (404).
		{method: "GET", pattern: "/ownership-transfer", rule: mxRule{area: "user_permissions", level: "view", refused: 404, ok: 200, okKey: "ownership_transfer"},
			request: func(t *testing.T) (string, any) { ensureOffer(t); return base + "/ownership-transfer", nil }},
		// Offering again replaces the pending offer to the heir.
		{method: "POST", pattern: "/ownership-transfer", rule: mxRule{area: "user_permissions", level: "edit", ownerOnly: true, ok: 201, okKey: "ownership_transfer"},
			request: func(*testing.T) (string, any) {
				return base + "/ownership-transfer", map[string]any{"user_id": heir.id}
			}},
		// Only the two people party to the transfer may cancel it; the heir is
		// not a caller, so the owner withdraws (204) and every member is told
		// there is no transfer for them (404). Withdrawn offers are made again.
		{method: "DELETE", pattern: "/ownership-transfer", rule: mxRule{area: "user_permissions", level: "none", ownerOnly: true, refused: 404, ok: 204},
			request: func(t *testing.T) (string, any) { ensureOffer(t); return base + "/ownership-transfer", nil },
			after:   func(r apptest.Response) { offerPending = offerPending && r.Status != 204 }},
		// Only the member offered the business may accept; no caller is, so
		// every one in the business, the owner too, gets 404 "no pending
		// transfer for you". (The heir's own 200 is checked after the matrix.)
		{method: "POST", pattern: "/ownership-transfer/accept", rule: mxRule{area: "user_permissions", level: "none", ok: 404, okCode: "not_found"},
			request: func(t *testing.T) (string, any) { ensureOffer(t); return base + "/ownership-transfer/accept", nil }},
		// The change review reads like the audit log; an undo needs edit on
		// the change's area: each call undoes a fresh storefront change.
		{method: "GET", pattern: "/changes", rule: mxRule{area: "audit_log", level: "view", ok: 200, okKey: "changes"}},
		{method: "POST", pattern: "/changes/{change_id}/undo", rule: mxRule{area: "storefront", level: "edit", ok: 200, okKey: "change"},
			request: func(t *testing.T) (string, any) {
				if r := in.Do(t, "PUT", base+"/storefront", owner.token, map[string]any{"display_name": fmt.Sprintf("Matrix Goods %d", next())}); r.Status != 200 {
					t.Fatalf("storefront: %d %s", r.Status, r.Body)
				}
				list := in.Do(t, "GET", base+"/changes?category=storefront&limit=1", owner.token, nil).JSON(t)["changes"].([]any)
				return base + "/changes/" + list[0].(map[string]any)["id"].(string) + "/undo", nil
			}},
		{method: "GET", pattern: "/api/v1/audit?business_id={business_id}", rule: mxRule{area: "audit_log", level: "view", ok: 200, okKey: "events"},
			request: func(*testing.T) (string, any) { return "/api/v1/audit?business_id=" + biz, nil }},
	}

	for _, rt := range routes {
		for _, c := range callers {
			path, body := base+rt.pattern, any(nil)
			if rt.request != nil {
				path, body = rt.request(t)
			}
			r := in.Do(t, rt.method, path, c.token, body)
			if rt.after != nil {
				rt.after(r)
			}
			want, code := rt.rule.expect(c)
			if r.Status != want {
				t.Errorf("%s: %s %s = %d, want %d: %s", c.name, rt.method, path, r.Status, want, r.Body)
				continue
			}
			if msg := mxCheckBody(r, code, rt.rule.okKey); msg != "" {
				t.Errorf("%s: %s %s = %d, %s: %s", c.name, rt.method, path, r.Status, msg, r.Body)
			}
		}
	}
	if nextReviewee == 0 {
		t.Errorf("no review decision succeeded")
	}

	// Another business's data looks exactly like a business that does not exist.
	a := in.Do(t, "GET", base+"/members", rival.token, nil)
	b := in.Do(t, "GET", "/api/v1/businesses/biz_doesnotexist/members", rival.token, nil)
	if a.Status != 404 || string(a.Body) != string(b.Body) {
		t.Errorf("foreign and missing business differ: %d %s / %d %s", a.Status, a.Body, b.Status, b.Body)
	}

	// The one person who may accept the offer can.
	ensureOffer(t)
	if r := in.Do(t, "POST", base+"/ownership-transfer/accept", heir.token, nil); r.Status != 200 || r.JSON(t)["status"] != "owner" {
		t.Errorf("heir: POST %s/ownership-transfer/accept = %d, want 200: %s", base, r.Status, r.Body)
	}
}

// mxCheckBody checks an answer's body: a problem's code, or that a JSON
// success has the expected top-level key. It returns what is wrong, or "".
func mxCheckBody(r apptest.Response, code, key string) string {
	switch {
	case r.Status == 204:
		if len(r.Body) != 0 {
			return "want an empty body"
		}
		return ""
	case r.Status >= 400:
		var p struct {
			Code string `json:"code"`
		}
		if err := json.Unmarshal(r.Body, &p); err != nil {
			return "body is not a problem document: " + err.Error()
		}
		if code == "" {
			code = map[int]string{401: "unauthenticated", 403: "forbidden", 404: "not_found"}[r.Status]
		}
		if p.Code != code {
			return fmt.Sprintf("problem code %q, want %q", p.Code, code)
		}
		return ""
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(r.Body, &m); err != nil {
		return "body is not a JSON object: " + err.Error()
	}
	if _, ok := m[key]; key != "" && !ok {
		return fmt.Sprintf("answer lacks %q", key)
	}
	return ""
}

// mxRejoin has a removed member who has a business of their own (so is
// still signed in) join biz again: invited by the owner, accepted by them.
func mxRejoin(t *testing.T, in *apptest.Instance, ownerTok, biz, email, tok string) {
	t.Helper()
	if r := in.Do(t, "POST", "/api/v1/businesses/"+biz+"/invitations", ownerTok, map[string]any{"email": email, "permissions": map[string]string{}}); r.Status != 201 {
		t.Fatalf("invite %s again: %d %s", email, r.Status, r.Body)
	}
	for _, v := range in.Do(t, "GET", "/api/v1/invitations", tok, nil).JSON(t)["invitations"].([]any) {
		if inv := v.(map[string]any); inv["business_id"] == biz {
			if r := in.Do(t, "POST", "/api/v1/invitations/"+inv["id"].(string)+"/accept", tok, nil); r.Status != 200 {
				t.Fatalf("accept again: %d %s", r.Status, r.Body)
			}
			return
		}
	}
	t.Fatalf("%s has no invitation to %s", email, biz)
}
