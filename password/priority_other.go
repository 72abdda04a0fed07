//go:build !linux

package password

// lowPriority runs f. Only Linux lowers the priority of one thread.
func lowPriority(f func()) { f() }
