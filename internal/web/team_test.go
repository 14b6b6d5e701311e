package web_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sellerguard/sellerguard/internal/app/apptest"
)

type teamWorld struct {
	in                                  *apptest.Instance
	biz, otherBiz                       string
	owner, lister, manager, other, gone string // tokens
	listerID, managerID, goneID         string
	ownerSecret                         string
}

// joinAs signs up a person, enrols two-step, and accepts an invitation to
// biz with perms; it returns their token and user id.
func joinAs(t *testing.T, in *apptest.Instance, ownerTok, biz, email string, perms map[string]string) (string, string) {
	t.Helper()
	r := in.Do(t, "POST", "/api/v1/businesses/"+biz+"/invitations", ownerTok, map[string]any{"email": email, "permissions": perms})
	if r.Status != 201 {
		t.Fatalf("invite %s: %d %s", email, r.Status, r.Body)
	}
	uid, _ := in.SignUp(t, email, pw, "Own "+email)
	tok := in.SignIn(t, email, pw)
	in.EnrollTOTP(t, tok)
	list := in.Do(t, "GET", "/api/v1/invitations", tok, nil).JSON(t)["invitations"].([]any)
	if len(list) != 1 {
		t.Fatalf("%s sees %d invitations", email, len(list))
	}
	id := list[0].(map[string]any)["id"].(string)
	if r := in.Do(t, "POST", "/api/v1/invitations/"+id+"/accept", tok, nil); r.Status != 200 {
		t.Fatalf("accept: %d %s", r.Status, r.Body)
	}
	return tok, uid
}

func newTeamWorld(t *testing.T) *teamWorld {
	in := apptest.Start(t, "sqlite")
	w := &teamWorld{in: in}
	_, w.biz = in.SignUp(t, "owner@shop.example", pw, "Harbour Goods")
	w.owner = in.SignIn(t, "owner@shop.example", pw)
	w.ownerSecret = in.EnrollTOTP(t, w.owner)
	_, w.otherBiz = in.SignUp(t, "rival@other.example", pw, "Rival Goods")
	w.other = in.SignIn(t, "rival@other.example", pw)
	in.EnrollTOTP(t, w.other)
	w.lister, w.listerID = joinAs(t, in, w.owner, w.biz, "lister@shop.example", map[string]string{"listings": "edit"})
	w.manager, w.managerID = joinAs(t, in, w.owner, w.biz, "manager@shop.example", map[string]string{"user_permissions": "edit", "listings": "view", "audit_log": "view"})
	w.gone, w.goneID = joinAs(t, in, w.owner, w.biz, "gone@shop.example", map[string]string{"listings": "view"})
	if r := in.Do(t, "DELETE", "/api/v1/businesses/"+w.biz+"/members/"+w.goneID, w.owner, nil); r.Status != 204 {
		t.Fatalf("remove: %d %s", r.Status, r.Body)
	}
	return w
}

// Every team route for the owner, a listings-only member, a user manager,
// the owner of another business, a removed member and an anonymous caller.
func TestTeamRoutesForEveryKindOfCaller(t *testing.T) {
	t.Parallel()
	w := newTeamWorld(t)
	in := w.in
	members := "/api/v1/businesses/" + w.biz + "/members"
	invites := "/api/v1/businesses/" + w.biz + "/invitations"
	audit := "/api/v1/audit?business_id=" + w.biz
	type call struct{ method, path string }
	routes := []call{{"GET", members}, {"GET", invites}, {"GET", audit}}
	callers := []struct {
		name  string
		token string
		want  []int
	}{
		{"owner", w.owner, []int{200, 200, 200}},
		{"listings-only member", w.lister, []int{403, 403, 403}},
		{"user manager", w.manager, []int{200, 200, 200}},
		{"owner of another business", w.other, []int{404, 404, 404}},
		{"removed member", w.gone, []int{404, 404, 404}},
		{"anonymous", "", []int{401, 401, 401}},
	}
	for _, c := range callers {
		for i, rt := range routes {
			if r := in.Do(t, rt.method, rt.path, c.token, nil); r.Status != c.want[i] {
				t.Errorf("%s: %s %s = %d, want %d: %s", c.name, rt.method, rt.path, r.Status, c.want[i], r.Body)
			}
		}
	}
	// Another business's data looks exactly like a business that does not exist.
	a := in.Do(t, "GET", "/api/v1/businesses/"+w.biz+"/members", w.other, nil)
	b := in.Do(t, "GET", "/api/v1/businesses/biz_doesnotexist/members", w.other, nil)
	if string(a.Body) != string(b.Body) {
		t.Fatalf("foreign and missing business differ: %s / %s", a.Body, b.Body)
	}
}

func TestMembersCannotEscalate(t *testing.T) {
	t.Parallel()
	w := newTeamWorld(t)
	in := w.in
	members := "/api/v1/businesses/" + w.biz + "/members/"
	// A listings-only member cannot raise their own permissions, invite, or act on the owner.
	if r := in.Do(t, "PATCH", members+w.listerID, w.lister, map[string]any{"permissions": map[string]string{"payments": "edit"}}); r.Status != 403 {
		t.Fatalf("lister raising self: %d %s", r.Status, r.Body)
	}
	if r := in.Do(t, "POST", "/api/v1/businesses/"+w.biz+"/invitations", w.lister, map[string]any{"email": "x@shop.example", "permissions": map[string]string{"listings": "view"}}); r.Status != 403 {
		t.Fatalf("lister inviting: %d", r.Status)
	}
	ownerID := in.Do(t, "GET", "/api/v1/session", w.owner, nil).JSON(t)["user"].(map[string]any)["id"].(string)
	if r := in.Do(t, "DELETE", members+ownerID, w.lister, nil); r.Status != 403 {
		t.Fatalf("lister removing the owner: %d", r.Status)
	}
	// A user manager cannot grant what they lack, change themselves, or touch the owner.
	r := in.Do(t, "POST", "/api/v1/businesses/"+w.biz+"/invitations", w.manager, map[string]any{"email": "new@shop.example", "permissions": map[string]string{"payments": "view"}})
	if r.Status != 400 || !strings.Contains(string(r.Body), "exceeds_own") {
		t.Fatalf("manager granting payments: %d %s", r.Status, r.Body)
	}
	if r := in.Do(t, "PATCH", members+w.managerID, w.manager, map[string]any{"permissions": map[string]string{"listings": "edit"}}); r.Status != 403 {
		t.Fatalf("manager changing self: %d", r.Status)
	}
	if r := in.Do(t, "PATCH", members+ownerID, w.manager, map[string]any{"permissions": map[string]string{}}); r.Status != 403 {
		t.Fatalf("manager changing the owner: %d", r.Status)
	}
	if r := in.Do(t, "DELETE", members+w.listerID, w.manager, nil); r.Status != 403 {
		t.Fatalf("manager removing someone with more listings access: %d", r.Status)
	}
	// What they hold, they may grant.
	if r := in.Do(t, "POST", "/api/v1/businesses/"+w.biz+"/invitations", w.manager, map[string]any{"email": "new@shop.example", "permissions": map[string]string{"listings": "view"}}); r.Status != 201 {
		t.Fatalf("manager inviting within their own access: %d %s", r.Status, r.Body)
	}
	// The invitation email has no link and no code, and names the business.
	msgs := in.Outbox(t)
	last := msgs[len(msgs)-1]
	for _, m := range msgs {
		if m.To == "new@shop.example" {
			last = m
		}
	}
	if !strings.Contains(last.Body, "Harbour Goods") || strings.Contains(last.Body, "code is") || strings.Contains(last.Body, "/invitations/") {
		t.Fatalf("invitation email: %s", last.Body)
	}
}

// Lowering or removing access takes effect on the member's very next request.
func TestRevocationIsImmediate(t *testing.T) {
	t.Parallel()
	w := newTeamWorld(t)
	in := w.in
	members := "/api/v1/businesses/" + w.biz + "/members"
	if r := in.Do(t, "GET", members, w.manager, nil); r.Status != 200 {
		t.Fatalf("before: %d", r.Status)
	}
	if r := in.Do(t, "PATCH", members+"/"+w.managerID, w.owner, map[string]any{"permissions": map[string]string{"listings": "view"}}); r.Status != 200 {
		t.Fatalf("lower: %d %s", r.Status, r.Body)
	}
	if r := in.Do(t, "GET", members, w.manager, nil); r.Status != 403 {
		t.Fatalf("next request after lowering: %d", r.Status)
	}
	if r := in.Do(t, "DELETE", members+"/"+w.managerID, w.owner, nil); r.Status != 204 {
		t.Fatalf("remove: %d", r.Status)
	}
	if r := in.Do(t, "GET", members, w.manager, nil); r.Status != 404 {
		t.Fatalf("next request after removal: %d", r.Status)
	}
	// The owner heard of every change; the audit log has before and after.
	audit := string(in.Do(t, "GET", "/api/v1/audit?business_id="+w.biz+"&limit=200", w.owner, nil).Body)
	for _, a := range []string{"business.member_invited", "business.member_joined", "business.member_permissions_changed", "business.member_removed"} {
		if !strings.Contains(audit, a) {
			t.Errorf("audit lacks %s", a)
		}
	}
	n := 0
	for _, m := range in.Outbox(t) {
		if m.To == "owner@shop.example" && (strings.Contains(m.Subject, "permissions changed") || strings.Contains(m.Subject, "removed")) {
			n++
		}
	}
	if n < 2 {
		t.Fatalf("owner told of %d changes", n)
	}
}

func TestInvitationsExpireAndCanBeDeclinedOrWithdrawn(t *testing.T) {
	t.Parallel()
	in := apptest.Start(t, "sqlite")
	_, biz := in.SignUp(t, "boss@inv.example", pw, "Inv Co")
	boss := in.SignIn(t, "boss@inv.example", pw)
	secret := in.EnrollTOTP(t, boss)
	in.SignUp(t, "staff@inv.example", pw, "Staff Own")
	staff := in.SignIn(t, "staff@inv.example", pw)
	invite := func() string {
		r := in.Do(t, "POST", "/api/v1/businesses/"+biz+"/invitations", boss, map[string]any{"email": "STAFF@inv.example", "permissions": map[string]string{"listings": "view"}})
		if r.Status != 201 {
			t.Fatalf("invite: %d %s", r.Status, r.Body)
		}
		return r.JSON(t)["invitation"].(map[string]any)["id"].(string)
	}
	id := invite()
	if r := in.Do(t, "POST", "/api/v1/invitations/"+id+"/decline", staff, nil); r.Status != 200 {
		t.Fatalf("decline: %d", r.Status)
	}
	if r := in.Do(t, "POST", "/api/v1/invitations/"+id+"/accept", staff, nil); r.Status != 404 {
		t.Fatalf("accept after decline: %d", r.Status)
	}
	id = invite()
	if r := in.Do(t, "DELETE", "/api/v1/businesses/"+biz+"/invitations/"+id, boss, nil); r.Status != 204 {
		t.Fatalf("withdraw: %d", r.Status)
	}
	if r := in.Do(t, "POST", "/api/v1/invitations/"+id+"/accept", staff, nil); r.Status != 404 {
		t.Fatalf("accept after withdrawal: %d", r.Status)
	}
	id = invite()
	in.Clock.Advance(7*24*time.Hour + time.Minute)
	staff = in.SignIn(t, "staff@inv.example", pw)
	boss = in.SecondStep(t, in.SignIn(t, "boss@inv.example", pw), secret)
	if r := in.Do(t, "POST", "/api/v1/invitations/"+id+"/accept", staff, nil); r.Status != 404 {
		t.Fatalf("accept after expiry: %d", r.Status)
	}
	// Someone else cannot accept an invitation meant for another address.
	id = fmt.Sprint(invite())
	if r := in.Do(t, "POST", "/api/v1/invitations/"+id+"/accept", boss, nil); r.Status != 404 {
		t.Fatalf("accepted by the wrong person: %d", r.Status)
	}
}
