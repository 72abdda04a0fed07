// Package password owns everything Gatehouse does with a password itself:
//
//   - hashing with argon2id, encoded as a PHC string
//     ($argon2id$v=19$m=65536,t=1,p=1$salt$hash), and verifying argon2id and
//     imported bcrypt hashes, saying when a hash should be replaced
//     (hash.go, phc.go);
//   - bounding how many hashes run at once (Hasher, hasher.go), so that a
//     login flood can neither exhaust memory nor starve cheap requests;
//     each slot reuses one hash's memory, outside the Go heap
//     (internal/argon2id, our argon2id, since x/crypto/argon2 allocates it
//     for every hash), which tests itself at start (SelfTest);
//   - admitting to the queue for a slot only the callers it can serve
//     within the queue wait, at the throughput the slots have shown
//     (admission.go), and telling the others at once how long to wait;
//   - the password policy (Check): what a new password must be, and why
//     one is refused;
//   - NFKC normalisation (NIST SP 800-63B), applied by Hash, Verify, Check
//     and TooLong alike, so callers pass what the person typed, and the
//     length limit (MaxBytes) holds on the normalised form everywhere.
//
// It does not know about users, storage, throttling or HTTP: the auth service
// decides when to call it, what to store and what to answer.
//
// # Policy
//
// Check refuses a password for the reasons below. Codes are stable: callers
// translate them; Message is plain English for API clients.
//
//	too_short               fewer than MinLength (12) characters
//	too_long                more than MaxBytes (1,024) bytes after normalisation
//	invalid_characters      control characters (NUL, tab, line breaks, ...) or invalid UTF-8
//	contains_personal_info  contains the email's local part, or the user's or company's name
//	common                  a common password, or built on one ("Password1234")
//	guessable               easy to guess: a word, name or date with digits or symbols added
//	                        ("summer2024!!"), or too little else to guess
//	keyboard_pattern        a walk on the keyboard ("zxcvbnmasdfg")
//	repeated                repeated characters or words ("aaaaaaaaaaaa", "abcabcabcabc")
//	sequence                a run such as "abcdefghijkl" or "123456789"
//
// There are no composition rules (no "one digit, one symbol"): NIST SP
// 800-63B and OWASP advise against them. Strength is estimated with the
// algorithm of Dropbox's zxcvbn 4.4.2 and its word lists (30,000 common
// passwords, English words, names and surnames), in our own implementation,
// package strength: its lists are embedded and indexed on first use, not
// built at start-up. See docs/PASSWORDS.md for why, for the score required,
// and for why only the first 32 bytes are estimated.
package password
