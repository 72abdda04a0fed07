package totp

// maxCodeInput bounds the work done on a pasted string; a code with generous
// spacing is far shorter.
const maxCodeInput = 64

// ParseCode normalises a code as a person typed or pasted it. It drops ASCII
// blanks (space, tab, CR, LF) anywhere, allows one hyphen between the third
// and fourth digit ("123-456", as some apps display it), and then requires
// exactly Digits ASCII digits. Anything else is refused: other scripts'
// digits (Arabic-Indic, full-width) would be a second spelling of the same
// code for no one's benefit, and letters mean the person typed something
// else, such as a recovery code.
func ParseCode(s string) (code string, ok bool) {
	if len(s) > maxCodeInput {
		return "", false
	}
	var digits [Digits]byte
	n, hyphen := 0, false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
		case c == '-':
			if hyphen || n != Digits/2 {
				return "", false
			}
			hyphen = true
		case '0' <= c && c <= '9':
			if n == Digits {
				return "", false
			}
			digits[n] = c
			n++
		default:
			return "", false
		}
	}
	if n != Digits {
		return "", false
	}
	return string(digits[:]), true
}
