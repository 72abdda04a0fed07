package password

import (
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse"
)

// user is whose password TestCheck checks.
var user = []string{"john.smith@example.com", "John Smith", "Acme Corp"}

func codes(reasons []gatehouse.Reason) []string {
	var out []string
	for _, r := range reasons {
		out = append(out, r.Code)
	}
	return out
}

func TestCheck(t *testing.T) {
	for _, tt := range []struct {
		password string
		want     []string
	}{
		// Acceptable: passphrases, random strings, any script.
		{"correct horse battery staple piano", nil},
		{"correcthorsebatterystaple", nil},
		{"purple monkey dishwasher", nil},
		{"zebra piano lamp", nil},
		{"kX9#mQ2$vL7!", nil},
		{"Tr0ub4dor&3xx", nil},
		{"9f8e7d6c5b4a", nil},
		{"ÄÖÜäöüßéèêàç", nil},
		{"日本語のパスワードですよね", nil},
		{"ｃｏｒｒｅｃｔ ｈｏｒｓｅ ｂａｔｔｅｒｙ", nil},                                               // full-width: normalised first
		{"kX9#mQ2$vL7! " + strings.Repeat("correct horse battery staple ", 34), nil}, // 999 bytes
		// Structure.
		{"", []string{"too_short"}},
		{"Tr0ub4dor&3", []string{"too_short"}},
		{"日本語のパスワードです", []string{"too_short"}}, // 11 characters, 33 bytes
		{strings.Repeat("kX9#mQ2$vL7!", 86), []string{"too_long"}},
		{"correct horse\tbattery", []string{"invalid_characters"}},
		{"correct horse\nbattery", []string{"invalid_characters"}},
		{"correct horse\x00battery", []string{"invalid_characters"}},
		{"correct horse\u0085battery", []string{"invalid_characters"}},
		{"correct horse\xffbattery", []string{"invalid_characters"}},
		{"a\x00", []string{"too_short", "invalid_characters"}},
		// Personal information.
		{"john.smith.2024", []string{"contains_personal_info", "keyboard_pattern"}},
		{"Jsmith!2024xy", []string{"contains_personal_info"}},
		{"acmecorp2024!", []string{"contains_personal_info"}},
		{"Smith.Family.88", []string{"contains_personal_info"}},
		{"my.company.is.ACME!", []string{"contains_personal_info"}},
		// Common passwords and words with digits or symbols added.
		{"Password1234", []string{"common"}},
		{"P@ssw0rd1234", []string{"common"}},
		{"iloveyou2024", []string{"common"}},
		{"letmein12345", []string{"common"}},
		{"dragon123456", []string{"common"}},
		{"princess123456", []string{"common"}},
		{"summer2024!!", []string{"common"}},
		{"Gatehouse2024", []string{"guessable"}},
		{"jennifer1990", []string{"guessable"}},
		{"correct horse", []string{"common", "guessable"}},
		{"Michael.Jordan23", []string{"common", "guessable"}},
		{"01/02/1990ab", []string{"guessable"}},
		// Keyboard walks.
		{"qwertyuiopas", []string{"common"}},
		{"1qaz2wsx3edc", []string{"common"}},
		{"zaq1xsw2cde3", []string{"common"}},
		{"asdfghjkl;'#", []string{"keyboard_pattern"}},
		{"!QAZ2wsx#EDC", []string{"common", "keyboard_pattern"}},
		// Repeats and sequences.
		{"aaaaaaaaaaaa", []string{"repeated"}},
		{"abcabcabcabc", []string{"repeated"}},
		{"monkeymonkey", []string{"repeated"}},
		{"Summer2024Summer2024", []string{"repeated"}},
		{"aabaabaabaabaabaabaabaabaabaabaabaabaab", []string{"repeated"}},
		{strings.Repeat("Password1234", 85), []string{"common"}}, // 1,020 bytes: judged by its unit
		{"abcdefghijkl", []string{"sequence"}},
		{"zyxwvutsrqpo", []string{"sequence"}},
		{"123456789012", []string{"common"}},
	} {
		got := codes(Check(tt.password, user...))
		if !slices.Equal(got, tt.want) {
			t.Errorf("Check(%.40q): got %v, want %v", tt.password, got, tt.want)
		}
	}
}

func TestCheckMessages(t *testing.T) {
	got := Check("short")
	if len(got) != 1 || got[0].Message != "Use at least 12 characters." {
		t.Errorf(`Check("short"): got %+v, want too_short "Use at least 12 characters."`, got)
	}
	for _, r := range []gatehouse.Reason{reasonTooShort, reasonTooLong, reasonInvalidCharacters, reasonPersonalInfo,
		reasonCommon, reasonGuessable, reasonKeyboardPattern, reasonRepeated, reasonSequence} {
		if r.Code == "" || r.Message == "" || strings.ToLower(r.Code) != r.Code || !strings.HasSuffix(r.Message, ".") {
			t.Errorf("reason %+v: want a snake_case code and a sentence", r)
		}
	}
}

// Only the first estimateBytes bytes are estimated: a strong start
// makes a strong password, and a weak start a refused one.
func TestCheckEstimatesPrefix(t *testing.T) {
	strong := "kX9#mQ2$vL7!pW4@ correct horse ba" // 33 characters
	weak := "Password1234Password1234!!!!!!!!"    // 32 characters
	for _, tt := range []struct {
		password string
		want     []string
	}{
		{strong + strings.Repeat("password", 100), nil},
		{weak + "kX9#mQ2$vL7!pW4@ correct horse battery", []string{"repeated"}},
		{strong + "john", []string{"contains_personal_info"}}, // personal information is looked for everywhere
	} {
		if got := codes(Check(tt.password, user...)); !slices.Equal(got, tt.want) {
			t.Errorf("Check(%.40q...): got %v, want %v", tt.password, got, tt.want)
		}
	}
}

func TestPersonalTokens(t *testing.T) {
	for _, tt := range []struct {
		inputs []string
		want   []string
	}{
		{[]string{"john.smith@example.com"}, []string{"john.smith", "john", "smith"}},
		{[]string{"Jo@example.com"}, nil},
		{[]string{"joe@example.com"}, []string{"joe"}},
		{[]string{"J.R.R. Tolkien"}, []string{"j.r.r.tolkien", "tolkien"}},
		{[]string{"Acme Corp", "ACME"}, []string{"acmecorp", "acme", "corp"}},
		{[]string{"Ｊｏｈｎ", "", "Al"}, []string{"john"}},
	} {
		if got := personalTokens(tt.inputs); !slices.Equal(got, tt.want) {
			t.Errorf("personalTokens(%q): got %q, want %q", tt.inputs, got, tt.want)
		}
	}
}

func TestRepeatingUnit(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"", ""},
		{"a", "a"},
		{"aa", "a"},
		{"aaaaaaaaaaaa", "a"},
		{"abcabcabcabc", "abc"},
		{"abcabcab", "abc"},
		{"abcab", "abcab"}, // fewer than two whole units
		{"abcdefghijkl", "abcdefghijkl"},
		{"éàéàéà", "éà"},
	} {
		if got := repeatingUnit(tt.in); got != tt.want {
			t.Errorf("repeatingUnit(%q): got %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestCheckIsBounded guards estimateBytes: without it the hostile input
// below takes minutes.
func TestCheckIsBounded(t *testing.T) {
	start := time.Now()
	for _, p := range hostilePasswords() {
		Check(p, user...)
	}
	if elapsed := time.Since(start); elapsed > 2*time.Second {
		t.Errorf("Check of %d hostile passwords: got %v, want well under 2s", len(hostilePasswords()), elapsed)
	}
}

// hostilePasswords are the slowest inputs known for zxcvbn: l33t characters
// (every substitution is tried against every dictionary), up to MaxBytes.
func hostilePasswords() []string {
	const leet = "4@8({[<3691!|70$5+%2"
	r := rand.New(rand.NewPCG(1, 2))
	random := make([]byte, MaxBytes)
	for i := range random {
		random[i] = byte('!' + r.IntN(94))
	}
	return []string{
		strings.Repeat(leet+"aeilostbgxzc", 40)[:MaxBytes],
		string(random),
		randomFrom("é4ß@1|!7日😀", MaxBytes/3, r),
	}
}

func randomFrom(alphabet string, n int, r *rand.Rand) string {
	runes := []rune(alphabet)
	out := make([]rune, n)
	for i := range out {
		out[i] = runes[r.IntN(len(runes))]
	}
	return string(out)
}

func TestCheckConcurrent(t *testing.T) {
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if got := Check("correct horse battery staple piano", user...); got != nil {
				t.Errorf("Check: got %v, want nil", codes(got))
			}
		})
	}
	wg.Wait()
}

func FuzzCheck(f *testing.F) {
	for _, seed := range []string{"", "correct horse battery staple", "Password1234", "1qaz2wsx3edc",
		"abcabcabcabc", "01/02/1990ab", "ﬁsh and chips", "\x00\xff", "aab\naab\naab"} {
		f.Add(seed)
	}
	known := map[string]bool{}
	for _, r := range []gatehouse.Reason{reasonTooShort, reasonTooLong, reasonInvalidCharacters, reasonPersonalInfo,
		reasonCommon, reasonGuessable, reasonKeyboardPattern, reasonRepeated, reasonSequence} {
		known[r.Code] = true
	}
	f.Fuzz(func(t *testing.T, password string) {
		reasons := Check(password, user...)
		seen := map[string]bool{}
		for _, r := range reasons {
			if !known[r.Code] || seen[r.Code] {
				t.Fatalf("Check(%q): got %v, want known codes, each once", password, codes(reasons))
			}
			seen[r.Code] = true
		}
		normalized := Normalize(password)
		if reasons == nil && (utf8.RuneCountInString(normalized) < MinLength || len(normalized) > MaxBytes || !utf8.ValidString(normalized)) {
			t.Fatalf("Check(%q): got nil, want a refusal", password)
		}
		if again := Check(password, user...); !slices.Equal(again, reasons) {
			t.Fatalf("Check(%q) twice: got %v then %v", password, codes(reasons), codes(again))
		}
	})
}

// TestTooLongMeasuresTheNormalisedForm: the 1,024-byte limit holds on the
// NFKC form, which Hash, Verify and Check read, never on the bytes as
// typed; TooLong and Check agree on input that normalisation shortens or
// lengthens.
func TestTooLongMeasuresTheNormalisedForm(t *testing.T) {
	for _, tc := range []struct {
		name string
		pw   string
		want bool
	}{
		{"MaxBytes", strings.Repeat("a", MaxBytes), false},
		{"MaxBytes+1", strings.Repeat("a", MaxBytes+1), true},
		{"4,096 bytes typed, 1,024 normalised", strings.Repeat("𝐀", MaxBytes), false},
		{"4,100 bytes typed, 1,025 normalised", strings.Repeat("𝐀", MaxBytes+1), true},
		{"600 bytes typed, 1,500 normalised", strings.Repeat("½", 300), true},
	} {
		if got := TooLong(tc.pw); got != tc.want {
			t.Errorf("%s: TooLong got %v, want %v", tc.name, got, tc.want)
		}
		if got := slices.Contains(codes(Check(tc.pw)), "too_long"); got != tc.want {
			t.Errorf("%s: Check says too_long %v, want %v", tc.name, got, tc.want)
		}
	}
}
