package strength

import (
	"maps"
	"runtime"
	"slices"
	"testing"
)

// The examples below are zxcvbn 4.4.2's (its test-matching and
// test-scoring suites, and the paper).

func find(matches []*Match, pattern, token string) *Match {
	for _, m := range matches {
		if m.Pattern == pattern && m.Token == token {
			return m
		}
	}
	return nil
}

func TestDictionaryMatches(t *testing.T) {
	lists := append(slices.Clip(builtinLists()), namedList{"user_inputs", newUserList([]string{"Foo", "bar"})})
	p := newInput("Password1234")
	matches := dictionaryMatches(p, lists)
	for _, tt := range []struct {
		token, list, word string
		rank              int
	}{
		{"Password", "passwords", "password", 2},
		{"1234", "passwords", "1234", 7},
		{"Pass", "passwords", "pass", 61},
	} {
		m := find(matches, "dictionary", tt.token)
		if m == nil || m.DictionaryName != tt.list || m.MatchedWord != tt.word || m.Rank != tt.rank {
			t.Errorf("dictionaryMatches(%q): got %+v, want %s %q rank %d", p.s, m, tt.list, tt.word, tt.rank)
		}
	}
	p = newInput("xbarx")
	found := false
	for _, m := range dictionaryMatches(p, lists) {
		if m.DictionaryName == "user_inputs" {
			if m.Token != "bar" || m.Rank != 2 || m.I != 1 || m.J != 3 || found {
				t.Errorf("dictionaryMatches(%q): got %+v, want only bar from user_inputs, rank 2, at 1–3", p.s, m)
			}
			found = true
		}
	}
	if !found {
		t.Errorf("dictionaryMatches(%q): got no user input, want bar", p.s)
	}
}

func TestReverseDictionaryMatches(t *testing.T) {
	m := find(reverseDictionaryMatches(newInput("0123456789drowssap"), builtinLists()), "dictionary", "drowssap")
	if m == nil || !m.Reversed || m.MatchedWord != "password" || m.I != 10 || m.J != 17 {
		t.Errorf("got %+v, want password reversed at 10–17", m)
	}
}

func TestL33tMatches(t *testing.T) {
	p := newInput("P4$$w0rd")
	m := find(l33tMatches(p, builtinLists()), "dictionary", "P4$$w0rd")
	want := map[rune]rune{'4': 'a', '$': 's', '0': 'o'}
	if m == nil || !m.L33t || m.MatchedWord != "password" || !maps.Equal(m.Sub, want) {
		t.Fatalf("l33tMatches(%q): got %+v, want password with %v", p.s, m, want)
	}
	// zxcvbn's l33t_variations examples.
	for _, tt := range []struct {
		token string
		sub   map[rune]rune
		want  float64
	}{
		{"a", nil, 1},
		{"4", map[rune]rune{'4': 'a'}, 2},
		{"4pple", map[rune]rune{'4': 'a'}, 2},
		{"abcet", nil, 1},
		{"4bcet", map[rune]rune{'4': 'a'}, 2},
		{"a8cet", map[rune]rune{'8': 'b'}, 2},
		{"abce+", map[rune]rune{'+': 't'}, 2},
		{"48cet", map[rune]rune{'4': 'a', '8': 'b'}, 4},
		{"a4a4aa", map[rune]rune{'4': 'a'}, nCk(6, 2) + nCk(6, 1)},
		{"4a4a44", map[rune]rune{'4': 'a'}, nCk(6, 2) + nCk(6, 1)},
		{"a44att+", map[rune]rune{'4': 'a', '+': 't'}, (nCk(4, 2) + nCk(4, 1)) * nCk(3, 1)},
		{"Aa44aA", map[rune]rune{'4': 'a'}, nCk(6, 2) + nCk(6, 1)}, // capitalisation does not count
	} {
		m := &Match{Token: tt.token, Sub: tt.sub, L33t: tt.sub != nil}
		if got := l33tVariations(m); got != tt.want {
			t.Errorf("l33tVariations(%q, %v): got %v, want %v", tt.token, tt.sub, got, tt.want)
		}
	}
	// Characters standing for two letters: both readings are tried.
	for _, word := range []string{"1ndia", "wi|liams"} {
		if l33tMatches(newInput(word), builtinLists()) == nil {
			t.Errorf("l33tMatches(%q): got nothing", word)
		}
	}
}

func TestL33tSubstitutions(t *testing.T) {
	// zxcvbn's enumerate_l33t_subs examples.
	for _, tt := range []struct {
		password string
		want     []substitution
	}{
		{"abc", nil},
		{"4", []substitution{"4a"}},
		{"4@", []substitution{"4a", "@a"}},
		{"4({", []substitution{"(c4a", "4a{c"}},
		// 1 and | stand for i and l: each letter gets one of them, or
		// none when the other took it.
		{"1|", []substitution{"1i", "1l", "1l|i", "1i|l", "|i", "|l"}},
	} {
		got := l33tSubstitutions(tt.password)
		slices.Sort(got)
		slices.Sort(tt.want)
		if !slices.Equal(got, tt.want) {
			t.Errorf("l33tSubstitutions(%q): got %q, want %q", tt.password, got, tt.want)
		}
	}
}

func TestUppercaseVariations(t *testing.T) {
	for _, tt := range []struct {
		word string
		want float64
	}{
		{"", 1}, {"a", 1}, {"A", 2}, {"abcdef", 1}, {"Abcdef", 2}, {"abcdeF", 2}, {"ABCDEF", 2},
		{"aBcdef", nCk(6, 1)}, {"aBcDef", nCk(6, 1) + nCk(6, 2)}, {"ABCDEf", nCk(6, 1)},
		{"aBCDEf", nCk(6, 1) + nCk(6, 2)}, {"ABCdef", nCk(6, 1) + nCk(6, 2) + nCk(6, 3)},
	} {
		if got := uppercaseVariations(tt.word); got != tt.want {
			t.Errorf("uppercaseVariations(%q): got %v, want %v", tt.word, got, tt.want)
		}
	}
}

func TestSpatialMatches(t *testing.T) {
	if kb := qwertyGraph(); kb.keys != 94 || !slices.Equal(kb.neighbours['g'], []string{"fF", "tT", "yY", "hH", "bB", "vV"}) {
		t.Errorf("qwerty: got %d keys, g next to %q; want 94, [fF tT yY hH bB vV]", kb.keys, kb.neighbours['g'])
	}
	if kb := keypadGraph(); kb.keys != 15 || !slices.Equal(kb.neighbours['7'], []string{"", "", "", "/", "8", "5", "4", ""}) {
		t.Errorf("keypad: got %d keys, 7 next to %q; want 15", kb.keys, kb.neighbours['7'])
	}
	for _, tt := range []struct {
		password, token, graph string
		turns, shifted         int
	}{
		{"6tfGHJ", "6tfGHJ", "qwerty", 2, 3},
		{"zxcvbnm", "zxcvbnm", "qwerty", 1, 0},
		{"qwERtyu", "qwERtyu", "qwerty", 1, 2},
		{"aoEP%yIxkjq:", "aoEP%yIxkjq:", "dvorak", 4, 5},
		{";qoaOQ:Aoq;a", ";qoaOQ:Aoq;a", "dvorak", 11, 4},
		{"159-", "159-", "keypad", 1, 0},
		{"*84", "*84", "keypad", 1, 0},
		{"/8aa", "/8", "", 0, 0}, // two keys are not a walk
		{"9632", "9632", "keypad", 2, 0},
		{"963.", "963.", "keypad", 1, 0},
		{"=/*-", "=/*-", "mac_keypad", 2, 0},
	} {
		m := find(spatialMatches(newInput(tt.password)), "spatial", tt.token)
		if tt.graph == "" {
			if m != nil {
				t.Errorf("spatialMatches(%q): got %+v, want none", tt.password, m)
			}
			continue
		}
		found := false
		for _, m := range spatialMatches(newInput(tt.password)) {
			if m.Token == tt.token && m.Graph == tt.graph && m.Turns == tt.turns && m.ShiftedCount == tt.shifted {
				found = true
			}
		}
		if !found {
			t.Errorf("spatialMatches(%q): want %q on %s with %d turns, %d shifted", tt.password, tt.token, tt.graph, tt.turns, tt.shifted)
		}
	}
	// zxcvbn's spatial_guesses example: "zxcvbn", 1 turn.
	m := &Match{Token: "zxcvbn", Graph: "qwerty", Turns: 1}
	kb := qwertyGraph()
	want := 0.0
	for i := 2; i <= 6; i++ {
		want += float64(kb.keys) * kb.averageDegree
	}
	if got := spatialGuesses(m); got != want {
		t.Errorf("spatialGuesses(zxcvbn): got %v, want %v", got, want)
	}
}

func TestRepeatMatches(t *testing.T) {
	for _, tt := range []struct {
		password, token, base string
		count                 int
	}{
		{"aaa", "aaa", "a", 3},
		{"&&&&&", "&&&&&", "&", 5},
		{"y4@abab", "abab", "ab", 2},
		{"aabaab", "aabaab", "aab", 2},    // greedy beats lazy
		{"aaaaa", "aaaaa", "a", 5},        // lazy beats greedy
		{"abababab", "abababab", "ab", 4}, // the unit of the greedy repeat
		{"2.2.2.2", "2.2.2.", "2.", 3},
	} {
		m := find(repeatMatches(newInput(tt.password), builtinLists()), "repeat", tt.token)
		if m == nil || m.BaseToken != tt.base || m.RepeatCount != tt.count {
			t.Errorf("repeatMatches(%q): got %+v, want %q as %q × %d", tt.password, m, tt.token, tt.base, tt.count)
		}
	}
	// The unit is estimated recursively: "batterybattery" is a word twice,
	// battery's rank plus 1 for the one-match sequence.
	m := find(repeatMatches(newInput("batterybattery"), builtinLists()), "repeat", "batterybattery")
	if m == nil || m.BaseGuesses != 2198 || len(m.BaseMatches) != 1 || m.BaseMatches[0].MatchedWord != "battery" {
		t.Errorf("repeatMatches(batterybattery): got %+v, want base guesses 2198", m)
	}
	if got := repeatMatches(newInput("abcd"), builtinLists()); got != nil {
		t.Errorf("repeatMatches(abcd): got %+v, want none", got)
	}
}

func TestSequenceMatches(t *testing.T) {
	for _, tt := range []struct {
		password, token, name string
		ascending             bool
	}{
		{"abcdef", "abcdef", "lower", true},
		{"jihg", "jihg", "lower", false},
		{"ZYX", "ZYX", "upper", false},
		{"13579", "13579", "digits", true},
		{"7531", "7531", "digits", false},
		{"xyz!", "xyz", "lower", true},
		{"ab", "ab", "lower", true},
		{"αβγ", "αβγ", "unicode", true},
	} {
		m := find(sequenceMatches(newInput(tt.password)), "sequence", tt.token)
		if m == nil || m.SequenceName != tt.name || m.Ascending != tt.ascending {
			t.Errorf("sequenceMatches(%q): got %+v, want %q %s ascending=%v", tt.password, m, tt.token, tt.name, tt.ascending)
		}
	}
	for _, p := range []string{"", "a", "1", "aceg", "ac"} {
		if p == "aceg" {
			continue // step 2: a sequence
		}
		if got := sequenceMatches(newInput(p)); len(got) > 0 && p != "aceg" && p != "ac" {
			t.Errorf("sequenceMatches(%q): got %+v, want none", p, got)
		}
	}
	if got := sequenceMatches(newInput("ac")); got != nil {
		t.Errorf("sequenceMatches(ac): got %+v, want none (two characters need a step of 1)", got)
	}
	for _, tt := range []struct {
		token     string
		ascending bool
		want      float64
	}{
		{"ab", true, 4 * 2}, {"XYZ", true, 26 * 3}, {"4567", true, 10 * 4}, {"7654", false, 10 * 4 * 2},
		{"ZYX", false, 4 * 3 * 2},
	} {
		if got := sequenceGuesses(&Match{Token: tt.token, Ascending: tt.ascending}); got != tt.want {
			t.Errorf("sequenceGuesses(%q): got %v, want %v", tt.token, got, tt.want)
		}
	}
}

func TestRecentYearMatches(t *testing.T) {
	got := recentYearMatches(newInput("a1922b2013c19792017"))
	var tokens []string
	for _, m := range got {
		tokens = append(tokens, m.Token)
	}
	if want := []string{"1922", "2013", "1979", "2017"}; !slices.Equal(tokens, want) {
		t.Errorf("recentYearMatches: got %q, want %q", tokens, want)
	}
	if got := recentYearGuesses(&Match{Token: "1972"}); got != float64(referenceYear()-1972) {
		t.Errorf("recentYearGuesses(1972): got %v, want %v", got, referenceYear()-1972)
	}
	if got := recentYearGuesses(&Match{Token: "2020"}); got != minYearSpace && referenceYear()-2020 <= minYearSpace {
		t.Errorf("recentYearGuesses(2020): got %v, want %v", got, minYearSpace)
	}
}

func TestDateMatches(t *testing.T) {
	for _, tt := range []struct {
		password, token  string
		year, month, day int
		separator        string
	}{
		{"13/1/1921", "13/1/1921", 1921, 1, 13, "/"},
		{"1/13/1921", "1/13/1921", 1921, 1, 13, "/"},
		{"1921.1.13", "1921.1.13", 1921, 1, 13, "."},
		{"1 13 1921", "1 13 1921", 1921, 1, 13, " "},
		{"13-1-21", "13-1-21", 2021, 1, 13, "-"},
		{"13_01_1921", "13_01_1921", 1921, 1, 13, "_"},
		{"1311921", "1311921", 1921, 1, 31, ""}, // 1 31 1921 comes before 13 1 1921
		{"13011921", "13011921", 1921, 1, 13, ""},
		{"111504", "111504", 2004, 11, 15, ""}, // 11-15-04, not 1-1-1504
		{"a1/1/91b", "1/1/91", 1991, 1, 1, "/"},
		{"12/20/1991.12.20", "12/20/1991", 1991, 12, 20, "/"},
	} {
		m := find(dateMatches(newInput(tt.password)), "date", tt.token)
		if m == nil || m.Year != tt.year || m.Month != tt.month || m.Day != tt.day || m.Separator != tt.separator {
			t.Errorf("dateMatches(%q): got %+v, want %q %d-%d-%d %q", tt.password, m, tt.token, tt.year, tt.month, tt.day, tt.separator)
		}
	}
	for _, p := range []string{"1/1/1", "13/13/1921", "1.1-1991", "0/0/1991", "0.12.1990"} {
		if m := find(dateMatches(newInput(p)), "date", p); m != nil {
			t.Errorf("dateMatches(%q): got %+v, want none", p, m)
		}
	}
	// A date inside another is dropped: 2015_06_04 only.
	if got := dateMatches(newInput("2015_06_04")); len(got) != 1 || got[0].Token != "2015_06_04" {
		t.Errorf("dateMatches(2015_06_04): got %d matches, want only the whole", len(got))
	}
	want := float64(max(abs(referenceYear()-1923), minYearSpace) * 365 * 4)
	if got := dateGuesses(&Match{Year: 1923, Separator: "/"}); got != want {
		t.Errorf("dateGuesses(1923 with a separator): got %v, want %v", got, want)
	}
}

func TestEstimate(t *testing.T) {
	for _, tt := range []struct {
		password string
		score    int
		patterns []string
	}{
		{"", 0, nil},
		{"password", 0, []string{"dictionary"}},
		{"correcthorsebatterystaple", 4, []string{"dictionary", "dictionary", "dictionary", "dictionary"}},
		{"zxcvbnm,./", 1, []string{"spatial"}},
		{"1qaz2wsx3edc", 0, []string{"dictionary"}},
		{"kX9#mQ2$vL7!", 4, []string{"bruteforce"}},
		{"ÄÖÜäöüßéèêàç", 4, nil},
	} {
		got := Estimate(tt.password, nil)
		var patterns []string
		for _, m := range got.Sequence {
			patterns = append(patterns, m.Pattern)
		}
		if got.Score != tt.score || (tt.patterns != nil && !slices.Equal(patterns, tt.patterns)) {
			t.Errorf("Estimate(%q): got score %d, %v, want %d, %v", tt.password, got.Score, patterns, tt.score, tt.patterns)
		}
	}
	// The sequence covers the password, in order.
	got := Estimate("Tr0ub4dor&3xx", nil)
	end := 0
	for _, m := range got.Sequence {
		if m.I != end || m.Token != "Tr0ub4dor&3xx"[m.I:m.J+1] {
			t.Errorf("Estimate(Tr0ub4dor&3xx): match %+v does not follow at byte %d", m, end)
		}
		end = m.J + 1
	}
	if end != len("Tr0ub4dor&3xx") {
		t.Errorf("Estimate(Tr0ub4dor&3xx): sequence ends at %d", end)
	}
}

func TestScore(t *testing.T) {
	for _, tt := range []struct {
		guesses float64
		want    int
	}{
		{1, 0}, {1e3 + 4, 0}, {1e3 + 5, 1}, {1e6 + 4, 1}, {1e6 + 5, 2}, {1e8 + 4, 2}, {1e8 + 5, 3}, {1e10 + 4, 3}, {1e10 + 5, 4},
	} {
		if got := score(tt.guesses); got != tt.want {
			t.Errorf("score(%v): got %d, want %d", tt.guesses, got, tt.want)
		}
	}
}

// TestDictionaryHeap measures the word lists' index: made on first use,
// it is what the dictionaries cost in memory (the words themselves are
// in the binary's read-only data).
func TestDictionaryHeap(t *testing.T) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	var lists []namedList
	for _, data := range []string{passwordsData, englishWikipediaData, femaleNamesData, surnamesData, usTVAndFilmData, maleNamesData} {
		lists = append(lists, namedList{"", newEmbeddedList(data)})
	}
	runtime.ReadMemStats(&after)
	words := 0
	for _, l := range lists {
		words += len(l.list.(*embeddedList).lines)
	}
	heap := after.TotalAlloc - before.TotalAlloc
	t.Logf("index of %d words: %d KB allocated", words, heap/1024)
	if words != 93855 {
		t.Errorf("got %d words, want 93,855 (zxcvbn 4.4.2's lists)", words)
	}
	if heap > 512<<10 {
		t.Errorf("index: got %d KB, want under 512 KB", heap/1024)
	}
}
