//go:build ignore

// gen_common builds data/common-passwords.fc.gz from a frequency-ordered
// list of common passwords (most common first, one per line):
//
//	go run gen_common.go -n 1000000 -o data/common-passwords.fc.gz SOURCE.txt
//
// It takes the first n lines, normalises each entry (NFKC, lower case),
// and drops blank, over-long and control-character entries and duplicates.
// (Entries that another entry seems to cover, like "shadow1" next to
// "shadow", are kept: the policy looks up "shadow1" for "Shadow12024!",
// whose "12024" is no usual decoration.) The output is
// sorted bytewise and front-coded, one entry per line: a byte giving the
// length of the prefix shared with the previous entry, the rest of the
// entry, '\n' (ReadFrontCoded reads it). It is compressed with gzip -9
// without a name or time, so the same input always gives the same bytes.
// See data/SOURCE.md.
package main

import (
	"bufio"
	"compress/gzip"
	"flag"
	"fmt"
	"log"
	"os"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

func main() {
	n := flag.Int("n", 1000000, "entries to take from the top of the source")
	out := flag.String("o", "data/common-passwords.fc.gz", "output file")
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
	w, err := os.Create(*out)
	if err != nil {
		log.Fatal(err)
	}
	zw, _ := gzip.NewWriterLevel(w, gzip.BestCompression)
	bw := bufio.NewWriter(zw)
	prev := ""
	for _, e := range keep {
		shared := 0
		for shared < len(prev) && shared < len(e) && shared < 255 && prev[shared] == e[shared] {
			shared++
		}
		bw.WriteByte(byte(shared))
		bw.WriteString(e[shared:])
		bw.WriteByte('\n')
		prev = e
	}
	if err := bw.Flush(); err != nil {
		log.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		log.Fatal(err)
	}
	if err := w.Close(); err != nil {
		log.Fatal(err)
	}
	fi, _ := os.Stat(*out)
	fmt.Printf("%d source entries, %d distinct, %d bytes\n", *n, len(keep), fi.Size())
}
