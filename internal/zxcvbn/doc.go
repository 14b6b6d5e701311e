// Package zxcvbn is github.com/trustelem/zxcvbn v1.0.1 (MIT licence, see
// LICENSE.txt), the Go port of Dropbox's zxcvbn 4.4.2 password strength
// estimator, with one change: its dictionaries. Upstream builds a Go map
// per word list in its package initialisation (about 5 MB of heap held by
// every process that imports it, whether it checks a password or not);
// here the lists are embedded text (package frequency) indexed on the first
// check into compact tables (about 1.3 MB; matching/dictionary.go). What
// it answers is upstream's: the tests compare both over tens of thousands
// of passwords and a fuzz target, and check zxcvbn.js's own outputs.
// Upstream's time-display helpers, unused here, are left out.
package zxcvbn
