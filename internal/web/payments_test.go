package web_test

import (
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"
)

// A new deposit account receives no payouts before the cooling-off period
// ends, and the owner is told at once; the number is never stored or shown
// in the clear.
func TestDepositAccountCoolingOff(t *testing.T) {
	t.Parallel()
	w := newTeamWorld(t)
	in := w.in
	pay := "/api/v1/businesses/" + w.biz + "/payments"
	first := map[string]string{"holder": "Harbour Goods Ltd", "bank": "First Bank", "account_number": "GB29 NWBK 6016 1331 9268 19"}
	r := in.Do(t, "PUT", pay+"/deposit-account", w.owner, first)
	if r.Status != 201 || r.JSON(t)["pending_account"].(map[string]any)["last4"] != "6819" {
		t.Fatalf("first account: %d %s", r.Status, r.Body)
	}
	if strings.Contains(string(r.Body), "NWBK60161331926819") || strings.Contains(string(r.Body), "6016") {
		t.Fatalf("the full number came back: %s", r.Body)
	}
	if m := in.Do(t, "GET", pay, w.owner, nil).JSON(t); m["payouts_account"] != nil || m["pending_account"] == nil {
		t.Fatalf("before the cooling-off: %v", m)
	}
	// A listings-only member can neither read nor change payment information; another business gets 404.
	if r := in.Do(t, "GET", pay, w.lister, nil); r.Status != 403 {
		t.Fatalf("lister reading payments: %d", r.Status)
	}
	if r := in.Do(t, "PUT", pay+"/deposit-account", w.lister, first); r.Status != 403 {
		t.Fatalf("lister changing payments: %d", r.Status)
	}
	if r := in.Do(t, "GET", pay, w.other, nil); r.Status != 404 {
		t.Fatalf("another business: %d", r.Status)
	}
	in.Clock.Advance(72*time.Hour + time.Minute)
	owner := in.SecondStep(t, in.SignIn(t, "owner@shop.example", pw), w.ownerSecret) // the session expired meanwhile
	if m := in.Do(t, "GET", pay, owner, nil).JSON(t); m["payouts_account"].(map[string]any)["last4"] != "6819" {
		t.Fatalf("after the cooling-off: %v", m)
	}
	// An attacker in the owner's session adds their own account: payouts stay put.
	r = in.Do(t, "PUT", pay+"/deposit-account", owner, map[string]string{"holder": "Mallory", "bank": "Elsewhere", "account_number": "DE89370400440532013000"})
	if r.Status != 201 {
		t.Fatalf("second account: %d %s", r.Status, r.Body)
	}
	m := in.Do(t, "GET", pay, owner, nil).JSON(t)
	if m["payouts_account"].(map[string]any)["last4"] != "6819" || m["pending_account"].(map[string]any)["last4"] != "3000" {
		t.Fatalf("right after the change: %v", m)
	}
	dest, err := in.SellerData.PayoutDestination(t.Context(), w.biz, in.Clock.Now().Add(71*time.Hour))
	if err != nil || dest.Last4 != "6819" {
		t.Fatalf("payouts 71 h later go to %+v, %v", dest, err)
	}
	dest, _ = in.SellerData.PayoutDestination(t.Context(), w.biz, in.Clock.Now().Add(73*time.Hour))
	if dest.Last4 != "3000" {
		t.Fatalf("payouts 73 h later go to %+v", dest)
	}
	// The owner and the user manager were told at once; the lister was not.
	told := map[string]bool{}
	for _, msg := range in.Outbox(t) {
		if strings.Contains(msg.Subject, "new deposit account") && strings.Contains(msg.Body, "3000") {
			told[msg.To] = true
		}
	}
	if !told["owner@shop.example"] || !told["manager@shop.example"] || told["lister@shop.example"] {
		t.Fatalf("told: %v", told)
	}
	// Stored sealed: the database never holds the number.
	raw, err := sql.Open("sqlite", strings.TrimPrefix(in.Config.DatabaseURL, "sqlite://"))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = raw.Close() }()
	var n int
	if err := raw.QueryRow(`SELECT COUNT(*) FROM deposit_accounts WHERE number_sealed LIKE '%532013000%' OR number_sealed LIKE '%NWBK%'`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("numbers in the clear: %d %v", n, err)
	}
	if r := in.Do(t, "PUT", pay+"/deposit-account", owner, map[string]string{"holder": "", "bank": "B", "account_number": "12"}); r.Status != 400 {
		t.Fatalf("bad input: %d", r.Status)
	}
	audit := string(in.Do(t, "GET", "/api/v1/audit?business_id="+w.biz+"&category=business", owner, nil).Body)
	if !strings.Contains(audit, "business.deposit_account_added") || strings.Contains(audit, "532013000") {
		t.Fatalf("audit: %.300s", audit)
	}
}

func TestStorefrontChangesAreAuditedWithBeforeAndAfter(t *testing.T) {
	t.Parallel()
	w := newTeamWorld(t)
	in := w.in
	sf := "/api/v1/businesses/" + w.biz + "/storefront"
	if r := in.Do(t, "GET", sf, w.owner, nil); r.Status != 200 || r.JSON(t)["storefront"].(map[string]any)["display_name"] != "" {
		t.Fatalf("empty storefront: %d %s", r.Status, r.Body)
	}
	body := map[string]string{"display_name": "Harbour Goods", "description": "Lamps & <lights>", "logo_url": "https://cdn.example/logo.png",
		"support_email": "help@shop.example", "support_phone": "+44 20 7946 0000", "return_address": "1 Quay St, Bristol"}
	if r := in.Do(t, "PUT", sf, w.owner, body); r.Status != 200 {
		t.Fatalf("set: %d %s", r.Status, r.Body)
	}
	body["display_name"] = "Harbour Goods Outlet"
	if r := in.Do(t, "PUT", sf, w.owner, body); r.Status != 200 {
		t.Fatalf("change: %d %s", r.Status, r.Body)
	}
	audit := in.Do(t, "GET", "/api/v1/audit?business_id="+w.biz+"&category=business&limit=200", w.owner, nil).JSON(t)["events"].([]any)
	found := false
	for _, e := range audit {
		ev := e.(map[string]any)
		if ev["action"] == "business.storefront_changed" && ev["before"].(map[string]any)["display_name"] == "Harbour Goods" && ev["after"].(map[string]any)["display_name"] == "Harbour Goods Outlet" {
			found = true
		}
	}
	if !found {
		t.Fatal("no storefront event with before and after")
	}
	for _, bad := range []map[string]string{{"display_name": ""}, {"display_name": "X", "logo_url": "http://insecure.example/l.png"}, {"display_name": "X", "support_email": "nope"}} {
		if r := in.Do(t, "PUT", sf, w.owner, bad); r.Status != 400 {
			t.Errorf("%v: %d", bad, r.Status)
		}
	}
	if r := in.Do(t, "GET", sf, w.owner, nil); r.JSON(t)["storefront"].(map[string]any)["display_name"] != "Harbour Goods Outlet" {
		t.Fatal("a refused change changed something")
	}
	if r := in.Do(t, "PUT", sf, w.lister, body); r.Status != 403 {
		t.Fatalf("lister: %d", r.Status)
	}
	if r := in.Do(t, "GET", sf, w.other, nil); r.Status != 404 {
		t.Fatalf("other business: %d", r.Status)
	}
}

func TestListingsBulkEditsAreAuditedAllOrNothing(t *testing.T) {
	t.Parallel()
	w := newTeamWorld(t)
	in := w.in
	ls := "/api/v1/businesses/" + w.biz + "/listings"
	var batch []map[string]any
	for i := range 25 {
		batch = append(batch, map[string]any{"sku": fmt.Sprintf("LAMP-%02d", i), "title": "Brass lamp", "price_cents": 4999, "quantity": 3, "condition": "new", "condition_note": ""})
	}
	r := in.Do(t, "POST", ls, w.lister, map[string]any{"listings": batch})
	if r.Status != 200 || len(r.JSON(t)["listings"].([]any)) != 25 {
		t.Fatalf("bulk create: %d %.300s", r.Status, r.Body)
	}
	first := r.JSON(t)["listings"].([]any)[0].(map[string]any)
	// One bad listing among many: nothing changes.
	bad := []map[string]any{{"id": first["id"], "sku": "LAMP-00", "title": "Brass lamp", "price_cents": 3999, "quantity": 3, "condition": "new"}, {"sku": "X", "title": "", "price_cents": -1, "quantity": 1, "condition": "broken"}}
	if r := in.Do(t, "POST", ls, w.lister, map[string]any{"listings": bad}); r.Status != 400 {
		t.Fatalf("bad batch: %d %s", r.Status, r.Body)
	}
	if r := in.Do(t, "POST", ls, w.lister, map[string]any{"listings": []map[string]any{{"sku": "LAMP-01", "title": "Dup", "price_cents": 1, "quantity": 1, "condition": "new"}}}); r.Status != 400 || !strings.Contains(string(r.Body), "taken") {
		t.Fatalf("duplicate SKU: %d %s", r.Status, r.Body)
	}
	if r := in.Do(t, "POST", ls, w.lister, map[string]any{"listings": []map[string]any{{"sku": "A", "title": "T", "price_cents": 1, "quantity": 1, "condition": "new", "admin": true}}}); r.Status != 400 {
		t.Fatalf("unknown nested field: %d %s", r.Status, r.Body)
	}
	got := in.Do(t, "GET", ls, w.lister, nil).JSON(t)["listings"].([]any)
	if len(got) != 25 || got[0].(map[string]any)["price_cents"] != float64(4999) {
		t.Fatalf("after refused batches: %d listings, first %v", len(got), got[0])
	}
	// A change is audited with before and after; the bulk change told the owner.
	change := []map[string]any{{"id": first["id"], "sku": "LAMP-00", "title": "Brass lamp", "price_cents": 3999, "quantity": 2, "condition": "like_new", "condition_note": "Box opened"}}
	if r := in.Do(t, "POST", ls, w.lister, map[string]any{"listings": change}); r.Status != 200 {
		t.Fatalf("change: %d %s", r.Status, r.Body)
	}
	events := in.Do(t, "GET", "/api/v1/audit?business_id="+w.biz+"&category=business&limit=200", w.owner, nil).JSON(t)["events"].([]any)
	created, bulk, changed := 0, 0, false
	for _, e := range events {
		ev := e.(map[string]any)
		switch ev["action"] {
		case "business.listing_created":
			created++
		case "business.listings_bulk_changed":
			bulk++
		case "business.listing_changed":
			changed = ev["before"].(map[string]any)["price_cents"] == float64(4999) && ev["after"].(map[string]any)["condition_note"] == "Box opened"
		}
	}
	if created != 25 || bulk != 1 || !changed {
		t.Fatalf("audit: %d created, %d bulk, changed %v", created, bulk, changed)
	}
	told := false
	for _, m := range in.Outbox(t) {
		told = told || m.To == "owner@shop.example" && strings.Contains(m.Subject, "25 listings were changed")
	}
	if !told {
		t.Fatal("the owner was not told of the bulk change")
	}
	// Read-only and foreign callers.
	if r := in.Do(t, "POST", ls, w.manager, map[string]any{"listings": change}); r.Status != 403 {
		t.Fatalf("manager with listings: view writing: %d", r.Status)
	}
	if r := in.Do(t, "GET", ls, w.manager, nil); r.Status != 200 {
		t.Fatalf("manager reading: %d", r.Status)
	}
	if r := in.Do(t, "GET", ls, w.other, nil); r.Status != 404 {
		t.Fatalf("another business: %d", r.Status)
	}
}
