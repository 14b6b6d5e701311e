package sellerdata

import (
	"testing"
	"time"

	"github.com/sellerguard/sellerguard/internal/store"
)

// A listing change line of the grouped notice, in both languages.
func TestListingLineInBothLanguages(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	before := store.Listing{ID: "lst_1", SKU: "A-1", Title: "Tea", PriceCents: 100}
	after := before
	after.PriceCents, after.ConditionNote = 200, "chipped"
	l := listingLine("lee@example.com", before, after, at)
	if got := l.In("en"); got != "05:06:07 UTC: lee@example.com changed (price, condition note) listing A-1 (Tea)" {
		t.Errorf("en: %q", got)
	}
	if got := l.In("zh-CN"); got != "05:06:07 UTC：lee@example.com 更改了（价格、状况说明）商品 A-1（Tea）" {
		t.Errorf("zh: %q", got)
	}
	if got := listingLine("lee@example.com", store.Listing{}, after, at).In("en"); got != "05:06:07 UTC: lee@example.com created listing A-1 (Tea)" {
		t.Errorf("created: %q", got)
	}
}
