package password

// deriveArgon2id computes an argon2id key in memory of its own: what the
// tests' derive hooks call to do the real work.
func deriveArgon2id(password, salt []byte, p Params) []byte {
	key, err := deriveOnce(password, salt, p)
	if err != nil {
		panic(err)
	}
	return key
}
