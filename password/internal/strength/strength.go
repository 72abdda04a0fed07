package strength

import (
	"math"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Result is the estimate of a password.
type Result struct {
	// Guesses is the estimated number of guesses needed to find the
	// password: the product of its matches' guesses, times the number of
	// orders they could come in, plus a penalty for their number.
	Guesses float64
	// Score is zxcvbn's 0 to 4: fewer than 10^3 guesses, 10^6, 10^8,
	// 10^10, and more.
	Score int
	// Sequence is the non-overlapping matches, in order, that cover the
	// password with the fewest guesses; "bruteforce" fills the gaps.
	Sequence []Match
}

// Match is a pattern found in a password.
type Match struct {
	// Pattern is one of "dictionary", "spatial", "repeat", "sequence",
	// "regex", "date" and "bruteforce".
	Pattern string
	// Token is password[I:J+1]: I and J are the byte offsets of its first
	// byte and its last.
	Token string
	I, J  int
	// Guesses is the match's estimated guesses, at least 10 (one
	// character) or 50 (more) when the match is part of the password.
	Guesses float64

	// dictionary
	DictionaryName string // "passwords", "english_wikipedia", "female_names", "male_names", "surnames", "us_tv_and_film" or "user_inputs"
	MatchedWord    string // the word in the dictionary: lower case, l33t undone, reversed back
	Rank           int    // from 1, the most common
	Reversed       bool
	L33t           bool
	Sub            map[rune]rune // l33t: substituted character → letter, for those in Token

	// spatial
	Graph        string // "qwerty", "dvorak", "keypad" or "mac_keypad"
	Turns        int
	ShiftedCount int

	// repeat
	BaseToken   string
	BaseGuesses float64
	BaseMatches []Match
	RepeatCount int

	// sequence
	SequenceName  string // "lower", "upper", "digits" or "unicode"
	SequenceSpace int
	Ascending     bool

	// regex
	RegexName string // "recent_year"

	// date
	Year, Month, Day int
	Separator        string

	i, j int // rune indices of the first and last character
}

// Estimate estimates the guesses password takes. userInputs (the user's
// name, email, ...) are a dictionary of their own, "user_inputs".
//
// The running time grows with the cube of the length: callers with
// untrusted input estimate a bounded prefix.
func Estimate(password string, userInputs []string) Result {
	lists := append(slices.Clip(builtinLists()), namedList{"user_inputs", newUserList(userInputs)})
	p := newInput(password)
	guesses, sequence := mostGuessableSequence(p, omnimatch(p, lists))
	return Result{Guesses: guesses, Score: score(guesses), Sequence: sequence}
}

// score is zxcvbn's guesses_to_score: 10^3, 10^6, 10^8 and 10^10 guesses,
// with a margin of 5 so that a password just at a threshold scores below it.
func score(guesses float64) int {
	const delta = 5
	switch {
	case guesses < 1e3+delta:
		return 0
	case guesses < 1e6+delta:
		return 1
	case guesses < 1e8+delta:
		return 2
	case guesses < 1e10+delta:
		return 3
	}
	return 4
}

// input is a password as the matchers read it: by character.
type input struct {
	s      string
	runes  []rune
	off    []int  // off[i] is the byte offset of rune i in s; off[len(runes)] = len(s)
	lower  string // s lower-cased character by character
	lowOff []int  // the same offsets in lower
}

func newInput(s string) *input {
	p := &input{s: s, runes: []rune(s)}
	p.off = make([]int, 0, len(p.runes)+1)
	p.lowOff = make([]int, 0, len(p.runes)+1)
	var lower strings.Builder
	lower.Grow(len(s))
	for i, r := range s {
		p.off = append(p.off, i)
		p.lowOff = append(p.lowOff, lower.Len())
		lower.WriteRune(unicode.ToLower(r))
	}
	p.off = append(p.off, len(s))
	p.lowOff = append(p.lowOff, lower.Len())
	p.lower = lower.String()
	return p
}

func (p *input) len() int { return len(p.runes) }

// token returns characters i to j, inclusive.
func (p *input) token(i, j int) string { return p.s[p.off[i]:p.off[j+1]] }

// lowerToken returns characters i to j, inclusive, in lower case.
func (p *input) lowerToken(i, j int) string { return p.lower[p.lowOff[i]:p.lowOff[j+1]] }

// match returns a match of characters i to j, inclusive.
func (p *input) match(pattern string, i, j int) *Match {
	return &Match{Pattern: pattern, Token: p.token(i, j), I: p.off[i], J: p.off[j+1] - 1, i: i, j: j}
}

// omnimatch returns every match the matchers find, sorted by position.
func omnimatch(p *input, lists []namedList) []*Match {
	var matches []*Match
	matches = append(matches, dictionaryMatches(p, lists)...)
	matches = append(matches, reverseDictionaryMatches(p, lists)...)
	matches = append(matches, l33tMatches(p, lists)...)
	matches = append(matches, spatialMatches(p)...)
	matches = append(matches, repeatMatches(p, lists)...)
	matches = append(matches, sequenceMatches(p)...)
	matches = append(matches, recentYearMatches(p)...)
	matches = append(matches, dateMatches(p)...)
	sortMatches(matches)
	return matches
}

func sortMatches(matches []*Match) {
	slices.SortStableFunc(matches, func(a, b *Match) int {
		if a.i != b.i {
			return a.i - b.i
		}
		return a.j - b.j
	})
}

// minGuessesBeforeGrowingSequence is the penalty for each match after the
// first: an attacker tries shorter sequences of patterns first.
const minGuessesBeforeGrowingSequence = 10000

// mostGuessableSequence is zxcvbn's most_guessable_match_sequence: the
// dynamic program that finds, for each prefix of the password and each
// number of matches l, the sequence of matches (with brute force between
// them) minimising l! × Π guesses + 10000^(l-1). Like zxcvbn, it keeps a
// sequence only when no shorter or equal one covering the same prefix
// does at least as well.
func mostGuessableSequence(p *input, matches []*Match) (float64, []Match) {
	n := p.len()
	if n == 0 {
		return 1, nil
	}
	byEnd := make([][]*Match, n)
	for _, m := range matches {
		byEnd[m.j] = append(byEnd[m.j], m)
	}
	for _, ms := range byEnd {
		slices.SortStableFunc(ms, func(a, b *Match) int { return a.i - b.i })
	}

	// best[k] holds, by increasing l, the best length-l sequence covering
	// characters 0 to k: its last match, the product of its guesses (pi),
	// and the value minimised (g).
	type step struct {
		l     int
		m     *Match
		pi, g float64
	}
	best := make([][]step, n)
	find := func(k, l int) step {
		for _, s := range best[k] {
			if s.l == l {
				return s
			}
		}
		panic("strength: no sequence to extend")
	}
	update := func(m *Match, l int) {
		k := m.j
		pi := estimateGuesses(m, p)
		if l > 1 {
			pi *= find(m.i-1, l-1).pi
		}
		g := factorial(l)*pi + math.Pow(minGuessesBeforeGrowingSequence, float64(l-1))
		for _, s := range best[k] {
			if s.l <= l && s.g <= g {
				return
			}
		}
		at, found := slices.BinarySearchFunc(best[k], l, func(s step, l int) int { return s.l - l })
		if found {
			best[k][at] = step{l, m, pi, g}
		} else {
			best[k] = slices.Insert(best[k], at, step{l, m, pi, g})
		}
	}
	// extend tries m after every sequence ending just before it.
	extend := func(m *Match, skipBruteforce bool) {
		if m.i == 0 {
			update(m, 1)
			return
		}
		for _, s := range best[m.i-1] {
			// Two adjacent brute-force matches are never better than one.
			if skipBruteforce && s.m.Pattern == "bruteforce" {
				continue
			}
			update(m, s.l+1)
		}
	}
	for k := range n {
		for _, m := range byEnd[k] {
			extend(m, false)
		}
		for i := 0; i <= k; i++ {
			extend(p.match("bruteforce", i, k), true)
		}
	}

	// Unwind from the end: the fewest guesses, the shortest on a tie.
	last := best[n-1][0]
	for _, s := range best[n-1][1:] {
		if s.g < last.g {
			last = s
		}
	}
	sequence := make([]Match, last.l)
	for k, l := n-1, last.l; k >= 0; l-- {
		m := find(k, l).m
		sequence[l-1] = *m
		k = m.i - 1
	}
	return last.g, sequence
}

func factorial(n int) float64 {
	f := 1.0
	for i := 2; i <= n; i++ {
		f *= float64(i)
	}
	return f
}

// runeCount is the length zxcvbn uses for a token.
func runeCount(s string) int { return utf8.RuneCountInString(s) }
