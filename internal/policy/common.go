package policy

import (
	"bufio"
	"bytes"
	"compress/gzip"
	_ "embed"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
)

// commonGz is the shipped list of common passwords: lower-case NFKC
// entries, sorted bytewise, front-coded (see ReadFrontCoded) and
// gzip-compressed. See data/SOURCE.md for its origin and licence and
// gen_common.go for how it is made.
//
//go:embed data/common-passwords.fc.gz
var commonGz []byte

// blockSize is the number of entries per front-coded block of a
// CommonList: a lookup binary-searches the block heads, then scans at
// most blockSize entries.
const blockSize = 16

// A CommonList is a set of common passwords held in memory in sorted,
// front-coded blocks (each entry stored as the length of the prefix it
// shares with the previous entry and the rest), so that a list of a few
// hundred thousand entries takes a few megabytes. It is safe for
// concurrent use once built.
type CommonList struct {
	data   []byte   // blocks: head as uvarint len + bytes; then uvarint shared, uvarint len, bytes
	blocks []uint32 // offset of each block in data
	n      int
}

var (
	defaultOnce sync.Once
	defaultList *CommonList
	defaultErr  error
)

// DefaultCommonList returns the shipped list, decoded on first use.
func DefaultCommonList() (*CommonList, error) {
	defaultOnce.Do(func() {
		var zr *gzip.Reader
		zr, defaultErr = gzip.NewReader(bytes.NewReader(commonGz))
		if defaultErr != nil {
			return
		}
		defaultList, defaultErr = ReadFrontCoded(zr)
	})
	return defaultList, defaultErr
}

// maxEntryBytes bounds one entry of a list; longer lines are an error.
const maxEntryBytes = 256

// ReadCommonList reads a list of common passwords, one per line (LF or
// CRLF). Entries are lower-cased; empty lines and lines starting with
// "#!comment" are skipped; the input need not be sorted.
func ReadCommonList(r io.Reader) (*CommonList, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, maxEntryBytes+2), maxEntryBytes+2)
	var entries []string
	sorted := true
	for line := 1; sc.Scan(); line++ {
		s := strings.TrimSuffix(sc.Text(), "\r")
		if s == "" || strings.HasPrefix(s, "#!comment") {
			continue
		}
		s = strings.ToLower(s)
		if n := len(entries); n > 0 && s <= entries[n-1] {
			sorted = false
		}
		entries = append(entries, s)
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, fmt.Errorf("policy: common password list: an entry is longer than %d bytes", maxEntryBytes)
		}
		return nil, fmt.Errorf("policy: common password list: %w", err)
	}
	if !sorted {
		sort.Strings(entries)
		entries = dedupSorted(entries)
	}
	return NewCommonList(entries), nil
}

// ReadFrontCoded reads a sorted, front-coded list as gen_common.go writes
// it: per entry, one byte with the length of the prefix it shares with the
// previous entry, the rest of the entry, and '\n'.
func ReadFrontCoded(r io.Reader) (*CommonList, error) {
	// Entries go straight into the list's blocks: no string per entry
	// (a few hundred thousand of them made the start-up's heap peak at
	// about 80 MB for a list that keeps 4).
	br := bufio.NewReaderSize(r, 64<<10)
	var b commonBuilder
	var prev, cur []byte
	for n := 1; ; n++ {
		shared, err := br.ReadByte()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("policy: common password list: %w", err)
		}
		rest, err := br.ReadSlice('\n')
		if err != nil {
			return nil, fmt.Errorf("policy: common password list: entry %d: %w", n, err)
		}
		rest = rest[:len(rest)-1]
		if int(shared) > len(prev) || int(shared)+len(rest) > maxEntryBytes {
			return nil, fmt.Errorf("policy: common password list: entry %d is malformed", n)
		}
		cur = append(append(cur[:0], prev[:shared]...), rest...)
		if n > 1 && string(cur) <= string(prev) {
			return nil, fmt.Errorf("policy: common password list: entry %d is out of order", n)
		}
		b.add(cur, prev)
		prev, cur = cur, prev
	}
	return b.list(), nil
}

func dedupSorted(s []string) []string {
	out := s[:0]
	for i, e := range s {
		if i == 0 || e != s[i-1] {
			out = append(out, e)
		}
	}
	return out
}

// NewCommonList builds a list from entries, which must be lower-case,
// sorted bytewise and free of duplicates (as ReadCommonList makes them).
func NewCommonList(entries []string) *CommonList {
	var b commonBuilder
	b.data = make([]byte, 0, len(entries)*5)
	var prev []byte
	for _, e := range entries {
		cur := []byte(e)
		b.add(cur, prev)
		prev = cur
	}
	return b.list()
}

// commonBuilder builds a CommonList entry by entry (sorted, no duplicates).
type commonBuilder struct {
	data   []byte
	blocks []uint32
	n      int
}

// add appends e, whose predecessor in the list is prev.
func (b *commonBuilder) add(e, prev []byte) {
	var buf [binary.MaxVarintLen64]byte
	if b.n%blockSize == 0 {
		b.blocks = append(b.blocks, uint32(len(b.data)))
		b.data = append(b.data, buf[:binary.PutUvarint(buf[:], uint64(len(e)))]...)
		b.data = append(b.data, e...)
		b.n++
		return
	}
	shared := 0
	for shared < len(prev) && shared < len(e) && prev[shared] == e[shared] {
		shared++
	}
	b.data = append(b.data, buf[:binary.PutUvarint(buf[:], uint64(shared))]...)
	b.data = append(b.data, buf[:binary.PutUvarint(buf[:], uint64(len(e)-shared))]...)
	b.data = append(b.data, e[shared:]...)
	b.n++
}

func (b *commonBuilder) list() *CommonList {
	// Trim the capacity: the list is kept for the life of the process.
	return &CommonList{data: append([]byte(nil), b.data...), blocks: append([]uint32(nil), b.blocks...), n: b.n}
}

// Len returns the number of entries.
func (l *CommonList) Len() int { return l.n }

// SizeBytes returns the memory the list's own storage takes.
func (l *CommonList) SizeBytes() int { return len(l.data) + 4*len(l.blocks) }

func (l *CommonList) head(b int) []byte {
	off := int(l.blocks[b])
	n, k := binary.Uvarint(l.data[off:])
	return l.data[off+k : off+k+int(n)]
}

// Contains reports whether s, which must already be lower-case, is in the
// list. It does not allocate.
func (l *CommonList) Contains(s string) bool {
	if l == nil || l.n == 0 || len(s) > maxEntryBytes {
		return false
	}
	// The last block whose head is <= s.
	b := sort.Search(len(l.blocks), func(i int) bool { return string(l.head(i)) > s }) - 1
	if b < 0 {
		return false
	}
	end := len(l.data)
	if b+1 < len(l.blocks) {
		end = int(l.blocks[b+1])
	}
	var cur [maxEntryBytes]byte
	off := int(l.blocks[b])
	n, k := binary.Uvarint(l.data[off:])
	off += k
	curLen := copy(cur[:], l.data[off:off+int(n)])
	off += int(n)
	for {
		switch c := strings.Compare(string(cur[:curLen]), s); {
		case c == 0:
			return true
		case c > 0:
			return false
		}
		if off >= end {
			return false
		}
		shared, k1 := binary.Uvarint(l.data[off:])
		off += k1
		rest, k2 := binary.Uvarint(l.data[off:])
		off += k2
		curLen = int(shared) + copy(cur[shared:], l.data[off:off+int(rest)])
		off += int(rest)
	}
}

// Entries calls f with each entry in order, until f returns false.
func (l *CommonList) Entries(f func(string) bool) {
	var cur []byte
	for b := range l.blocks {
		end := len(l.data)
		if b+1 < len(l.blocks) {
			end = int(l.blocks[b+1])
		}
		off := int(l.blocks[b])
		n, k := binary.Uvarint(l.data[off:])
		off += k
		cur = append(cur[:0], l.data[off:off+int(n)]...)
		off += int(n)
		if !f(string(cur)) {
			return
		}
		for off < end {
			shared, k1 := binary.Uvarint(l.data[off:])
			off += k1
			rest, k2 := binary.Uvarint(l.data[off:])
			off += k2
			cur = append(cur[:shared], l.data[off:off+int(rest)]...)
			off += int(rest)
			if !f(string(cur)) {
				return
			}
		}
	}
}
