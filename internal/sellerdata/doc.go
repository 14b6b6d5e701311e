// Package sellerdata holds the rules of a business's seller data: payment
// information — the deposit account payouts go to and the card fees are
// charged to (payments.go) — the storefront, and the listings
// (listings.go).
//
// Who may do what: viewing needs the area at view level, changing it at
// edit level (session.Principal.RequireArea). Changing the deposit account
// (SetDepositAccount, its first lines) needs payments: edit, a backup
// two-step method when the business requires one, and a recent sign-in; a
// new deposit account receives payouts only after the cooling-off period.
// Who is told about a payment change is TellPaymentChange (paymentnotice.go).
//
// What it guards: account and card numbers are sealed (only the last four
// digits are shown), every change commits with its audit event and its
// notices, and small listing changes are grouped into one notice
// (ListingsChanged, internal/changes).
package sellerdata
