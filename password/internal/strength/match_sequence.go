package strength

// maxSequenceDelta is the largest step between characters of a sequence
// ("aceg", "7531").
const maxSequenceDelta = 5

// sequenceMatches finds runs of characters with a constant step of 1 to 5,
// up or down ("abcd", "9753", "ZYX"), as zxcvbn's sequence_match does: the
// password is cut where the step changes, and a piece is kept if it has
// three characters or more, or two with a step of 1.
func sequenceMatches(p *input) []*Match {
	r := p.runes
	if len(r) < 2 {
		return nil
	}
	var matches []*Match
	add := func(i, j int, delta rune) {
		d := abs(int(delta))
		if (j-i > 1 || d == 1) && 0 < d && d <= maxSequenceDelta {
			m := p.match("sequence", i, j)
			m.SequenceName, m.SequenceSpace = sequenceName(r[i : j+1])
			m.Ascending = delta > 0
			matches = append(matches, m)
		}
	}
	i := 0
	last := r[1] - r[0]
	for k := 2; k < len(r); k++ {
		delta := r[k] - r[k-1]
		if delta == last {
			continue
		}
		add(i, k-1, last)
		i, last = k-1, delta
	}
	add(i, len(r)-1, last)
	return matches
}

// sequenceName names the characters and the size of their alphabet; 26,
// the Roman alphabet's, for any other script, conservatively.
func sequenceName(r []rune) (string, int) {
	all := func(lo, hi rune) bool {
		for _, c := range r {
			if c < lo || c > hi {
				return false
			}
		}
		return true
	}
	switch {
	case all('a', 'z'):
		return "lower", 26
	case all('A', 'Z'):
		return "upper", 26
	case all('0', '9'):
		return "digits", 10
	}
	return "unicode", 26
}

// recentYearMatches finds zxcvbn's one regular expression, recent_year,
// /19\d\d|200\d|201\d/, left to right without overlaps.
func recentYearMatches(p *input) []*Match {
	r := p.runes
	digit := func(c rune) bool { return '0' <= c && c <= '9' }
	var matches []*Match
	for i := 0; i+4 <= len(r); {
		if digit(r[i+3]) && (r[i] == '1' && r[i+1] == '9' && digit(r[i+2]) ||
			r[i] == '2' && r[i+1] == '0' && (r[i+2] == '0' || r[i+2] == '1')) {
			m := p.match("regex", i, i+3)
			m.RegexName = "recent_year"
			matches = append(matches, m)
			i += 4
			continue
		}
		i++
	}
	return matches
}
