// Package sms sends SellerGuard's text messages and voice calls (the SMS and
// voice second factor, capability G1) through an HTTP gateway, and checks
// the phone numbers they go to.
//
// What it guards:
//   - Only real mobile numbers are enrolled: NormalizeNumber accepts a number
//     in international form (+…) that libphonenumber knows as valid and as
//     mobile (or "fixed line or mobile", where a region cannot tell), and
//     refuses premium-rate, shared-cost, toll-free, VoIP, pager, personal
//     and other non-mobile numbers. This is the first defence against SMS
//     pumping (toll fraud through code messages to numbers an attacker is
//     paid for).
//   - Message bodies hold codes: nothing here logs a body, and no error
//     carries the body, the auth token or the recipient number (answers of
//     the gateway are redacted before they become part of an error).
//   - Every send is bounded in time (context and http.Client timeout) and
//     classified: IsPermanent tells the outbox worker whether retrying the
//     same message can help.
//
// Caveats: the number checks use the metadata compiled into
// github.com/nyaruka/phonenumbers and are only as current as it; numbering
// plans change, and number portability means a "mobile" range says nothing
// about who holds the number today. Acceptance here is no proof of
// possession: that still needs a code sent to the number.
//
// TwilioGateway speaks the Twilio REST API (2010-04-01), which several
// other providers imitate. FakeGateway stands in for it in tests of other
// packages only.
package sms
