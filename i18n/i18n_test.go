package i18n

import (
	"io/fs"
	"path"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
)

// TestCataloguesAgree: every language has exactly English's keys, no empty
// message, and the same placeholders in each message, so that a page
// never shows a key, an empty label or a raw "{name}".
func TestCataloguesAgree(t *testing.T) {
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	en := c.messages(Default)
	for _, lang := range Supported {
		msgs := c.messages(lang)
		for key, enMsg := range en {
			msg, ok := msgs[key]
			switch {
			case !ok:
				t.Errorf("%s.json: no translation of %q (English: %q)", lang, key, enMsg)
			case strings.TrimSpace(msg) == "":
				t.Errorf("%s.json: %q is empty", lang, key)
			case !slices.Equal(placeholders(msg), placeholders(enMsg)):
				t.Errorf("%s.json: %q has placeholders %v, want English's %v", lang, key, placeholders(msg), placeholders(enMsg))
			}
		}
		for key := range msgs {
			if _, ok := en[key]; !ok {
				t.Errorf("%s.json: %q is not in en.json (a typo, or a key English dropped)", lang, key)
			}
		}
	}
}

// TestEveryCatalogueIsSupported: a file under locales/ that Supported does
// not list would be translated for nothing.
func TestEveryCatalogueIsSupported(t *testing.T) {
	files, err := fs.Glob(locales, "locales/*.json")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range files {
		got = append(got, strings.TrimSuffix(path.Base(f), ".json"))
	}
	want := slices.Clone(Supported)
	sort.Strings(want)
	if !slices.Equal(got, want) {
		t.Errorf("catalogues: got %v, want one per supported language %v", got, want)
	}
}

var placeholder = regexp.MustCompile(`\{[a-z_]+\}`)

// placeholders returns the sorted {names} of a message.
func placeholders(msg string) []string {
	p := placeholder.FindAllString(msg, -1)
	sort.Strings(p)
	return slices.Compact(p)
}

func TestMatch(t *testing.T) {
	for _, tc := range []struct{ accept, want string }{
		{"", "en"},
		{"tr-TR,tr;q=0.9,en-US;q=0.8,en;q=0.7", "tr"},
		{"id-ID,id;q=0.9", "id"},
		{"in", "id"}, // the old code of Indonesian, still sent by some Android browsers
		{"en-GB,en;q=0.9", "en"},
		{"de-DE,de;q=0.9,tr;q=0.8", "tr"},
		{"de-DE,de;q=0.9", "en"},
		{"ms-MY,ms;q=0.9", "id"}, // Malay readers read Indonesian, says CLDR
		{"not a header", "en"},
	} {
		if got := Match(tc.accept); got != tc.want {
			t.Errorf("Match(%q): got %q, want %q", tc.accept, got, tc.want)
		}
	}
}

func TestT(t *testing.T) {
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.T("tr", "reset.for", "email", "ada@example.com"), "Hesap: ada@example.com"; got != want {
		t.Errorf("T: got %q, want %q", got, want)
	}
	if got, want := c.T("tr", "no.such.key"), "no.such.key"; got != want {
		t.Errorf("T of an unknown key: got %q, want the key %q", got, want)
	}
	// Numbers in the language's separators.
	for lang, want := range map[string]string{"en": "Use at most 1,024 bytes.", "id": "Gunakan maksimal 1.024 byte.", "tr": "En fazla 1.024 bayt kullanın."} {
		if got := c.T(lang, "reason.too_long", "max", 1024); got != want {
			t.Errorf("T(%s) with a number: got %q, want %q", lang, got, want)
		}
	}
}

// TestFirstUseConcurrently: a fresh node's first requests may ask for
// every language at once; each catalogue is decoded once and read by all
// (run it with -race).
func TestFirstUseConcurrently(t *testing.T) {
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for _, lang := range Supported {
		for range 4 {
			wg.Go(func() {
				if got := c.T(lang, "reset.for", "email", "ada@example.com"); !strings.Contains(got, "ada@example.com") || got == "reset.for" {
					t.Errorf("T(%s): got %q", lang, got)
				}
			})
		}
	}
	wg.Wait()
}
