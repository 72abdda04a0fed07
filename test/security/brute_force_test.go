package security_test

import (
	"fmt"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/testenv"
	"github.com/gatehouse/gatehouse/internal/testenv/servertest"
	"github.com/gatehouse/gatehouse/totp"
)

// Threat: guessing a secret — a password, a TOTP code, a recovery code, a
// link or challenge token — at any door that takes one, from as many
// cookies, challenges and addresses as the attacker likes; or using the
// lockout itself to keep a victim out for good.

// attacker is a client that looks new at every attempt: a fresh cookie
// jar and another client address.
type attacker struct {
	w *world
	n int
}

func (a *attacker) next(t *testing.T) *servertest.Client {
	a.n++
	return from(a.w.s.Client(t), fmt.Sprintf("198.18.%d.%d", a.n/250, a.n%250+1))
}

// entryPoint is one door that takes a guess for an account.
type entryPoint struct {
	name string
	totp bool // the account has 2FA
	// guess sends one guess (the right secret when right) from c, starting
	// over (a new login, a new challenge) every time, and returns the answer.
	guess func(t *testing.T, w *world, c *servertest.Client, email string, s *secrets, right bool) *servertest.Response
}

// secrets are what the account's owner knows.
type secrets struct {
	totp     []byte
	recovery []string
}

// codeStep logs in with the right password and sends a code or a
// recovery code to the challenge; a refused password step is returned as
// it is.
func codeStep(t *testing.T, w *world, c *servertest.Client, email string, body map[string]string) *servertest.Response {
	r := loginAPI(c, email, pw)
	if r.StatusCode != 200 {
		return r
	}
	body["challenge"] = r.Str(t, "challenge")
	return c.Do("POST", "/api/v1/login/totp", body)
}

var entryPoints = []entryPoint{
	{"JSON login", false, func(t *testing.T, w *world, c *servertest.Client, email string, _ *secrets, right bool) *servertest.Response {
		return loginAPI(c, email, pick(right, pw, wrongPW))
	}},
	{"login form", false, func(t *testing.T, w *world, c *servertest.Client, email string, _ *secrets, right bool) *servertest.Response {
		return c.PostForm("/login", map[string]string{"email": email, "password": pick(right, pw, wrongPW)})
	}},
	{"TOTP code", true, func(t *testing.T, w *world, c *servertest.Client, email string, s *secrets, right bool) *servertest.Response {
		keepStep(w.s)
		return codeStep(t, w, c, email, map[string]string{"code": pick(right, codeAt(w.s, s.totp, 0), wrongCode(w.s, s.totp))})
	}},
	{"TOTP code on the page", true, func(t *testing.T, w *world, c *servertest.Client, email string, s *secrets, right bool) *servertest.Response {
		r := c.PostForm("/login", map[string]string{"email": email, "password": pw})
		if r.StatusCode != 303 {
			return r
		}
		keepStep(w.s)
		return c.PostForm("/login/2fa", map[string]string{"code": pick(right, codeAt(w.s, s.totp, 0), wrongCode(w.s, s.totp))})
	}},
	{"recovery code", true, func(t *testing.T, w *world, c *servertest.Client, email string, s *secrets, right bool) *servertest.Response {
		return codeStep(t, w, c, email, map[string]string{"recovery_code": pick(right, s.recovery[0], "AAAAA-AAAAA")})
	}},
	{"current password of a stolen session", false, func(t *testing.T, w *world, c *servertest.Client, email string, _ *secrets, right bool) *servertest.Response {
		c.Token = w.stolen[email]
		return c.Do("POST", "/api/v1/me/password", map[string]string{"current_password": pick(right, pw, wrongPW),
			"new_password": otherPW, "confirm_password": otherPW})
	}},
	{"password to turn 2FA off", true, func(t *testing.T, w *world, c *servertest.Client, email string, _ *secrets, right bool) *servertest.Response {
		c.Token = w.stolen[email]
		return c.Do("DELETE", "/api/v1/me/totp", map[string]string{"password": pick(right, pw, wrongPW)})
	}},
}

// keepStep moves the server's clock into the next TOTP step only when the
// current one ends within five seconds, so that a code computed now is
// still current when its request arrives. Unlike alignClock it does not
// jump most of a step at every guess: the server's clock follows real time,
// and jumps of up to 30 s between guesses would leave the 30 s lockout set
// by the fifth wrong guess only the milliseconds that guess took, which a
// loaded machine can outlast before the next request.
func keepStep(s *servertest.Server) {
	now := s.Clock.Now()
	if left := now.Truncate(totp.Period).Add(totp.Period).Sub(now); left < 5*time.Second {
		s.Clock.Advance(left + time.Second)
	}
}

func pick(right bool, yes, no string) string {
	if right {
		return yes
	}
	return no
}

// TestEveryDoorCountsPerAccount: five wrong guesses at any door, each from
// a new cookie jar and a new address (and, at the code steps, a new
// challenge), block the account: the sixth try is refused even with the
// right secret. The block ends by itself; and while it holds, the owner
// still gets in with a reset link.
func TestEveryDoorCountsPerAccount(t *testing.T) {
	servertest.ForEachDatabase(t, func(t *testing.T, db servertest.Option) {
		w := newWorld(t, db)
		w.stolen = map[string]string{}
		a := &attacker{w: w}
		for i, e := range entryPoints {
			t.Run(e.name, func(t *testing.T) {
				email := fmt.Sprintf("victim%d@acme.example", i)
				w.s.AddUser(t, w.acme, email, pw, gatehouse.RoleMember)
				s := &secrets{}
				owner := w.api(t, email)
				if e.totp {
					s.totp, s.recovery = enableTOTP(t, w.s, owner)
					owner = totpSignIn(t, w.s, email, s.totp)
				}
				w.stolen[email] = owner.Token

				for n := range 5 {
					r := e.guess(t, w, a.next(t), email, s, false)
					if r.StatusCode == 429 || r.StatusCode < 400 {
						t.Fatalf("wrong guess %d: got %d %s, want a refusal that is not yet 429", n+1, r.StatusCode, clip(r.Body))
					}
				}
				r := e.guess(t, w, a.next(t), email, s, true)
				wait := wantBlocked(t, "the right secret after five wrong guesses", r)

				// Every other door of the account is shut too.
				wantBlocked(t, "the right password at the JSON login", loginAPI(a.next(t), email, pw))

				// The block is temporary...
				w.s.Clock.Advance(time.Duration(wait)*time.Second + time.Second)
				if r := e.guess(t, w, a.next(t), email, s, true); r.StatusCode >= 400 {
					t.Fatalf("the right secret after the block: got %d %s", r.StatusCode, clip(r.Body))
				}
			})
		}
	})
}

// wantBlocked fails unless r is a 429 (a problem document, or the page
// of one) with a Retry-After, and returns the Retry-After in seconds.
func wantBlocked(t *testing.T, what string, r *servertest.Response) int {
	t.Helper()
	wait, err := strconv.Atoi(r.Header.Get("Retry-After"))
	if r.StatusCode != 429 || err != nil || wait < 1 {
		t.Fatalf("%s: got %d (Retry-After %q) %s, want 429 with Retry-After", what, r.StatusCode, r.Header.Get("Retry-After"), clip(r.Body))
	}
	return wait
}

// TestLockoutCannotKeepTheOwnerOut: an attacker who keeps guessing keeps
// the account blocked, but refused attempts do not lengthen the block, the
// block never grows past 15 minutes, and a reset link always works and
// lifts it.
func TestLockoutCannotKeepTheOwnerOut(t *testing.T) {
	servertest.ForEachDatabase(t, func(t *testing.T, db servertest.Option) {
		w := newWorld(t, db)
		a := &attacker{w: w}
		for range 5 {
			loginAPI(a.next(t), "mia@acme.example", wrongPW)
		}
		first := wantBlocked(t, "after five", loginAPI(a.next(t), "mia@acme.example", wrongPW))
		for range 50 {
			loginAPI(a.next(t), "mia@acme.example", wrongPW)
		}
		if again := wantBlocked(t, "after fifty more", loginAPI(a.next(t), "mia@acme.example", wrongPW)); again > first {
			t.Errorf("refused guesses lengthened the block: Retry-After %d, then %d", first, again)
		}
		// Waiting out each block and guessing again doubles it, up to 15 minutes.
		longest := 0
		for range 8 {
			w.s.Clock.Advance(16 * time.Minute)
			loginAPI(a.next(t), "mia@acme.example", wrongPW)
			longest = max(longest, wantBlocked(t, "a guess after the block", loginAPI(a.next(t), "mia@acme.example", pw)))
		}
		if longest > 15*60 {
			t.Errorf("the block grew to %d s, want at most 15 minutes", longest)
		}

		// While blocked, the owner resets the password and logs in.
		wantStatus(t, "reset request", w.s.Client(t).Do("POST", "/api/v1/password-reset", map[string]string{"email": "mia@acme.example"}), 202)
		token := testenv.LinkToken(t, w.s.SMTP.WaitFor(t, "mia@acme.example", "Reset").Text)
		wantStatus(t, "reset while blocked", w.s.Client(t).Do("POST", "/api/v1/password-reset/confirm",
			map[string]string{"token": token, "new_password": otherPW, "confirm_password": otherPW}), 204)
		wantStatus(t, "login after the reset", loginAPI(w.s.Client(t), "mia@acme.example", otherPW), 200)
	})
}

// TestBadTokensAreCountedPerAddress: link and challenge tokens are 256
// bits, so guessing them is hopeless; still, every one that matches
// nothing counts against the client's address like a wrong password, so
// nobody can try them at full speed. A blocked address is refused even a
// good token; another address is not.
func TestBadTokensAreCountedPerAddress(t *testing.T) {
	servertest.ForEachDatabase(t, func(t *testing.T, db servertest.Option) {
		w := newWorld(t, db)
		guesser := from(w.s.Client(t), "203.0.113.9")
		doors := []func(token string) *servertest.Response{
			func(token string) *servertest.Response {
				return guesser.Do("POST", "/api/v1/password-reset/confirm", map[string]string{"token": token, "new_password": otherPW, "confirm_password": otherPW})
			},
			func(token string) *servertest.Response {
				return guesser.Do("POST", "/api/v1/login/totp", map[string]string{"challenge": token, "code": "123456"})
			},
			func(token string) *servertest.Response {
				return guesser.Do("POST", "/api/v1/login/password", map[string]string{"challenge": token, "new_password": otherPW, "confirm_password": otherPW})
			},
			func(token string) *servertest.Response {
				return guesser.Do("POST", "/api/v1/login/totp-setup", map[string]string{"challenge": token})
			},
			func(token string) *servertest.Response {
				return guesser.PostForm("/reset-password", map[string]string{"token": token, "new_password": otherPW, "confirm_password": otherPW})
			},
		}
		for i := range 100 {
			token, _ := gatehouse.NewToken()
			r := doors[i%len(doors)](token)
			if r.StatusCode == 429 || r.StatusCode < 400 {
				t.Fatalf("bad token %d: got %d %s, want a refusal that is not yet 429", i+1, r.StatusCode, clip(r.Body))
			}
		}
		wantStatus(t, "reset request", w.s.Client(t).Do("POST", "/api/v1/password-reset", map[string]string{"email": "mia@acme.example"}), 202)
		good := testenv.LinkToken(t, w.s.SMTP.WaitFor(t, "mia@acme.example", "Reset").Text)
		for i, door := range doors {
			wantBlocked(t, fmt.Sprintf("door %d after 100 bad tokens", i+1), door(good))
		}
		wantBlocked(t, "a login from the blocked address", loginAPI(guesser, "ben@bolt.example", pw))
		wantStatus(t, "the good link from another address", from(w.s.Client(t), "203.0.113.10").Do("POST", "/api/v1/password-reset/confirm",
			map[string]string{"token": good, "new_password": otherPW, "confirm_password": otherPW}), 204)
	})
}

// The second factor cannot be guessed faster than the account allows
// however the guesses arrive: in parallel on one challenge, or spread over
// many challenges.
//
// A checked guess is an invalid_code answer, and each is audited as
// totp.failed. The unchecked ones are too_many_attempts (the account's
// block) or invalid_challenge: a challenge that took its five wrong codes
// refuses the rest before the account is asked, so when the five guesses
// the account lets through all go to one challenge, that challenge's other
// guesses answer 401 too without being checked.
func TestParallelCodeGuessesAreCounted(t *testing.T) {
	servertest.ForEachDatabase(t, func(t *testing.T, db servertest.Option) {
		w := newWorld(t, db)
		secret, _ := enableTOTP(t, w.s, w.api(t, "mia@acme.example"))
		a := &attacker{w: w}
		var challenges []string
		for range 3 {
			challenges = append(challenges, challenge(t, a.next(t), "mia@acme.example", auth.StatusTOTPRequired))
		}
		alignClock(w.s)
		right := codeAt(w.s, secret, 0)
		type answer struct {
			challenge int
			r         *servertest.Response
		}
		answers := make(chan answer, 30)
		for i := range 30 {
			go func() {
				code := fmt.Sprintf("%06d", (i*7919+13)%1000000)
				if code == right || code == codeAt(w.s, secret, -1) || code == codeAt(w.s, secret, 1) {
					code = wrongCode(w.s, secret)
				}
				answers <- answer{i % 3, a.w.s.Client(t).Do("POST", "/api/v1/login/totp", map[string]string{"challenge": challenges[i%3], "code": code})}
			}()
		}
		checked := make([]int, len(challenges))        // invalid_code answers by challenge
		challengeDead := make([]bool, len(challenges)) // an invalid_challenge answer
		for range 30 {
			ans := <-answers
			switch code := ans.r.Code(t); {
			case ans.r.StatusCode == 401 && code == gatehouse.EInvalidCode:
				checked[ans.challenge]++
			case ans.r.StatusCode == 401 && code == gatehouse.EInvalidChallenge:
				challengeDead[ans.challenge] = true
			case ans.r.StatusCode == 429 && code == gatehouse.ETooManyAttempts:
			default:
				t.Errorf("a wrong code on challenge %d: got %d %s, want invalid_code, invalid_challenge or too_many_attempts",
					ans.challenge, ans.r.StatusCode, clip(ans.r.Body))
			}
		}
		total := 0
		for i, n := range checked {
			total += n
			if challengeDead[i] && n != auth.ChallengeMaxFailures {
				t.Errorf("challenge %d answered invalid_challenge after %d wrong codes, want %d", i, n, auth.ChallengeMaxFailures)
			}
		}
		if total > 5 {
			t.Errorf("%d parallel guesses were checked (by challenge %v), want at most 5 before the block", total, checked)
		}
		var audited int
		if err := w.s.SQL(t).QueryRow(`SELECT count(*) FROM audit_events WHERE type = $1 AND target_id = $2`,
			gatehouse.EventTOTPFailed, w.mia).Scan(&audited); err != nil {
			t.Fatal(err)
		}
		if audited != total {
			t.Errorf("%d wrong codes audited, %d answered invalid_code: every checked guess is both", audited, total)
		}
		live := slices.IndexFunc(checked, func(n int) bool { return n < auth.ChallengeMaxFailures })
		if live < 0 {
			t.Fatalf("every challenge took its %d wrong codes", auth.ChallengeMaxFailures)
		}
		r := w.s.Client(t).Do("POST", "/api/v1/login/totp", map[string]string{"challenge": challenges[live], "code": right})
		wantProblem(t, "the right code after 30 parallel guesses", r, 429, gatehouse.ETooManyAttempts)
	})
}
