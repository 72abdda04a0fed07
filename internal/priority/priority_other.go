//go:build !linux

package priority

// Run runs f: only Linux lowers the priority of one thread.
func Run(increment int, f func()) { f() }

// Lower does nothing: only Linux lowers the priority of one thread.
func Lower(increment int) {}
