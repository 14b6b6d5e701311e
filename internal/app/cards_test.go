package app_test

import (
	"context"
	"database/sql"
	"strings"
	"testing"

	"github.com/sellerguard/sellerguard/internal/app/apptest"
)

func rawDB(t *testing.T, dbURL string) *sql.DB {
	t.Helper()
	driver, dsn := "pgx", dbURL
	if p, ok := strings.CutPrefix(dbURL, "sqlite://"); ok { // the server writes meanwhile: wait for it
		driver, dsn = "sqlite", "file:"+p+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)"
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// Full card numbers are not stored: a new card keeps brand, last four,
// expiry and a keyed fingerprint; a number stored before (sealed) is
// replaced by its fingerprint when the service starts.
func TestCardNumbersAreNotStored(t *testing.T) {
	apptest.Dialects(t, func(t *testing.T, dialect string) {
		dataDir, dbURL := t.TempDir(), apptest.DatabaseURL(t, dialect)
		opts := []apptest.Option{apptest.Env("SELLERGUARD_DATA_DIR", dataDir), apptest.Env("SELLERGUARD_DATABASE_URL", dbURL)}
		in := apptest.Start(t, "", opts...)
		const pw = "correct horse battery staple"
		setCard := func(email, business, number string) string {
			_, biz := in.SignUp(t, email, pw, business)
			tok := in.SignIn(t, email, pw)
			in.EnrollTOTP(t, tok)
			card := map[string]any{"holder": "Ada Owner", "card_number": number, "exp_month": 7, "exp_year": in.Clock.Now().Year() + 2}
			if r := in.Do(t, "PUT", "/api/v1/businesses/"+biz+"/payments/charge-method", tok, card); r.Status != 200 {
				t.Fatalf("set card: %d %s", r.Status, r.Body)
			}
			return biz
		}
		a := setCard("a@cards.example", "Card A", "4242 4242 4242 4242")
		b := setCard("b@cards.example", "Card B", "4242-4242-4242-4242")
		c := setCard("c@cards.example", "Card C", "5555 5555 5555 4444")
		raw := rawDB(t, dbURL)
		fp := func(biz string) (sealed, fingerprint, last4 string) {
			t.Helper()
			if err := raw.QueryRow(`SELECT number_sealed, fingerprint, last4 FROM charge_methods WHERE business_id = $1`, biz).Scan(&sealed, &fingerprint, &last4); err != nil {
				t.Fatal(err)
			}
			return
		}
		sa, fa, la := fp(a)
		_, fb, _ := fp(b)
		_, fc, lc := fp(c)
		if sa != "" || la != "4242" || lc != "4444" {
			t.Fatalf("stored card: number %q, last four %q %q", sa, la, lc)
		}
		if fa == "" || fa != fb || fa == fc || fa != in.Session.Keys.MAC("card-fingerprint", "4242424242424242") {
			t.Fatalf("fingerprints: same card %q %q, other card %q", fa, fb, fc)
		}
		if strings.Contains(fa, "4242") {
			t.Fatalf("the fingerprint shows digits: %q", fa)
		}
		// A row as stored before schema 16: the full number sealed.
		sealed, err := in.Session.Keys.Seal("charge-card", []byte("5555555555554444"), []byte(a))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := raw.Exec(`UPDATE charge_methods SET number_sealed = $1, fingerprint = '' WHERE business_id = $2`, sealed, a); err != nil {
			t.Fatal(err)
		}
		in.Stop()
		in2 := apptest.Start(t, "", opts...)
		if sa, fa, _ := fp(a); sa != "" || fa != fc {
			t.Fatalf("after a restart, the old row holds number %q, fingerprint %q (want %q)", sa, fa, fc)
		}
		if n, err := in2.SellerData.ForgetCardNumbers(context.Background()); err != nil || n != 0 {
			t.Fatalf("nothing left to forget: %d %v", n, err)
		}
	})
}
