package strength

import (
	_ "embed"
	"sort"
	"strconv"
	"strings"
	"sync"
)

//go:generate go run ./gen data

// The word lists, as ./gen writes them: "word rank" lines sorted by word.
var (
	//go:embed data/passwords.txt
	passwordsData string
	//go:embed data/english_wikipedia.txt
	englishWikipediaData string
	//go:embed data/female_names.txt
	femaleNamesData string
	//go:embed data/surnames.txt
	surnamesData string
	//go:embed data/us_tv_and_film.txt
	usTVAndFilmData string
	//go:embed data/male_names.txt
	maleNamesData string
)

// A wordList is a ranked dictionary: rank 1 is the most common word.
type wordList interface {
	// lookup returns the rank of word (0 when it is not in the list) and
	// whether a longer word starts with word, so that matchers can stop
	// extending a candidate as soon as no word can match it.
	lookup(word string) (rank int, longer bool)
}

type namedList struct {
	name string
	list wordList
}

// builtinLists returns zxcvbn's dictionaries, in zxcvbn's order. Nothing
// is done at package initialisation: the index of each list (one uint32
// per word, ~375 KB in all) is made by the first estimate, in about a
// millisecond.
func builtinLists() []namedList {
	listsOnce.Do(func() {
		lists = []namedList{
			{"passwords", newEmbeddedList(passwordsData)},
			{"english_wikipedia", newEmbeddedList(englishWikipediaData)},
			{"female_names", newEmbeddedList(femaleNamesData)},
			{"surnames", newEmbeddedList(surnamesData)},
			{"us_tv_and_film", newEmbeddedList(usTVAndFilmData)},
			{"male_names", newEmbeddedList(maleNamesData)},
		}
	})
	return lists
}

var (
	listsOnce sync.Once
	lists     []namedList
)

// embeddedList is a word list searched in place: data is sorted lines
// "word rank\n", and lines the offset of each line.
type embeddedList struct {
	data  string
	lines []uint32
}

func newEmbeddedList(data string) *embeddedList {
	return &embeddedList{data: data, lines: lineOffsets(data)}
}

func lineOffsets(data string) []uint32 {
	offsets := make([]uint32, 0, strings.Count(data, "\n"))
	for start := 0; start < len(data); {
		offsets = append(offsets, uint32(start))
		end := strings.IndexByte(data[start:], '\n')
		if end < 0 {
			break
		}
		start += end + 1
	}
	return offsets
}

// entry returns the word and rank on line i.
func (l *embeddedList) entry(i int) (word, rank string) {
	line := l.data[l.lines[i]:]
	line = line[:strings.IndexByte(line, '\n')]
	word, rank, _ = strings.Cut(line, " ")
	return word, rank
}

func (l *embeddedList) lookup(word string) (int, bool) {
	lines := l.lines
	i := sort.Search(len(lines), func(i int) bool {
		w, _ := l.entry(i)
		return w >= word
	})
	if i == len(lines) {
		return 0, false
	}
	w, r := l.entry(i)
	if w != word {
		return 0, strings.HasPrefix(w, word)
	}
	rank, _ := strconv.Atoi(r)
	longer := false
	if i+1 < len(lines) {
		next, _ := l.entry(i + 1)
		longer = strings.HasPrefix(next, word)
	}
	return rank, longer
}

// userList is the dictionary zxcvbn makes of the user's inputs: ranked in
// the order given, lower-cased, a repeated word keeping its last rank.
type userList struct {
	words []string // sorted
	ranks []int
}

func newUserList(inputs []string) *userList {
	rankOf := make(map[string]int, len(inputs))
	for i, in := range inputs {
		rankOf[strings.ToLower(in)] = i + 1
	}
	l := &userList{}
	for w := range rankOf {
		l.words = append(l.words, w)
	}
	sort.Strings(l.words)
	for _, w := range l.words {
		l.ranks = append(l.ranks, rankOf[w])
	}
	return l
}

func (l *userList) lookup(word string) (int, bool) {
	i := sort.SearchStrings(l.words, word)
	if i == len(l.words) {
		return 0, false
	}
	if l.words[i] != word {
		return 0, strings.HasPrefix(l.words[i], word)
	}
	return l.ranks[i], i+1 < len(l.words) && strings.HasPrefix(l.words[i+1], word)
}
