// Package keyrotation re-seals every sealed value (TOTP secrets, phone
// numbers, deposit account numbers, pending contact changes) under a new
// instance key: `sellerguard keys rotate`.
//
// Start records the rotation in the database (with an audit event) and only
// then adds the new key to the key file, synced to disk before anything is
// sealed under it. Run walks every field of store.SealedFields in batches;
// each batch's re-sealed values and the progress (field and last row key)
// commit in one transaction, so a run killed at any point resumes where it
// stopped, re-doing at most one batch. A value is replaced only if the row
// still holds what was read (compare and swap), so rotation never
// overwrites a change a user made meanwhile. Old keys stay in the key file:
// every value opens at every moment of a rotation.
//
// Caveats: instances that have not yet read the new key seal under the old
// one; they re-read the key file within a minute (and at once when they meet
// a value under an unknown key). Run repeats its walk (at most MaxPasses
// times) while values under older keys remain and reports any left; they
// open all the same, and the next rotation picks them up. Instances with
// separate data directories need the new key file copied to them.
package keyrotation

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/sellerguard/sellerguard"
	"github.com/sellerguard/sellerguard/internal/audit"
	"github.com/sellerguard/sellerguard/internal/keys"
	"github.com/sellerguard/sellerguard/internal/store"
)

// MaxPasses bounds the walks over every field of one run.
const MaxPasses = 3

// Rotator runs key rotations.
type Rotator struct {
	DB   *store.DB
	Keys *keys.Keys // loaded from the key file (AddVersion needs it)
	Now  func() time.Time
	// BatchSize is the number of values re-sealed per transaction (default 100).
	BatchSize int
	// Pause is waited between batches, to spread the load (default none).
	Pause  time.Duration
	Logger *slog.Logger
	// Progress, if set, is called after every committed batch.
	Progress func(store.KeyRotation)
}

func (r *Rotator) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

func (r *Rotator) logger() *slog.Logger {
	if r.Logger != nil {
		return r.Logger
	}
	return slog.Default()
}

// Start returns the rotation to run: the one in progress if a run stopped
// before finishing (resumed = true), else a new one to the next key
// version, recorded and audited with actor as the one who asked. Either
// way the key file holds the rotation's key when Start returns.
func (r *Rotator) Start(ctx context.Context, actor string) (rot store.KeyRotation, resumed bool, err error) {
	if err := r.Keys.Reload(); err != nil {
		return rot, false, err
	}
	now := r.now()
	err = r.DB.WithTx(ctx, func(tx *store.Tx) error {
		rot, err = tx.RunningKeyRotation(ctx)
		if err == nil {
			resumed = true
			return nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		latest, err := tx.LatestKeyVersion(ctx)
		if err != nil {
			return err
		}
		rot = store.KeyRotation{
			Version: max(latest, r.Keys.Versions()[len(r.Keys.Versions())-1]) + 1, Status: store.RotationRunning,
			Field: store.SealedFields[0].Name, StartedBy: actor, StartedAt: now, UpdatedAt: now,
		}
		if err := tx.CreateKeyRotation(ctx, rot); err != nil {
			return err
		}
		return audit.Append(ctx, tx, now, audit.Entry{
			SubjectID: "system", ActorID: actor, Action: "keys.rotation_started", Category: sellerguard.CategorySupport,
			TargetType: "instance_key", TargetID: fmt.Sprintf("v%d", rot.Version),
			Before: map[string]any{"sealing_version": rot.Version - 1}, After: map[string]any{"sealing_version": rot.Version},
		})
	})
	if errors.Is(err, store.ErrConflict) {
		return rot, false, errors.New("keyrotation: another rotation started at the same moment; run the command again to resume it")
	}
	if err != nil {
		return rot, false, err
	}
	if err := r.ensureKey(rot); err != nil {
		return rot, resumed, err
	}
	return rot, resumed, nil
}

// ensureKey makes sure the key file holds rot's key. It creates the key only
// while nothing can have been sealed under it yet: if progress was recorded
// and the key is missing here, the key exists elsewhere (another instance's
// data directory) and a new one would not open what was sealed.
func (r *Rotator) ensureKey(rot store.KeyRotation) error {
	for _, v := range r.Keys.Versions() {
		if v == rot.Version {
			return nil
		}
	}
	if rot.Resealed > 0 || rot.Passes > 0 || rot.Field != store.SealedFields[0].Name || rot.AfterKey != "" {
		return fmt.Errorf("keyrotation: values were already sealed under key version %d, which %s lacks; copy the key file from the instance that started the rotation", rot.Version, r.Keys.Path())
	}
	return r.Keys.AddVersion(rot.Version)
}

// Run re-seals every value not yet under rot's key, from rot's recorded
// progress on, then marks the rotation done (audited). remaining counts the
// values left under older keys after MaxPasses walks (0 normally).
func (r *Rotator) Run(ctx context.Context, rot store.KeyRotation) (done store.KeyRotation, remaining int64, err error) {
	size := r.BatchSize
	if size <= 0 {
		size = 100
	}
	if rot.Status != store.RotationRunning {
		return rot, 0, fmt.Errorf("keyrotation: rotation to key version %d is %s", rot.Version, rot.Status)
	}
	if err := r.ensureKey(rot); err != nil {
		return rot, 0, err
	}
	for {
		if rot.Field == "" { // a pass ended: anything left under older keys?
			left, err := r.DB.CountSealedNotUnder(ctx, rot.Version)
			if err != nil {
				return rot, 0, err
			}
			remaining = 0
			for _, n := range left {
				remaining += n
			}
			if remaining == 0 || rot.Passes >= MaxPasses {
				break
			}
			rot.Field, rot.AfterKey = store.SealedFields[0].Name, ""
		}
		if err := r.batch(ctx, &rot, size); err != nil {
			return rot, 0, err
		}
		if r.Progress != nil {
			r.Progress(rot)
		}
		if r.Pause > 0 && rot.Field != "" {
			select {
			case <-ctx.Done():
				return rot, 0, ctx.Err()
			case <-time.After(r.Pause):
			}
		}
	}
	now := r.now()
	rot.Status, rot.FinishedAt, rot.UpdatedAt = store.RotationDone, now, now
	err = r.DB.WithTx(ctx, func(tx *store.Tx) error {
		if err := tx.SaveKeyRotation(ctx, rot); err != nil {
			return err
		}
		return audit.Append(ctx, tx, now, audit.Entry{
			SubjectID: "system", ActorID: rot.StartedBy, Action: "keys.rotation_finished", Category: sellerguard.CategorySupport,
			TargetType: "instance_key", TargetID: fmt.Sprintf("v%d", rot.Version),
			After: map[string]any{"sealing_version": rot.Version, "resealed": rot.Resealed, "left_under_older_versions": remaining},
		})
	})
	if err != nil {
		return rot, remaining, err
	}
	if remaining > 0 {
		r.logger().Warn("key rotation finished with values still under older keys (sealed meanwhile by instances without the new key); they open, and the next rotation re-seals them",
			"version", rot.Version, "remaining", remaining)
	}
	return rot, remaining, nil
}

// batch re-seals one batch of rot.Field and records the progress with it,
// moving to the next field (or ending the pass) when the field is done.
func (r *Rotator) batch(ctx context.Context, rot *store.KeyRotation, size int) error {
	f, ok := store.FindSealedField(rot.Field)
	if !ok {
		return fmt.Errorf("keyrotation: unknown sealed field %q in the recorded progress", rot.Field)
	}
	next := *rot
	err := r.DB.WithTx(ctx, func(tx *store.Tx) error {
		next = *rot
		vals, err := tx.SealedBatch(ctx, f, rot.AfterKey, size)
		if err != nil {
			return err
		}
		for _, v := range vals {
			updated, changed, err := r.Keys.Reseal(rot.Version, v.Purpose, v.Sealed, []byte(v.AAD))
			if err != nil {
				return fmt.Errorf("keyrotation: %s of row %q: %w", f.Name, v.RowKey, err)
			}
			if changed {
				ok, err := tx.ReplaceSealed(ctx, f, v.RowKey, v.Sealed, updated)
				if err != nil {
					return err
				}
				if ok {
					next.Resealed++
				}
			}
			next.AfterKey = v.RowKey
		}
		if len(vals) < size { // the field is done: on to the next one
			next.Field, next.AfterKey = nextField(f.Name), ""
			if next.Field == "" {
				next.Passes++
			}
		}
		next.UpdatedAt = r.now()
		return tx.SaveKeyRotation(ctx, next)
	})
	if err != nil {
		return err
	}
	*rot = next
	return nil
}

func nextField(name string) string {
	for i, f := range store.SealedFields {
		if f.Name == name && i+1 < len(store.SealedFields) {
			return store.SealedFields[i+1].Name
		}
	}
	return ""
}
