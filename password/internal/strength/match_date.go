package strength

import (
	"strconv"
	"unicode"
)

// Years a date may have.
const (
	dateMinYear = 1000
	dateMaxYear = 2050
)

// dateSplits are, by length, where a date without separators may be cut
// into three numbers: for 4 characters, "1191" is 1 1 91 or 91 1 1.
var dateSplits = [9][][2]int{
	4: {{1, 2}, {2, 3}},
	5: {{1, 3}, {2, 3}},
	6: {{1, 2}, {2, 4}, {4, 5}},
	7: {{1, 3}, {2, 3}, {4, 5}, {4, 6}},
	8: {{2, 4}, {4, 6}},
}

// dateMatches finds dates, as zxcvbn's date_match does: 4 to 8 digits
// ("1191", "11111991"), or 6 to 10 characters with two equal separators
// ("1/1/91", "11.11.1991"), that read as a day, a month and a year of 2 or
// 4 digits, year first or last. Of several readings without separators it
// keeps the one closest to the reference year; a date inside another is
// dropped.
func dateMatches(p *input) []*Match {
	r := p.runes
	var matches []*Match
	for i := 0; i+4 <= len(r); i++ {
		for j := i + 3; j <= i+7 && j < len(r); j++ {
			token := r[i : j+1]
			if !allDigits(token) {
				break // longer tokens from i hold the same non-digit
			}
			var best date
			found := false
			for _, split := range dateSplits[len(token)] {
				d, ok := dateOf(number(token[:split[0]]), number(token[split[0]:split[1]]), number(token[split[1]:]))
				if ok && (!found || abs(d.year-referenceYear()) < abs(best.year-referenceYear())) {
					best, found = d, true
				}
			}
			if found {
				matches = append(matches, dateMatch(p, i, j, best, ""))
			}
		}
	}
	for i := 0; i+6 <= len(r); i++ {
		for j := i + 5; j <= i+9 && j < len(r); j++ {
			if d, sep, ok := separatedDate(r[i : j+1]); ok {
				matches = append(matches, dateMatch(p, i, j, d, sep))
			}
		}
	}
	var kept []*Match
	for _, m := range matches {
		inside := false
		for _, o := range matches {
			if o != m && o.i <= m.i && o.j >= m.j {
				inside = true
				break
			}
		}
		if !inside {
			kept = append(kept, m)
		}
	}
	sortMatches(kept)
	return kept
}

type date struct{ year, month, day int }

func dateMatch(p *input, i, j int, d date, separator string) *Match {
	m := p.match("date", i, j)
	m.Year, m.Month, m.Day, m.Separator = d.year, d.month, d.day, separator
	return m
}

// separatedDate reads /^(\d{1,4})([\s/\\_.-])(\d{1,2})\2(\d{1,4})$/.
func separatedDate(r []rune) (date, string, bool) {
	digits := func(from, most int) int { // the end of the digits at from
		end := from
		for end < len(r) && end-from < most && '0' <= r[end] && r[end] <= '9' {
			end++
		}
		return end
	}
	end1 := digits(0, 4)
	if end1 == 0 || end1 >= len(r) || !isDateSeparator(r[end1]) {
		return date{}, "", false
	}
	sep := r[end1]
	end2 := digits(end1+1, 2)
	if end2 == end1+1 || end2 >= len(r) || r[end2] != sep {
		return date{}, "", false
	}
	end3 := digits(end2+1, 4)
	if end3 == end2+1 || end3 != len(r) {
		return date{}, "", false
	}
	d, ok := dateOf(number(r[:end1]), number(r[end1+1:end2]), number(r[end2+1:]))
	return d, string(sep), ok
}

// isDateSeparator is [\s/\\_.-], \s as JavaScript has it.
func isDateSeparator(c rune) bool {
	switch c {
	case '/', '\\', '_', '.', '-', '\ufeff':
		return true
	case '\u0085':
		return false
	}
	return unicode.IsSpace(c)
}

// dateOf is zxcvbn's map_ints_to_dmy: the middle number is never a year;
// no number may be over 2050 or have three digits, at most one may be
// over 31 or zero, one must be 12 or less; a 4-digit year comes first or
// last, else a 2-digit one does (51–99 → 19xx, 0–50 → 20xx).
func dateOf(a, b, c int) (date, bool) {
	if b > 31 || b <= 0 {
		return date{}, false
	}
	over12, over31, under1 := 0, 0, 0
	for _, n := range [3]int{a, b, c} {
		if 99 < n && n < dateMinYear || n > dateMaxYear {
			return date{}, false
		}
		if n > 31 {
			over31++
		}
		if n > 12 {
			over12++
		}
		if n <= 0 {
			under1++
		}
	}
	if over31 >= 2 || over12 == 3 || under1 >= 2 {
		return date{}, false
	}
	splits := [2][3]int{{c, a, b}, {a, b, c}} // year last, year first
	for _, s := range splits {
		if dateMinYear <= s[0] && s[0] <= dateMaxYear {
			day, month, ok := dayMonth(s[1], s[2])
			return date{s[0], month, day}, ok
		}
	}
	for _, s := range splits {
		if day, month, ok := dayMonth(s[1], s[2]); ok {
			year := s[0]
			switch {
			case year > 99:
			case year > 50:
				year += 1900
			default:
				year += 2000
			}
			return date{year, month, day}, true
		}
	}
	return date{}, false
}

func dayMonth(a, b int) (day, month int, ok bool) {
	switch {
	case 1 <= a && a <= 31 && 1 <= b && b <= 12:
		return a, b, true
	case 1 <= b && b <= 31 && 1 <= a && a <= 12:
		return b, a, true
	}
	return 0, 0, false
}

func allDigits(r []rune) bool {
	for _, c := range r {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func number(r []rune) int {
	n, _ := strconv.Atoi(string(r))
	return n
}
