//go:build ignore

// gen_common builds data/common-passwords.fcl from a frequency-ordered
// list of common passwords (most common first, one per line):
//
//	go run gen_common.go -n 1000000 -o data/common-passwords.fcl SOURCE.txt
//
// It takes the first n lines, normalises each entry (NFKC, lower case),
// and drops blank, over-long and control-character entries and duplicates.
// (Entries that another entry seems to cover, like "shadow1" next to
// "shadow", are kept: the policy looks up "shadow1" for "Shadow12024!",
// whose "12024" is no usual decoration.) The output is the entries sorted
// bytewise, front-coded in blocks, in the binary form a policy.CommonList
// reads in place (CommonList.AppendBinary); the same input always gives
// the same bytes. See data/SOURCE.md.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"log"
	"os"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/sellerguard/sellerguard/internal/policy"
)

func main() {
	n := flag.Int("n", 1000000, "entries to take from the top of the source")
	out := flag.String("o", "data/common-passwords.fcl", "output file")
	flag.Parse()
	if flag.NArg() != 1 {
		log.Fatal("usage: go run gen_common.go [-n N] [-o OUT] SOURCE.txt")
	}
	f, err := os.Open(flag.Arg(0))
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	seen := map[string]bool{}
	var all []string
	sc := bufio.NewScanner(f)
	for taken := 0; taken < *n && sc.Scan(); taken++ {
		s := strings.TrimRight(sc.Text(), "\r\n")
		s = strings.ToLower(norm.NFKC.String(s))
		if s == "" || len(s) > 64 || !utf8.ValidString(s) || strings.IndexFunc(s, unicode.IsControl) >= 0 || seen[s] {
			continue
		}
		seen[s] = true
		all = append(all, s)
	}
	if err := sc.Err(); err != nil {
		log.Fatal(err)
	}
	keep := all
	sort.Strings(keep)
	b, err := policy.NewCommonList(keep).AppendBinary(nil)
	if err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(*out, b, 0o644); err != nil {
		log.Fatal(err)
	}
	fi, _ := os.Stat(*out)
	fmt.Printf("%d source entries, %d distinct, %d bytes\n", *n, len(keep), fi.Size())
}
