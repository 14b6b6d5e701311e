package recovery_test

import (
	"context"
	"testing"
	"time"

	"github.com/sellerguard/sellerguard/internal/recovery"
)

func TestRevertCodeCarries80Bits(t *testing.T) {
	seen := map[string]bool{}
	for range 200 {
		c, err := recovery.NewRevertCode()
		if err != nil {
			t.Fatal(err)
		}
		n := recovery.NormalizeRevertCode(c)
		if len(c) != 19 || len(n) != 16 || seen[n] {
			t.Fatalf("code %q (normalised %q)", c, n)
		}
		seen[n] = true
		// 16 symbols of 32 = 80 bits; typed in lower case, without dashes, with O for 0.
		if recovery.NormalizeRevertCode(" "+lower(c)+" ") != n {
			t.Fatalf("%q does not normalise like %q", lower(c), c)
		}
	}
	if recovery.NormalizeRevertCode("ABCD-EFGH-JKMN-PQR!") != "" || recovery.NormalizeRevertCode(string(make([]byte, 100))) != "" {
		t.Error("bad input normalised to a code")
	}
	if recovery.NormalizeRevertCode("oil0") != "0110" {
		t.Error("O, I and L are not read as digits")
	}
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 32
		}
	}
	return string(b)
}

func TestPaceWaitsForTheSlowerPath(t *testing.T) {
	var p recovery.Pace
	start := time.Now()
	p.Wait(context.Background(), start) // nothing observed: no wait
	if time.Since(start) > 20*time.Millisecond {
		t.Fatal("an empty pace waited")
	}
	p.Observe(30*time.Millisecond, true)
	p.Observe(10*time.Millisecond, true) // decays slowly: still about 27 ms
	p.Observe(time.Millisecond, false)   // an unknown address's faster request: no decay
	start = time.Now()
	p.Wait(context.Background(), start)
	if d := time.Since(start); d < 25*time.Millisecond || d > 500*time.Millisecond {
		t.Fatalf("waited %v, want about 27 ms", d)
	}
	// An unknown address's request that was the slower one raises the
	// pace for both paths.
	p.Observe(60*time.Millisecond, false)
	start = time.Now()
	p.Wait(context.Background(), start)
	if d := time.Since(start); d < 58*time.Millisecond || d > 500*time.Millisecond {
		t.Fatalf("waited %v after a slower unknown-address request, want about 60 ms", d)
	}
	// Finish waits for the pace as it was before the request's own
	// (faster, registered) work time lowers it: the registered request
	// does not get a shorter wait than an unknown one would.
	start = time.Now()
	p.Finish(context.Background(), start, true)
	if d := time.Since(start); d < 58*time.Millisecond {
		t.Fatalf("a registered request finished after %v, want the 60 ms pace it found", d)
	}
	start = time.Now()
	p.Wait(context.Background(), start) // lowered now, by an eighth of the gap
	if d := time.Since(start); d < 50*time.Millisecond || d > 500*time.Millisecond {
		t.Fatalf("waited %v after the registered request, want about 53 ms", d)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	start = time.Now()
	p.Wait(ctx, start)
	if time.Since(start) > 20*time.Millisecond {
		t.Fatal("a cancelled request waited")
	}
	if !recovery.WellFormedCode("012345") || recovery.WellFormedCode("01234") || recovery.WellFormedCode("０１２３４５") {
		t.Error("WellFormedCode")
	}
	if recovery.WellFormedToken("sgr_short") {
		t.Error("WellFormedToken")
	}
}

// Finish answers no sooner than MinAnswer, for either path, even when
// nothing slower was seen; and when the work itself took longer, it adds
// nothing more.
func TestPaceFinishWaitsForTheFloor(t *testing.T) {
	var p recovery.Pace
	for _, registered := range []bool{false, true} {
		start := time.Now()
		p.Finish(context.Background(), start, registered)
		if d := time.Since(start); d < recovery.MinAnswer || d > recovery.MinAnswer+500*time.Millisecond {
			t.Fatalf("registered=%v: answered after %v, want about %v", registered, d, recovery.MinAnswer)
		}
	}
	start := time.Now().Add(-2 * recovery.MinAnswer) // the work took twice the floor
	p.Finish(context.Background(), start, true)
	if d := time.Since(start); d > 2*recovery.MinAnswer+200*time.Millisecond {
		t.Fatalf("a request whose work outlasted the floor waited %v more", d-2*recovery.MinAnswer)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	start = time.Now()
	p.Finish(ctx, start, false)
	if time.Since(start) > 100*time.Millisecond {
		t.Fatal("a cancelled request waited for the floor")
	}
}
