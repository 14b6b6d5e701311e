//go:build unix

package argon2id

import (
	"runtime"
	"syscall"
)

// OutsideHeap tells whether a Memory's blocks are mapped outside the Go
// heap (unless the kernel refuses a mapping), so that they do not count
// against a soft memory limit (debug.SetMemoryLimit).
const OutsideHeap = true

// A mapping is anonymous memory mapped from the kernel, outside the Go
// heap.
type mapping struct {
	bytes   []byte
	cleanup runtime.Cleanup
}

// newMapping maps size bytes of zeroed memory, or returns nil if the kernel
// refuses (the caller then allocates on the Go heap).
func newMapping(size int) *mapping {
	b, err := syscall.Mmap(-1, 0, size, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		return nil
	}
	mp := &mapping{bytes: b}
	// The safety net for a Memory dropped without Release.
	mp.cleanup = runtime.AddCleanup(mp, func(b []byte) { _ = syscall.Munmap(b) }, b)
	return mp
}

// free unmaps the memory now.
func (mp *mapping) free() {
	mp.cleanup.Stop()
	_ = syscall.Munmap(mp.bytes)
	mp.bytes = nil
}
