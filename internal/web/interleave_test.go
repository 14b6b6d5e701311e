package web_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/sellerguard/sellerguard/internal/app/apptest"
)

// barrier lets n goroutines pass only when all n have arrived (or after a
// bound, so a run where one never arrives fails instead of hanging).
type barrier struct {
	mu      sync.Mutex
	arrived int
	n       int
	all     chan struct{}
}

func newBarrier(n int) *barrier { return &barrier{n: n, all: make(chan struct{})} }

func (b *barrier) wait(t *testing.T) {
	b.mu.Lock()
	b.arrived++
	if b.arrived == b.n {
		close(b.all)
	}
	b.mu.Unlock()
	select {
	case <-b.all:
	case <-time.After(10 * time.Second):
		t.Errorf("barrier: %d of %d arrived", b.arrived, b.n)
	}
}

func count(subjects []string, s string) int {
	n := 0
	for _, x := range subjects {
		if x == s {
			n++
		}
	}
	return n
}

// The scheduler lists open reviews, then writes. An owner who completes the
// review in between must find it completed afterwards — not set back to
// open by the scheduler's stale copy — and nobody is reminded of it.
func TestReviewCompletedWhileSchedulerRuns(t *testing.T) {
	t.Parallel()
	apptest.Dialects(t, func(t *testing.T, dialect string) {
		in := apptest.Start(t, dialect)
		ctx := context.Background()
		owner, biz := newOwner(t, in, "owner@interleave.example", "Interleave Goods")
		member := joinByInvitation(t, in, owner.token, biz, "member@interleave.example", map[string]string{"listings": "edit"})
		reviews := "/api/v1/businesses/" + biz + "/access-reviews"
		r := in.Do(t, "POST", reviews, owner.token, nil)
		if r.Status != 201 {
			t.Fatalf("start review: %d %s", r.Status, r.Body)
		}
		id := r.JSON(t)["review"].(map[string]any)["id"].(string)
		in.Clock.Advance(8 * day) // a reminder is due
		owner.signInAgain(t, in)

		in.Session.Interleave = func(point string) {
			if point != "access_review_reminder" {
				return
			}
			r := in.Do(t, "POST", reviews+"/"+id+"/decisions", owner.token,
				map[string]any{"decisions": []map[string]any{{"user_id": member.id, "action": "keep"}}})
			if r.Status != 200 || r.JSON(t)["review"].(map[string]any)["status"] != "completed" {
				t.Errorf("owner completes the review in the window: %d %s", r.Status, r.Body)
			}
		}
		run, err := in.Team.RunAccessReviews(ctx)
		in.Session.Interleave = nil
		if err != nil {
			t.Fatal(err)
		}
		if run.Reminded != 0 {
			t.Errorf("the scheduler counts a reminder for a review completed meanwhile: %+v", run)
		}
		got := in.Do(t, "GET", reviews+"/"+id, owner.token, nil).JSON(t)["review"].(map[string]any)
		if got["status"] != "completed" {
			t.Fatalf("the review the owner completed is %v after the scheduler ran", got["status"])
		}
		if n := count(subjectsTo(t, in, owner.email), "Reminder: the access review of Interleave Goods is still open"); n != 0 {
			t.Errorf("the owner was reminded %d times of a review they had completed", n)
		}
		audit := in.Do(t, "GET", "/api/v1/audit?business_id="+biz+"&limit=200", owner.token, nil).JSON(t)["events"].([]any)
		completions := 0
		for _, e := range audit {
			if e.(map[string]any)["action"] == "business.access_review_completed" {
				completions++
			}
		}
		if completions != 1 {
			t.Errorf("%d completion events for one review", completions)
		}
	})
}

// Two schedulers (two goroutines on one instance, and two instances on one
// PostgreSQL database) that both list the same due work before either
// writes: each user gets one password reminder and each review one
// reminder, not one per scheduler.
func TestSchedulersRacingRemindOnce(t *testing.T) {
	t.Parallel()
	check := func(t *testing.T, a, b *apptest.Instance) {
		ctx := context.Background()
		owner, biz := newOwner(t, a, "owner@race.example", "Race Goods")
		joinByInvitation(t, a, owner.token, biz, "member@race.example", map[string]string{"listings": "view"})
		if r := a.Do(t, "POST", "/api/v1/businesses/"+biz+"/access-reviews", owner.token, nil); r.Status != 201 {
			t.Fatalf("start review: %d %s", r.Status, r.Body)
		}
		a.Clock.Advance(181 * day) // passwords past the reminder age, the review past a week
		if b != a {
			b.Clock.Advance(181 * day)
		}
		for _, job := range []struct {
			name string
			run  func(in *apptest.Instance) (int, error)
		}{
			{"password reminders", func(in *apptest.Instance) (int, error) { return in.Account.SendPasswordReminders(ctx) }},
			{"review reminders", func(in *apptest.Instance) (int, error) {
				r, err := in.Team.RunAccessReviews(ctx)
				return r.Reminded, err
			}},
		} {
			bar := newBarrier(2)
			hook := func(string) { bar.wait(t) }
			a.Session.Interleave, b.Session.Interleave = hook, hook
			var wg sync.WaitGroup
			counts := make([]int, 2)
			for i, in := range []*apptest.Instance{a, b} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					n, err := job.run(in)
					if err != nil {
						t.Errorf("%s: %v", job.name, err)
					}
					counts[i] = n
				}()
			}
			wg.Wait()
			a.Session.Interleave, b.Session.Interleave = nil, nil
			want := 1 // one review
			if job.name == "password reminders" {
				want = 2 // the owner and the member
			}
			if counts[0]+counts[1] != want {
				t.Errorf("%s: the two schedulers count %v, want %d in all", job.name, counts, want)
			}
		}
		subjects := subjectsTo(t, a, owner.email)
		if n := count(subjects, "Time for a new SellerGuard password"); n != 1 {
			t.Errorf("the owner got %d password reminders", n)
		}
		if n := count(subjectsTo(t, a, "member@race.example"), "Time for a new SellerGuard password"); n != 1 {
			t.Errorf("the member got %d password reminders", n)
		}
		if n := count(subjects, "Reminder: the access review of Race Goods is still open"); n != 1 {
			t.Errorf("the owner got %d review reminders: %v", n, subjects)
		}
	}
	apptest.Dialects(t, func(t *testing.T, dialect string) {
		in := apptest.Start(t, dialect)
		check(t, in, in)
	})
	t.Run("two instances on postgres", func(t *testing.T) {
		dbURL := apptest.DatabaseURL(t, "postgres")
		dir := t.TempDir()
		a := apptest.Start(t, "", apptest.Env("SELLERGUARD_DATABASE_URL", dbURL), apptest.Env("SELLERGUARD_DATA_DIR", dir))
		b := apptest.Start(t, "", apptest.Env("SELLERGUARD_DATABASE_URL", dbURL), apptest.Env("SELLERGUARD_DATA_DIR", dir))
		check(t, a, b)
	})
}
