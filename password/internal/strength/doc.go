// Package strength estimates how many guesses a password takes, with the
// algorithm of Dropbox's zxcvbn 4.4.2 (Wheeler, "zxcvbn: Low-Budget
// Password Strength Estimation", USENIX Security 2016): find every pattern
// in the password (dictionary words, plain, reversed or in l33t; keyboard
// walks; repeats; sequences; recent years; dates), estimate the guesses
// each takes, and find the sequence of non-overlapping patterns, with
// brute force between them, that takes the fewest guesses. Score turns
// the guesses into zxcvbn's 0–4.
//
// It is our implementation, written from zxcvbn's description and source,
// for what the password policy needs that the Go port
// (github.com/trustelem/zxcvbn) does not give: no work at package
// initialisation (the port builds ~95,000 words into maps and compiles its
// regular expressions before main: 10 MB of heap and 40% of start-up), a
// compact dictionary (the word lists are embedded sorted, and the first
// estimate indexes them with one uint32 per word), and l33t matching that
// does not try every substitution against every dictionary. Its word lists
// are zxcvbn's, generated from the port's by ./gen; see data/NOTICE.
//
// Differences from zxcvbn 4.4.2, all deliberate: the password is read as
// Unicode characters where the JavaScript reads UTF-16 code units (the
// same for the Basic Multilingual Plane); Match.I and Match.J are byte
// offsets. TestDifferential measures the agreement with the port.
package strength
