// Copyright 2017 The Go Authors. All rights reserved.
// Use of this source code is governed by a BSD-style
// license that can be found in the LICENSE file.

// Package argon2id computes Argon2id (RFC 9106, version 0x13) in working
// memory that the caller keeps between hashes.
//
// It is golang.org/x/crypto/argon2 (v0.59.0) cut down to Argon2id, with one
// change: the memory of the computation is a [Memory] the caller owns,
// instead of a fresh allocation per call. x/crypto's IDKey allocates the
// whole memory cost (19 MiB at SellerGuard's default) on every call and has
// no way to reuse it (golang/go#36634, open since 2020); in a server that
// signs people in all day, that is a garbage collection every couple of
// sign-ins, each marking the server's whole live heap, and zeroing plus page
// faults for every fresh block — together about a fifth of a sign-in's CPU
// when it was measured (docs/benchmarks.md). With a Memory per hashing slot,
// a hash allocates only its result.
//
// The computation itself, including x/crypto's SSE4 assembly, is unchanged,
// except that the first pass writes each block instead of XORing it into
// memory that a fresh allocation would have zeroed (RFC 9106 section 3.2
// step 5 and 6: the first pass computes B[i][j] = G(...), later passes
// B[i][j] = G(...) XOR B[i][j]), so stale memory from an earlier hash is
// never read. Tests check the output against x/crypto's IDKey and RFC 9106's
// test vector, on fresh and reused memory of every size.
package argon2id

import (
	"encoding/binary"
	"runtime"
	"sync"
	"unsafe"

	"golang.org/x/crypto/blake2b"
)

// Version is the Argon2 version computed.
const Version = 0x13

// argon2id is the type field of H0 for Argon2id (RFC 9106 section 3.2).
const argon2id = 2

const (
	blockLength = 128
	syncPoints  = 4
)

type block [blockLength]uint64

// Memory is the working memory of Argon2id computations. The zero value is
// ready to use and holds nothing; it grows to the memory cost of the largest
// hash computed in it and keeps that until Release. A Memory must not be used
// by two computations at once.
//
// Where the system allows (unix), the blocks are mapped from the kernel
// outside the Go heap: they hold no pointers, so the garbage collector has
// nothing to do with them, and they would otherwise count in the live heap
// that sets its pace (with GOGC=100 the heap may grow to twice the live
// heap before a collection, so two kept 19 MiB memories let some 40 MB of
// garbage pile up on top of them under load). Release gives them back to
// the kernel at once; a Memory dropped without Release is unmapped when the
// garbage collector finds it unreachable.
type Memory struct {
	blocks []block
	mapped *mapping // the mapping holding blocks, or nil (Go heap, or empty)
}

// Size returns the bytes m holds.
func (m *Memory) Size() int { return cap(m.blocks) * blockLength * 8 }

// Release gives m's memory back (to the kernel if mapped, else to the
// garbage collector); the next hash in m allocates it again.
func (m *Memory) Release() {
	if m.mapped != nil {
		m.mapped.free()
		m.mapped = nil
	}
	m.blocks = nil
}

// grow makes m hold n blocks, mapped outside the Go heap where possible.
func (m *Memory) grow(n uint32) {
	m.Release()
	if mp := newMapping(int(n) * blockLength * 8); mp != nil {
		m.blocks = unsafe.Slice((*block)(unsafe.Pointer(unsafe.SliceData(mp.bytes))), n)
		m.mapped = mp
		return
	}
	m.blocks = make([]block, n)
}

// IDKey returns the same key as golang.org/x/crypto/argon2.IDKey with the same
// arguments, computed in m. It panics, as IDKey does, if time or threads is
// zero.
func (m *Memory) IDKey(password, salt []byte, time, memory uint32, threads uint8, keyLen uint32) []byte {
	return m.deriveKey(password, salt, nil, nil, time, memory, threads, keyLen)
}

// deriveKey is IDKey with RFC 9106's optional secret and associated data
// (used by the RFC's test vector).
func (m *Memory) deriveKey(password, salt, secret, data []byte, time, memory uint32, threads uint8, keyLen uint32) []byte {
	if time < 1 {
		panic("argon2id: number of rounds too small")
	}
	if threads < 1 {
		panic("argon2id: parallelism degree too low")
	}
	h0 := initHash(password, salt, secret, data, time, memory, uint32(threads), keyLen)

	memory = memory / (syncPoints * uint32(threads)) * (syncPoints * uint32(threads))
	if memory < 2*syncPoints*uint32(threads) {
		memory = 2 * syncPoints * uint32(threads)
	}
	if uint32(cap(m.blocks)) < memory {
		m.grow(memory)
	}
	B := m.blocks[:memory]
	initBlocks(B, &h0, memory, uint32(threads))
	processBlocks(B, time, memory, uint32(threads))
	key := extractKey(B, memory, uint32(threads), keyLen)
	// m owns the mapping under B: it must not become unreachable (and
	// its mapping be unmapped by the cleanup) while B is in use.
	runtime.KeepAlive(m)
	return key
}

func initHash(password, salt, key, data []byte, time, memory, threads, keyLen uint32) [blake2b.Size + 8]byte {
	var (
		h0     [blake2b.Size + 8]byte
		params [24]byte
		tmp    [4]byte
	)

	b2, _ := blake2b.New512(nil)
	binary.LittleEndian.PutUint32(params[0:4], threads)
	binary.LittleEndian.PutUint32(params[4:8], keyLen)
	binary.LittleEndian.PutUint32(params[8:12], memory)
	binary.LittleEndian.PutUint32(params[12:16], time)
	binary.LittleEndian.PutUint32(params[16:20], uint32(Version))
	binary.LittleEndian.PutUint32(params[20:24], uint32(argon2id))
	b2.Write(params[:])
	for _, in := range [][]byte{password, salt, key, data} {
		binary.LittleEndian.PutUint32(tmp[:], uint32(len(in)))
		b2.Write(tmp[:])
		b2.Write(in)
	}
	b2.Sum(h0[:0])
	return h0
}

// initBlocks writes the first two blocks of each lane of B (x/crypto
// allocates B here).
func initBlocks(B []block, h0 *[blake2b.Size + 8]byte, memory, threads uint32) {
	var block0 [1024]byte
	for lane := uint32(0); lane < threads; lane++ {
		j := lane * (memory / threads)
		binary.LittleEndian.PutUint32(h0[blake2b.Size+4:], lane)

		binary.LittleEndian.PutUint32(h0[blake2b.Size:], 0)
		blake2bHash(block0[:], h0[:])
		for i := range B[j+0] {
			B[j+0][i] = binary.LittleEndian.Uint64(block0[i*8:])
		}

		binary.LittleEndian.PutUint32(h0[blake2b.Size:], 1)
		blake2bHash(block0[:], h0[:])
		for i := range B[j+1] {
			B[j+1][i] = binary.LittleEndian.Uint64(block0[i*8:])
		}
	}
}

func processBlocks(B []block, time, memory, threads uint32) {
	lanes := memory / threads
	segments := lanes / syncPoints

	processSegment := func(n, slice, lane uint32, wg *sync.WaitGroup) {
		var addresses, in, zero block
		if n == 0 && slice < syncPoints/2 {
			in[0] = uint64(n)
			in[1] = uint64(lane)
			in[2] = uint64(slice)
			in[3] = uint64(memory)
			in[4] = uint64(time)
			in[5] = uint64(argon2id)
		}

		index := uint32(0)
		if n == 0 && slice == 0 {
			index = 2 // we have already generated the first two blocks
			in[6]++
			processBlock(&addresses, &in, &zero)
			processBlock(&addresses, &addresses, &zero)
		}

		offset := lane*lanes + slice*segments + index
		var random uint64
		for index < segments {
			prev := offset - 1
			if index == 0 && slice == 0 {
				prev += lanes // last block in lane
			}
			if n == 0 && slice < syncPoints/2 {
				if index%blockLength == 0 {
					in[6]++
					processBlock(&addresses, &in, &zero)
					processBlock(&addresses, &addresses, &zero)
				}
				random = addresses[index%blockLength]
			} else {
				random = B[prev][0]
			}
			newOffset := indexAlpha(random, lanes, segments, threads, n, slice, lane, index)
			if n == 0 {
				// The first pass writes the block: what memory held
				// before (an earlier hash's blocks) is never read.
				processBlock(&B[offset], &B[prev], &B[newOffset])
			} else {
				processBlockXOR(&B[offset], &B[prev], &B[newOffset])
			}
			index, offset = index+1, offset+1
		}
		wg.Done()
	}

	for n := uint32(0); n < time; n++ {
		for slice := uint32(0); slice < syncPoints; slice++ {
			var wg sync.WaitGroup
			for lane := uint32(0); lane < threads; lane++ {
				wg.Add(1)
				go processSegment(n, slice, lane, &wg)
			}
			wg.Wait()
		}
	}
}

func extractKey(B []block, memory, threads, keyLen uint32) []byte {
	lanes := memory / threads
	for lane := uint32(0); lane < threads-1; lane++ {
		for i, v := range B[(lane*lanes)+lanes-1] {
			B[memory-1][i] ^= v
		}
	}

	var block [1024]byte
	for i, v := range B[memory-1] {
		binary.LittleEndian.PutUint64(block[i*8:], v)
	}
	key := make([]byte, keyLen)
	blake2bHash(key, block[:])
	return key
}

func indexAlpha(rand uint64, lanes, segments, threads, n, slice, lane, index uint32) uint32 {
	refLane := uint32(rand>>32) % threads
	if n == 0 && slice == 0 {
		refLane = lane
	}
	m, s := 3*segments, ((slice+1)%syncPoints)*segments
	if lane == refLane {
		m += index
	}
	if n == 0 {
		m, s = slice*segments, 0
		if slice == 0 || lane == refLane {
			m += index
		}
	}
	if index == 0 || lane == refLane {
		m--
	}
	return phi(rand, uint64(m), uint64(s), refLane, lanes)
}

func phi(rand, m, s uint64, lane, lanes uint32) uint32 {
	p := rand & 0xFFFFFFFF
	p = (p * p) >> 32
	p = (p * m) >> 32
	return lane*lanes + uint32((s+m-(p+1))%uint64(lanes))
}
