//go:build !amd64 || purego

package argon2id

func forceGeneric() (restore func()) { return func() {} }

func hasAssembly() bool { return false }
