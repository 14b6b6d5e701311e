package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"

	"github.com/sellerguard/sellerguard/internal/app/apptest"
	"github.com/sellerguard/sellerguard/internal/store"
)

func runCLI(t *testing.T, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), args, func(k string) string { return env[k] }, &out, &errb)
	return code, out.String(), errb.String()
}

func TestHelpVersionAndUsageErrors(t *testing.T) {
	code, out, _ := runCLI(t, nil, "help")
	if code != 0 || !strings.Contains(out, "sellerguard serve") || !strings.Contains(out, "audit verify") {
		t.Fatalf("help: %d %q", code, out)
	}
	code, out, _ = runCLI(t, nil, "version")
	if code != 0 || !strings.HasPrefix(out, "sellerguard ") {
		t.Fatalf("version: %d %q", code, out)
	}
	if code, _, errOut := runCLI(t, nil, "frobnicate"); code != 2 || !strings.Contains(errOut, "unknown command") {
		t.Fatalf("unknown command: %d %q", code, errOut)
	}
	if code, _, _ := runCLI(t, nil); code != 2 {
		t.Fatalf("no command: %d", code)
	}
	if code, _, _ := runCLI(t, nil, "audit"); code != 2 {
		t.Fatalf("audit without verify: %d", code)
	}
	if code, _, _ := runCLI(t, nil, "migrate", "--no-such-flag"); code != 2 {
		t.Fatalf("bad flag: %d", code)
	}
	env := map[string]string{"SELLERGUARD_DATA_DIR": t.TempDir(), "SELLERGUARD_SESSION_IDLE_TIMEOUT": "soon"}
	if code, _, errOut := runCLI(t, env, "migrate"); code != 1 || !strings.Contains(errOut, "SELLERGUARD_SESSION_IDLE_TIMEOUT") {
		t.Fatalf("bad duration: %d %q", code, errOut)
	}
	env = map[string]string{"SELLERGUARD_DATA_DIR": t.TempDir(), "SELLERGUARD_PASSWORD_MIN_LENGTH": "6"}
	if code, _, errOut := runCLI(t, env, "migrate"); code != 1 || !strings.Contains(errOut, "floor of 8") {
		t.Fatalf("min length below the floor: %d %q", code, errOut)
	}
}

func TestMigrateThenAuditVerifyDetectsTampering(t *testing.T) {
	apptest.Dialects(t, func(t *testing.T, dialect string) {
		dbURL := apptest.DatabaseURL(t, dialect)
		env := map[string]string{"SELLERGUARD_DATA_DIR": t.TempDir(), "SELLERGUARD_DATABASE_URL": dbURL}
		migs, _ := store.Migrations(dialect)
		code, out, errOut := runCLI(t, env, "migrate")
		if code != 0 || !strings.Contains(out, fmt.Sprintf("schema version %d\n", migs[len(migs)-1].Version)) {
			t.Fatalf("migrate: %d %q %q", code, out, errOut)
		}
		// Run the real server on that database and make some history.
		in := apptest.Start(t, "", apptest.Env("SELLERGUARD_DATABASE_URL", dbURL))
		in.SignUp(t, "verify@example.com", "correct horse battery staple", "Verify Shop")
		tok := in.SignIn(t, "verify@example.com", "correct horse battery staple")
		in.Do(t, "DELETE", "/api/v1/session", tok, nil)
		in.Stop()

		code, out, errOut = runCLI(t, env, "audit", "verify")
		if code != 0 || !strings.Contains(out, "ok: 4 events in 2 chains") {
			t.Fatalf("verify intact log: %d %q %q", code, out, errOut)
		}
		raw := openRaw(t, dbURL)
		var id, biz string
		if err := raw.QueryRow(`SELECT id, business_id FROM audit_events WHERE action = 'business.created'`).Scan(&id, &biz); err != nil {
			t.Fatal(err)
		}
		var inChain int
		if err := raw.QueryRow(`SELECT count(*) FROM audit_events WHERE business_id = $1`, biz).Scan(&inChain); err != nil {
			t.Fatal(err)
		}
		code, out, errOut = runCLI(t, env, "audit", "verify", "--business", biz)
		if code != 0 || !strings.Contains(out, fmt.Sprintf("ok: %d events in 1 chains", inChain)) {
			t.Fatalf("verify one business: %d %q %q", code, out, errOut)
		}
		if code, _, errOut = runCLI(t, env, "audit", "verify", "--business", "biz_nope"); code != 2 || !strings.Contains(errOut, "no chain") {
			t.Fatalf("verify an unknown business: %d %q", code, errOut)
		}
		code, out, errOut = runCLI(t, env, "audit", "export")
		if lines := strings.Split(strings.TrimSpace(out), "\n"); code != 0 || len(lines) != 5 || !strings.HasPrefix(lines[0], "created_at,business_id,") ||
			!strings.Contains(out, "business.created") || !strings.Contains(errOut, "exported 4 events") {
			t.Fatalf("export: %d %q %q", code, out, errOut)
		}
		code, out, _ = runCLI(t, env, "audit", "export", "--business", biz)
		if lines := strings.Split(strings.TrimSpace(out), "\n"); code != 0 || len(lines) != 1+inChain || !strings.Contains(out, "business.created") {
			t.Fatalf("export one business: %d %q", code, out)
		}
		if _, err := raw.Exec(`UPDATE audit_events SET actor_email = 'someone-else@example.com' WHERE id = $1`, id); err != nil {
			t.Fatal(err)
		}
		code, out, _ = runCLI(t, env, "audit", "verify")
		if code != 1 || !strings.Contains(out, id) {
			t.Fatalf("verify tampered log: exit %d, %q does not name %s", code, out, id)
		}
		code, out, _ = runCLI(t, env, "audit", "verify", "--business", biz)
		if code != 1 || !strings.Contains(out, id) {
			t.Fatalf("verify the tampered business: exit %d, %q does not name %s", code, out, id)
		}
	})
}

func openRaw(t *testing.T, dbURL string) *sql.DB {
	t.Helper()
	driver, dsn := "pgx", dbURL
	if p, ok := strings.CutPrefix(dbURL, "sqlite://"); ok {
		driver, dsn = "sqlite", p
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func TestLimitsListAndClear(t *testing.T) {
	dataDir := t.TempDir()
	dbURL := "sqlite://" + dataDir + "/sg.db"
	env := map[string]string{"SELLERGUARD_DATA_DIR": dataDir, "SELLERGUARD_DATABASE_URL": dbURL}
	in := apptest.Start(t, "", apptest.Env("SELLERGUARD_DATABASE_URL", dbURL), apptest.Env("SELLERGUARD_DATA_DIR", dataDir))
	in.SignUp(t, "stuck@example.com", "correct horse battery staple", "Stuck")
	for range 6 {
		in.Do(t, "POST", "/api/v1/sessions", "", map[string]string{"email": "Stuck@Example.com", "password": "wrong password!"})
	}
	if r := in.Do(t, "POST", "/api/v1/sessions", "", map[string]string{"email": "stuck@example.com", "password": "correct horse battery staple"}); r.Status != 401 {
		t.Fatalf("before clearing: %d", r.Status)
	}
	code, out, errOut := runCLI(t, env, "limits", "list")
	if code != 0 || !strings.Contains(out, "acct:stuck@example.com") || !strings.Contains(out, "src:signin:127.0.0.1") {
		t.Fatalf("limits list: %d %q %q", code, out, errOut)
	}
	if code, _, _ := runCLI(t, env, "limits", "clear"); code != 2 {
		t.Fatalf("clear without --account: %d", code)
	}
	code, out, errOut = runCLI(t, env, "limits", "clear", "--account", "STUCK@example.com")
	if code != 0 || !strings.Contains(out, "cleared 1 counters") {
		t.Fatalf("limits clear: %d %q %q", code, out, errOut)
	}
	if r := in.Do(t, "POST", "/api/v1/sessions", "", map[string]string{"email": "stuck@example.com", "password": "correct horse battery staple"}); r.Status != 201 {
		t.Fatalf("after clearing: %d %s", r.Status, r.Body)
	}
	tok := in.SignIn(t, "stuck@example.com", "correct horse battery staple")
	in.EnrollTOTP(t, tok)
	if r := in.Do(t, "GET", "/api/v1/audit?category=support", tok, nil); !strings.Contains(string(r.Body), "limits.cleared") {
		t.Fatalf("the clearing is not in the owner's audit log: %s", r.Body)
	}
	if code, _, _ := runCLI(t, env, "limits", "off"); code != 2 {
		t.Fatal("there must be no way to turn limiting off")
	}
}

func TestUsersImportAndRequireChange(t *testing.T) {
	dataDir := t.TempDir()
	dbURL := "sqlite://" + dataDir + "/sg.db"
	env := map[string]string{"SELLERGUARD_DATA_DIR": dataDir, "SELLERGUARD_DATABASE_URL": dbURL, "SELLERGUARD_ARGON2_MEMORY": "1024", "SELLERGUARD_ARGON2_TIME": "1"}
	bc, err := bcrypt.GenerateFromPassword([]byte("legacy bcrypt pass phrase"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	salt := []byte("0123456789abcdef")
	key := argon2.IDKey([]byte("legacy argon pass phrase"), salt, 1, 64, 1, 32)
	phc := fmt.Sprintf("$argon2id$v=19$m=64,t=1,p=1$%s$%s", base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
	csvFile := filepath.Join(t.TempDir(), "users.csv")
	content := "email,password_hash,business_name\n" +
		"bc@example.com," + string(bc) + ",Legacy BC\n" +
		"ar@example.com,\"" + phc + "\",Legacy AR\n" +
		"bad@example.com,plaintext-password,Nope\n"
	if err := os.WriteFile(csvFile, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCLI(t, env, "users", "import", csvFile)
	if code != 1 || !strings.Contains(out, "imported 2 users") || !strings.Contains(errOut, "bad@example.com") {
		t.Fatalf("import: %d %q %q", code, out, errOut)
	}
	if code, out, _ := runCLI(t, env, "users", "import", csvFile); code != 1 || !strings.Contains(out, "imported 0 users, skipped 2") {
		t.Fatalf("second import: %d %q", code, out)
	}
	in := apptest.Start(t, "", apptest.Env("SELLERGUARD_DATABASE_URL", dbURL), apptest.Env("SELLERGUARD_DATA_DIR", dataDir))
	for email, pass := range map[string]string{"bc@example.com": "legacy bcrypt pass phrase", "ar@example.com": "legacy argon pass phrase"} {
		in.SignIn(t, email, pass)
		u, err := in.DB.FindUserByEmail(t.Context(), email)
		if err != nil || !strings.HasPrefix(u.PasswordHash, "$argon2id$v=19$m=1024,t=1,p=1$") {
			t.Fatalf("%s: hash not upgraded: %v", email, err)
		}
		in.SignIn(t, email, pass) // the upgraded hash verifies too
	}
	code, out, errOut = runCLI(t, env, "password", "require-change", "--account", "BC@example.com")
	if code != 0 || !strings.Contains(out, "must change their password") {
		t.Fatalf("require-change: %d %q %q", code, out, errOut)
	}
	r := in.Do(t, "POST", "/api/v1/sessions", "", map[string]string{"email": "bc@example.com", "password": "legacy bcrypt pass phrase"})
	if r.Status != 201 || r.JSON(t)["password_change_required"] != "support" {
		t.Fatalf("sign-in after the flag: %d %s", r.Status, r.Body)
	}
	if code, _, _ := runCLI(t, env, "password", "require-change", "--account", "nobody@example.com"); code != 1 {
		t.Fatalf("unknown account: %d", code)
	}
}
