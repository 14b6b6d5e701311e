package sms

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// DefaultTimeout bounds one request to the gateway when
// TwilioGateway.Timeout is zero.
const DefaultTimeout = 10 * time.Second

// maxTwiML is Twilio's limit on the Twiml parameter of a call.
const maxTwiML = 4000

// maxAnswer bounds how much of an answer is read.
const maxAnswer = 64 << 10

// TwilioGateway sends text messages and places voice calls through the
// Twilio REST API (version 2010-04-01) or a service compatible with it:
//
//	POST {BaseURL}/2010-04-01/Accounts/{AccountSID}/Messages.json  To, From|MessagingServiceSid, Body
//	POST {BaseURL}/2010-04-01/Accounts/{AccountSID}/Calls.json     To, From, Twiml
//
// with HTTP Basic authentication (AccountSID, AuthToken). A call reads the
// body out twice, every run of four or more digits digit by digit.
//
// Send never logs, and its errors never contain, the body, the token or
// the recipient number.
type TwilioGateway struct {
	BaseURL    string // e.g. https://api.twilio.com, without a trailing path
	AccountSID string
	AuthToken  string
	// From is the sender: an E.164 number, or for text messages also an
	// alphanumeric sender ID or a Messaging Service SID ("MG…", sent as
	// MessagingServiceSid). Voice calls need an E.164 number.
	From string
	// Timeout bounds each request (0 = DefaultTimeout); the context of
	// Send can only shorten it.
	Timeout time.Duration
	// Client makes the requests; nil means a client with Timeout that
	// follows no redirects (a redirected POST would lose its form).
	Client *http.Client
}

var _ Gateway = (*TwilioGateway)(nil)

// Send implements Gateway. The id returned is the message or call SID.
func (g *TwilioGateway) Send(ctx context.Context, m Message) (string, error) {
	if err := check(m); err != nil {
		return "", err
	}
	form := url.Values{"To": {m.To}}
	resource := "Messages.json"
	if m.Voice {
		resource = "Calls.json"
		if !isE164(g.From) {
			// Configuration, not this message: not permanent.
			return "", &Error{Op: op(m), Err: errors.New("voice calls need an E.164 phone number as the sender (SELLERGUARD_SMS_FROM)")}
		}
		form.Set("From", g.From)
		tw := twiML(m.Body, m.Lang)
		if len(tw) > maxTwiML {
			return "", &Error{Op: op(m), Permanent: true, Err: fmt.Errorf("%w: body too long to be read out", ErrInvalidMessage)}
		}
		form.Set("Twiml", tw)
	} else {
		if isMessagingServiceSID(g.From) {
			form.Set("MessagingServiceSid", g.From)
		} else {
			form.Set("From", g.From)
		}
		form.Set("Body", m.Body)
	}

	ctx, cancel := context.WithTimeout(ctx, g.timeout())
	defer cancel()
	endpoint := strings.TrimRight(g.BaseURL, "/") + "/2010-04-01/Accounts/" + url.PathEscape(g.AccountSID) + "/" + resource
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return "", &Error{Op: op(m), Err: fmt.Errorf("bad gateway URL: %w", err)}
	}
	req.SetBasicAuth(g.AccountSID, g.AuthToken)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "SellerGuard")

	resp, err := g.client().Do(req)
	if err != nil {
		// A *url.Error: the method, the URL (without any password) and
		// the cause. The body and the token are not in it.
		return "", &Error{Op: op(m), Err: err}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return "", &Error{Op: op(m), HTTPStatus: resp.StatusCode, Err: fmt.Errorf("reading the answer: %w", err)}
	}
	var a twilioAnswer
	parsed := json.Unmarshal(raw, &a) == nil
	code := a.Code.n
	if code == 0 {
		code = a.ErrorCode.n
	}
	msg := a.Message
	if msg == "" {
		msg = a.ErrorMessage
	}
	msg = redact(msg, g.AuthToken, m.Body, m.To)
	if r := []rune(msg); len(r) > 200 {
		msg = string(r[:200]) + "…"
	}

	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		switch {
		case !parsed || a.SID == "":
			// The message may have gone out; at-least-once delivery
			// accepts the rare duplicate over a lost code.
			return "", &Error{Op: op(m), HTTPStatus: resp.StatusCode, Err: errors.New("the gateway's answer has no sid")}
		case a.Status.s == "failed" || a.Status.s == "undelivered" || a.Status.s == "canceled":
			return "", &Error{Op: op(m), HTTPStatus: resp.StatusCode, Code: code, Permanent: permanentCodes[code], Err: fmt.Errorf("status %s: %s", a.Status.s, orNone(msg))}
		}
		return a.SID, nil
	}
	return "", &Error{Op: op(m), HTTPStatus: resp.StatusCode, Code: code, Permanent: permanentAnswer(resp.StatusCode, code), Err: errors.New(orNone(msg))}
}

func (g *TwilioGateway) timeout() time.Duration {
	if g.Timeout > 0 {
		return g.Timeout
	}
	return DefaultTimeout
}

func (g *TwilioGateway) client() *http.Client {
	if g.Client != nil {
		return g.Client
	}
	return &http.Client{
		Timeout:       g.timeout(),
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// permanentCodes are Twilio error codes that refuse this message or this
// recipient, so retrying cannot help.
var permanentCodes = map[int]bool{
	21211: true, // invalid 'To' phone number
	21217: true, // phone number does not appear to be valid (calls)
	21215: true, // geo permissions do not allow calling this number
	21216: true, // call blocked (high-risk number)
	21408: true, // sending to the region of the 'To' number is not enabled
	21602: true, // message body is required
	21610: true, // the recipient has opted out (STOP)
	21612: true, // the 'To' number cannot be reached by text message
	21614: true, // 'To' number is not a valid mobile number
	21617: true, // body exceeds the 1600 character limit
	30005: true, // unknown destination handset
	30006: true, // landline or unreachable carrier
}

// configCodes are Twilio error codes that point at the gateway settings:
// every message fails alike until they are fixed, so they are temporary.
var configCodes = map[int]bool{
	20003: true, // authentication failed
	20404: true, // resource (account) not found
	21212: true, // invalid 'From' number
	21603: true, // 'From' number is required
	21606: true, // 'From' number cannot send text messages
}

// permanentAnswer classifies an error answer: 400, 413 and 422 refuse
// this request; 401, 403 and 404 (credentials, account), 408, 429, 5xx and
// the rest are worth a retry.
func permanentAnswer(httpStatus, code int) bool {
	switch {
	case configCodes[code]:
		return false
	case permanentCodes[code]:
		return true
	}
	switch httpStatus {
	case http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnprocessableEntity:
		return true
	}
	return false
}

func orNone(msg string) string {
	if msg == "" {
		return "no message from the gateway"
	}
	return msg
}

// isMessagingServiceSID reports whether s is "MG" and 32 hex digits.
func isMessagingServiceSID(s string) bool {
	if len(s) != 34 || !strings.HasPrefix(s, "MG") {
		return false
	}
	for _, c := range s[2:] {
		if !strings.ContainsRune("0123456789abcdefABCDEF", c) {
			return false
		}
	}
	return true
}

// twilioAnswer is the part of a Twilio answer Send reads: a message or call
// resource (sid, status as a word, error_code, error_message) or an error
// (code, message, status as the HTTP status number).
type twilioAnswer struct {
	SID          string   `json:"sid"`
	Status       flexText `json:"status"`
	Code         flexInt  `json:"code"`
	ErrorCode    flexInt  `json:"error_code"`
	Message      string   `json:"message"`
	ErrorMessage string   `json:"error_message"`
}

// flexInt accepts a number, a string of digits or null.
type flexInt struct{ n int }

func (f *flexInt) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	if s == "null" || s == "" {
		return nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return nil // an unexpected code is no code, not a broken answer
	}
	f.n = n
	return nil
}

// flexText accepts a string and ignores anything else (the HTTP status
// number of an error answer).
type flexText struct{ s string }

func (f *flexText) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		f.s = s
	}
	return nil
}

// twiML returns the TwiML of a call that reads body out twice, a second
// apart, every run of four or more digits digit by digit. A Chinese body is
// read in Mandarin: <Say voice="alice" language="zh-CN">, Twilio's voice
// that speaks zh-CN (its default voices, man and woman, speak only a few
// European languages, and an invalid voice and language pair fails the
// call). English keeps the default voice.
func twiML(body, lang string) string {
	var say strings.Builder
	_ = xml.EscapeText(&say, []byte(spellDigits(body))) // a strings.Builder never fails
	s := say.String()
	open := "<Say>"
	if lang == "zh-CN" {
		open = `<Say voice="alice" language="zh-CN">`
	}
	return "<Response>" + open + s + `</Say><Pause length="1"/>` + open + s + "</Say></Response>"
}

// spellDigits separates the digits of every run of four or more digits by
// ", ", so that "123456" is read as six digits, not as a number.
func spellDigits(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		j := i
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			j++
		}
		switch {
		case j-i >= 4:
			for k := i; k < j; k++ {
				if k > i {
					b.WriteString(", ")
				}
				b.WriteByte(s[k])
			}
			i = j
		case j > i:
			b.WriteString(s[i:j])
			i = j
		default:
			b.WriteByte(s[i])
			i++
		}
	}
	return b.String()
}
