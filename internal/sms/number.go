package sms

import (
	"errors"
	"fmt"
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// ErrInvalidNumber is wrapped by NormalizeNumber's error for input that is
// not a valid phone number in international form.
var ErrInvalidNumber = errors.New("not a valid phone number in international form (+ and country code)")

// ErrNumberNotAllowed is wrapped by NormalizeNumber's error for a valid
// number of a kind that cannot receive codes: premium-rate, shared-cost,
// toll-free, VoIP, pager, personal, voicemail, company (UAN) and fixed-line
// numbers, and numbers of an unknown kind.
var ErrNumberNotAllowed = errors.New("this kind of phone number cannot receive codes")

// ExampleNumber is the mobile number the error messages give as an example
// of international form. It passes NormalizeNumber (a test keeps it so):
// an example that is itself refused (as the drama range +44 7700 900xxx
// is) teaches nothing.
const ExampleNumber = "+44 7400 123456"

// maxNumberInput bounds the input of NormalizeNumber, in bytes.
const maxNumberInput = 32

// NormalizeNumber checks a phone number typed by a person and returns it
// in E.164 form (+447400123456). It accepts only international form: a
// leading +, then digits, optionally grouped with spaces, hyphens, dots,
// slashes or parentheses. Letters (vanity numbers, "ext."), other
// characters and input over 32 bytes are refused, as are numbers that
// libphonenumber does not know as valid. A valid number must be mobile (or
// "fixed line or mobile" where the region cannot tell, as in the USA):
// every other kind wraps ErrNumberNotAllowed — above all premium-rate and
// shared-cost numbers, which SMS-pumping fraud is paid through.
//
// Errors wrap ErrInvalidNumber or ErrNumberNotAllowed; their text is fit
// for the user and does not repeat the number.
func NormalizeNumber(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", fmt.Errorf("%w: empty", ErrInvalidNumber)
	}
	if len(s) > maxNumberInput {
		return "", fmt.Errorf("%w: too long", ErrInvalidNumber)
	}
	if s[0] != '+' {
		return "", fmt.Errorf("%w: it must start with + and the country code", ErrInvalidNumber)
	}
	digits := 0
	for _, c := range s[1:] {
		switch {
		case c >= '0' && c <= '9':
			digits++
		case c == ' ' || c == '-' || c == '.' || c == '/' || c == '(' || c == ')':
		default:
			return "", fmt.Errorf("%w: only digits may follow the +", ErrInvalidNumber)
		}
	}
	if digits < 7 || digits > 15 {
		return "", fmt.Errorf("%w: wrong number of digits", ErrInvalidNumber)
	}
	n, err := phonenumbers.Parse(s, "ZZ")
	if err != nil || n.GetExtension() != "" || !phonenumbers.IsValidNumber(n) {
		return "", fmt.Errorf("%w: no such number exists", ErrInvalidNumber)
	}
	switch t := phonenumbers.GetNumberType(n); t {
	case phonenumbers.MOBILE, phonenumbers.FIXED_LINE_OR_MOBILE:
		return phonenumbers.Format(n, phonenumbers.E164), nil
	default:
		return "", fmt.Errorf("%w: %s", ErrNumberNotAllowed, kindName(t))
	}
}

func kindName(t phonenumbers.PhoneNumberType) string {
	switch t {
	case phonenumbers.PREMIUM_RATE:
		return "premium-rate number"
	case phonenumbers.SHARED_COST:
		return "shared-cost number"
	case phonenumbers.TOLL_FREE:
		return "toll-free number"
	case phonenumbers.FIXED_LINE:
		return "landline, not a mobile number"
	case phonenumbers.VOIP:
		return "internet (VoIP) number, not a mobile number"
	case phonenumbers.PAGER:
		return "pager number"
	case phonenumbers.PERSONAL_NUMBER:
		return "personal (forwarding) number, not a mobile number"
	case phonenumbers.UAN:
		return "company number, not a mobile number"
	case phonenumbers.VOICEMAIL:
		return "voicemail number"
	default:
		return "not a mobile number"
	}
}

// Last4 returns a number for display with all but its last four digits
// hidden: "•••• 0123". A number with fewer than four digits is all hidden.
func Last4(e164 string) string {
	var d []byte
	for i := 0; i < len(e164); i++ {
		if e164[i] >= '0' && e164[i] <= '9' {
			d = append(d, e164[i])
		}
	}
	if len(d) < 4 {
		return "••••"
	}
	return "•••• " + string(d[len(d)-4:])
}
