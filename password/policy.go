package password

import (
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/clip"
	"github.com/gatehouse/gatehouse/password/internal/strength"
)

// english writes numbers as the English messages do ("1,024").
var english = message.NewPrinter(language.English)

// The reasons Check gives (documented in doc.go), in the order it gives
// them. The limits in the words come from MinLength and MaxBytes.
var (
	reasonTooShort          = gatehouse.Reason{Code: "too_short", Message: english.Sprintf("Use at least %d characters.", MinLength)}
	reasonTooLong           = gatehouse.Reason{Code: "too_long", Message: english.Sprintf("Use at most %d bytes.", MaxBytes)}
	reasonInvalidCharacters = gatehouse.Reason{Code: "invalid_characters", Message: "Remove control characters such as tabs and line breaks."}
	reasonPersonalInfo      = gatehouse.Reason{Code: "contains_personal_info", Message: "Do not use your name, email address or company name."}
	reasonCommon            = gatehouse.Reason{Code: "common", Message: "Avoid common passwords: this one, or its main part, is on lists attackers try first."}
	reasonGuessable         = gatehouse.Reason{Code: "guessable", Message: "Avoid single words, names and dates, even with numbers or symbols added. A few unrelated words make a strong password."}
	reasonKeyboardPattern   = gatehouse.Reason{Code: "keyboard_pattern", Message: "Avoid keyboard patterns such as qwerty or 1qaz2wsx."}
	reasonRepeated          = gatehouse.Reason{Code: "repeated", Message: "Avoid repeated characters or words, such as aaaa or abcabc."}
	reasonSequence          = gatehouse.Reason{Code: "sequence", Message: "Avoid sequences such as abcd or 1234."}
)

const (
	// estimateBytes is how much of a password the strength estimator reads.
	// zxcvbn's running time grows with the cube of the length, and with the
	// l33t substitutions to try: well under 1 ms for a typical password.
	// Estimating a prefix is safe: to guess a password one must guess its
	// prefix, so a strong prefix makes a strong password. The price is that
	// a long password whose first 32 bytes (32 ASCII characters, fewer in
	// other scripts) are weak is refused, with the reasons of its prefix.
	estimateBytes = 32

	// minScore is the zxcvbn score required: 3 is 10^8 guesses or more,
	// "safely unguessable: moderate protection from an offline attack on a
	// slow hash"; 2 and below fall to online guessing. See estimate for
	// when 3 is not enough.
	minScore = 3

	// Shortest user inputs that count as personal information: a shorter
	// one would refuse too many passwords by chance.
	minLocalPartRunes = 3
	minNameRunes      = 4

	// minPatternRunes: see reasonFor.
	minPatternRunes = 4
)

// Check applies the policy to a password as typed and returns nil when it
// is acceptable, else the reasons for refusing it, at most one per code.
// userInputs are the user's email, name and company name: a password
// containing the email's local part (3 characters or more), the name or a
// word of it (4 or more), is refused. Check is fast for any input: the
// strength estimator reads only the first 32 bytes (see estimateBytes).
func Check(password string, userInputs ...string) []gatehouse.Reason {
	p, err := normalizeBounded(password)
	if err != nil {
		return []gatehouse.Reason{reasonTooLong}
	}
	var reasons []gatehouse.Reason
	if !validCharacters(p) {
		reasons = append(reasons, reasonInvalidCharacters)
	}
	if utf8.RuneCountInString(p) < MinLength {
		reasons = append(reasons, reasonTooShort)
	}
	if reasons != nil {
		return dedupe(reasons)
	}
	personal := personalTokens(userInputs)
	if containsAny(strings.ToLower(p), personal) {
		reasons = append(reasons, reasonPersonalInfo)
	}
	unit := repeatingUnit(p)
	if utf8.RuneCountInString(unit) < MinLength {
		return append(reasons, reasonRepeated)
	}
	reasons = append(reasons, estimate(clip.Prefix(unit, estimateBytes), personal)...)
	return dedupe(reasons)
}

// TooLong reports whether password is longer than MaxBytes in the form
// it is hashed, compared and judged in: its NFKC normalisation. Hash,
// Verify and Check refuse exactly these passwords, so a caller that
// refuses one early (before any other work) agrees with them on every
// input, also on one that normalisation shortens ("𝐀" is 4 bytes typed
// and 1 byte normalised) or lengthens ("½" is 2 bytes typed and 5
// normalised). See docs/PASSWORDS.md.
func TooLong(password string) bool {
	_, err := normalizeBounded(password)
	return err != nil
}

// validCharacters refuses invalid UTF-8 and control characters (Cc: NUL,
// tab, line breaks, DEL, C1): they cannot be typed reliably, and some
// systems truncate at NUL. Spaces and every printable character are allowed.
func validCharacters(p string) bool {
	if !utf8.ValidString(p) {
		return false
	}
	for _, r := range p {
		if unicode.IsControl(r) {
			return false
		}
	}
	return true
}

// personalTokens returns the lower-case strings a password must not
// contain: an email's local part and its words ("john.smith" → "john",
// "smith"), a name or company name without spaces and its words.
func personalTokens(userInputs []string) []string {
	var tokens []string
	add := func(s string, minRunes int) {
		if utf8.RuneCountInString(s) >= minRunes && !slices.Contains(tokens, s) {
			tokens = append(tokens, s)
		}
	}
	for _, input := range userInputs {
		input = strings.ToLower(Normalize(input))
		if local, _, isEmail := strings.Cut(input, "@"); isEmail {
			add(local, minLocalPartRunes)
			input = local
		} else {
			add(strings.Join(strings.Fields(input), ""), minNameRunes)
		}
		for _, word := range strings.FieldsFunc(input, notLetterOrDigit) {
			add(word, minNameRunes)
		}
	}
	return tokens
}

func notLetterOrDigit(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }

func containsAny(s string, substrings []string) bool {
	for _, sub := range substrings {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// repeatingUnit returns the shortest u such that p is u repeated at least
// twice, the last time possibly cut short ("abcabcab" → "abc"), or p itself.
// A repeated password is about as strong as its unit.
func repeatingUnit(p string) string {
	runes := []rune(p)
	if len(runes) < 2 {
		return p
	}
	// border[i] is the length of the longest proper prefix of runes[:i+1]
	// that is also its suffix (Knuth–Morris–Pratt).
	border := make([]int, len(runes))
	for i := 1; i < len(runes); i++ {
		k := border[i-1]
		for k > 0 && runes[i] != runes[k] {
			k = border[k-1]
		}
		if runes[i] == runes[k] {
			k++
		}
		border[i] = k
	}
	period := len(runes) - border[len(runes)-1]
	if 2*period > len(runes) {
		return p
	}
	return string(runes[:period])
}

// estimate runs the strength estimator (zxcvbn's algorithm, see package
// strength) and turns its findings into reasons. It refuses a
// score below minScore, and a score of minScore when every letter is part
// of something zxcvbn recognised (words, names, common passwords, keyboard
// patterns) with only digits, symbols and spaces added: "summer2024!!",
// "correct horse", "!QAZ2wsx#EDC". Those are what guessing tools combine
// first, so they need score 4; letters zxcvbn cannot explain earn score 3.
func estimate(p string, personal []string) []gatehouse.Reason {
	result := strength.Estimate(p, personal)
	if result.Score > minScore || (result.Score == minScore && hasUnmatchedLetters(result.Sequence)) {
		return nil
	}
	var reasons []gatehouse.Reason
	for _, m := range result.Sequence {
		if reason, ok := reasonFor(m); ok {
			reasons = append(reasons, reason)
		}
	}
	if reasons == nil {
		reasons = append(reasons, reasonGuessable)
	}
	return reasons
}

// hasUnmatchedLetters reports whether a letter lies outside every pattern
// zxcvbn found ("bruteforce" is its name for the rest).
func hasUnmatchedLetters(sequence []strength.Match) bool {
	for _, m := range sequence {
		if m.Pattern == "bruteforce" && strings.IndexFunc(m.Token, unicode.IsLetter) >= 0 {
			return true
		}
	}
	return false
}

// reasonFor names what a match found; short matches ("ab", "024") are not
// worth a reason on their own.
func reasonFor(m strength.Match) (gatehouse.Reason, bool) {
	if utf8.RuneCountInString(m.Token) < minPatternRunes {
		return gatehouse.Reason{}, false
	}
	switch m.Pattern {
	case "dictionary":
		switch m.DictionaryName {
		case "passwords":
			return reasonCommon, true
		case "user_inputs":
			return reasonPersonalInfo, true
		}
		return reasonGuessable, true
	case "date", "regex": // the regex is a recent year
		return reasonGuessable, true
	case "spatial":
		return reasonKeyboardPattern, true
	case "repeat":
		return reasonRepeated, true
	case "sequence":
		return reasonSequence, true
	}
	return gatehouse.Reason{}, false // bruteforce: nothing to say
}

// reasonOrder is every reason, in the order Check gives them.
var reasonOrder = []gatehouse.Reason{reasonTooShort, reasonTooLong, reasonInvalidCharacters, reasonPersonalInfo,
	reasonCommon, reasonGuessable, reasonKeyboardPattern, reasonRepeated, reasonSequence}

// ReasonCodes returns the code of every reason Check may give, in the
// order it gives them, for callers that translate them.
func ReasonCodes() []string {
	codes := make([]string, len(reasonOrder))
	for i, r := range reasonOrder {
		codes[i] = r.Code
	}
	return codes
}

// dedupe keeps the first reason of each code, in the order of reasonOrder
// (the order Check gives them), so that callers see a stable list.
func dedupe(reasons []gatehouse.Reason) []gatehouse.Reason {
	var out []gatehouse.Reason
	for _, r := range reasonOrder {
		if slices.Contains(reasons, r) {
			out = append(out, r)
		}
	}
	return out
}
