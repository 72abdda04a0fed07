package testenv

import (
	"bytes"
	"sync"
)

// Buffer collects what a process, a server or a logger writes while a
// test reads it: a bytes.Buffer that one goroutine may write while
// others read.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

// String returns what was written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
