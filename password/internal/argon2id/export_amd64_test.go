//go:build amd64 && !purego

package argon2id

func forceGeneric() (restore func()) {
	saved := accelerated.Load()
	accelerated.Store(false)
	return func() { accelerated.Store(saved) }
}

func hasAssembly() bool { return accelerated.Load() }
