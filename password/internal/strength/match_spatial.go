package strength

import (
	"strings"
	"sync"
)

// The keyboards zxcvbn knows, drawn as in its build_keyboard_adjacency_graphs.py:
// each key is the characters it types, unshifted then shifted. On the
// slanted keyboards each row is indented one character more than the one
// above, and a key's neighbours are left, upper left, upper right, right,
// lower right and lower left; on the keypads rows are aligned and a key
// has eight neighbours, clockwise from the left.
const (
	qwertyLayout = `
` + "`~" + ` 1! 2@ 3# 4$ 5% 6^ 7& 8* 9( 0) -_ =+
    qQ wW eE rR tT yY uU iI oO pP [{ ]} \|
     aA sS dD fF gG hH jJ kK lL ;: '"
      zZ xX cC vV bB nN mM ,< .> /?
`
	dvorakLayout = `
` + "`~" + ` 1! 2@ 3# 4$ 5% 6^ 7& 8* 9( 0) [{ ]}
    '" ,< .> pP yY fF gG cC rR lL /? =+ \|
     aA oO eE uU iI dD hH tT nN sS -_
      ;: qQ jJ kK xX bB mM wW vV zZ
`
	keypadLayout = `
  / * -
7 8 9 +
4 5 6
1 2 3
  0 .
`
	macKeypadLayout = `
  = / *
7 8 9 -
4 5 6 +
1 2 3
  0 .
`
)

// A keyboard is an adjacency graph: for each character, the keys next to
// it, by direction ("" where there is none).
type keyboard struct {
	name          string
	neighbours    map[rune][]string
	keys          int     // characters on the keyboard
	averageDegree float64 // keys next to a character, on average
	shifted       string  // characters typed with shift, for qwerty and dvorak
}

func newKeyboard(name, layout string, slanted bool) *keyboard {
	type point struct{ x, y int }
	keys := map[point]string{}
	lines := strings.Split(layout, "\n")
	width := len(strings.Fields(layout)[0]) + 1 // a key and a space
	for y, line := range lines {
		slant := 0
		if slanted {
			slant = y - 1
		}
		for x := 0; x < len(line); {
			if line[x] == ' ' {
				x++
				continue
			}
			end := x + width - 1
			keys[point{(x - slant) / width, y}] = line[x:end]
			x = end
		}
	}
	directions := []point{{-1, 0}, {-1, -1}, {0, -1}, {1, -1}, {1, 0}, {1, 1}, {0, 1}, {-1, 1}}
	if slanted {
		directions = []point{{-1, 0}, {0, -1}, {1, -1}, {1, 0}, {0, 1}, {-1, 1}}
	}
	kb := &keyboard{name: name, neighbours: map[rune][]string{}}
	degrees := 0
	for at, key := range keys {
		for _, c := range key {
			var next []string
			for _, d := range directions {
				n := keys[point{at.x + d.x, at.y + d.y}]
				next = append(next, n)
				if n != "" {
					degrees++
				}
			}
			kb.neighbours[c] = next
		}
	}
	kb.keys = len(kb.neighbours)
	kb.averageDegree = float64(degrees) / float64(kb.keys)
	if slanted {
		kb.shifted = "~!@#$%^&*()_+QWERTYUIOP{}|ASDFGHJKL:\"ZXCVBNM<>?"
	}
	return kb
}

// The keyboards are built on first use, not at package initialisation.
var (
	keyboardsOnce                     sync.Once
	qwerty, dvorak, keypad, macKeypad *keyboard
)

func loadKeyboards() {
	keyboardsOnce.Do(func() {
		qwerty = newKeyboard("qwerty", qwertyLayout, true)
		dvorak = newKeyboard("dvorak", dvorakLayout, true)
		keypad = newKeyboard("keypad", keypadLayout, false)
		macKeypad = newKeyboard("mac_keypad", macKeypadLayout, false)
	})
}

func qwertyGraph() *keyboard    { loadKeyboards(); return qwerty }
func dvorakGraph() *keyboard    { loadKeyboards(); return dvorak }
func keypadGraph() *keyboard    { loadKeyboards(); return keypad }
func macKeypadGraph() *keyboard { loadKeyboards(); return macKeypad }

// spatialMatches finds walks of three keys or more on each keyboard:
// "qwerty", "1qaz", "zxcvbn", counting turns and shifted keys.
func spatialMatches(p *input) []*Match {
	var matches []*Match
	for _, kb := range []*keyboard{qwertyGraph(), dvorakGraph(), keypadGraph(), macKeypadGraph()} {
		matches = append(matches, walks(p, kb)...)
	}
	sortMatches(matches)
	return matches
}

func walks(p *input, kb *keyboard) []*Match {
	var matches []*Match
	n := p.len()
	for i := 0; i < n-1; {
		j := i + 1
		lastDirection := -1
		turns, shifted := 0, 0
		if strings.ContainsRune(kb.shifted, p.runes[i]) {
			shifted = 1
		}
		for ; j < n; j++ {
			direction, found := -1, false
			for d, key := range kb.neighbours[p.runes[j-1]] {
				if at := strings.IndexRune(key, p.runes[j]); at >= 0 {
					direction, found = d, true
					if at == 1 {
						shifted++
					}
					break
				}
			}
			if !found {
				break
			}
			// Every walk starts with a turn.
			if direction != lastDirection {
				turns++
				lastDirection = direction
			}
		}
		if j-i > 2 {
			m := p.match("spatial", i, j-1)
			m.Graph, m.Turns, m.ShiftedCount = kb.name, turns, shifted
			matches = append(matches, m)
		}
		i = j
	}
	return matches
}
