package argon2id

import (
	"bytes"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// TestRelease: a derivation makes the mapping resident, Release gives the
// pages back, and the next derivation still gives the same key.
func TestRelease(t *testing.T) {
	m := newMemory(t, 4096)
	if n := residentPages(t, m); n != 0 {
		t.Errorf("resident pages of new memory: got %d, want 0", n)
	}
	want := m.Key([]byte("password"), []byte("somesalt"), 1, 4096, 1, 32)
	if n, all := residentPages(t, m), len(m.mapped)/unix.Getpagesize(); n < all*9/10 {
		t.Errorf("resident pages after a derivation: got %d, want about %d", n, all)
	}
	m.Release()
	if n := residentPages(t, m); n != 0 {
		t.Errorf("resident pages after Release: got %d, want 0", n)
	}
	if got := m.Key([]byte("password"), []byte("somesalt"), 1, 4096, 1, 32); !bytes.Equal(got, want) {
		t.Errorf("key after Release: got %x, want %x", got, want)
	}
}

func residentPages(t *testing.T, m *Memory) int {
	t.Helper()
	vec := make([]byte, (len(m.mapped)+unix.Getpagesize()-1)/unix.Getpagesize())
	_, _, errno := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(&m.mapped[0])), uintptr(len(m.mapped)), uintptr(unsafe.Pointer(&vec[0])))
	if errno != 0 {
		t.Fatalf("mincore: %v", errno)
	}
	n := 0
	for _, v := range vec {
		n += int(v & 1)
	}
	return n
}
