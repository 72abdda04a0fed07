package strength

import "slices"

// repeatMatches finds repeated substrings ("aaa", "abcabc", "aabaab"),
// left to right, as zxcvbn's repeat_match does with the regular
// expressions /(.+)\1+/ (greedy) and /(.+?)\1+/ (lazy): at the first
// position where anything repeats, it takes whichever of the longest and
// the shortest repeated unit covers more, and the shortest unit the
// covered text is made of. The unit's guesses are estimated recursively.
func repeatMatches(p *input, lists []namedList) []*Match {
	var matches []*Match
	r := p.runes
	for last := 0; last < len(r); {
		start, long, short := firstRepeat(r, last)
		if start < 0 {
			break
		}
		unit, length := short, repeatLength(r, start, short)
		if l := repeatLength(r, start, long); l > length {
			length = l
			unit = period(r[start : start+length])
		}
		m := p.match("repeat", start, start+length-1)
		base := newInput(string(r[start : start+unit]))
		m.BaseToken = base.s
		m.BaseGuesses, m.BaseMatches = mostGuessableSequence(base, omnimatch(base, lists))
		m.RepeatCount = length / unit
		matches = append(matches, m)
		last = start + length
	}
	return matches
}

// firstRepeat returns the first position at or after from where a
// substring is immediately repeated, with the longest and the shortest
// such substring's length; start is -1 if there is none.
func firstRepeat(r []rune, from int) (start, long, short int) {
	for s := from; s < len(r); s++ {
		long, short = 0, 0
		for unit := 1; s+2*unit <= len(r); unit++ {
			if slices.Equal(r[s:s+unit], r[s+unit:s+2*unit]) {
				if short == 0 {
					short = unit
				}
				long = unit
			}
		}
		if short > 0 {
			return s, long, short
		}
	}
	return -1, 0, 0
}

// repeatLength is the length of the run of r[start:start+unit] repeated
// from start.
func repeatLength(r []rune, start, unit int) int {
	end := start + unit
	for end+unit <= len(r) && slices.Equal(r[start:start+unit], r[end:end+unit]) {
		end += unit
	}
	return end - start
}

// period returns the length of the shortest unit r is a repetition of
// (/^(.+?)\1+$/).
func period(r []rune) int {
	for unit := 1; unit <= len(r)/2; unit++ {
		if len(r)%unit == 0 && repeatLength(r, 0, unit) == len(r) {
			return unit
		}
	}
	return len(r)
}
