package strength

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// zxcvbn 4.4.2's constants for estimate_guesses.
const (
	bruteforceCardinality        = 10
	minSubmatchGuessesSingleChar = 10
	minSubmatchGuessesMultiChar  = 50
	minYearSpace                 = 20
)

// referenceYear is zxcvbn's REFERENCE_YEAR: the current year. Dates and
// years are guessed outward from it.
func referenceYear() int { return time.Now().Year() }

// estimateGuesses is zxcvbn's estimate_guesses: the match's guesses, at
// least 10 or 50 when it is only part of the password, so that a sequence
// of many small matches does not beat brute force. It caches the result
// in m.Guesses.
func estimateGuesses(m *Match, p *input) float64 {
	if m.Guesses != 0 {
		return m.Guesses
	}
	length := m.j - m.i + 1
	minGuesses := 1.0
	if length < p.len() {
		minGuesses = minSubmatchGuessesMultiChar
		if length == 1 {
			minGuesses = minSubmatchGuessesSingleChar
		}
	}
	var guesses float64
	switch m.Pattern {
	case "bruteforce":
		guesses = bruteforceGuesses(length)
	case "dictionary":
		guesses = dictionaryGuesses(m)
	case "spatial":
		guesses = spatialGuesses(m)
	case "repeat":
		guesses = m.BaseGuesses * float64(m.RepeatCount)
	case "sequence":
		guesses = sequenceGuesses(m)
	case "regex":
		guesses = recentYearGuesses(m)
	case "date":
		guesses = dateGuesses(m)
	}
	m.Guesses = max(guesses, minGuesses)
	return m.Guesses
}

// bruteforceGuesses is 10 per character, and at least one more than the
// smallest submatch, so that a match over the same characters wins.
func bruteforceGuesses(length int) float64 {
	guesses := math.Pow(bruteforceCardinality, float64(length))
	if math.IsInf(guesses, 1) {
		guesses = math.MaxFloat64
	}
	if length == 1 {
		return max(guesses, minSubmatchGuessesSingleChar+1)
	}
	return max(guesses, minSubmatchGuessesMultiChar+1)
}

// dictionaryGuesses is the word's rank, times its capitalisations and its
// l33t substitutions, times 2 when reversed.
func dictionaryGuesses(m *Match) float64 {
	m.BaseGuesses = float64(m.Rank)
	guesses := float64(m.Rank) * uppercaseVariations(m.Token) * l33tVariations(m)
	if m.Reversed {
		guesses *= 2
	}
	return guesses
}

// uppercaseVariations: all lower case is 1; first or last letter upper
// case, or all upper case, is 2; otherwise the number of ways to put the
// fewer of upper and lower case letters among them.
func uppercaseVariations(word string) float64 {
	var upper, lower, other int
	for _, r := range word {
		switch {
		case 'A' <= r && r <= 'Z':
			upper++
		case 'a' <= r && r <= 'z':
			lower++
		default:
			other++
		}
	}
	if upper == 0 {
		return 1
	}
	first, last := rune(word[0]), rune(word[len(word)-1])
	isUpper := func(r rune) bool { return 'A' <= r && r <= 'Z' }
	n := runeCount(word)
	if lower == 0 || // ^[^a-z]+$
		(upper == 1 && n > 1 && (isUpper(first) || isUpper(last))) { // ^[A-Z][^A-Z]+$ or ^[^A-Z]+[A-Z]$
		return 2
	}
	return choices(upper, lower)
}

// choices is the number of ways to mark from 1 to min(a, b) of a+b
// characters: zxcvbn's count of the variants of a word (capitals, l33t
// substitutions, shifted keys) with a characters changed and b not.
func choices(a, b int) float64 {
	n := 0.0
	for i := 1; i <= min(a, b); i++ {
		n += nCk(a+b, i)
	}
	return n
}

// l33tVariations: for each substitution, 2 when every such letter is
// substituted (or none), otherwise the number of ways to substitute the
// fewer of substituted and plain among them.
func l33tVariations(m *Match) float64 {
	if !m.L33t {
		return 1
	}
	variations := 1.0
	for subbed, letter := range m.Sub {
		var s, u int
		for _, r := range strings.ToLower(m.Token) {
			switch r {
			case subbed:
				s++
			case letter:
				u++
			}
		}
		if s == 0 || u == 0 {
			variations *= 2
			continue
		}
		variations *= choices(s, u)
	}
	return variations
}

// Keyboard statistics zxcvbn uses for every layout of each kind: the
// number of keys (starting positions) and their average number of
// neighbours.
func spatialGuesses(m *Match) float64 {
	kb := qwertyGraph()
	if m.Graph != "qwerty" && m.Graph != "dvorak" {
		kb = keypadGraph()
	}
	s, d := float64(kb.keys), kb.averageDegree
	length := runeCount(m.Token)
	guesses := 0.0
	// Patterns of length up to L with up to t turns.
	for i := 2; i <= length; i++ {
		for j := 1; j <= min(m.Turns, i-1); j++ {
			guesses += nCk(i-1, j-1) * s * math.Pow(d, float64(j))
		}
	}
	// Shifted keys (% for 5, A for a) count like l33t substitutions.
	if shifted := m.ShiftedCount; shifted > 0 {
		unshifted := length - shifted
		if unshifted == 0 {
			guesses *= 2
		} else {
			guesses *= choices(shifted, unshifted)
		}
	}
	return guesses
}

// sequenceGuesses: obvious starting points (a, z, 0, 1, 9) are tried
// first; descending sequences double the guesses.
func sequenceGuesses(m *Match) float64 {
	var base float64
	switch first := []rune(m.Token)[0]; {
	case first == 'a' || first == 'A' || first == 'z' || first == 'Z' || first == '0' || first == '1' || first == '9':
		base = 4
	case '0' <= first && first <= '9':
		base = 10
	default:
		base = 26 // also for upper case and other scripts: conservative
	}
	if !m.Ascending {
		base *= 2
	}
	return base * float64(runeCount(m.Token))
}

// recentYearGuesses is the distance to the reference year, at least 20.
func recentYearGuesses(m *Match) float64 {
	year, _ := strconv.Atoi(m.Token)
	return float64(max(abs(year-referenceYear()), minYearSpace))
}

// dateGuesses is the years from the reference year (at least 20) times
// 365 days, times 4 for the choice of a separator.
func dateGuesses(m *Match) float64 {
	guesses := float64(max(abs(m.Year-referenceYear()), minYearSpace) * 365)
	if m.Separator != "" {
		guesses *= 4
	}
	return guesses
}

// nCk is the binomial coefficient, in floating point as zxcvbn computes it.
func nCk(n, k int) float64 {
	if k > n {
		return 0
	}
	if k == 0 {
		return 1
	}
	r := 1.0
	for d := 1; d <= k; d++ {
		r *= float64(n)
		r /= float64(d)
		n--
	}
	return r
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}
