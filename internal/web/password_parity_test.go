package web_test

import (
	"slices"
	"sort"
	"testing"

	"github.com/sellerguard/sellerguard/internal/app/apptest"
)

// The live meter (POST /api/v1/password/check, as the page's script calls
// it: with the session cookie) and the password change agree on every row
// of this table, for the owner of a business with the strict option, a
// mobile number and storefront details: the same verdict and the same
// reasons. Public facts count everywhere: the owner of +1 415 555 0123 may
// not set Quokka-Lattice-4155550123 (the guidance's own example).
func TestPasswordMeterAndChangeAgree(t *testing.T) {
	apptest.Dialects(t, func(t *testing.T, dialect string) {
		in := apptest.Start(t, dialect)
		const email = "maren@tidewater.example"
		current := "granite swallow over the weir"
		r := in.Do(t, "POST", "/api/v1/signup", "", map[string]string{"email": email, "password": current, "business_name": "Tidewater Goods", "phone": "+1 415 555 0123"})
		if r.Status != 202 {
			t.Fatalf("signup: %d %s", r.Status, r.Body)
		}
		r = in.Do(t, "POST", "/api/v1/signup/verify", "", map[string]string{"email": email, "code": in.LastCode(t, email)})
		if r.Status != 201 {
			t.Fatalf("verify: %d %s", r.Status, r.Body)
		}
		biz := r.JSON(t)["business_id"].(string)
		tok := in.SignIn(t, email, current)
		in.EnrollTOTP(t, tok)
		if r := in.Do(t, "PUT", "/api/v1/businesses/"+biz+"/password-rules", tok, map[string]any{"max_age_days": 0, "strict": true}); r.Status != 200 {
			t.Fatalf("strict rule: %d %s", r.Status, r.Body)
		}
		store := map[string]string{"display_name": "Kestrel Lantern Supply", "description": "Lamps", "logo_url": "https://cdn.example/logo.png",
			"support_email": "help@bramblewick.example", "support_phone": "+44 20 7946 0958", "return_address": "12 Tollgate Mews, Falmouth TR11 3AB"}
		if r := in.Do(t, "PUT", "/api/v1/businesses/"+biz+"/storefront", tok, store); r.Status != 200 {
			t.Fatalf("storefront: %d %s", r.Status, r.Body)
		}

		rows := []struct {
			pw   string
			must string // a reason the change must give ("" = no expectation beyond agreement)
		}{
			{"Quokka-Lattice-4155550123", "contains_phone"},
			{"Quokka-Lattice-555-0123!", "contains_phone"},
			{"Otter#Meadow#0958#Violet", "contains_phone"}, // the store's phone
			{"violet-Bramblewick-7!Otter", "contains_store_details"},
			{"Tollgate!Heron42Violet", "contains_store_details"},
			{"Falmouth*Heron*Lamp9x", "contains_store_details"},
			{"Kestrel&Pumice&Orbit1", "contains_business"}, // the store's name
			{"Tidewater^Pumice^Orbit2", "contains_business"},
			{"Maren-Pumice-Orbit-3!", "contains_email"},
			{"correcthorseviolinwalrusmeadow", "needs_variety"}, // strict: letters only
			{"violet otter under the quiet harbour", "needs_variety"},
			{"Password123!", "common"},
			{"Ab1!xy", "too_short"},
			{"Seller#Guard#2026xyzq", "contains_platform_word"},
			{"aaaaaaaaaaaa1!", ""},
			{"Tr0ub4dor&3", ""},
			{"Violet#Otter7&Quiet#Harbour", ""},
			{"Marble!Fjord42#Tundra", ""},
			{"Copper^Meadow9*Whistle", ""},
			{"Nimbus&Orchid58!Glacier", ""},
			{"Saffron%Ridge3$Pelican", ""},
			{"Juniper@Canyon71#Oboe", ""},
			{"granite swallow over the weir", ""}, // the current password: reused
		}
		accepted, strictOnly := 0, 0
		for _, row := range rows {
			// The meter, as the page's script asks: the session cookie.
			m := in.DoWith(t, "POST", "/api/v1/password/check", "", map[string]string{"Cookie": pageSessionCookie + "=" + tok}, map[string]string{"password": row.pw})
			if m.Status != 200 {
				t.Fatalf("%q: check %d %s", row.pw, m.Status, m.Body)
			}
			check := m.JSON(t)
			var meter []string
			for _, x := range check["reasons"].([]any) {
				meter = append(meter, x.(map[string]any)["code"].(string))
			}
			sort.Strings(meter)
			// The change.
			c := in.Do(t, "POST", "/api/v1/account/password", tok, map[string]string{"current_password": current, "new_password": row.pw})
			var change []string
			switch c.Status {
			case 200:
				current, tok = row.pw, c.JSON(t)["token"].(string)
				accepted++
			case 400:
				body := c.JSON(t)
				if body["code"] != "password_policy" {
					t.Fatalf("%q: change answered %s", row.pw, c.Body)
				}
				for _, f := range body["errors"].([]any) {
					if code := f.(map[string]any)["code"].(string); code != "reused" { // only the change knows the old hashes
						change = append(change, code)
					}
				}
			default:
				t.Fatalf("%q: change %d %s", row.pw, c.Status, c.Body)
			}
			sort.Strings(change)
			if (check["accepted"] == true) != (c.Status == 200 || len(change) == 0) || !slices.Equal(meter, change) {
				t.Errorf("%q: meter accepted=%v %v, change %d %v", row.pw, check["accepted"], meter, c.Status, change)
			}
			if row.must != "" && !slices.Contains(change, row.must) {
				t.Errorf("%q: the change gave %v, want %s among them", row.pw, change, row.must)
			}
			if slices.Equal(change, []string{"needs_variety"}) {
				strictOnly++
			}
		}
		if accepted < 3 || strictOnly < 1 {
			t.Errorf("the table should have accepted rows (%d) and rows refused only by the strict rule (%d)", accepted, strictOnly)
		}
	})
}
