package config

import (
	"strings"
	"testing"
	"time"
)

func TestContactCheckAgeIsBounded(t *testing.T) {
	c, err := load(t, nil)
	if err != nil || c.ContactCheckAge != 180*24*time.Hour {
		t.Fatalf("default: %v, %v", c.ContactCheckAge, err)
	}
	if c, err := load(t, map[string]string{"SELLERGUARD_CONTACT_CHECK_AGE": "720h"}); err != nil || c.ContactCheckAge != 720*time.Hour {
		t.Fatalf("30 days: %v, %v", c.ContactCheckAge, err)
	}
	for _, bad := range []string{"719h", "0", "17521h", "-1h", "soon"} {
		_, err := load(t, map[string]string{"SELLERGUARD_CONTACT_CHECK_AGE": bad})
		if err == nil || !strings.Contains(err.Error(), "SELLERGUARD_CONTACT_CHECK_AGE") {
			t.Errorf("SELLERGUARD_CONTACT_CHECK_AGE=%s: %v, want an error naming the setting", bad, err)
		}
	}
}
