// Package frequency holds zxcvbn's ranked word lists: one file per list,
// one lower-case word per line, the most frequent first (a word's rank is
// its line number). They are upstream's generated lists (trustelem/zxcvbn
// v1.0.1, frequency/lists.go, from zxcvbn 4.4.2's build_frequency_lists.py)
// as text embedded in strings, so that they stay in the binary's read-only
// data instead of becoming some 94,000 string headers on the heap at
// start-up; a test checks they are still upstream's, word for word.
package frequency

import _ "embed" // the lists

var (
	//go:embed english_wikipedia.txt
	englishWikipedia string
	//go:embed female_names.txt
	femaleNames string
	//go:embed male_names.txt
	maleNames string
	//go:embed passwords.txt
	passwords string
	//go:embed surnames.txt
	surnames string
	//go:embed us_tv_and_film.txt
	usTVAndFilm string
)

// Lists maps each list's name to its words, each followed by '\n', in rank
// order. The strings are the binary's own read-only data.
var Lists = map[string]string{
	"english_wikipedia": englishWikipedia,
	"female_names":      femaleNames,
	"male_names":        maleNames,
	"passwords":         passwords,
	"surnames":          surnames,
	"us_tv_and_film":    usTVAndFilm,
}
