package audit_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"testing"
	"time"

	"github.com/sellerguard/sellerguard"
	"github.com/sellerguard/sellerguard/internal/audit"
	"github.com/sellerguard/sellerguard/internal/store"
)

// An event made in a session hashes the v2 canonical form: the v1 array
// with its own tag and the session id at the end, so the session id is as
// tamper-evident as every other field; an event without one keeps v1.
func TestAuditHashWithSession(t *testing.T) {
	e := store.AuditRecord{AuditEvent: sellerguard.AuditEvent{
		ID: "evt_1", Chain: "b:biz_1", Seq: 1, BusinessID: "biz_1", ActorID: "usr_1", ActorEmail: "owner@example.com",
		Action: "business.storefront_changed", Category: "business", TargetType: "storefront", TargetID: "biz_1",
		IP: "192.0.2.1", UserAgent: "UA", SessionID: "ses_1", Before: `{"phone":"1"}`, After: `{"phone":"2"}`,
		CreatedAt: time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC),
	}, SubjectID: "usr_1"}
	canon, err := json.Marshal([]any{"sellerguard-audit-v2", "evt_1", "b:biz_1", 1, "biz_1", "usr_1", "usr_1", "owner@example.com",
		"business.storefront_changed", "business", "storefront", "biz_1", "192.0.2.1", "UA", `{"phone":"1"}`, `{"phone":"2"}`,
		e.CreatedAt.UnixMicro(), "", "ses_1"})
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(canon)
	if got := audit.Hash(e); got != hex.EncodeToString(sum[:]) {
		t.Fatalf("Hash = %s, want the documented v2 form %x", got, sum)
	}
	other := e
	other.SessionID = "ses_2"
	if audit.Hash(other) == audit.Hash(e) {
		t.Fatal("the hash does not cover the session id")
	}
}

// The session id comes from the request's context when the entry has none.
func TestAppendTakesSessionFromContext(t *testing.T) {
	eachDB(t, func(t *testing.T, env env) {
		{
			db := env.db
			ctx := audit.WithSession(context.Background(), "ses_ctx")
			var id string
			err := db.WithTx(ctx, func(tx *store.Tx) error {
				var err error
				id, err = audit.AppendID(ctx, tx, time.Now(), audit.Entry{SubjectID: "usr_1", ActorID: "usr_1", Action: "x.y", Category: "account"})
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			e, err := db.FindAuditEvent(ctx, id)
			if err != nil || e.SessionID != "ses_ctx" {
				t.Fatalf("stored %+v, %v", e, err)
			}
			if _, err := audit.Verify(ctx, db); err != nil {
				t.Fatalf("verify: %v", err)
			}
		}
	})
}
