package session

import (
	"context"
	"errors"
	"time"

	"github.com/sellerguard/sellerguard"
	"github.com/sellerguard/sellerguard/internal/store"
)

// IdempotencyTTL is how long an Idempotency-Key is remembered.
const IdempotencyTTL = 24 * time.Hour

// BeginIdempotent claims a caller's Idempotency-Key for a request (its
// method, path and body hashed into requestHash). It returns the kept
// answer when the same request ran before under the key (replay), and a
// conflict when the key was used for another request or its first request
// is still running, or ended without a kept answer.
func (s *Service) BeginIdempotent(ctx context.Context, userID, key, requestHash string) (*store.IdempotencyRecord, error) {
	now := s.now()
	claim := store.IdempotencyRecord{UserID: userID, Key: key, RequestHash: requestHash, CreatedAt: now}
	var replay *store.IdempotencyRecord
	err := s.DB.WithTx(ctx, func(tx *store.Tx) error {
		old, err := tx.FindIdempotencyKey(ctx, userID, key)
		switch {
		case errors.Is(err, store.ErrNotFound):
			return tx.ClaimIdempotencyKey(ctx, claim)
		case err != nil:
			return err
		case now.Sub(old.CreatedAt) > IdempotencyTTL: // forgotten, but for housekeeping
			if err := tx.ForgetIdempotencyKey(ctx, userID, key); err != nil {
				return err
			}
			return tx.ClaimIdempotencyKey(ctx, claim)
		case old.RequestHash != requestHash:
			return sellerguard.Errorf(sellerguard.ECodeConflict, "This Idempotency-Key was used for a different request. Use a new key for a new request.")
		case old.State != store.IdemDone:
			return errIdemPending
		}
		replay = &old
		return nil
	})
	if errors.Is(err, store.ErrConflict) {
		// Another request with the same key claimed it between our read and
		// our insert: it is the one running.
		err = errIdemPending
	}
	return replay, err
}

var errIdemPending = sellerguard.Errorf(sellerguard.ECodeConflict, "A request with this Idempotency-Key is still running, or its outcome is unknown. Check whether it took effect before you send it again with a new key.")

// FinishIdempotent keeps the answer of a key's first request.
func (s *Service) FinishIdempotent(ctx context.Context, r store.IdempotencyRecord) error {
	return s.DB.WithTx(ctx, func(tx *store.Tx) error { return tx.CompleteIdempotencyKey(ctx, r) })
}

// ReleaseIdempotent forgets a key whose request was refused (it changed
// nothing), so the caller may correct the request and send it again.
func (s *Service) ReleaseIdempotent(ctx context.Context, userID, key string) error {
	return s.DB.WithTx(ctx, func(tx *store.Tx) error { return tx.ReleaseIdempotencyKey(ctx, userID, key) })
}
