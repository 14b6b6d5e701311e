package app

// Verify implements mailcheck.Verifier with the DKIM key loaded last, so
// that "Check an email" follows a reloaded key like signing does. Emails
// signed with the key before a rotation no longer verify; the exact-copy
// check against the ledger still recognises them.
func (s *reloadingSigner) Verify(raw []byte) error { return s.current.Load().Verify(raw) }
