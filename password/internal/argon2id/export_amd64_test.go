//go:build amd64 && !purego

package argon2id

func forceGeneric() (restore func()) {
	saved := useAVX2
	useAVX2 = false
	return func() { useAVX2 = saved }
}

func hasAssembly() bool { return useAVX2 }
