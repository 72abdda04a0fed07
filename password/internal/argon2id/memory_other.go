//go:build !linux

package argon2id

// allocate takes n blocks from the Go heap: only Linux maps them apart.
func allocate(n int) ([]block, []byte, error) { return make([]block, n), nil, nil }

func release([]byte) {}

func unmap([]byte) {}
