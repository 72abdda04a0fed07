package web

import (
	"io/fs"
	"sync"
	"testing"
)

// TestEveryPageParsesInItsFrame parses each page as its first request
// does: the start checks each page alone, so a page that parses alone but
// not inside its frame would only fail there.
func TestEveryPageParsesInItsFrame(t *testing.T) {
	pages, err := parsedPages()
	if err != nil {
		t.Fatal(err)
	}
	files, err := fs.Glob(templateFS, "templates/pages/*.html")
	if err != nil {
		t.Fatal(err)
	}
	if len(pages) != len(files) || len(pages) == 0 {
		t.Fatalf("%d pages for %d page files", len(pages), len(files))
	}
	for name, parse := range pages {
		tmpl, err := parse()
		if err != nil {
			t.Errorf("page %s: %v", name, err)
			continue
		}
		if tmpl.Lookup("base.html") == nil {
			t.Errorf("page %s: no base.html in its set", name)
		}
		if again, _ := parse(); again != tmpl {
			t.Errorf("page %s: parsed again on its second use", name)
		}
	}
}

// TestPagesParseConcurrently: the first requests of a fresh node may show
// every page at once; each page's set is parsed once, its frame's once,
// and the copies of one frame do not race (run it with -race).
func TestPagesParseConcurrently(t *testing.T) {
	pages, err := parsePages() // fresh, not the process's parsedPages
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for name, parse := range pages {
		for range 2 {
			wg.Go(func() {
				if _, err := parse(); err != nil {
					t.Errorf("page %s: %v", name, err)
				}
			})
		}
	}
	wg.Wait()
	for name, parse := range pages {
		if a, _ := parse(); a == nil || a.Lookup("base.html") == nil {
			t.Errorf("page %s: no base.html in its set", name)
		}
	}
}
