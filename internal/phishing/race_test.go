//go:build race

package phishing

// raceEnabled: the race detector slows code down several times; time
// bounds in the tests allow for it.
const raceEnabled = true
