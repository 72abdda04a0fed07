// Command gen writes the word lists of github.com/trustelem/zxcvbn/frequency
// (Dropbox zxcvbn 4.4.2's frequency lists) to ../data, one file per
// dictionary, in the form the strength package embeds: one line per word,
// "word rank", sorted by word so that a lookup is a binary search of the
// embedded text and nothing has to be sorted at run time. A rank is the
// word's position in zxcvbn's list, from 1; a word listed twice keeps its
// last position, as zxcvbn's build_ranked_dict does.
//
// Run it with go generate ./password/internal/strength.
package main

import (
	"bufio"
	"cmp"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/trustelem/zxcvbn/frequency"
)

func main() {
	dir := "data"
	if len(os.Args) > 1 {
		dir = os.Args[1]
	}
	for name, list := range frequency.FrequencyLists {
		if err := write(filepath.Join(dir, name+".txt"), list); err != nil {
			log.Fatal(err)
		}
	}
}

type entry struct {
	word string
	rank int
}

func write(path string, list []string) error {
	ranks := make(map[string]int, len(list))
	for i, w := range list {
		w = strings.ToLower(w)
		if w == "" || strings.ContainsAny(w, " \n") {
			return fmt.Errorf("%s: word %d is %q: a word can be neither empty nor hold a space or a newline", path, i+1, w)
		}
		ranks[w] = i + 1
	}
	entries := make([]entry, 0, len(ranks))
	for w, r := range ranks {
		entries = append(entries, entry{w, r})
	}
	slices.SortFunc(entries, func(a, b entry) int { return cmp.Compare(a.word, b.word) })

	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	for _, e := range entries {
		fmt.Fprintf(w, "%s %d\n", e.word, e.rank)
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
