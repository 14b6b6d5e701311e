package web_test

import (
	"context"
	"testing"
	"time"

	"github.com/sellerguard/sellerguard/internal/app/apptest"
)

// TestBusySessionIsNotExpiredAsIdle: a session used without pause (every
// half second, for longer than the idle timeout) keeps its last-seen time
// in the database current, so the periodic expiry does not end it as idle.
// (The batched last-seen write used to mark a session for writing only
// when two uses were a second or more apart: a session in constant use was
// never written, and the expiry deleted it once the idle timeout had passed
// since it was loaded.)
func TestBusySessionIsNotExpiredAsIdle(t *testing.T) {
	t.Parallel()
	in := apptest.Start(t, "sqlite", apptest.Env("SELLERGUARD_SESSION_IDLE_TIMEOUT", "1m"))
	in.SignUp(t, "busy@example.com", pw, "Busy Goods")
	busy := in.SignIn(t, "busy@example.com", pw)
	in.Clock.Freeze()
	ctx := context.Background()
	for i := range 200 { // 100 s of use, half a second apart
		in.Clock.Advance(500 * time.Millisecond)
		if r := in.Do(t, "GET", "/api/v1/session", busy, nil); r.Status != 200 {
			t.Fatalf("after %s of constant use: status %d", time.Duration(i+1)*500*time.Millisecond, r.Status)
		}
		if i%30 == 29 { // the flush and the expiry, as the housekeeping runs them
			if err := in.App.Session.FlushLastSeen(ctx); err != nil {
				t.Fatal(err)
			}
			if err := in.App.Session.ExpireSessions(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
}
