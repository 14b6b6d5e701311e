package web_test

import (
	"html"
	"io"
	"regexp"
	"strings"
	"testing"

	"github.com/sellerguard/sellerguard/internal/app/apptest"
)

// auditRowOf returns the audit page's row of the first event with action.
func auditRowOf(t *testing.T, page, action string) string {
	t.Helper()
	re := regexp.MustCompile(`(?s)<tr id="event-[^"]+" data-action="` + regexp.QuoteMeta(action) + `">.*?</tr>`)
	row := re.FindString(page)
	if row == "" {
		t.Fatalf("no %s row on the audit page:\n%s", action, page)
	}
	return html.UnescapeString(row)
}

// priceChange makes a business whose member Lee creates the listing
// MUG-001 at 12.50 and changes its price to 14.00; it returns the owner's
// session, the business and Lee's user id.
func priceChange(t *testing.T, in *apptest.Instance) (owner, biz, leeID string) {
	t.Helper()
	_, biz = in.SignUp(t, "owner@mugs.example", pw, "Mug House")
	owner = in.SignIn(t, "owner@mugs.example", pw)
	in.EnrollTOTP(t, owner)
	lee, leeID := joinAs(t, in, owner, biz, "lee@mugs.example", map[string]string{"listings": "edit"})
	ls := "/api/v1/businesses/" + biz + "/listings"
	r := in.Do(t, "POST", ls, lee, map[string]any{"listings": []map[string]any{{"sku": "MUG-001", "title": "Blue mug", "price_cents": 1250, "quantity": 4, "condition": "like_new", "condition_note": ""}}})
	if r.Status != 200 {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	id := r.JSON(t)["listings"].([]any)[0].(map[string]any)["id"]
	if r := in.Do(t, "POST", ls, lee, map[string]any{"listings": []map[string]any{{"id": id, "sku": "MUG-001", "title": "Blue mug", "price_cents": 1400, "quantity": 4, "condition": "like_new", "condition_note": ""}}}); r.Status != 200 {
		t.Fatalf("change: %d %s", r.Status, r.Body)
	}
	return owner, biz, leeID
}

// The audit log says a listing's price change as a sentence, with the
// currency, and lists only the field that changed — in English and in
// Chinese, on SQLite and PostgreSQL. The member picker names members, not
// ids.
func TestAuditLogShowsAPriceChangeAsASentence(t *testing.T) {
	t.Parallel()
	for _, db := range []string{"sqlite", "postgres"} {
		t.Run(db, func(t *testing.T) {
			t.Parallel()
			in := apptest.Start(t, db)
			owner, biz, leeID := priceChange(t, in)
			get := func() string {
				resp := cookieGet(t, in, owner, "/account/audit?business_id="+biz)
				b, _ := io.ReadAll(resp.Body)
				if resp.StatusCode != 200 {
					t.Fatalf("audit page: %d\n%s", resp.StatusCode, b)
				}
				return string(b)
			}
			page := get()
			row := auditRowOf(t, page, "business.listing_changed")
			if !strings.Contains(row, "lee@mugs.example changed the price of MUG-001 from US$12.50 to US$14.00") {
				t.Fatalf("no sentence in the row:\n%s", row)
			}
			if n := strings.Count(row, "<dt>"); n != 1 || !strings.Contains(row, "<dt>price</dt><dd><del>US$12.50</del> → <ins>US$14.00</ins></dd>") {
				t.Fatalf("want only the price listed (%d fields):\n%s", n, row)
			}
			if strings.Contains(row, "price_cents") || strings.Contains(row, "<code class=\"action\">") {
				t.Fatalf("raw codes on the page:\n%s", row)
			}
			created := auditRowOf(t, page, "business.listing_created")
			if !strings.Contains(created, "lee@mugs.example created the listing MUG-001 (Blue mug)") || !strings.Contains(created, "<ins>like new</ins>") || !strings.Contains(created, "<ins>US$12.50</ins>") {
				t.Fatalf("creation row:\n%s", created)
			}
			// The member picker: an option per member, by email.
			if !regexp.MustCompile(`<option value="`+leeID+`"[^>]*>lee@mugs.example</option>`).MatchString(page) || strings.Contains(page, `id="actor" name="actor" type="text"`) {
				t.Fatalf("no member picker:\n%s", page)
			}
			// Picking Lee shows Lee's events only.
			resp := cookieGet(t, in, owner, "/account/audit?business_id="+biz+"&actor="+leeID)
			b, _ := io.ReadAll(resp.Body)
			if !strings.Contains(string(b), `data-action="business.listing_changed"`) || strings.Contains(string(b), `data-action="business.created"`) {
				t.Fatalf("filtered by member:\n%s", b)
			}

			if r := in.Do(t, "PUT", "/api/v1/account/language", owner, map[string]string{"language": "zh-CN"}); r.Status != 200 {
				t.Fatalf("language: %d %s", r.Status, r.Body)
			}
			page = get()
			row = auditRowOf(t, page, "business.listing_changed")
			if !strings.Contains(row, "lee@mugs.example将 MUG-001 的价格从 12.50 美元 改为 14.00 美元") {
				t.Fatalf("no Chinese sentence in the row:\n%s", row)
			}
			if n := strings.Count(row, "<dt>"); n != 1 || !strings.Contains(row, "<dt>价格</dt><dd><del>12.50 美元</del> → <ins>14.00 美元</ins></dd>") {
				t.Fatalf("want only the price listed in Chinese (%d fields):\n%s", n, row)
			}
			if created := auditRowOf(t, page, "business.listing_created"); !strings.Contains(created, "<ins>几乎全新</ins>") {
				t.Fatalf("condition not in words:\n%s", created)
			}
		})
	}
}

// The account page's recent security activity and the email of the same
// event say it in the same words (internal/history), in the reader's
// language.
func TestSecurityActivityCardAndEmailShareTheirWords(t *testing.T) {
	t.Parallel()
	for _, db := range []string{"sqlite", "postgres"} {
		t.Run(db, func(t *testing.T) {
			t.Parallel()
			in := apptest.Start(t, db)
			in.SignUp(t, "card@shop.example", pw, "Card Shop")
			tok := in.SignIn(t, "card@shop.example", pw)
			in.EnrollTOTP(t, tok)
			current := pw
			for _, lang := range []struct{ code, sentence, intro string }{
				{"en", "The password of your account was changed", "Recent security activity"},
				{"zh-CN", "您的账户密码已更改", "最近的安全活动"},
			} {
				if r := in.Do(t, "PUT", "/api/v1/account/language", tok, map[string]string{"language": lang.code}); r.Status != 200 {
					t.Fatalf("language: %d %s", r.Status, r.Body)
				}
				newPW := "violet harbour lantern " + lang.code
				r := in.Do(t, "POST", "/api/v1/account/password", tok, map[string]any{"current_password": current, "new_password": newPW})
				if r.Status != 200 {
					t.Fatalf("change password: %d %s", r.Status, r.Body)
				}
				current = newPW
				if nt, ok := r.JSON(t)["token"].(string); ok && nt != "" {
					tok = nt
				}
				var mail string
				for _, m := range in.Outbox(t) {
					if m.To == "card@shop.example" && strings.Contains(m.Body, lang.sentence) {
						mail = m.Body
					}
				}
				if mail == "" {
					t.Fatalf("%s: no password email with %q", lang.code, lang.sentence)
				}
				resp := cookieGet(t, in, tok, "/account")
				b, _ := io.ReadAll(resp.Body)
				card := regexp.MustCompile(`(?s)<section class="activity" id="security-activity".*?</section>`).FindString(string(b))
				if !strings.Contains(card, lang.intro) || !strings.Contains(card, lang.sentence) || !strings.Contains(card, "<time datetime=") {
					t.Fatalf("%s: card:\n%s", lang.code, card)
				}
			}
		})
	}
}

// The success message of a one-answer-for-all API answer is in the
// caller's language, and still the same bytes for a registered and an
// unknown address.
func TestRecoveryAnswerMessageInChinese(t *testing.T) {
	t.Parallel()
	in := apptest.Start(t, "sqlite")
	in.SignUp(t, "known@example.com", pw, "Known Co")
	zh := map[string]string{"Accept-Language": "zh-CN"}
	known := in.DoWith(t, "POST", "/api/v1/recovery", "", zh, map[string]string{"email": "known@example.com"})
	unknown := in.DoWith(t, "POST", "/api/v1/recovery", "", zh, map[string]string{"email": "nobody@example.com"})
	en := in.Do(t, "POST", "/api/v1/recovery", "", map[string]string{"email": "nobody2@example.com"})
	if known.Status != 202 || known.JSON(t)["message"] != "如果此地址属于某个 SellerGuard 账户，六位数验证码已发送到该地址，15 分钟内有效。" || known.JSON(t)["status"] != "code_sent_if_registered" {
		t.Fatalf("zh: %d %s", known.Status, known.Body)
	}
	if string(known.Body) != string(unknown.Body) {
		t.Fatalf("known and unknown differ:\n%s\n%s", known.Body, unknown.Body)
	}
	if en.JSON(t)["message"] != "If this address belongs to a SellerGuard account, a six-digit code is on its way to it. It is valid for 15 minutes." {
		t.Fatalf("en: %s", en.Body)
	}
}

// The change review says a change in the same words as the audit log, in
// the reader's language: the price change reads as a sentence with its
// currency in English and in Chinese, not as the English summary stored
// with the change.
func TestChangeReviewSaysAChangeInTheReadersLanguage(t *testing.T) {
	t.Parallel()
	in := apptest.Start(t, "sqlite")
	owner, biz, _ := priceChange(t, in)
	summaryOf := func() string {
		t.Helper()
		resp := cookieGet(t, in, owner, "/account/changes?business_id="+biz)
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("change review: %d\n%s", resp.StatusCode, b)
		}
		m := regexp.MustCompile(`(?s)<tr id="change-[^"]+" class="change" data-action="business.listing_changed">.*?<span class="summary">(.*?)</span>`).FindStringSubmatch(string(b))
		if m == nil {
			t.Fatalf("no listing change in the review:\n%s", b)
		}
		return html.UnescapeString(m[1])
	}
	if s := summaryOf(); s != "lee@mugs.example changed the price of MUG-001 from US$12.50 to US$14.00" {
		t.Errorf("English summary %q", s)
	}
	if r := in.Do(t, "PUT", "/api/v1/account/language", owner, map[string]string{"language": "zh-CN"}); r.Status != 200 {
		t.Fatalf("language: %d %s", r.Status, r.Body)
	}
	if s := summaryOf(); s != "lee@mugs.example将 MUG-001 的价格从 12.50 美元 改为 14.00 美元" {
		t.Errorf("Chinese summary %q", s)
	}
}
