package matching

import (
	"hash/maphash"
	"math/bits"
	"strings"

	"github.com/sellerguard/sellerguard/internal/zxcvbn/match"
)

type dictionaryMatch struct {
	rankedDictionaries map[string]*rankedDictionnary
}

func (dm dictionaryMatch) Matches(password string) []*match.Match {
	var results []*match.Match

	for dictionaryName, rankedDict := range dm.rankedDictionaries {
		for i := range password {
			for delta := range password[i:] {
				j := i + delta
				word := strings.ToLower(password[i : j+1])
				if val, ok := rankedDict.rank(word); ok {
					matchDic := &match.Match{
						Pattern:        "dictionary",
						I:              i,
						J:              j,
						Token:          password[i : j+1],
						MatchedWord:    word,
						Rank:           val,
						DictionaryName: dictionaryName,
					}

					results = append(results, matchDic)
				}
			}
		}
	}

	match.Sort(results)
	return results
}

func (dm dictionaryMatch) withDict(name string, d *rankedDictionnary) dictionaryMatch {
	rd2 := make(map[string]*rankedDictionnary, len(dm.rankedDictionaries)+1)
	for k, v := range dm.rankedDictionaries {
		rd2[k] = v
	}
	rd2[name] = d
	return dictionaryMatch{rankedDictionaries: rd2}
}

// A rankedDictionnary maps lower-case words to their rank. Upstream keeps
// a map[string]int per list (about 3.7 MB of maps for the 94,000 words of
// the default lists, plus 1.5 MB of string headers); this one is the words
// as one string, where each word starts, and an open-addressing table of
// word indexes: about 1.3 MB for the default lists, whose words stay in the
// binary's read-only data. The answers are upstream's: same words, same
// ranks (the last of duplicate words wins, as a map assignment does).
type rankedDictionnary struct {
	words  string   // every word, each followed by one separator byte
	starts []uint32 // word i is words[starts[i] : starts[i+1]-1]; len = n+1
	// slots: 0 is empty; else the low idxBits hold 1 + the index of a
	// word hashing here and the high bits a tag from the rest of its
	// hash, so that a probe rarely reads a word that cannot match (most
	// lookups are of substrings that are no word).
	slots   []uint32
	idxBits uint
	seed    maphash.Seed
}

func (d *rankedDictionnary) word(i uint32) string {
	return d.words[d.starts[i] : d.starts[i+1]-1]
}

// probe returns where the search for a word of hash h starts and the tag
// its slot carries.
func (d *rankedDictionnary) probe(h uint64) (start uint64, tag uint32) {
	return h & uint64(len(d.slots)-1), uint32(h>>32) << d.idxBits
}

// rank returns a word's rank, if the dictionary holds it.
func (d *rankedDictionnary) rank(w string) (int, bool) {
	if len(d.slots) == 0 {
		return 0, false
	}
	mask := uint64(len(d.slots) - 1)
	idxMask := uint32(1)<<d.idxBits - 1
	i, tag := d.probe(maphash.String(d.seed, w))
	for ; ; i = (i + 1) & mask {
		s := d.slots[i]
		if s == 0 {
			return 0, false
		}
		if s&^idxMask != tag {
			continue
		}
		idx := s & idxMask
		if d.word(idx-1) == w {
			return int(idx), true // word i's rank is i+1
		}
	}
}

// index fills the hash table for words 0..n-1; a word seen again takes the
// slot of its earlier copy (so its rank is the later one's).
func (d *rankedDictionnary) index() {
	n := len(d.starts) - 1
	size := 1
	for size < 2*n+1 { // load under 1/2: a miss (most lookups) ends at an empty slot within about two probes
		size <<= 1
	}
	d.idxBits = uint(bits.Len32(uint32(n)))
	idxMask := uint32(1)<<d.idxBits - 1
	d.seed = maphash.MakeSeed()
	d.slots = make([]uint32, size)
	mask := uint64(size - 1)
	for k := 0; k < n; k++ {
		w := d.word(uint32(k))
		i, tag := d.probe(maphash.String(d.seed, w))
		for ; ; i = (i + 1) & mask {
			s := d.slots[i]
			if s == 0 || (s&^idxMask == tag && d.word(s&idxMask-1) == w) {
				d.slots[i] = tag | (uint32(k) + 1)
				break
			}
		}
	}
}

// newListDict indexes a list as package frequency holds it: lower-case
// words each followed by '\n', the rank being the line number.
func newListDict(list string) *rankedDictionnary {
	d := &rankedDictionnary{words: list, starts: make([]uint32, 0, strings.Count(list, "\n")+1)}
	d.starts = append(d.starts, 0)
	for off := 0; off < len(list); {
		nl := strings.IndexByte(list[off:], '\n')
		if nl < 0 {
			panic("zxcvbn/matching: a list must end with a newline")
		}
		off += nl + 1
		d.starts = append(d.starts, uint32(off))
	}
	d.index()
	return d
}

// buildRankedDict ranks a list (user inputs) as upstream does: the word
// lower-cased, ranked by its position (1 first), a later copy winning.
func buildRankedDict(unrankedList []string) *rankedDictionnary {
	var b strings.Builder
	d := &rankedDictionnary{starts: make([]uint32, 0, len(unrankedList)+1)}
	d.starts = append(d.starts, 0)
	for _, w := range unrankedList {
		b.WriteString(strings.ToLower(w))
		b.WriteByte(0)
		d.starts = append(d.starts, uint32(b.Len()))
	}
	d.words = b.String()
	d.index()
	return d
}
