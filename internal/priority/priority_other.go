//go:build !linux

package priority

// Lower does nothing: only Linux lowers the priority of one thread.
func Lower(increment int) {}

// A Pool runs work: only Linux lowers the priority of one thread.
type Pool struct{}

// NewPool returns a Pool.
func NewPool(increment int) *Pool { return &Pool{} }

// Run runs f.
func (p *Pool) Run(f func()) { f() }
