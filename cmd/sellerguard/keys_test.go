package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/sellerguard/sellerguard/internal/app/apptest"
	"github.com/sellerguard/sellerguard/internal/keys"
	"github.com/sellerguard/sellerguard/internal/store"
	"github.com/sellerguard/sellerguard/internal/testenv"
	"github.com/sellerguard/sellerguard/internal/twostep"
)

// rotationUser is a seller with one value in every kind of sealed field.
type rotationUser struct {
	email, secret, signupPhone, smsPhone, newPhone, account string
	lastStep                                                int64 // newest TOTP step used
}

// oathCode computes a TOTP code with oathtool, like an authenticator app.
func oathCode(bin, secret string, step int64) (string, error) {
	at := time.Unix(step*twostep.TOTPPeriod, 0).UTC()
	out, err := exec.Command(bin, "--totp", "-b", "--now", at.Format("2006-01-02 15:04:05 UTC"), secret).Output()
	return strings.TrimSpace(string(out)), err
}

// TestKeysRotateKilledHalfwayResumes runs `sellerguard keys rotate` as a
// real process against a database with sealed TOTP secrets, phone numbers,
// pending phone changes and deposit accounts, kills it with SIGKILL
// halfway, runs it again, and checks that it finishes, that every value
// opens under the new key, and that sign-in with an authenticator app
// (oathtool) works before, during, between and after the two runs.
func TestKeysRotateKilledHalfwayResumes(t *testing.T) {
	oath := testenv.RequireCommand(t, "oathtool")
	bin, err := buildOnce()
	if err != nil {
		t.Fatal(err)
	}
	apptest.Dialects(t, func(t *testing.T, dialect string) {
		dataDir, dbURL := t.TempDir(), apptest.DatabaseURL(t, dialect)
		in := apptest.Start(t, "", apptest.Env("SELLERGUARD_DATA_DIR", dataDir), apptest.Env("SELLERGUARD_DATABASE_URL", dbURL))
		ctx := context.Background()
		const pw = "correct horse battery staple"
		var users []*rotationUser
		for i := range 8 {
			u := &rotationUser{email: fmt.Sprintf("rot%d@example.com", i), signupPhone: fmt.Sprintf("+44 7400 1112%02d", i),
				smsPhone: fmt.Sprintf("+44 7400 2223%02d", i), newPhone: fmt.Sprintf("+44 7400 3334%02d", i), account: fmt.Sprintf("GB29NWBK601613319268%02d", i)}
			r := in.Do(t, "POST", "/api/v1/signup", "", map[string]string{"email": u.email, "password": pw, "business_name": fmt.Sprintf("Rotating Goods %d", i), "phone": u.signupPhone})
			if r.Status != 202 {
				t.Fatalf("signup: %d %s", r.Status, r.Body)
			}
			r = in.Do(t, "POST", "/api/v1/signup/verify", "", map[string]string{"email": u.email, "code": in.LastCode(t, u.email)})
			if r.Status != 201 {
				t.Fatalf("verify: %d %s", r.Status, r.Body)
			}
			biz := r.JSON(t)["business_id"].(string)
			tok := in.SignIn(t, u.email, pw)
			u.secret = in.EnrollTOTP(t, tok)
			u.lastStep = twostep.Step(time.Now()) - 1
			if r := in.Do(t, "POST", "/api/v1/two-step/sms", tok, map[string]string{"phone": u.smsPhone}); r.Status != 201 && r.Status != 202 {
				t.Fatalf("start sms method: %d %s", r.Status, r.Body)
			}
			if r := in.Do(t, "PUT", "/api/v1/businesses/"+biz+"/payments/deposit-account", tok,
				map[string]string{"holder": "Rotating Goods", "bank": "First Bank", "account_number": u.account}); r.Status != 201 {
				t.Fatalf("deposit account: %d %s", r.Status, r.Body)
			}
			if r := in.Do(t, "POST", "/api/v1/account/phone", tok, map[string]string{"phone": u.newPhone}); r.Status != 202 {
				t.Fatalf("phone change: %d %s", r.Status, r.Body)
			}
			users = append(users, u)
		}
		notUnder := func(v int) (total, left int64) {
			t.Helper()
			m, err := in.DB.CountSealedNotUnder(ctx, v)
			if err != nil {
				t.Fatal(err)
			}
			for _, n := range m {
				left += n
			}
			m0, err := in.DB.CountSealedNotUnder(ctx, 999)
			if err != nil {
				t.Fatal(err)
			}
			for _, n := range m0 {
				total += n
			}
			return total, left
		}
		total, _ := notUnder(2)
		if total < 8*5 {
			t.Fatalf("only %d sealed values were made", total)
		}

		// Sign-in with TOTP, all along: each user may use each step once.
		var mu sync.Mutex
		var signIns, signInErrs atomic.Int64
		var firstErr atomic.Value
		signIn := func() (token string, ok bool) {
			mu.Lock()
			var u *rotationUser
			var step int64
			cur := twostep.Step(time.Now())
			for _, c := range users {
				// The current step or the next, never the one before: a
				// slow sign-in must not carry its code out of the server's
				// window of one step either side.
				if s := max(c.lastStep+1, cur); s <= cur+1 && (u == nil || s < step) {
					u, step = c, s
				}
			}
			if u != nil {
				u.lastStep = step
			}
			mu.Unlock()
			if u == nil {
				return "", false
			}
			code, err := oathCode(oath, u.secret, step)
			if err != nil {
				firstErr.CompareAndSwap(nil, fmt.Sprintf("oathtool: %v", err))
				signInErrs.Add(1)
				return "", true
			}
			r := in.Do(t, "POST", "/api/v1/sessions", "", map[string]string{"email": u.email, "password": pw})
			if r.Status != 201 {
				firstErr.CompareAndSwap(nil, fmt.Sprintf("sign-in %s: %d %s", u.email, r.Status, r.Body))
				signInErrs.Add(1)
				return "", true
			}
			partial := r.JSON(t)["token"].(string)
			r = in.Do(t, "POST", "/api/v1/session/second-step", partial, map[string]string{"method": "totp", "code": code})
			if r.Status != 200 {
				firstErr.CompareAndSwap(nil, fmt.Sprintf("second step %s (step %d): %d %s", u.email, step, r.Status, r.Body))
				signInErrs.Add(1)
				return "", true
			}
			signIns.Add(1)
			return r.JSON(t)["token"].(string), true
		}
		stopSignIns := make(chan struct{})
		var wg sync.WaitGroup
		wg.Go(func() {
			for {
				select {
				case <-stopSignIns:
					return
				case <-time.After(100 * time.Millisecond):
					signIn()
				}
			}
		})
		defer func() {
			select {
			case <-stopSignIns:
			default:
				close(stopSignIns)
			}
			wg.Wait()
		}()

		env := append(os.Environ(), "SELLERGUARD_DATA_DIR="+dataDir, "SELLERGUARD_DATABASE_URL="+dbURL, "SELLERGUARD_LOG_LEVEL=error")
		// First run: slow batches of two, killed without warning halfway.
		cmd := exec.Command(bin, "keys", "rotate", "--batch-size", "2", "--batch-pause", "250ms")
		cmd.Env = env
		var out1 bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out1, &out1
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(60 * time.Second)
		for {
			if _, left := notUnder(2); left <= total/2 {
				break
			}
			if time.Now().After(deadline) {
				_ = cmd.Process.Kill()
				_ = cmd.Wait()
				t.Fatalf("the rotation did not get halfway:\n%s", out1.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		_ = cmd.Wait() // killed: the error says so
		_, left := notUnder(2)
		if left == 0 || left == total {
			t.Fatalf("the kill did not land halfway: %d of %d values left under the old key\n%s", left, total, out1.String())
		}
		rot, err := in.DB.RunningKeyRotation(ctx)
		if err != nil || rot.Version != 2 || rot.Resealed == 0 {
			t.Fatalf("after the kill, the recorded rotation = %+v, %v", rot, err)
		}
		t.Logf("killed with %d of %d values re-sealed (recorded progress: %s after %q)", total-left, total, rot.Field, rot.AfterKey)
		// Between the runs: half the values under each key, sign-in works.
		before := signIns.Load()
		for signIns.Load() < before+3 && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}

		// Second run: resumes and finishes.
		cmd = exec.Command(bin, "keys", "rotate", "--batch-size", "3")
		cmd.Env = env
		out2, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out2), "resuming the rotation to key version 2") || !strings.Contains(string(out2), "rotation to key version 2 done") {
			t.Fatalf("second run: %v\n%s", err, out2)
		}
		if _, left := notUnder(2); left != 0 {
			t.Fatalf("%d values are still under the old key after the rotation finished:\n%s", left, out2)
		}
		before = signIns.Load()
		for signIns.Load() < before+3 && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		close(stopSignIns)
		wg.Wait()
		if n := signInErrs.Load(); n > 0 {
			t.Fatalf("%d TOTP sign-ins failed during the rotation; first: %v", n, firstErr.Load())
		}
		if signIns.Load() < 8 {
			t.Fatalf("only %d TOTP sign-ins ran during the rotation", signIns.Load())
		}

		// Everything opens under the new key, with the right content.
		k, err := keys.LoadOrCreate(dataDir)
		if err != nil || k.Current() != 2 || len(k.Versions()) != 2 {
			t.Fatalf("key file after rotation: %v %v", k.Versions(), err)
		}
		digits := func(s string) string { return strings.NewReplacer(" ", "").Replace(s) }
		want := map[string]bool{}
		for _, u := range users {
			for _, v := range []string{u.secret, digits(u.signupPhone), digits(u.smsPhone), digits(u.newPhone), u.account} {
				want[v] = true
			}
		}
		opened := 0
		for _, f := range store.SealedFields {
			vals, err := in.DB.SealedBatch(ctx, f, "", 10000)
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range vals {
				if !strings.HasPrefix(v.Sealed, "v2.") {
					t.Errorf("%s %s is not under key 2", f.Name, v.RowKey)
				}
				plain, err := k.Open(v.Purpose, v.Sealed, []byte(v.AAD))
				if err != nil {
					t.Errorf("%s %s does not open: %v", f.Name, v.RowKey, err)
					continue
				}
				if !want[string(plain)] {
					t.Errorf("%s %s opened to an unexpected value", f.Name, v.RowKey)
				}
				opened++
			}
		}
		if int64(opened) != total {
			t.Fatalf("opened %d of %d values", opened, total)
		}
		// The running server learnt the new key: what it seals now is under it.
		full, ok := signIn()
		for !ok && time.Now().Before(deadline) {
			time.Sleep(time.Second)
			full, ok = signIn()
		}
		if full == "" {
			t.Fatalf("sign-in after the rotation: %v", firstErr.Load())
		}
		if r := in.Do(t, "POST", "/api/v1/two-step/sms", full, map[string]string{"phone": "+44 7400 999000"}); r.Status != 201 && r.Status != 202 {
			t.Fatalf("new sms method after the rotation: %d %s", r.Status, r.Body)
		}
		if _, left := notUnder(2); left != 0 {
			t.Fatalf("the server sealed a new value under the old key after the rotation")
		}
		// Audited, and the audit chains still verify.
		raw := openRaw(t, dbURL)
		var started, finished int
		if err := raw.QueryRow(`SELECT COUNT(*) FROM audit_events WHERE action = 'keys.rotation_started'`).Scan(&started); err != nil {
			t.Fatal(err)
		}
		if err := raw.QueryRow(`SELECT COUNT(*) FROM audit_events WHERE action = 'keys.rotation_finished'`).Scan(&finished); err != nil {
			t.Fatal(err)
		}
		if started != 1 || finished != 1 {
			t.Fatalf("audit: %d rotation_started, %d rotation_finished events; want 1 and 1", started, finished)
		}
		cliEnv := map[string]string{"SELLERGUARD_DATA_DIR": dataDir, "SELLERGUARD_DATABASE_URL": dbURL}
		if code, out, errOut := runCLI(t, cliEnv, "audit", "verify"); code != 0 {
			t.Fatalf("audit verify: %d %s %s", code, out, errOut)
		}
		if code, out, errOut := runCLI(t, cliEnv, "keys", "status"); code != 0 || !strings.Contains(out, "versions [1 2], sealing under 2") || !strings.Contains(out, "done") {
			t.Fatalf("keys status: %d %q %s", code, out, errOut)
		}
		t.Logf("%d sealed values re-sealed across a SIGKILL; %d TOTP sign-ins during the rotation, none failed", total, signIns.Load())
	})
}
