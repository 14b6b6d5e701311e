package audit_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"testing"
	"time"

	"github.com/sellerguard/sellerguard"
	"github.com/sellerguard/sellerguard/internal/audit"
	"github.com/sellerguard/sellerguard/internal/store"
)

// Known-answer vectors for the audit hash chain: every stored chain was
// hashed this way, so a change to the canonical form must fail here (and
// come with a new version tag and a verifier for both).
func TestAuditHashKnownAnswer(t *testing.T) {
	first := store.AuditRecord{AuditEvent: sellerguard.AuditEvent{
		ID: "evt_1", Chain: "b:biz_1", Seq: 1, BusinessID: "biz_1", ActorID: "usr_1", ActorEmail: "owner@example.com",
		Action: "business.storefront_changed", Category: "storefront", TargetType: "business", TargetID: "biz_1",
		IP: "192.0.2.1", UserAgent: "UA", Before: `{"phone":"1"}`, After: `{"phone":"2"}`,
		CreatedAt: time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC),
	}, SubjectID: "usr_1"}
	const want1 = "5b7f06e4e4ce4937c28888c999c3d36661b0e556f516ad5bade28e75c6eb0b90"
	if got := audit.Hash(first); got != want1 {
		t.Fatalf("Hash(first) = %s, want %s", got, want1)
	}
	// The documented canonical form: a JSON array of the version tag and
	// every stored field but the hash, the time in Unix microseconds.
	canon, err := json.Marshal([]any{"sellerguard-audit-v1", "evt_1", "b:biz_1", 1, "biz_1", "usr_1", "usr_1", "owner@example.com",
		"business.storefront_changed", "storefront", "business", "biz_1", "192.0.2.1", "UA", `{"phone":"1"}`, `{"phone":"2"}`,
		first.CreatedAt.UnixMicro(), ""})
	if err != nil {
		t.Fatal(err)
	}
	if sum := sha256.Sum256(canon); hex.EncodeToString(sum[:]) != want1 {
		t.Fatalf("documented canonical form hashes to %x", sum)
	}

	// The next event of the chain carries the first's hash: changing
	// anything in the first changes every hash after it.
	second := first
	second.ID, second.Seq, second.PrevHash = "evt_2", 2, want1
	second.Before, second.After = `{"phone":"2"}`, `{"phone":"3"}`
	const want2 = "cc6294098e88da7c264e499ac3e812c8dc31bb89110746bc23212a5804eacbba"
	if got := audit.Hash(second); got != want2 {
		t.Fatalf("Hash(second) = %s, want %s", got, want2)
	}
	tampered := first
	tampered.After = `{"phone":"9"}`
	second.PrevHash = audit.Hash(tampered)
	if audit.Hash(second) == want2 {
		t.Fatal("the second hash does not depend on the first event")
	}
}

// jsonHash is the hash by the documented canonical form: json.Marshal of
// the array (v1, or v2 with the session id at the end).
func jsonHash(t testing.TB, e store.AuditRecord) string {
	canon := []any{"sellerguard-audit-v1", e.ID, e.Chain, e.Seq, e.BusinessID, e.SubjectID, e.ActorID, e.ActorEmail,
		e.Action, e.Category, e.TargetType, e.TargetID, e.IP, e.UserAgent, e.Before, e.After, e.CreatedAt.UnixMicro(), e.PrevHash}
	if e.SessionID != "" {
		canon[0] = "sellerguard-audit-v2"
		canon = append(canon, e.SessionID)
	}
	b, err := json.Marshal(canon)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func recordOf(s1, s2 string, seq, at int64) store.AuditRecord {
	return store.AuditRecord{AuditEvent: sellerguard.AuditEvent{
		ID: "evt_" + s1, Chain: "b:" + s2, Seq: seq, BusinessID: s2, ActorID: s1, ActorEmail: s1 + "@" + s2,
		Action: "business.x", Category: s2, TargetType: "t", TargetID: s1, IP: s2, UserAgent: s1 + s2,
		Before: `{"a":"` + s1 + `"}`, After: s2, CreatedAt: time.UnixMicro(at), PrevHash: s1, SessionID: s2,
	}, SubjectID: s1}
}

// Hash writes the canonical form without json.Marshal; it must give the
// same bytes for every string, whichever characters it holds.
func TestCanonicalMatchesJSON(t *testing.T) {
	cases := []string{"", "plain", `quote " and \ backslash`, "<script>&amp;</script>", "tab\tnew\nline\r", "\x00\x01\x1f\x7f",
		"\b\f", "é ü 中文 🙂", "\u2028\u2029", "bad \xff\xfe utf8", "mixed \"<\\>\" é"}
	for _, a := range cases {
		for _, b := range cases {
			for _, e := range []store.AuditRecord{recordOf(a, b, 7, 1700000000123456), recordOf(b, a, -1, -5)} {
				if got, want := audit.Hash(e), jsonHash(t, e); got != want {
					t.Fatalf("Hash(%q, %q) = %s, json.Marshal form %s", a, b, got, want)
				}
				e.SessionID = "" // v1
				if got, want := audit.Hash(e), jsonHash(t, e); got != want {
					t.Fatalf("v1 Hash(%q, %q) = %s, json.Marshal form %s", a, b, got, want)
				}
			}
		}
	}
}

func FuzzCanonicalMatchesJSON(f *testing.F) {
	f.Add("evt_1", `{"a":"<b>"}`, int64(3), int64(1700000000000000))
	f.Add("\xff", "\u2028\"\\", int64(-1), int64(0))
	f.Fuzz(func(t *testing.T, a, b string, seq, at int64) {
		e := recordOf(a, b, seq, at)
		if got, want := audit.Hash(e), jsonHash(t, e); got != want {
			t.Fatalf("Hash(%q, %q) = %s, json.Marshal form %s", a, b, got, want)
		}
	})
}
