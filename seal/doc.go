// Package seal owns encryption at rest: the TOTP secrets of users and the
// bodies of queued mail, which carry live reset and invitation tokens. A copy
// of the database alone (a backup, a replica, a leaked dump) then gives
// neither second factors nor working links.
//
// The key is 32 random bytes, base64-encoded in the file named by
// --secret-key-file (openssl rand -base64 32). Every node must hold the same
// key; a node with another key gets ErrWrongKey, which says so, rather than
// a vague decryption failure.
//
// Sealed values are AES-256-GCM, and each is bound to the record it belongs
// to through additional data (for example "totp:"+userID), so a value copied
// into another row does not open. The AES key and the key identifier stored
// in each value are derived from the file's key with HKDF under distinct
// labels: the identifier tells an operator which key sealed a value without
// revealing anything about the key that encrypts.
package seal
