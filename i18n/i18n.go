// Package i18n holds the message catalogues of the pages (and the words the
// API shows people, like password rules), one JSON file per language under
// locales/ that a translator can edit: a flat map from key to text, with
// {name} placeholders. English is complete by definition; a test fails when
// another language lacks a key, has one English lacks, or names other
// placeholders (web's tests check that every key the pages use exists).
package i18n

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"strings"
	"sync"

	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

//go:embed locales/*.json
var locales embed.FS

// Default is the language of last resort.
const Default = "en"

// Supported lists the languages with a catalogue, Default first. Adding
// one takes a catalogue here and a folder of mail templates
// (mail/templates/<lang>/); the tests say what is missing.
var Supported = []string{"en", "id", "tr"}

var matcher = language.NewMatcher(tags(Supported))

func tags(langs []string) []language.Tag {
	var ts []language.Tag
	for _, l := range langs {
		ts = append(ts, language.Make(l))
	}
	return ts
}

// Match picks the supported language an Accept-Language header (or a
// user's setting) prefers most.
func Match(accept string) string {
	if accept == "" {
		return Default
	}
	prefs, _, err := language.ParseAcceptLanguage(accept)
	if err != nil || len(prefs) == 0 {
		return Default
	}
	_, i, conf := matcher.Match(prefs...)
	if conf == language.No {
		return Default
	}
	return Supported[i]
}

// IsSupported reports whether lang has a catalogue.
func IsSupported(lang string) bool {
	for _, l := range Supported {
		if l == lang {
			return true
		}
	}
	return false
}

// Catalog holds every language's messages.
type Catalog struct {
	// msgs gives each language's messages, decoded on the language's
	// first use: the three catalogues decoded at start held 0.22 MB of
	// heap and, with the pages' frames, pinned 0.6 MB resident at idle
	// (docs/BENCHMARKS.md, Idle memory).
	msgs     map[string]func() map[string]string
	printers map[string]*message.Printer // numbers in each language's digits and separators
}

// Load checks the embedded catalogues; a broken file stops the boot. Each
// is decoded again, once, when its language is first asked for.
func Load() (*Catalog, error) {
	c := &Catalog{msgs: map[string]func() map[string]string{}, printers: map[string]*message.Printer{}}
	files, err := fs.Glob(locales, "locales/*.json")
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		if _, err := decode(f); err != nil {
			return nil, err
		}
		c.msgs[strings.TrimSuffix(path.Base(f), ".json")] = sync.OnceValue(func() map[string]string {
			m, err := decode(f)
			if err != nil { // Load decoded the same embedded file
				panic(err)
			}
			return m
		})
	}
	for _, l := range Supported {
		if c.msgs[l] == nil {
			return nil, fmt.Errorf("i18n: no catalogue for %s", l)
		}
		c.printers[l] = message.NewPrinter(language.Make(l))
	}
	return c, nil
}

// decode reads the catalogue in file.
func decode(file string) (map[string]string, error) {
	b, err := locales.ReadFile(file)
	if err != nil {
		return nil, err
	}
	m := map[string]string{}
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("i18n: %s: %w", file, err)
	}
	return m, nil
}

// messages returns lang's messages, or nil for a language without a
// catalogue.
func (c *Catalog) messages(lang string) map[string]string {
	if m := c.msgs[lang]; m != nil {
		return m()
	}
	return nil
}

// Keys returns the keys of a language's catalogue.
func (c *Catalog) Keys(lang string) []string {
	var keys []string
	for k := range c.messages(lang) {
		keys = append(keys, k)
	}
	return keys
}

// Has reports whether lang's catalogue has key.
func (c *Catalog) Has(lang, key string) bool {
	_, ok := c.messages(lang)[key]
	return ok
}

// T returns the message key in lang (falling back to English, then to the
// key itself, so that a gap shows instead of breaking a page), with
// {name} placeholders replaced from args given as name, value pairs.
// Numbers are written as lang writes them ("1,024" in English, "1.024" in
// Indonesian and Turkish).
func (c *Catalog) T(lang, key string, args ...any) string {
	msg, ok := c.messages(lang)[key]
	if !ok {
		if msg, ok = c.messages(Default)[key]; !ok {
			msg = key
		}
	}
	if len(args) == 0 {
		return msg
	}
	p := c.printers[lang]
	if p == nil {
		p = c.printers[Default]
	}
	pairs := make([]string, 0, len(args))
	for i := 0; i+1 < len(args); i += 2 {
		pairs = append(pairs, "{"+fmt.Sprint(args[i])+"}", p.Sprint(args[i+1]))
	}
	return strings.NewReplacer(pairs...).Replace(msg)
}
