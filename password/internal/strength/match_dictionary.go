package strength

import (
	"slices"
	"strings"
	"unicode"
)

// dictionaryMatches finds every substring of the password, in lower case,
// that is a word of one of the lists. For each start it extends the
// substring only while some list has a word beginning with it.
func dictionaryMatches(p *input, lists []namedList) []*Match {
	var matches []*Match
	alive := make([]bool, len(lists))
	for i := range p.len() {
		for d := range alive {
			alive[d] = true
		}
		for j := i; j < p.len(); j++ {
			word := p.lowerToken(i, j)
			any := false
			for d, l := range lists {
				if !alive[d] {
					continue
				}
				rank, longer := l.list.lookup(word)
				if rank > 0 {
					m := p.match("dictionary", i, j)
					m.DictionaryName, m.MatchedWord, m.Rank = l.name, word, rank
					matches = append(matches, m)
				}
				alive[d] = longer
				any = any || longer
			}
			if !any {
				break
			}
		}
	}
	return matches
}

// reverseDictionaryMatches finds the words written backwards ("drowssap").
func reverseDictionaryMatches(p *input, lists []namedList) []*Match {
	reversed := slices.Clone(p.runes)
	slices.Reverse(reversed)
	rp := newInput(string(reversed))
	n := p.len()
	var matches []*Match
	for _, rm := range dictionaryMatches(rp, lists) {
		m := p.match("dictionary", n-1-rm.j, n-1-rm.i)
		m.DictionaryName, m.MatchedWord, m.Rank, m.Reversed = rm.DictionaryName, rm.MatchedWord, rm.Rank, true
		matches = append(matches, m)
	}
	sortMatches(matches)
	return matches
}

// l33tTable is zxcvbn's: the characters that may stand for each letter.
var l33tTable = [...]struct {
	letter rune
	subs   string
}{
	{'a', "4@"},
	{'b', "8"},
	{'c', "({[<"},
	{'e', "3"},
	{'g', "69"},
	{'i', "1!|"},
	{'l', "1|7"},
	{'o', "0"},
	{'s', "$5"},
	{'t', "+7"},
	{'x', "%"},
	{'z', "2"},
}

// A substitution maps l33t characters to letters, as pairs
// "<l33t><letter>..." sorted by l33t character, so that equal substitutions
// are equal strings.
type substitution string

func (s substitution) letter(c rune) rune {
	for i := 0; i < len(s); i += 2 {
		if rune(s[i]) == c {
			return rune(s[i+1])
		}
	}
	return 0
}

func (s substitution) without(c rune) substitution {
	for i := 0; i < len(s); i += 2 {
		if rune(s[i]) == c {
			return s[:i] + s[i+2:]
		}
	}
	return s
}

func (s substitution) with(c, letter rune) substitution {
	i := 0
	for i < len(s) && rune(s[i]) < c {
		i += 2
	}
	return s[:i] + substitution([]byte{byte(c), byte(letter)}) + s[i:]
}

// l33tSubstitutions is zxcvbn's enumerate_l33t_subs over the l33t
// characters present in the password: letter by letter, each substitution
// so far is extended by one of the letter's l33t characters; when another
// letter already took that character, both the old substitution and one
// where this letter takes it are kept. So a substitution gives each
// letter at most one l33t character, and each character one letter.
func l33tSubstitutions(password string) []substitution {
	subs := []substitution{""}
	for _, row := range l33tTable {
		var next []substitution
		seen := map[substitution]bool{}
		add := func(s substitution) {
			if !seen[s] {
				seen[s] = true
				next = append(next, s)
			}
		}
		relevant := false
		for _, c := range row.subs {
			if !strings.ContainsRune(password, c) {
				continue
			}
			relevant = true
			for _, s := range subs {
				if s.letter(c) == 0 {
					add(s.with(c, row.letter))
				} else {
					add(s)
					add(s.without(c).with(c, row.letter))
				}
			}
		}
		if relevant {
			subs = next
		}
	}
	if len(subs) == 1 && subs[0] == "" {
		return nil
	}
	return subs
}

// l33tMatches finds dictionary words written with l33t substitutions
// ("p4ssw0rd"), as zxcvbn's l33t_match does, but without matching the
// whole password once per substitution: from each start it reads the
// password character by character, splitting the substitutions still
// possible by the letter they give the character read, and follows each
// branch only while some word begins with what it spells.
func l33tMatches(p *input, lists []namedList) []*Match {
	subs := l33tSubstitutions(p.s)
	if subs == nil {
		return nil
	}
	all := make([]int, len(subs))
	for i := range all {
		all[i] = i
	}
	var matches []*Match
	var walk func(i, j int, word []byte, substituted bool, candidates []int, alive []bool)
	walk = func(i, j int, word []byte, substituted bool, candidates []int, alive []bool) {
		if j == p.len() {
			return
		}
		c := p.runes[j]
		// Group the candidate substitutions by the letter they give c
		// (0: none, c is read as itself).
		var letters []rune
		groups := map[rune][]int{}
		if strings.ContainsRune("4@8({[<3691!|70$5+%2", c) {
			for _, s := range candidates {
				l := subs[s].letter(c)
				if _, ok := groups[l]; !ok {
					letters = append(letters, l)
				}
				groups[l] = append(groups[l], s)
			}
		} else {
			letters = []rune{0}
			groups[0] = candidates
		}
		for _, l := range letters {
			next := word
			sub := substituted
			if l != 0 {
				next = append(next[:len(next):len(next)], byte(l))
				sub = true
			} else {
				next = append(next[:len(next):len(next)], string(unicode.ToLower(c))...)
			}
			nextAlive := make([]bool, len(alive))
			any := false
			for d, list := range lists {
				if !alive[d] {
					continue
				}
				rank, longer := list.list.lookup(string(next))
				// zxcvbn ignores one-character l33t matches ("4" for "a")
				// and keeps only matches with a substitution in them.
				if rank > 0 && sub && j > i {
					m := p.match("dictionary", i, j)
					m.DictionaryName, m.MatchedWord, m.Rank, m.L33t = list.name, string(next), rank, true
					m.Sub = subs[groups[l][0]].within(m.Token)
					matches = append(matches, m)
				}
				nextAlive[d] = longer
				any = any || longer
			}
			if any {
				walk(i, j+1, next, sub, groups[l], nextAlive)
			}
		}
	}
	alive := make([]bool, len(lists))
	for i := range p.len() {
		for d := range alive {
			alive[d] = true
		}
		walk(i, i, nil, false, all, alive)
	}
	sortMatches(matches)
	return matches
}

// within returns the part of s for the characters in token.
func (s substitution) within(token string) map[rune]rune {
	sub := map[rune]rune{}
	for i := 0; i < len(s); i += 2 {
		if strings.ContainsRune(token, rune(s[i])) {
			sub[rune(s[i])] = rune(s[i+1])
		}
	}
	return sub
}
