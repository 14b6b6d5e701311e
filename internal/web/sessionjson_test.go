package web

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

// TestCurrentSessionJSONMatches checks that the hand-written answer of the
// session check is byte for byte what encoding/json writes for the same
// struct, over awkward strings, times and shapes.
func TestCurrentSessionJSONMatches(t *testing.T) {
	at := time.Date(2026, 12, 5, 6, 7, 8, 123456789, time.UTC)
	strs := []string{"", "plain", `quo"te\back`, "<script>&amp;</script>", "tab\tnl\ncr\rbs\bff\f", "\x00\x01\x1f\x7f",
		"ünïcødé 中文 😀", "bad \xff utf8 \xc3", "line\u2028para\u2029", "usr_01HXYZ", "Mozilla/5.0 (X11; Linux x86_64)"}
	times := []time.Time{at, at.Truncate(time.Second), {}, at.In(time.FixedZone("x", 5*3600+1800)), time.Date(1, 1, 1, 0, 0, 0, 1000, time.UTC)}
	for i, s := range strs {
		var c currentSessionJSON
		tm := times[i%len(times)]
		c.User.ID, c.User.Email, c.User.PasswordChangedAt = s, strs[(i+1)%len(strs)], tm
		c.TwoStep.Enrolled, c.TwoStep.FullyProtected, c.TwoStep.BackupCodesLeft, c.TwoStep.RequiredByBusiness = i%2 == 0, i%3 == 0, i*7-3, i%2 == 1
		switch i % 3 {
		case 0:
			c.TwoStep.Missing = nil
		case 1:
			c.TwoStep.Missing = []string{}
		default:
			c.TwoStep.Missing = []string{"totp", s}
		}
		c.FailedSignins.Count = i
		if i%2 == 1 {
			c.FailedSignins.LastAt, c.FailedSignins.LastIP = &tm, s
		}
		c.Password.ChangedAt, c.Password.MustChange = times[(i+2)%len(times)], s
		if i%4 != 0 {
			c.Memberships = []membershipJSON{}
			for j := range i % 4 {
				c.Memberships = append(c.Memberships, membershipJSON{BusinessID: s, BusinessName: strs[(i+j)%len(strs)], Role: "owner", TwoStepRequired: j%2 == 0})
			}
		}
		c.Session = sessionJSON{ID: s, CreatedAt: tm, LastSeenAt: times[(i+3)%len(times)], ExpiresAt: at, IP: "127.0.0.1", UserAgent: s, AuthLevel: "full", Current: i%2 == 0}

		var want bytes.Buffer
		if err := json.NewEncoder(&want).Encode(&c); err != nil {
			t.Fatal(err)
		}
		if got := c.appendJSON(nil); !bytes.Equal(got, want.Bytes()) {
			t.Errorf("case %d:\n got %s\nwant %s", i, got, want.Bytes())
		}
	}
}

// FuzzAppendJSONString checks the string encoding against encoding/json's.
func FuzzAppendJSONString(f *testing.F) {
	for _, s := range []string{"", "a", "<>&", "\u2028", "\xff", "\"\\", "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendJSONString(nil, s); !bytes.Equal(got, want) {
			t.Errorf("%q:\n got %s\nwant %s", s, got, want)
		}
	})
}
