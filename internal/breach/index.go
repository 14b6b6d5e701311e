package breach

import (
	"context"
	"crypto/sha1"
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"os"

	"golang.org/x/text/unicode/norm"
)

// Index file layout, all integers little-endian:
//
//	header   64 bytes: magic "SGBRIDX1", uint32 version (1), uint32 entry
//	         size (6), uint64 count, zero padding
//	table    65,537 uint64: table[b] is the index of the first entry whose
//	         hash starts with the 16 bits b; table[65536] = count
//	entries  count × 6 bytes: bits 16–63 of each hash, big-endian,
//	         sorted within each bucket, no duplicates
const (
	magic       = "SGBRIDX1"
	version     = 1
	headerSize  = 64
	buckets     = 1 << 16
	tableSize   = (buckets + 1) * 8
	entrySize   = 6
	entriesBase = headerSize + tableSize
)

// ErrFormat is returned (wrapped) by Open for a file that is not a valid
// index.
var ErrFormat = errors.New("breach: not a valid breached-password index")

// An Index is an opened breached-password index. It is safe for
// concurrent use; Close it when done.
type Index struct {
	data    []byte // the whole file
	table   []byte
	entries []byte
	count   uint64
	release func() error
}

// Open opens the index at path by mapping it into memory (on Unix; read
// into memory elsewhere). The operating system pages it in as queries
// touch it, so opening is instant and memory is shared between processes.
func Open(path string) (*Index, error) {
	data, release, err := mapFile(path)
	if err != nil {
		return nil, err
	}
	ix, err := newIndex(data, release)
	if err != nil {
		_ = release()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return ix, nil
}

// Load reads the whole index at path into the Go heap.
func Load(path string) (*Index, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	ix, err := newIndex(data, func() error { return nil })
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return ix, nil
}

func newIndex(data []byte, release func() error) (*Index, error) {
	if len(data) < entriesBase || string(data[:8]) != magic {
		return nil, ErrFormat
	}
	if v := binary.LittleEndian.Uint32(data[8:]); v != version {
		return nil, fmt.Errorf("%w: version %d", ErrFormat, v)
	}
	if es := binary.LittleEndian.Uint32(data[12:]); es != entrySize {
		return nil, fmt.Errorf("%w: entry size %d", ErrFormat, es)
	}
	count := binary.LittleEndian.Uint64(data[16:])
	if count > uint64(len(data)) || uint64(len(data)) != entriesBase+count*entrySize {
		return nil, fmt.Errorf("%w: size does not match count", ErrFormat)
	}
	table := data[headerSize:entriesBase]
	prev := uint64(0)
	for b := 0; b <= buckets; b++ {
		v := binary.LittleEndian.Uint64(table[b*8:])
		if v < prev || v > count {
			return nil, fmt.Errorf("%w: bucket table out of order", ErrFormat)
		}
		prev = v
	}
	if prev != count {
		return nil, fmt.Errorf("%w: bucket table does not end at count", ErrFormat)
	}
	return &Index{data: data, table: table, entries: data[entriesBase:], count: count, release: release}, nil
}

// Close releases the index. It must not be used afterwards.
func (ix *Index) Close() error {
	ix.data, ix.table, ix.entries = nil, nil, nil
	return ix.release()
}

// Len returns the number of hashes in the index.
func (ix *Index) Len() int64 { return int64(ix.count) }

// SizeBytes returns the size of the index file.
func (ix *Index) SizeBytes() int64 { return int64(len(ix.data)) }

func entryAt(e []byte, i uint64) uint64 {
	p := e[i*entrySize : i*entrySize+entrySize]
	return uint64(p[0])<<40 | uint64(p[1])<<32 | uint64(p[2])<<24 | uint64(p[3])<<16 | uint64(p[4])<<8 | uint64(p[5])
}

// Contains reports whether the first 64 bits of the SHA-1 hash h are in
// the index.
//
// Hashes are uniformly distributed, so the position of a key within its
// bucket is well predicted by its value: Contains probes there first and
// then gallops outwards (1, 2, 4, … entries) before a binary search, which
// touches one or two cache lines in the common case instead of the ~10 of
// a plain binary search.
func (ix *Index) Contains(h [sha1.Size]byte) bool {
	b := int(h[0])<<8 | int(h[1])
	lo := binary.LittleEndian.Uint64(ix.table[b*8:])
	hi := binary.LittleEndian.Uint64(ix.table[b*8+8:])
	if lo == hi {
		return false
	}
	key := uint64(h[2])<<40 | uint64(h[3])<<32 | uint64(h[4])<<24 | uint64(h[5])<<16 | uint64(h[6])<<8 | uint64(h[7])
	// Guess: lo + key/2^48 * (hi-lo).
	mh, ml := bits.Mul64(key, hi-lo)
	g := lo + (mh<<16 | ml>>48)
	v := entryAt(ix.entries, g)
	switch {
	case v == key:
		return true
	case v < key:
		// Gallop right: find an entry >= key.
		l, step := g+1, uint64(1)
		for l+step < hi && entryAt(ix.entries, l+step-1) < key {
			l += step
			step *= 2
		}
		lo, hi = l, min(l+step, hi)
	default:
		// Gallop left: find an entry <= key.
		r, step := g, uint64(1)
		for r > lo+step && entryAt(ix.entries, r-step) > key {
			r -= step
			step *= 2
		}
		lo, hi = max(r-min(step, r-lo), lo), r
	}
	for lo < hi {
		mid := lo + (hi-lo)/2
		switch v := entryAt(ix.entries, mid); {
		case v == key:
			return true
		case v < key:
			lo = mid + 1
		default:
			hi = mid
		}
	}
	return false
}

// ContainsPassword reports whether the SHA-1 hash of pw's bytes, or of
// its NFKC form, is in the index.
func (ix *Index) ContainsPassword(pw string) bool {
	if ix.Contains(sha1.Sum([]byte(pw))) {
		return true
	}
	if n := norm.NFKC.String(pw); n != pw {
		return ix.Contains(sha1.Sum([]byte(n)))
	}
	return false
}

// Breached implements Checker; it never fails.
func (ix *Index) Breached(_ context.Context, pw string) (bool, error) {
	return ix.ContainsPassword(pw), nil
}
