package argon2id

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// allocate maps n blocks, anonymous and private: zero pages the kernel
// provides as they are first written, outside the Go heap.
func allocate(n int) ([]block, []byte, error) {
	b, err := unix.Mmap(-1, 0, n*blockBytes, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		return nil, nil, err
	}
	// Both are advice, and their failure changes nothing but speed or a
	// core dump's size: huge pages spare the TLB misses of argon2's
	// random reads (with transparent huge pages in "madvise" mode, the
	// default of many distributions, nothing else asks for them), and
	// blocks derived from passwords have no place in a core dump.
	_ = unix.Madvise(b, unix.MADV_HUGEPAGE)
	_ = unix.Madvise(b, unix.MADV_DONTDUMP)
	return unsafe.Slice((*block)(unsafe.Pointer(&b[0])), n), b, nil
}

func release(b []byte) { _ = unix.Madvise(b, unix.MADV_DONTNEED) }

func unmap(b []byte) { _ = unix.Munmap(b) }
