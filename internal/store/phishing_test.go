package store_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/sellerguard/sellerguard/internal/store"
)

// Phishing reports on both databases: stored with the raw message, listed
// newest first without it (per reporter or all, paged), and the message
// erased when its retention ends while the hash and analysis stay.
func TestPhishingReports(t *testing.T) {
	eachDB(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		now := time.Now().UTC().Truncate(time.Microsecond)
		raw := []byte("From: x@example.com\r\n\r\n\x00binary\xff")
		for i, r := range []store.PhishingReport{
			{ID: "phr_a", Source: "smtp", Kind: "message", ReporterEmail: "alice@example.com", Raw: raw, RawSize: len(raw), RawSHA256: "aa", RawExpiresAt: now.Add(time.Hour)},
			{ID: "phr_b", Source: "api", Kind: "link", ReporterUserID: "usr_1", URL: "http://bit.ly/x", Note: "sms"},
			{ID: "phr_c", Source: "web", Kind: "message", ReporterUserID: "usr_1", Raw: raw, RawExpiresAt: now.Add(48 * time.Hour)},
		} {
			r.ReceivedAt, r.Verdict, r.Reasons, r.Analysis, r.ReporterIP = now.Add(time.Duration(i)*time.Second), "suspicious", `[{"code":"urgency","message":"m"}]`, `{}`, "127.0.0.1"
			if err := db.AddPhishingReport(ctx, r); err != nil {
				t.Fatal(err)
			}
		}
		all, err := db.ListPhishingReports(ctx, store.PhishingReportFilter{})
		if err != nil || len(all) != 3 || all[0].ID != "phr_c" || all[2].ID != "phr_a" || all[0].Raw != nil {
			t.Fatalf("all = %+v, %v", all, err)
		}
		mine, err := db.ListPhishingReports(ctx, store.PhishingReportFilter{ReporterUserID: "usr_1", Limit: 1})
		if err != nil || len(mine) != 1 || mine[0].ID != "phr_c" {
			t.Fatalf("mine = %+v, %v", mine, err)
		}
		next, err := db.ListPhishingReports(ctx, store.PhishingReportFilter{ReporterUserID: "usr_1", BeforeTime: mine[0].ReceivedAt, BeforeID: mine[0].ID})
		if err != nil || len(next) != 1 || next[0].ID != "phr_b" || next[0].URL != "http://bit.ly/x" {
			t.Fatalf("next page = %+v, %v", next, err)
		}
		got, err := db.GetPhishingReport(ctx, "phr_a")
		if err != nil || !bytes.Equal(got.Raw, raw) || !got.ReceivedAt.Equal(now) || got.ReporterEmail != "alice@example.com" {
			t.Fatalf("get = %+v, %v", got, err)
		}
		if _, err := db.GetPhishingReport(ctx, "phr_nope"); err != store.ErrNotFound {
			t.Fatalf("unknown report: %v", err)
		}
		n, err := db.EraseExpiredReportMessages(ctx, now.Add(2*time.Hour))
		if err != nil || n != 1 {
			t.Fatalf("erase: %d, %v", n, err)
		}
		if got, _ := db.GetPhishingReport(ctx, "phr_a"); got.Raw != nil || got.RawSHA256 != "aa" || got.Verdict != "suspicious" {
			t.Errorf("after erasing: %+v", got)
		}
		if got, _ := db.GetPhishingReport(ctx, "phr_c"); !bytes.Equal(got.Raw, raw) {
			t.Errorf("a message still within its retention was erased")
		}
	})
}
