//go:build !race

package phishing

const raceEnabled = false
