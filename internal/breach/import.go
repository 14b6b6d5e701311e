package breach

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"
)

// MaxMalformed is the number of malformed lines after which Import gives
// up: the input is then not a Pwned Passwords file.
const MaxMalformed = 1000

// maxReportedErrors is how many malformed lines Stats keeps in detail.
const maxReportedErrors = 10

// maxLine is the longest line accepted: 40 hex digits, ':', a count of up
// to 19 digits and CRLF fit easily.
const maxLine = 128

// A LineError describes a malformed input line.
type LineError struct {
	Line int64  // 1-based
	Msg  string // what is wrong; never the line itself
}

func (e *LineError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Msg) }

// Stats describes an import.
type Stats struct {
	Lines      int64         // lines read, blank ones included
	Hashes     int64         // distinct hashes (64-bit prefixes) written
	Duplicates int64         // hashes whose 64-bit prefix was already seen
	Malformed  int64         // lines rejected
	Errors     []*LineError  // the first malformed lines
	Bytes      int64         // input bytes read
	IndexBytes int64         // size of the index written
	Elapsed    time.Duration // wall time of the whole import
}

// ErrTooManyMalformed is returned (wrapped) by Import when more than
// MaxMalformed lines are malformed.
var ErrTooManyMalformed = errors.New("breach: too many malformed lines; is this a Pwned Passwords SHA-1 file (HASH:COUNT lines)?")

// parseLine parses one line of a Pwned Passwords SHA-1 file without its
// line feed: 40 hex digits (either case), ':', a decimal count, and
// optionally a carriage return. It returns the first 64 bits of the hash
// and the count. A blank line yields blank == true.
func parseLine(line []byte) (prefix uint64, count uint64, blank bool, err error) {
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	if len(line) == 0 {
		return 0, 0, true, nil
	}
	if len(line) < 42 || line[40] != ':' {
		return 0, 0, false, errors.New("want 40 hex digits, ':' and a count")
	}
	var bad byte
	for _, c := range line[:16] {
		v := hexValue[c]
		bad |= v
		prefix = prefix<<4 | uint64(v&15)
	}
	for _, c := range line[16:40] {
		bad |= hexValue[c]
	}
	if bad > 15 {
		for i, c := range line[:40] {
			if hexValue[c] > 15 {
				return 0, 0, false, fmt.Errorf("character %d is not a hex digit", i+1)
			}
		}
	}
	digits := line[41:]
	if len(digits) > 19 {
		return 0, 0, false, errors.New("count too large")
	}
	for _, c := range digits {
		if c < '0' || c > '9' {
			return 0, 0, false, errors.New("count is not a decimal number")
		}
		count = count*10 + uint64(c-'0')
	}
	return prefix, count, false, nil
}

// hexValue maps a byte to its value as a hex digit, or 255.
var hexValue = func() (t [256]byte) {
	for i := range t {
		t[i] = 255
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = byte(c - '0')
	}
	for c := 'a'; c <= 'f'; c++ {
		t[c] = byte(c-'a') + 10
		t[c-'a'+'A'] = byte(c-'a') + 10
	}
	return t
}()

// Import reads a Pwned Passwords SHA-1 file from r ("HASH:COUNT" lines, in
// any order, upper- or lower-case hex, LF or CRLF) and writes an index to
// dst. It writes a temporary file in dst's directory and renames it over
// dst only when complete, so dst is never seen half-written.
//
// Malformed lines are skipped and counted; the first few are described in
// Stats.Errors. More than MaxMalformed of them abort the import with
// ErrTooManyMalformed, and so does an input without a single hash.
//
// progress, if not nil, is called from time to time with the bytes read
// so far and total (from r's Stat or Size method if it has one, else -1),
// and once at the end. Import stops early with ctx's error.
//
// Memory use is bounded by the largest of 256 partitions (8 bytes per
// hash / 256) plus buffers; the input passes through temporary files of
// 8 bytes per hash next to dst.
func Import(ctx context.Context, r io.Reader, dst string, progress func(done, total int64)) (st Stats, err error) {
	start := time.Now()
	defer func() { st.Elapsed = time.Since(start) }()
	if progress == nil {
		progress = func(int64, int64) {}
	}
	total := inputSize(r)
	dir := filepath.Dir(dst)
	tmpDir, err := os.MkdirTemp(dir, ".breach-import-")
	if err != nil {
		return st, err
	}
	defer func() { _ = os.RemoveAll(tmpDir) }()

	parts, err := newPartitions(tmpDir)
	if err != nil {
		return st, err
	}
	defer parts.close()

	br := bufio.NewReaderSize(r, 1<<20)
	const reportEvery = 8 << 20
	nextReport := int64(reportEvery)
	for {
		line, rerr := br.ReadSlice('\n')
		st.Bytes += int64(len(line))
		tooLong := false
		for errors.Is(rerr, bufio.ErrBufferFull) {
			// An over-long line: skip the rest of it.
			tooLong = true
			line, rerr = br.ReadSlice('\n')
			st.Bytes += int64(len(line))
		}
		if len(line) > maxLine+1 {
			tooLong = true
		}
		if len(line) > 0 || tooLong {
			st.Lines++
			var lineErr error
			if tooLong {
				lineErr = errors.New("line too long")
			} else {
				if n := len(line); n > 0 && line[n-1] == '\n' {
					line = line[:n-1]
				}
				prefix, _, blank, perr := parseLine(line)
				switch {
				case perr != nil:
					lineErr = perr
				case !blank:
					if err := parts.add(prefix); err != nil {
						return st, err
					}
				}
			}
			if lineErr != nil {
				st.Malformed++
				if len(st.Errors) < maxReportedErrors {
					st.Errors = append(st.Errors, &LineError{Line: st.Lines, Msg: lineErr.Error()})
				}
				if st.Malformed > MaxMalformed {
					return st, fmt.Errorf("%w (first: %v)", ErrTooManyMalformed, st.Errors[0])
				}
			}
			if st.Lines&0xffff == 0 {
				if err := ctx.Err(); err != nil {
					return st, err
				}
			}
		}
		if st.Bytes >= nextReport {
			progress(st.Bytes, total)
			nextReport = st.Bytes + reportEvery
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return st, rerr
		}
	}
	progress(st.Bytes, total)
	if err := parts.flush(); err != nil {
		return st, err
	}
	if parts.n == 0 {
		return st, errors.New("breach: the input holds no hashes")
	}
	if err := ctx.Err(); err != nil {
		return st, err
	}
	st.Hashes, st.IndexBytes, err = parts.writeIndex(ctx, dst)
	st.Duplicates = parts.n - st.Hashes
	return st, err
}

// inputSize returns r's size if it can tell, else -1.
func inputSize(r io.Reader) int64 {
	switch v := r.(type) {
	case interface{ Stat() (os.FileInfo, error) }:
		if fi, err := v.Stat(); err == nil && fi.Mode().IsRegular() {
			return fi.Size()
		}
	case interface{ Size() int64 }:
		return v.Size()
	}
	return -1
}

// partitions spread 64-bit hash prefixes over 256 temporary files by
// their first byte, so that each can be sorted in memory on its own.
type partitions struct {
	files [256]*os.File
	bufs  [256]*bufio.Writer
	n     int64
}

func newPartitions(dir string) (*partitions, error) {
	p := &partitions{}
	for i := range p.files {
		f, err := os.Create(filepath.Join(dir, strconv.Itoa(i)))
		if err != nil {
			p.close()
			return nil, err
		}
		p.files[i] = f
		p.bufs[i] = bufio.NewWriterSize(f, 64<<10)
	}
	return p, nil
}

func (p *partitions) add(prefix uint64) error {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], prefix)
	p.n++
	_, err := p.bufs[prefix>>56].Write(b[:])
	return err
}

func (p *partitions) flush() error {
	for _, b := range p.bufs {
		if err := b.Flush(); err != nil {
			return err
		}
	}
	return nil
}

func (p *partitions) close() {
	for _, f := range p.files {
		if f != nil {
			_ = f.Close()
		}
	}
}

// writeIndex sorts each partition, drops duplicates and writes the index
// to a temporary file that is then renamed to dst.
func (p *partitions) writeIndex(ctx context.Context, dst string) (hashes, size int64, err error) {
	out, err := os.CreateTemp(filepath.Dir(dst), ".breach-index-*")
	if err != nil {
		return 0, 0, err
	}
	defer func() {
		if err != nil {
			_ = out.Close()
			_ = os.Remove(out.Name())
		}
	}()
	if _, err := out.Seek(entriesBase, io.SeekStart); err != nil {
		return 0, 0, err
	}
	w := bufio.NewWriterSize(out, 1<<20)
	table := make([]byte, tableSize)
	var count uint64
	var keys []uint64
	var raw []byte
	bucket := 0 // next bucket whose start is not yet recorded
	for _, f := range p.files {
		if err := ctx.Err(); err != nil {
			return 0, 0, err
		}
		fi, err := f.Stat()
		if err != nil {
			return 0, 0, err
		}
		raw = slices.Grow(raw[:0], int(fi.Size()))[:fi.Size()]
		if _, err := f.ReadAt(raw, 0); err != nil && !errors.Is(err, io.EOF) {
			return 0, 0, err
		}
		keys = keys[:0]
		for off := 0; off+8 <= len(raw); off += 8 {
			keys = append(keys, binary.LittleEndian.Uint64(raw[off:]))
		}
		slices.Sort(keys)
		keys = slices.Compact(keys)
		for _, k := range keys {
			b := int(k >> 48)
			for ; bucket <= b; bucket++ {
				binary.LittleEndian.PutUint64(table[bucket*8:], count)
			}
			var e [entrySize]byte
			e[0], e[1], e[2], e[3], e[4], e[5] = byte(k>>40), byte(k>>32), byte(k>>24), byte(k>>16), byte(k>>8), byte(k)
			if _, err := w.Write(e[:]); err != nil {
				return 0, 0, err
			}
			count++
		}
		_ = f.Truncate(0) // give the space back early
	}
	for ; bucket <= buckets; bucket++ {
		binary.LittleEndian.PutUint64(table[bucket*8:], count)
	}
	if err := w.Flush(); err != nil {
		return 0, 0, err
	}
	header := make([]byte, headerSize)
	copy(header, magic)
	binary.LittleEndian.PutUint32(header[8:], version)
	binary.LittleEndian.PutUint32(header[12:], entrySize)
	binary.LittleEndian.PutUint64(header[16:], count)
	if _, err := out.WriteAt(header, 0); err != nil {
		return 0, 0, err
	}
	if _, err := out.WriteAt(table, headerSize); err != nil {
		return 0, 0, err
	}
	if err := out.Chmod(0o644); err != nil {
		return 0, 0, err
	}
	if err := out.Sync(); err != nil {
		return 0, 0, err
	}
	if err := out.Close(); err != nil {
		return 0, 0, err
	}
	if err := os.Rename(out.Name(), dst); err != nil {
		return 0, 0, err
	}
	return int64(count), entriesBase + int64(count)*entrySize, nil
}
