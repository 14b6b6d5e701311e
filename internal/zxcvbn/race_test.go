//go:build race

package zxcvbn

const raceEnabled = true
