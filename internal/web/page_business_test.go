package web_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/sellerguard/sellerguard/internal/app/apptest"
)

// The business page shows each area as the caller's level allows and saves
// payment information, storefront details and listings by form, as the API
// does; a refused form changes nothing and never echoes a number back.
func TestBusinessPage(t *testing.T) {
	t.Parallel()
	in := apptest.Start(t, "sqlite")
	owner, biz := newOwner(t, in, "owner@data.example", "Data Goods")
	lister := joinByInvitation(t, in, owner.token, biz, "lister@data.example", map[string]string{"listings": "edit", "storefront": "view"})
	post := func(tok string, vals ...string) pageResult {
		t.Helper()
		v := url.Values{"business_id": {biz}}
		for i := 0; i+1 < len(vals); i += 2 {
			v.Set(vals[i], vals[i+1])
		}
		return pageRequest(t, in, "POST", "/account/business", tok, v)
	}
	done := func(what string) string { return "/account/business?business_id=" + biz + "&done=" + what }

	// Payments: a bad number is refused and not shown again; a good one is
	// saved, cooling off, shown by its last four only.
	pg := post(owner.token, "action", "deposit", "holder", "Data Goods Ltd", "bank", "First Bank", "account_number", "12!")
	if pg.StatusCode != 400 || !strings.Contains(pg.body, "6 to 34 letters and digits") || strings.Contains(pg.body, "12!") {
		t.Fatalf("bad deposit account: %d", pg.StatusCode)
	}
	if pg := post(owner.token, "action", "deposit", "holder", "Data Goods Ltd", "bank", "First Bank", "account_number", "GB29 NWBK 6016 1331 9268 19"); pg.StatusCode != 303 || pg.Header.Get("Location") != done("deposit_first") { // the business's first account
		t.Fatalf("deposit: %d %s %s", pg.StatusCode, pg.Header.Get("Location"), pg.body)
	}
	pg = post(owner.token, "action", "charge", "holder", "Ada Owner", "card_number", "4242 4242 4242 4241", "exp_month", "7", "exp_year", "2030")
	if pg.StatusCode != 400 || !strings.Contains(pg.body, "a digit may be mistyped") || strings.Contains(pg.body, "12 to 19 digits") || strings.Contains(pg.body, "4242 4242") {
		t.Fatalf("bad card: %d", pg.StatusCode)
	}
	if pg := post(owner.token, "action", "charge", "holder", "Ada Owner", "card_number", "5555 5555 5555 4444", "exp_month", "7", "exp_year", "2030"); pg.StatusCode != 303 {
		t.Fatalf("card: %d %s", pg.StatusCode, pg.body)
	}
	pg = pageGet(t, in, "/account/business?business_id="+biz, owner.token)
	if !strings.Contains(pg.body, "•••• 6819") || !strings.Contains(pg.body, "Mastercard •••• 4444, expires 07/2030") || strings.Contains(pg.body, "60161331") {
		t.Fatalf("payments section: %s", pg.body)
	}
	if !strings.Contains(pg.body, `id="pending-account"`) {
		t.Fatalf("the new account is not shown as cooling off")
	}

	// Storefront by the owner; the lister only reads it.
	if pg := post(owner.token, "action", "storefront", "display_name", "", "logo_url", "http://x"); pg.StatusCode != 400 || !strings.Contains(pg.body, "This field is required.") || !strings.Contains(pg.body, "Use an https:// address") {
		t.Fatalf("bad storefront: %d", pg.StatusCode)
	}
	if pg := post(owner.token, "action", "storefront", "display_name", "Data Goods", "support_email", "help@data.example", "return_address", "1 Quay St"); pg.StatusCode != 303 {
		t.Fatalf("storefront: %d %s", pg.StatusCode, pg.body)
	}
	pg = pageGet(t, in, "/account/business?business_id="+biz, lister.token)
	if !strings.Contains(pg.body, `id="no-payments"`) || !strings.Contains(pg.body, `id="storefront-facts"`) || strings.Contains(pg.body, `id="storefront-form"`) || !strings.Contains(pg.body, "1 Quay St") {
		t.Fatalf("lister's view of the page: %s", pg.body)
	}
	if pg := post(lister.token, "action", "storefront", "display_name", "Hijacked"); pg.StatusCode != 403 || !strings.Contains(pg.body, "You need edit access to storefront") {
		t.Fatalf("lister edits the storefront: %d", pg.StatusCode)
	}
	if pg := post(lister.token, "action", "deposit", "holder", "Thief", "bank", "B", "account_number", "12345678"); pg.StatusCode != 403 || !strings.Contains(pg.body, "You need edit access to payments") {
		t.Fatalf("lister adds a deposit account: %d", pg.StatusCode)
	}

	// Listings: add, refuse a bad price, edit.
	if pg := post(lister.token, "action", "listing", "sku", "TEA-1", "title", "Green tea", "price", "12.5", "quantity", "3", "condition", "new"); pg.StatusCode != 303 || pg.Header.Get("Location") != done("listing") {
		t.Fatalf("add listing: %d %s", pg.StatusCode, pg.body)
	}
	if pg := post(lister.token, "action", "listing", "sku", "TEA-2", "title", "Black tea", "price", "12.555", "quantity", "3", "condition", "new"); pg.StatusCode != 400 || !strings.Contains(pg.body, "Enter the price like 12.50.") {
		t.Fatalf("bad price: %d", pg.StatusCode)
	}
	ls := in.Do(t, "GET", "/api/v1/businesses/"+biz+"/listings", lister.token, nil).JSON(t)["listings"].([]any)
	if len(ls) != 1 || ls[0].(map[string]any)["price_cents"].(float64) != 1250 {
		t.Fatalf("listings: %v", ls)
	}
	id := ls[0].(map[string]any)["id"].(string)
	pg = pageGet(t, in, "/account/business?business_id="+biz+"&listing="+id, lister.token)
	if !strings.Contains(pg.body, `value="12.50"`) || !strings.Contains(pg.body, "Edit listing") {
		t.Fatalf("edit form is not filled in")
	}
	if pg := post(lister.token, "action", "listing", "listing_id", id, "sku", "TEA-1", "title", "Green tea", "price", "11", "quantity", "3", "condition", "good", "condition_note", "Box dented"); pg.StatusCode != 303 {
		t.Fatalf("edit listing: %d %s", pg.StatusCode, pg.body)
	}
	l := in.Do(t, "GET", "/api/v1/businesses/"+biz+"/listings", lister.token, nil).JSON(t)["listings"].([]any)[0].(map[string]any)
	if l["price_cents"].(float64) != 1100 || l["condition_note"] != "Box dented" {
		t.Fatalf("edited listing: %v", l)
	}
}
