package web_test

import (
	"html"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sellerguard/sellerguard/internal/app/apptest"
	"github.com/sellerguard/sellerguard/internal/audit"
)

// newChangesWorld is the team world with a one-hour payout cooling-off.
func newChangesWorld(t *testing.T, dialect string) *teamWorld {
	in := apptest.Start(t, dialect, apptest.Env("SELLERGUARD_PAYOUT_COOLING_OFF", "1h"))
	w := &teamWorld{in: in}
	_, w.biz = in.SignUp(t, "owner@shop.example", pw, "Harbour Goods")
	w.owner = in.SignIn(t, "owner@shop.example", pw)
	w.ownerSecret = in.EnrollTOTP(t, w.owner)
	_, w.otherBiz = in.SignUp(t, "rival@other.example", pw, "Rival Goods")
	w.other = in.SignIn(t, "rival@other.example", pw)
	in.EnrollTOTP(t, w.other)
	w.lister, w.listerID = joinAs(t, in, w.owner, w.biz, "lister@shop.example", map[string]string{"listings": "edit"})
	return w
}

// The change review shows exactly an intruder's changes in the five
// categories, with the intruder's session and address, and every one of
// them can be undone: afterwards everything is as before and the audit log
// still verifies.
func TestChangeReviewAndUndo(t *testing.T) {
	t.Parallel()
	for _, dialect := range []string{"sqlite", "postgres"} {
		t.Run(dialect, func(t *testing.T) { t.Parallel(); testChangeReviewAndUndo(t, dialect) })
	}
}

func testChangeReviewAndUndo(t *testing.T, dialect string) {
	w := newChangesWorld(t, dialect)
	in := w.in
	biz := "/api/v1/businesses/" + w.biz
	// The owner's own setup, before the intrusion.
	if r := in.Do(t, "PUT", biz+"/payments/deposit-account", w.owner, map[string]string{"holder": "Harbour Goods Ltd", "bank": "First Bank", "account_number": "GB29 NWBK 6016 1331 9268 19"}); r.Status != 201 {
		t.Fatalf("own account: %d %s", r.Status, r.Body)
	}
	in.Clock.Advance(61 * time.Minute) // past the cooling-off: payouts use this account
	owner := in.SecondStep(t, in.SignIn(t, "owner@shop.example", pw), w.ownerSecret)
	store := map[string]string{"display_name": "Harbour Goods", "support_phone": "+44 20 7946 0000"}
	if r := in.Do(t, "PUT", biz+"/storefront", owner, store); r.Status != 200 {
		t.Fatalf("storefront: %d %s", r.Status, r.Body)
	}
	r := in.Do(t, "POST", biz+"/listings", owner, map[string]any{"listings": []map[string]any{{"sku": "LAMP-1", "title": "Brass lamp", "price_cents": 4500, "quantity": 3, "condition": "good", "condition_note": "Small dent at the base"}}})
	if r.Status != 200 {
		t.Fatalf("listing: %d %s", r.Status, r.Body)
	}
	listing := r.JSON(t)["listings"].([]any)[0].(map[string]any)
	// The owner gets payment notices by text message too.
	if r := in.Do(t, "PUT", "/api/v1/notifications/business.payment_changed", owner, map[string]any{"sms": true}); r.Status != 200 {
		t.Fatalf("owner notifications: %d %s", r.Status, r.Body)
	}
	listingID := listing["id"].(string)
	in.Clock.Advance(time.Minute)
	since := in.Clock.Now().UTC().Format(time.RFC3339)

	// The intruder signs in with the stolen password and code, elsewhere.
	intruder := in.SecondStep(t, in.SignIn(t, "owner@shop.example", pw), w.ownerSecret)
	intruderSession := sessionID(t, in, intruder)
	if r := in.Do(t, "PUT", biz+"/payments/deposit-account", intruder, map[string]string{"holder": "Mallory", "bank": "Elsewhere", "account_number": "DE89370400440532013000"}); r.Status != 201 {
		t.Fatalf("intruder account: %d %s", r.Status, r.Body)
	}
	if r := in.Do(t, "PUT", "/api/v1/notifications/business.payment_changed", intruder, map[string]any{"sms": false}); r.Status != 200 {
		t.Fatalf("intruder notifications: %d %s", r.Status, r.Body)
	}
	if r := in.Do(t, "POST", biz+"/invitations", intruder, map[string]any{"email": "mule@evil.example", "permissions": map[string]string{"payments": "edit"}}); r.Status != 201 {
		t.Fatalf("intruder invite: %d %s", r.Status, r.Body)
	}
	if r := in.Do(t, "PUT", biz+"/storefront", intruder, map[string]string{"display_name": "Harbour Goods", "support_phone": "+1 555 0100"}); r.Status != 200 {
		t.Fatalf("intruder storefront: %d %s", r.Status, r.Body)
	}
	listing["condition_note"] = "Like new, pay by wire only"
	delete(listing, "updated_at")
	if r := in.Do(t, "POST", biz+"/listings", intruder, map[string]any{"listings": []any{listing}}); r.Status != 200 {
		t.Fatalf("intruder listing: %d %s", r.Status, r.Body)
	}

	// The owner sees exactly these five, newest first, from the intruder's session.
	page := in.Do(t, "GET", biz+"/changes?since="+since, owner, nil)
	if page.Status != 200 {
		t.Fatalf("changes: %d %s", page.Status, page.Body)
	}
	list := page.JSON(t)["changes"].([]any)
	wantActions := []string{"business.listing_changed", "business.storefront_changed", "business.member_invited", "account.notifications_changed", "business.deposit_account_added"}
	if len(list) != len(wantActions) {
		t.Fatalf("got %d changes: %s", len(list), page.Body)
	}
	var ids []string
	for i, c := range list {
		m := c.(map[string]any)
		src := m["source"].(map[string]any)
		if m["action"] != wantActions[i] || src["session_id"] != intruderSession || m["undo"].(map[string]any)["possible"] != true {
			t.Errorf("change %d: %v", i, m)
		}
		if src["new_session"] != true {
			t.Errorf("change %d: session not shown as new: %v", i, src)
		}
		ids = append(ids, m["id"].(string))
	}
	if c := list[1].(map[string]any); c["before"].(map[string]any)["support_phone"] != "+44 20 7946 0000" || c["after"].(map[string]any)["support_phone"] != "+1 555 0100" {
		t.Errorf("storefront before/after: %v", c)
	}
	// Filters: one category, one session; bad input is a clear 400.
	if l := in.Do(t, "GET", biz+"/changes?category=storefront&since="+since, owner, nil).JSON(t)["changes"].([]any); len(l) != 1 {
		t.Errorf("category filter: %d", len(l))
	}
	if l := in.Do(t, "GET", biz+"/changes?session="+intruderSession, owner, nil).JSON(t)["changes"].([]any); len(l) != 5 {
		t.Errorf("session filter: %d", len(l))
	}
	p1 := in.Do(t, "GET", biz+"/changes?limit=2&since="+since, owner, nil).JSON(t)
	next, _ := p1["next"].(string)
	p2 := in.Do(t, "GET", biz+"/changes?limit=2&since="+since+"&cursor="+next, owner, nil).JSON(t)
	if next == "" || p2["changes"].([]any)[0].(map[string]any)["id"] != ids[2] {
		t.Errorf("paging: %v / %v", p1, p2)
	}
	for _, bad := range []string{"category=nope", "since=yesterday", "limit=0", "cursor=!!", "cursor=abc"} {
		if r := in.Do(t, "GET", biz+"/changes?"+bad, owner, nil); r.Status != 400 {
			t.Errorf("%s: %d %s", bad, r.Status, r.Body)
		}
	}
	// Who may read and undo.
	if r := in.Do(t, "GET", biz+"/changes", w.lister, nil); r.Status != 403 {
		t.Errorf("lister reads: %d", r.Status)
	}
	if r := in.Do(t, "GET", biz+"/changes", w.other, nil); r.Status != 404 {
		t.Errorf("other business reads: %d", r.Status)
	}
	if r := in.Do(t, "POST", biz+"/changes/"+ids[1]+"/undo", w.lister, nil); r.Status != 403 {
		t.Errorf("lister undoes storefront: %d %s", r.Status, r.Body)
	}
	if r := in.Do(t, "POST", biz+"/changes/"+ids[1]+"/undo", w.other, nil); r.Status != 404 {
		t.Errorf("other business undoes: %d", r.Status)
	}
	if r := in.Do(t, "POST", biz+"/changes/"+ids[1]+"/undo", owner, map[string]any{"confirm": "yes"}); r.Status != 400 {
		t.Errorf("bad body: %d", r.Status)
	}

	// Each change was told to the owner when it happened (the notification
	// change with a notice that cannot be switched off).
	told := map[string]bool{}
	for _, m := range in.Outbox(t) {
		if m.To == "owner@shop.example" {
			told[m.Subject] = true
		}
	}
	for _, want := range []string{"A new deposit account was added to your business", "Notification settings were changed",
		"A person was invited to Harbour Goods", "Your storefront details were changed", "Listings of Harbour Goods were changed"} {
		if !told[want] {
			t.Errorf("the owner was not told %q: %v", want, told)
		}
	}

	// The owner, signed in again (a recent sign-in), undoes all five.
	in.Clock.Advance(time.Minute)
	owner = in.SecondStep(t, in.SignIn(t, "owner@shop.example", pw), w.ownerSecret)
	// A change of another business is not found, under either business.
	if r := in.Do(t, "PUT", "/api/v1/businesses/"+w.otherBiz+"/storefront", w.other, map[string]string{"display_name": "Rival"}); r.Status != 200 {
		t.Fatalf("rival storefront: %d %s", r.Status, r.Body)
	}
	otherChange := in.Do(t, "GET", "/api/v1/businesses/"+w.otherBiz+"/changes", w.other, nil).JSON(t)["changes"].([]any)[0].(map[string]any)["id"].(string)
	if r := in.Do(t, "POST", biz+"/changes/"+otherChange+"/undo", owner, nil); r.Status != 404 {
		t.Errorf("undo of another business's change: %d %s", r.Status, r.Body)
	}
	if r := in.Do(t, "POST", "/api/v1/businesses/"+w.otherBiz+"/changes/"+ids[1]+"/undo", owner, nil); r.Status != 404 {
		t.Errorf("undo under another business: %d %s", r.Status, r.Body)
	}
	for _, id := range ids {
		r := in.Do(t, "POST", biz+"/changes/"+id+"/undo", owner, nil)
		if r.Status != 200 {
			t.Fatalf("undo %s: %d %s", id, r.Status, r.Body)
		}
		if u := r.JSON(t)["change"].(map[string]any); u["undoes"] != id {
			t.Errorf("undo points at %v, want %s", u["undoes"], id)
		}
	}
	pay := in.Do(t, "GET", biz+"/payments", owner, nil).JSON(t)
	if pay["payouts_account"].(map[string]any)["last4"] != "6819" || pay["pending_account"] != nil {
		t.Errorf("payments after undo: %v", pay)
	}
	sf := in.Do(t, "GET", biz+"/storefront", owner, nil).JSON(t)["storefront"].(map[string]any)
	if sf["support_phone"] != "+44 20 7946 0000" {
		t.Errorf("storefront after undo: %v", sf)
	}
	ls := in.Do(t, "GET", biz+"/listings", owner, nil).JSON(t)["listings"].([]any)
	if ls[0].(map[string]any)["condition_note"] != "Small dent at the base" || ls[0].(map[string]any)["id"] != listingID {
		t.Errorf("listing after undo: %v", ls)
	}
	invs := in.Do(t, "GET", biz+"/invitations", owner, nil)
	if strings.Contains(string(invs.Body), "mule@evil.example") {
		t.Errorf("invitation still pending: %s", invs.Body)
	}
	n := in.Do(t, "GET", "/api/v1/notifications", owner, nil)
	for _, ev := range n.JSON(t)["events"].([]any) {
		e := ev.(map[string]any)
		if e["event"] == "business.payment_changed" && e["channels"].(map[string]any)["sms"].(map[string]any)["enabled"] != true {
			t.Errorf("payment text messages still off: %v", e)
		}
	}

	// An undo twice is superseded by the first undo; an undo of an undo is allowed.
	r = in.Do(t, "POST", biz+"/changes/"+ids[1]+"/undo", owner, nil)
	if r.Status != 409 || r.JSON(t)["code"] != "change_superseded" {
		t.Fatalf("second undo: %d %s", r.Status, r.Body)
	}
	undoID := r.JSON(t)["errors"].([]any)[0].(map[string]any)["message"].(string)
	if r := in.Do(t, "POST", biz+"/changes/"+undoID+"/undo", owner, nil); r.Status != 200 {
		t.Fatalf("undo of the undo: %d %s", r.Status, r.Body)
	}
	if sf := in.Do(t, "GET", biz+"/storefront", owner, nil).JSON(t)["storefront"].(map[string]any); sf["support_phone"] != "+1 555 0100" {
		t.Errorf("storefront after undoing the undo: %v", sf)
	}
	// With confirm, the superseded change is undone anyway.
	if r := in.Do(t, "POST", biz+"/changes/"+ids[1]+"/undo", owner, map[string]any{"confirm": true}); r.Status != 200 {
		t.Fatalf("confirmed undo: %d %s", r.Status, r.Body)
	}
	if sf := in.Do(t, "GET", biz+"/storefront", owner, nil).JSON(t)["storefront"].(map[string]any); sf["support_phone"] != "+44 20 7946 0000" {
		t.Errorf("storefront after the confirmed undo: %v", sf)
	}
	if _, err := audit.Verify(t.Context(), in.DB); err != nil {
		t.Fatalf("audit verify: %v", err)
	}
}

// Single listing changes are told, grouped into one message per business,
// recipient and five-minute window; the next window gets its own.
func TestListingChangesAreToldInGroups(t *testing.T) {
	t.Parallel()
	in := apptest.Start(t, "sqlite")
	_, bizID := in.SignUp(t, "owner@lamps.example", pw, "Lamp House")
	owner := in.SignIn(t, "owner@lamps.example", pw)
	in.EnrollTOTP(t, owner)
	biz := "/api/v1/businesses/" + bizID
	// Start at the beginning of a window, so the steps below stay in it.
	now := in.Clock.Now().UTC()
	in.Clock.Advance(now.Truncate(5 * time.Minute).Add(5*time.Minute + time.Second).Sub(now))
	save := func(l map[string]any) map[string]any {
		t.Helper()
		r := in.Do(t, "POST", biz+"/listings", owner, map[string]any{"listings": []any{l}})
		if r.Status != 200 {
			t.Fatalf("save: %d %s", r.Status, r.Body)
		}
		out := r.JSON(t)["listings"].([]any)[0].(map[string]any)
		delete(out, "updated_at")
		return out
	}
	l := save(map[string]any{"sku": "L-1", "title": "Desk lamp", "price_cents": 2500, "quantity": 1, "condition": "good", "condition_note": "Scratch"})
	l["condition_note"] = "No scratch at all"
	l = save(l)
	digests := func() []string {
		var out []string
		for _, m := range in.Outbox(t) {
			if m.To == "owner@lamps.example" && m.Subject == "Listings of Lamp House were changed" {
				out = append(out, m.Body)
			}
		}
		return out
	}
	ds := digests()
	if len(ds) != 1 || !strings.Contains(ds[0], "created listing L-1 (Desk lamp)") || !strings.Contains(ds[0], "changed (condition note) listing L-1") {
		t.Fatalf("one message with both changes, got %q", ds)
	}
	in.Clock.Advance(6 * time.Minute)
	in.DrainOutbox(t)
	l["title"] = "Desk lamp, brass"
	save(l)
	if ds := digests(); len(ds) != 2 || !strings.Contains(ds[1], "changed (title) listing L-1") || strings.Contains(ds[1], "created") {
		t.Fatalf("the next window's message: %q", ds)
	}
}

// A bulk listing change is undone as a whole, or one listing at a time; a
// permission change restores the levels; undoing a member's joining
// removes them.
func TestUndoBulkListingsAndMembers(t *testing.T) {
	t.Parallel()
	w := newChangesWorld(t, "sqlite")
	in := w.in
	biz := "/api/v1/businesses/" + w.biz
	find := func(action string) string {
		t.Helper()
		for _, c := range in.Do(t, "GET", biz+"/changes", w.owner, nil).JSON(t)["changes"].([]any) {
			if m := c.(map[string]any); m["action"] == action {
				return m["id"].(string)
			}
		}
		t.Fatalf("no %s change", action)
		return ""
	}
	undo := func(id string) {
		t.Helper()
		if r := in.Do(t, "POST", biz+"/changes/"+id+"/undo", w.owner, nil); r.Status != 200 {
			t.Fatalf("undo %s: %d %s", id, r.Status, r.Body)
		}
	}
	r := in.Do(t, "POST", biz+"/listings", w.owner, map[string]any{"listings": []any{
		map[string]any{"sku": "A", "title": "Lamp A", "price_cents": 100, "quantity": 1, "condition": "new"},
		map[string]any{"sku": "B", "title": "Lamp B", "price_cents": 200, "quantity": 1, "condition": "new"}}})
	if r.Status != 200 {
		t.Fatalf("bulk create: %d %s", r.Status, r.Body)
	}
	var edited []any
	for _, l := range r.JSON(t)["listings"].([]any) {
		m := l.(map[string]any)
		delete(m, "updated_at")
		m["price_cents"] = 999
		edited = append(edited, m)
	}
	if r := in.Do(t, "POST", biz+"/listings", w.owner, map[string]any{"listings": edited}); r.Status != 200 {
		t.Fatalf("bulk edit: %d %s", r.Status, r.Body)
	}
	undo(find("business.listings_bulk_changed")) // the newest bulk change: the price edit
	for _, l := range in.Do(t, "GET", biz+"/listings", w.owner, nil).JSON(t)["listings"].([]any) {
		if p := l.(map[string]any)["price_cents"]; p != float64(100) && p != float64(200) {
			t.Errorf("after the bulk undo: %v", l)
		}
	}
	// One listing of the first bulk change (the creation of B): it goes.
	var createB string
	for _, c := range in.Do(t, "GET", biz+"/changes?category=listings", w.owner, nil).JSON(t)["changes"].([]any) {
		if m := c.(map[string]any); m["action"] == "business.listing_created" && m["after"].(map[string]any)["sku"] == "B" {
			createB = m["id"].(string)
		}
	}
	r = in.Do(t, "POST", biz+"/changes/"+createB+"/undo", w.owner, nil)
	if r.Status != 409 || r.JSON(t)["code"] != "change_superseded" {
		t.Fatalf("undo of a listing changed later: %d %s", r.Status, r.Body)
	}
	if r := in.Do(t, "POST", biz+"/changes/"+createB+"/undo", w.owner, map[string]any{"confirm": true}); r.Status != 200 {
		t.Fatalf("confirmed: %d %s", r.Status, r.Body)
	}
	if n := countListings(t, in, w.biz, w.owner); n != 1 {
		t.Errorf("%d listings after undoing B's creation", n)
	}

	// Permissions: the lister gets payments edit, the undo takes it back.
	if r := in.Do(t, "PATCH", biz+"/members/"+w.listerID, w.owner, map[string]any{"permissions": map[string]string{"listings": "edit", "payments": "edit"}}); r.Status != 200 {
		t.Fatalf("patch: %d %s", r.Status, r.Body)
	}
	undo(find("business.member_permissions_changed"))
	if r := in.Do(t, "GET", biz+"/payments", w.lister, nil); r.Status != 403 {
		t.Errorf("the lister still reads payments: %d", r.Status)
	}
	// Joining undone (confirmed: their permissions changed since): the member is gone at once.
	if r := in.Do(t, "POST", biz+"/changes/"+find("business.member_joined")+"/undo", w.owner, map[string]any{"confirm": true}); r.Status != 200 {
		t.Fatalf("undo joining: %d %s", r.Status, r.Body)
	}
	if r := in.Do(t, "GET", biz+"/listings", w.lister, nil); r.Status != 401 && r.Status != 404 {
		t.Errorf("the removed lister still reads listings: %d", r.Status)
	}
	if _, err := audit.Verify(t.Context(), in.DB); err != nil {
		t.Fatalf("audit verify: %v", err)
	}
}

// The pages: the change review with its preset and undo buttons, and
// "Secure my account" with its steps; undo and the new password need a
// recent sign-in (else to re-authentication, coming back).
func TestChangesAndSecurePages(t *testing.T) {
	t.Parallel()
	w := newChangesWorld(t, "sqlite")
	in := w.in
	biz := "/api/v1/businesses/" + w.biz
	if r := in.Do(t, "PUT", biz+"/storefront", w.owner, map[string]string{"display_name": "Harbour Goods", "support_phone": "+1 555 0100"}); r.Status != 200 {
		t.Fatalf("storefront: %d %s", r.Status, r.Body)
	}
	id := in.Do(t, "GET", biz+"/changes?category=storefront", w.owner, nil).JSON(t)["changes"].([]any)[0].(map[string]any)["id"].(string)
	pg := pageGet(t, in, "/account/changes?business_id="+w.biz, w.owner)
	if pg.StatusCode != 200 || !strings.Contains(pg.body, `id="undo-`+id+`"`) || !strings.Contains(pg.body, "555 0100") {
		t.Fatalf("changes page: %d %s", pg.StatusCode, pg.body)
	}
	acct := pageGet(t, in, "/account", w.owner)
	if !strings.Contains(acct.body, `href="/account/secure"`) {
		t.Errorf("the account page does not offer Secure my account")
	}
	sec := pageGet(t, in, "/account/secure", w.owner)
	sec.body = html.UnescapeString(sec.body) // catalogue texts are escaped: it&#39;s
	for _, want := range []string{"Confirm it's you", "Choose a new password", `id="undo-` + id + `"`, "different password", `id="secure-support"`} {
		if !strings.Contains(sec.body, want) {
			t.Errorf("secure page lacks %q", want)
		}
	}
	// Undo from the page (the sign-in is recent).
	r := pageRequest(t, in, "POST", "/account/changes/undo", w.owner, url.Values{"business_id": {w.biz}, "one": {id}})
	if r.StatusCode != 303 {
		t.Fatalf("undo from the page: %d %s", r.StatusCode, r.body)
	}
	if sf := in.Do(t, "GET", biz+"/storefront", w.owner, nil).JSON(t)["storefront"].(map[string]any); sf["support_phone"] != "" {
		t.Errorf("storefront after the page's undo: %v", sf)
	}
	// The new password from the page; a stale sign-in goes to re-authentication first.
	in.Clock.Advance(11 * time.Minute)
	r = pageRequest(t, in, "POST", "/account/secure", w.owner, url.Values{"new_password": {"violet kestrel under seven bridges 9"}})
	if r.StatusCode != 303 || r.Header.Get("Location") != "/account/reauth?next=%2Faccount%2Fsecure" {
		t.Fatalf("stale secure: %d %s", r.StatusCode, r.Header.Get("Location"))
	}
}

// POST /api/v1/account/secure sets the password, ends every other session,
// forgets trusted browsers and makes new backup codes, in one step.
func TestSecureAccountAPI(t *testing.T) {
	t.Parallel()
	w := newChangesWorld(t, "sqlite")
	in := w.in
	in.Clock.Advance(time.Minute)
	other := in.SecondStep(t, in.SignIn(t, "owner@shop.example", pw), w.ownerSecret)
	in.Clock.Advance(time.Minute)
	me := in.SecondStep(t, in.SignIn(t, "owner@shop.example", pw), w.ownerSecret)
	if r := in.Do(t, "POST", "/api/v1/account/secure", me, map[string]string{"new_password": "password"}); r.Status != 400 || r.JSON(t)["code"] != "password_policy" {
		t.Fatalf("weak password: %d %s", r.Status, r.Body)
	}
	// The same public facts as every other password path: the store's
	// public phone, digits only, is refused here too.
	if r := in.Do(t, "PUT", "/api/v1/businesses/"+w.biz+"/storefront", me, map[string]string{"display_name": "Harbour Goods", "support_phone": "+44 20 7946 0321"}); r.Status != 200 {
		t.Fatalf("storefront: %d %s", r.Status, r.Body)
	}
	if r := in.Do(t, "POST", "/api/v1/account/secure", me, map[string]string{"new_password": "Quokka-Lattice-2079460321"}); r.Status != 400 || !strings.Contains(string(r.Body), "contains_phone") {
		t.Fatalf("a password with the store's phone: %d %s", r.Status, r.Body)
	}
	if r := in.Do(t, "GET", "/api/v1/session", other, nil); r.Status != 200 {
		t.Fatalf("a refused request ended sessions: %d", r.Status)
	}
	r := in.Do(t, "POST", "/api/v1/account/secure", me, map[string]string{"new_password": "violet kestrel under seven bridges 9"})
	if r.Status != 200 {
		t.Fatalf("secure: %d %s", r.Status, r.Body)
	}
	m := r.JSON(t)
	if m["other_sessions_ended"].(float64) < 2 || len(m["backup_codes"].([]any)) == 0 {
		t.Errorf("answer: %v", m)
	}
	if r := in.Do(t, "GET", "/api/v1/session", other, nil); r.Status != 401 {
		t.Errorf("the other session lives on: %d", r.Status)
	}
	// The caller's session is replaced, as on every password change: the
	// old token ends, the new one carries on.
	if r := in.Do(t, "GET", "/api/v1/session", me, nil); r.Status != 401 {
		t.Errorf("the caller's old token still works after the password change: %d", r.Status)
	}
	me = m["token"].(string)
	if r := in.Do(t, "GET", "/api/v1/session", me, nil); r.Status != 200 {
		t.Errorf("the new token does not work: %d", r.Status)
	}
	if r := in.Do(t, "POST", "/api/v1/sessions", "", map[string]string{"email": "owner@shop.example", "password": pw}); r.Status != 401 {
		t.Errorf("the old password still signs in: %d", r.Status)
	}
	in.Clock.Advance(11 * time.Minute)
	if r := in.Do(t, "POST", "/api/v1/account/secure", me, map[string]string{"new_password": "yet another new passphrase 2027"}); r.Status != 403 || r.JSON(t)["code"] != "reauth_required" {
		t.Errorf("stale: %d %s", r.Status, r.Body)
	}
}
