package web

import (
	"strconv"
	"sync"
	"time"
	"unicode/utf8"
)

// The session check's answer is written by hand, not by encoding/json:
// it is the hottest route of all, and reflection plus one allocation per
// time value was a quarter of its CPU. appendJSON writes exactly the bytes
// json.NewEncoder(w).Encode(&out) would (TestCurrentSessionJSONMatches
// checks it against encoding/json), into a pooled buffer.

var jsonBufPool = sync.Pool{New: func() any { b := make([]byte, 0, 2048); return &b }}

// appendJSON appends c as encoding/json's Encoder encodes it (HTML-safe
// strings, RFC 3339 times, a final newline).
func (c *currentSessionJSON) appendJSON(b []byte) []byte {
	b = append(b, `{"user":{"id":`...)
	b = appendJSONString(b, c.User.ID)
	b = append(b, `,"email":`...)
	b = appendJSONString(b, c.User.Email)
	b = append(b, `,"password_changed_at":`...)
	b = appendJSONTime(b, c.User.PasswordChangedAt)
	b = append(b, `},"two_step":{"enrolled":`...)
	b = strconv.AppendBool(b, c.TwoStep.Enrolled)
	b = append(b, `,"fully_protected":`...)
	b = strconv.AppendBool(b, c.TwoStep.FullyProtected)
	b = append(b, `,"missing":`...)
	if c.TwoStep.Missing == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, m := range c.TwoStep.Missing {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, m)
		}
		b = append(b, ']')
	}
	b = append(b, `,"backup_codes_left":`...)
	b = strconv.AppendInt(b, int64(c.TwoStep.BackupCodesLeft), 10)
	b = append(b, `,"required_by_business":`...)
	b = strconv.AppendBool(b, c.TwoStep.RequiredByBusiness)
	b = append(b, `},"failed_signins":{"count":`...)
	b = strconv.AppendInt(b, int64(c.FailedSignins.Count), 10)
	if c.FailedSignins.LastAt != nil {
		b = append(b, `,"last_at":`...)
		b = appendJSONTime(b, *c.FailedSignins.LastAt)
	}
	if c.FailedSignins.LastIP != "" {
		b = append(b, `,"last_ip":`...)
		b = appendJSONString(b, c.FailedSignins.LastIP)
	}
	b = append(b, `},"password":{"changed_at":`...)
	b = appendJSONTime(b, c.Password.ChangedAt)
	b = append(b, `,"must_change":`...)
	b = appendJSONString(b, c.Password.MustChange)
	b = append(b, `},"memberships":`...)
	if c.Memberships == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, m := range c.Memberships {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"business_id":`...)
			b = appendJSONString(b, m.BusinessID)
			b = append(b, `,"business_name":`...)
			b = appendJSONString(b, m.BusinessName)
			b = append(b, `,"role":`...)
			b = appendJSONString(b, m.Role)
			b = append(b, `,"two_step_required":`...)
			b = strconv.AppendBool(b, m.TwoStepRequired)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	s := &c.Session
	b = append(b, `,"session":{"id":`...)
	b = appendJSONString(b, s.ID)
	b = append(b, `,"created_at":`...)
	b = appendJSONTime(b, s.CreatedAt)
	b = append(b, `,"last_seen_at":`...)
	b = appendJSONTime(b, s.LastSeenAt)
	b = append(b, `,"expires_at":`...)
	b = appendJSONTime(b, s.ExpiresAt)
	b = append(b, `,"ip":`...)
	b = appendJSONString(b, s.IP)
	b = append(b, `,"user_agent":`...)
	b = appendJSONString(b, s.UserAgent)
	b = append(b, `,"auth_level":`...)
	b = appendJSONString(b, s.AuthLevel)
	b = append(b, `,"current":`...)
	b = strconv.AppendBool(b, s.Current)
	return append(b, "}}\n"...)
}

// appendJSONTime appends t as time.Time.MarshalJSON does (RFC 3339 with
// nanoseconds, quoted). Times here are a session's and an account's, well
// inside the years 0–9999 that MarshalJSON refuses outside of.
func appendJSONTime(b []byte, t time.Time) []byte {
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

const lowerHex = "0123456789abcdef"

// appendJSONString appends s as a JSON string as encoding/json does with
// HTML escaping on (its default): <, > and & as \u003c…, control
// characters escaped, invalid UTF-8 as \ufffd, U+2028 and U+2029 escaped.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', lowerHex[c>>4], lowerHex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', lowerHex[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
