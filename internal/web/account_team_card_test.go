package web_test

import (
	"strings"
	"testing"

	"github.com/sellerguard/sellerguard/internal/app/apptest"
)

// An invited person's account page says an invitation waits, from whom,
// until when and where to accept or decline it; since the business
// requires two-step verification and they have none, it says so with the
// button to set it up. Once they joined, the account page and the team page
// say "Set up two-step to use …" instead of showing blank access levels.
func TestAccountPageTellsOfInvitationsAndTwoStep(t *testing.T) {
	t.Parallel()
	in := apptest.Start(t, "sqlite")
	owner, biz := newOwner(t, in, "owner@card.example", "Card Goods")
	const carol = "carol@card.example"
	if r := in.Do(t, "POST", "/api/v1/businesses/"+biz+"/invitations", owner.token, map[string]any{"email": carol, "permissions": map[string]string{"listings": "edit"}}); r.Status != 201 {
		t.Fatalf("invite: %d %s", r.Status, r.Body)
	}
	if r := in.Do(t, "POST", "/api/v1/signup", "", map[string]any{"email": carol, "password": pw, "joining": true}); r.Status != 202 {
		t.Fatalf("sign-up: %d %s", r.Status, r.Body)
	}
	if r := in.Do(t, "POST", "/api/v1/signup/verify", "", map[string]string{"email": carol, "code": in.LastCode(t, carol)}); r.Status != 201 {
		t.Fatalf("verify: %d %s", r.Status, r.Body)
	}
	tok := in.SignIn(t, carol, pw)

	pg := pageGet(t, in, "/account", tok)
	for _, want := range []string{`id="team-card"`, "owner@card.example invited you to join Card Goods.", `href="/account/team#my-invitations"`,
		"Card Goods requires two-step verification", `href="/account/two-step"`} {
		if !strings.Contains(pg.body, want) {
			t.Fatalf("the invitee's account page lacks %q:\n%s", want, pg.body)
		}
	}
	// Nothing to tell the owner.
	if pg := pageGet(t, in, "/account", owner.token); strings.Contains(pg.body, `id="team-card"`) {
		t.Fatalf("the owner's account page has the team card")
	}

	list := in.Do(t, "GET", "/api/v1/invitations", tok, nil).JSON(t)["invitations"].([]any)
	if r := in.Do(t, "POST", "/api/v1/invitations/"+list[0].(map[string]any)["id"].(string)+"/accept", tok, nil); r.Status != 200 {
		t.Fatalf("accept: %d %s", r.Status, r.Body)
	}
	pg = pageGet(t, in, "/account", tok)
	if !strings.Contains(pg.body, "Set up two-step to use Card Goods.") || strings.Contains(pg.body, "invited you to join") {
		t.Fatalf("the member's account page after joining:\n%s", pg.body)
	}
	pg = pageGet(t, in, "/account/team?business_id="+biz, tok)
	if pg.StatusCode != 200 || !strings.Contains(pg.body, `id="team-two-step"`) || !strings.Contains(pg.body, "Set up two-step to use Card Goods.") || strings.Contains(pg.body, `id="your-access"`) {
		t.Fatalf("the member's team page without two-step: %d\n%s", pg.StatusCode, pg.body)
	}
	// With two-step set up, the notice is gone and the access shows.
	in.EnrollTOTP(t, tok)
	pg = pageGet(t, in, "/account/team?business_id="+biz, tok)
	if strings.Contains(pg.body, `id="team-two-step"`) || !strings.Contains(pg.body, `id="your-access"`) {
		t.Fatalf("the member's team page with two-step:\n%s", pg.body)
	}
	if pg := pageGet(t, in, "/account", tok); strings.Contains(pg.body, `id="team-card"`) {
		t.Fatalf("the team card stays after two-step is set up")
	}
}
