package policy

import (
	"bufio"
	_ "embed"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
)

// commonFile is the shipped list of common passwords: lower-case NFKC
// entries, sorted bytewise, in the form a CommonList reads in place
// (AppendBinary): front-coded blocks and their offsets. Embedded as a
// string, it stays in the binary's read-only data: nothing is decoded or
// copied at start-up, a lookup reads the few pages it needs, and the
// kernel shares those pages between the processes running the binary
// (instead of each decoding 4.4 MB onto its heap from a gzip file, as
// before). See data/SOURCE.md for its origin and licence and
// gen_common.go for how it is made.
//
//go:embed data/common-passwords.fcl
var commonFile string

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
	data  string // blocks: head as uvarint len + bytes; then uvarint shared, uvarint len, bytes
	index string // offset of each block in data, a little-endian uint32 each
	n     int
}

var (
	defaultOnce sync.Once
	defaultList *CommonList
	defaultErr  error
)

// DefaultCommonList returns the shipped list, read in place.
func DefaultCommonList() (*CommonList, error) {
	defaultOnce.Do(func() {
		defaultList, defaultErr = parseCommonList(commonFile)
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
	index := make([]byte, 4*len(b.blocks))
	for i, off := range b.blocks {
		binary.LittleEndian.PutUint32(index[4*i:], off)
	}
	return &CommonList{data: string(b.data), index: string(index), n: b.n}
}

// Len returns the number of entries.
func (l *CommonList) Len() int { return l.n }

// SizeBytes returns the size of the list's own storage (for the shipped
// list: the binary's read-only data it reads, not heap).
func (l *CommonList) SizeBytes() int { return len(l.data) + len(l.index) }

func (l *CommonList) blocks() int { return len(l.index) / 4 }

// block returns where block b starts in data.
func (l *CommonList) block(b int) int {
	return int(binary.LittleEndian.Uint32([]byte(l.index[4*b : 4*b+4])))
}

// blockEnd returns where block b ends in data.
func (l *CommonList) blockEnd(b int) int {
	if b+1 < l.blocks() {
		return l.block(b + 1)
	}
	return len(l.data)
}

// uvarint is binary.Uvarint at s[off:] (the conversion does not copy:
// Uvarint neither keeps nor changes its argument).
func uvarint(s string, off int) (uint64, int) { return binary.Uvarint([]byte(s[off:])) }

func (l *CommonList) head(b int) string {
	off := l.block(b)
	n, k := uvarint(l.data, off)
	return l.data[off+k : off+k+int(n)]
}

// Contains reports whether s, which must already be lower-case, is in the
// list. It does not allocate.
func (l *CommonList) Contains(s string) bool {
	if l == nil || l.n == 0 || len(s) > maxEntryBytes {
		return false
	}
	// The last block whose head is <= s.
	b := sort.Search(l.blocks(), func(i int) bool { return l.head(i) > s }) - 1
	if b < 0 {
		return false
	}
	end := l.blockEnd(b)
	var cur [maxEntryBytes]byte
	off := l.block(b)
	n, k := uvarint(l.data, off)
	off += k
	curLen := copy(cur[:], l.data[off:off+int(n)])
	off += int(n)
	for {
		// (Comparisons of a converted []byte allocate nothing;
		// strings.Compare's argument would be a copy on the heap.)
		switch e := cur[:curLen]; {
		case string(e) == s:
			return true
		case string(e) > s:
			return false
		}
		if off >= end {
			return false
		}
		shared, k1 := uvarint(l.data, off)
		off += k1
		rest, k2 := uvarint(l.data, off)
		off += k2
		curLen = int(shared) + copy(cur[shared:], l.data[off:off+int(rest)])
		off += int(rest)
	}
}

// Entries calls f with each entry in order, until f returns false.
func (l *CommonList) Entries(f func(string) bool) {
	var cur []byte
	for b := range l.blocks() {
		end := l.blockEnd(b)
		off := l.block(b)
		n, k := uvarint(l.data, off)
		off += k
		cur = append(cur[:0], l.data[off:off+int(n)]...)
		off += int(n)
		if !f(string(cur)) {
			return
		}
		for off < end {
			shared, k1 := uvarint(l.data, off)
			off += k1
			rest, k2 := uvarint(l.data, off)
			off += k2
			cur = append(cur[:shared], l.data[off:off+int(rest)]...)
			off += int(rest)
			if !f(string(cur)) {
				return
			}
		}
	}
}

// commonMagic starts the binary form of a CommonList (AppendBinary).
const commonMagic = "SGCL0001"

// AppendBinary appends the list in the form the shipped list is embedded
// in, which a CommonList reads in place, without decoding or copying:
// "SGCL0001", the number of entries and of blocks (little-endian uint32
// each), the block offsets (uint32 each), then the blocks.
func (l *CommonList) AppendBinary(b []byte) ([]byte, error) {
	b = append(b, commonMagic...)
	b = binary.LittleEndian.AppendUint32(b, uint32(l.n))
	b = binary.LittleEndian.AppendUint32(b, uint32(l.blocks()))
	b = append(b, l.index...)
	return append(b, l.data...), nil
}

// parseCommonList reads a list in AppendBinary's form; the list's storage
// is s itself. It checks the header and the block offsets, not every entry
// (the tests walk the shipped list's entries).
func parseCommonList(s string) (*CommonList, error) {
	const header = len(commonMagic) + 8
	if len(s) < header || s[:len(commonMagic)] != commonMagic {
		return nil, errors.New("policy: common password list: not a list in binary form")
	}
	n := int(binary.LittleEndian.Uint32([]byte(s[len(commonMagic):])))
	blocks := int(binary.LittleEndian.Uint32([]byte(s[len(commonMagic)+4:])))
	if blocks != (n+blockSize-1)/blockSize || len(s) < header+4*blocks {
		return nil, errors.New("policy: common password list: bad header")
	}
	l := &CommonList{index: s[header : header+4*blocks], data: s[header+4*blocks:], n: n}
	prev := -1
	for b := range blocks {
		off := l.block(b)
		if off <= prev || off >= len(l.data) || (b == 0 && off != 0) {
			return nil, fmt.Errorf("policy: common password list: block %d is out of place", b)
		}
		prev = off
	}
	return l, nil
}
