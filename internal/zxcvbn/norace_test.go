//go:build !race

package zxcvbn

const raceEnabled = false
