//go:build !unix

package argon2id

// OutsideHeap tells whether a Memory's blocks are mapped outside the Go
// heap: not here.
const OutsideHeap = false

// mapping is not used where there is no mmap: Memory allocates on the Go
// heap.
type mapping struct{ bytes []byte }

func newMapping(int) *mapping { return nil }

func (*mapping) free() {}
