package keyrotation_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/sellerguard/sellerguard/internal/app/apptest"
	"github.com/sellerguard/sellerguard/internal/keyrotation"
	"github.com/sellerguard/sellerguard/internal/keys"
	"github.com/sellerguard/sellerguard/internal/store"
)

// A value sealed under the old key behind the rotation's progress (by an
// instance that had not read the new key yet) is found by a second pass; a
// second Start while a rotation runs resumes it instead of adding a key.
func TestRunSweepsValuesSealedBehindIt(t *testing.T) {
	apptest.Dialects(t, func(t *testing.T, dialect string) {
		in := apptest.Start(t, dialect)
		ctx := context.Background()
		uid, _ := in.SignUp(t, "sweep@example.com", "correct horse battery staple", "Sweep Goods")
		k := in.Session.Keys
		addMethod := func(id string, version int) {
			t.Helper()
			sealed, err := k.SealWith(version, "totp", []byte("SECRET"+id), []byte(id))
			if err != nil {
				t.Fatal(err)
			}
			err = in.DB.WithTx(ctx, func(tx *store.Tx) error {
				return tx.CreateMethod(ctx, store.TwoStepMethod{ID: id, UserID: uid, Kind: "totp", Label: "app", SecretSealed: sealed, Confirmed: true})
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		for i := 1; i <= 9; i++ {
			addMethod(fmt.Sprintf("tsm_%02d", i), 1)
		}
		var once sync.Once
		r := &keyrotation.Rotator{DB: in.DB, Keys: k, BatchSize: 3, Progress: func(rot store.KeyRotation) {
			if rot.AfterKey >= "tsm_03" {
				once.Do(func() { addMethod("tsm_00", 1) }) // behind the progress, under the old key
			}
		}}
		rot, resumed, err := r.Start(ctx, "cli:test")
		if err != nil || resumed || rot.Version != 2 || k.Current() != 2 {
			t.Fatalf("start: %+v resumed=%v err=%v current=%d", rot, resumed, err, k.Current())
		}
		again, resumed, err := r.Start(ctx, "cli:other")
		if err != nil || !resumed || again.Version != 2 {
			t.Fatalf("a second start did not resume: %+v %v %v", again, resumed, err)
		}
		done, remaining, err := r.Run(ctx, rot)
		if err != nil || remaining != 0 || done.Status != store.RotationDone || done.Passes != 2 || done.Resealed != 10 {
			t.Fatalf("run: %+v remaining=%d err=%v", done, remaining, err)
		}
		ms, err := in.DB.ListMethods(ctx, uid)
		if err != nil || len(ms) != 10 {
			t.Fatalf("methods: %d %v", len(ms), err)
		}
		for _, m := range ms {
			if v, _ := keys.VersionOf(m.SecretSealed); v != 2 {
				t.Errorf("%s is under key %d", m.ID, v)
			}
			if got, err := k.Open("totp", m.SecretSealed, []byte(m.ID)); err != nil || !strings.HasSuffix(string(got), m.ID) {
				t.Errorf("%s opens to %q, %v", m.ID, got, err)
			}
		}
		next, resumed, err := r.Start(ctx, "cli:test")
		if err != nil || resumed || next.Version != 3 {
			t.Fatalf("the next rotation: %+v %v %v", next, resumed, err)
		}
	})
}
