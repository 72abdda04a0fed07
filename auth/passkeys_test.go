package auth_test

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-webauthn/webauthn/protocol"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/testenv"
	"github.com/gatehouse/gatehouse/internal/testenv/passkeytest"
	"github.com/gatehouse/gatehouse/seal"
)

// origin is the public URL of the test service: the relying party's only
// origin, and its host the relying party id.
const origin = "https://gatehouse.test"

// addPasskey adds a passkey to id's account from a new software
// authenticator, as the profile page does, and returns the authenticator.
func (e *env) addPasskey(t testing.TB, id *auth.Identity) *passkeytest.Authenticator {
	t.Helper()
	a := passkeytest.New(origin)
	e.addPasskeyWith(t, id, a, "")
	return a
}

func (e *env) addPasskeyWith(t testing.TB, id *auth.Identity, a *passkeytest.Authenticator, name string) *gatehouse.Passkey {
	t.Helper()
	opts, err := e.svc.BeginPasskeyRegistration(ctx, id, "", e.client())
	if err != nil {
		t.Fatalf("begin registration: %v", err)
	}
	answer, _, err := a.Create(opts)
	if err != nil {
		t.Fatalf("authenticator: %v", err)
	}
	key, err := e.svc.FinishPasskeyRegistration(ctx, id, name, answer, e.client())
	if err != nil {
		t.Fatalf("finish registration: %v", err)
	}
	id.User = e.userByID(t, id.User.ID)
	return key
}

// passkeyLogin signs in with a's passkey and no password.
func (e *env) passkeyLogin(t testing.TB, a *passkeytest.Authenticator) (*auth.LoginResult, error) {
	t.Helper()
	opts, err := e.svc.BeginPasskeyLogin(ctx, false, e.client())
	if err != nil {
		t.Fatalf("begin login: %v", err)
	}
	answer, err := a.Get(opts)
	if err != nil {
		t.Fatalf("authenticator: %v", err)
	}
	return e.svc.FinishPasskeyLogin(ctx, answer, e.client())
}

// loginChallenge begins a sign-in and returns its challenge.
func loginChallenge(t testing.TB, e *env) []byte {
	t.Helper()
	opts, err := e.svc.BeginPasskeyLogin(ctx, false, e.client())
	if err != nil {
		t.Fatal(err)
	}
	var ca protocol.CredentialAssertion
	if err := json.Unmarshal(opts, &ca); err != nil {
		t.Fatal(err)
	}
	return ca.Response.Challenge
}

// signWith answers challenge with a's passkey.
func signWith(t testing.TB, a *passkeytest.Authenticator, challenge []byte) []byte {
	t.Helper()
	return signWithCredential(t, a, a.Credentials()[0], challenge)
}

// signWithCredential answers challenge with one of a's credentials (a
// clone's, say).
func signWithCredential(t testing.TB, a *passkeytest.Authenticator, c *passkeytest.Credential, challenge []byte) []byte {
	t.Helper()
	answer, err := a.Sign(c, "gatehouse.test", challenge)
	if err != nil {
		t.Fatal(err)
	}
	return answer
}

// loginPlaintext is what the service seals as a sign-in's challenge: its
// expiry (Unix milliseconds, big endian) and 16 random bytes.
func loginPlaintext(expires time.Time) []byte {
	p := make([]byte, 8+16)
	binary.BigEndian.PutUint64(p, uint64(expires.UnixMilli()))
	rand.Read(p[8:])
	return p
}

// lastEvent returns the company's latest audit event of type typ.
func (e *env) lastEvent(t testing.TB, companyID, typ string) *gatehouse.AuditEvent {
	t.Helper()
	var ev *gatehouse.AuditEvent
	err := e.store.View(ctx, func(tx gatehouse.Tx) error {
		list, err := tx.AuditEvents(gatehouse.AuditFilter{CompanyID: companyID, Type: typ, Limit: 1})
		if len(list) > 0 {
			ev = list[0]
		}
		return err
	})
	if err != nil || ev == nil {
		t.Fatalf("no %s event: %v", typ, err)
	}
	return ev
}

// TestPasskeySignIn: a passkey added on the profile signs in with no
// password as two factors (hwk, mfa), on a company that requires 2FA too;
// after a password it is the second factor instead of a code.
func TestPasskeySignIn(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, e *env) {
		t.Run("added", func(t *testing.T) {
			id := e.company(t)
			a := passkeytest.New(origin)
			a.BackupEligible, a.BackupState = true, true
			key := e.addPasskeyWith(t, id, a, "  Laptop  ")
			if key.Name != "Laptop" || !key.BackupEligible || !key.BackupState || len(key.PublicKey) == 0 ||
				!slices.Equal(key.Transports, []string{"internal", "hybrid"}) {
				t.Errorf("passkey: got %+v", key)
			}
			keys, err := e.svc.Passkeys(ctx, id)
			if err != nil || len(keys) != 1 || keys[0].ID != key.ID || keys[0].Name != "Laptop" {
				t.Fatalf("Passkeys: got %v, %v; want the one added", keys, err)
			}
			if got := e.userByID(t, id.User.ID).Passkeys; got != 1 {
				t.Errorf("user's passkeys: got %d, want 1", got)
			}
			if ev := e.lastEvent(t, id.User.CompanyID, gatehouse.EventPasskeyAdded); ev.TargetID != id.User.ID {
				t.Errorf("passkey.added: got target %q, want %q", ev.TargetID, id.User.ID)
			}
			m := e.smtp.WaitFor(t, id.User.Email, "A passkey was added")
			if !strings.Contains(m.Text, "Laptop") {
				t.Errorf("mail: got %q, want the passkey's name", m.Text)
			}
			// A second one gets a default name and keeps the user handle.
			b := e.addPasskey(t, id)
			if got := b.Credentials()[0].UserHandle; string(got) != string(a.Credentials()[0].UserHandle) {
				t.Errorf("user handle of the second passkey: got %x, want %x", got, a.Credentials()[0].UserHandle)
			}
			keys, _ = e.svc.Passkeys(ctx, id)
			if len(keys) != 2 || keys[1].Name != "Passkey 2" {
				t.Errorf("second passkey: got %+v, want Passkey 2", keys)
			}
		})
		t.Run("passwordless", func(t *testing.T) {
			id := e.company(t)
			a := e.addPasskey(t, id)
			res, err := e.passkeyLogin(t, a)
			if err != nil || res.Status != auth.StatusAuthenticated {
				t.Fatalf("passkey login: got %+v, %v; want authenticated", res, err)
			}
			if !slices.Equal(res.Session.Methods, []string{"hwk", "mfa"}) {
				t.Errorf("methods: got %v, want [hwk mfa]", res.Session.Methods)
			}
			got := e.authenticate(t, res.SessionToken)
			if got.User.ID != id.User.ID || !slices.Equal(got.Session.Methods, []string{"hwk", "mfa"}) {
				t.Errorf("session: got user %s methods %v", got.User.ID, got.Session.Methods)
			}
			if k, _ := e.svc.Passkeys(ctx, id); k[0].LastUsedAt.IsZero() || k[0].SignCount != 2 {
				t.Errorf("after use: got last used %v, sign count %d; want set, 2", k[0].LastUsedAt, k[0].SignCount)
			}
		})
		t.Run("company_requires_2fa", func(t *testing.T) {
			id := e.company(t)
			a := e.addPasskey(t, id)
			if _, err := e.svc.UpdateCompany(ctx, id, auth.CompanyUpdate{RequireTOTP: new(true)}, e.client()); err != nil {
				t.Fatalf("require 2FA with a passkey as the admin's second factor: %v", err)
			}
			if got := e.userByID(t, id.User.ID); !got.HasSecondFactor() {
				t.Error("a user with a passkey has no second factor")
			}
			res, err := e.passkeyLogin(t, a)
			if err != nil || res.Status != auth.StatusAuthenticated {
				t.Fatalf("passkey login: got %+v, %v; want authenticated", res, err)
			}
			// With the password, the passkey is the second factor.
			res = e.loginStep(t, id.User.Email, goodPW, auth.StatusPasskeyRequired)
			if !res.Passkey {
				t.Error("passkey_required without Passkey")
			}
			opts, err := e.svc.BeginPasskeySecondFactor(ctx, res.Challenge, e.client())
			if err != nil {
				t.Fatal(err)
			}
			answer, err := a.Get(opts)
			if err != nil {
				t.Fatal(err)
			}
			done, err := e.svc.FinishPasskeySecondFactor(ctx, res.Challenge, answer, e.client())
			if err != nil || done.Status != auth.StatusAuthenticated {
				t.Fatalf("second factor: got %+v, %v; want authenticated", done, err)
			}
			if !slices.Equal(done.Session.Methods, []string{"pwd", "hwk", "mfa"}) {
				t.Errorf("methods: got %v, want [pwd hwk mfa]", done.Session.Methods)
			}
			// The challenge is used up.
			_, err = e.svc.FinishPasskeySecondFactor(ctx, res.Challenge, answer, e.client())
			wantCode(t, "the challenge again", err, gatehouse.EInvalidChallenge)
			// A code for a user without an app is wrong, whatever it is.
			res = e.loginStep(t, id.User.Email, goodPW, auth.StatusPasskeyRequired)
			_, err = e.svc.LoginTOTP(ctx, res.Challenge, "123456", "", e.client())
			wantCode(t, "a code without an app", err, gatehouse.EInvalidCode)
		})
		t.Run("totp_and_passkey", func(t *testing.T) {
			id := e.company(t)
			e.enableTOTP(t, id)
			a := e.addPasskey(t, id)
			res := e.loginStep(t, id.User.Email, goodPW, auth.StatusTOTPRequired)
			if !res.Passkey {
				t.Error("totp_required without Passkey for a user with a passkey")
			}
			opts, err := e.svc.BeginPasskeySecondFactor(ctx, res.Challenge, e.client())
			if err != nil {
				t.Fatal(err)
			}
			answer, _ := a.Get(opts)
			done, err := e.svc.FinishPasskeySecondFactor(ctx, res.Challenge, answer, e.client())
			if err != nil || done.Status != auth.StatusAuthenticated {
				t.Fatalf("second factor: got %+v, %v; want authenticated", done, err)
			}
			// The password and a code: otp.
			e.nextStep()
		})
		t.Run("temporary_password_still_changed", func(t *testing.T) {
			admin := e.company(t)
			member := e.member(t, admin)
			a := e.addPasskey(t, member)
			if _, err := e.svc.SetTemporaryPassword(ctx, admin, member.User.ID, "", e.client()); err != nil {
				t.Fatal(err)
			}
			res, err := e.passkeyLogin(t, a)
			if err != nil || res.Status != auth.StatusPasswordChangeRequired {
				t.Fatalf("passkey login with a temporary password: got %+v, %v; want password_change_required", res, err)
			}
		})
	})
}

// TestPasskeyRefusals: each answer a relying party must refuse is refused
// with invalid_passkey, signs nobody in, and is audited with the reason.
func TestPasskeyRefusals(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, e *env) {
		cases := []struct {
			name    string
			spoil   func(a *passkeytest.Authenticator)
			reason  string
			replays bool
		}{
			{"wrong_origin", func(a *passkeytest.Authenticator) { a.Origin = "https://gatehouse.test.evil.example" }, "origin", false},
			{"wrong_rp_id", func(a *passkeytest.Authenticator) { a.RPID = "evil.example" }, "rp_id", false},
			{"no_user_verification", func(a *passkeytest.Authenticator) { a.NoUserVerification = true }, "user_verification", false},
			{"sign_count_backwards", func(a *passkeytest.Authenticator) { a.CounterStep = -1 }, "sign_count", false},
			{"replayed", nil, "unknown_ceremony", true},
		}
		for _, tc := range cases {
			t.Run("invalid_passkey/"+tc.name, func(t *testing.T) {
				id := e.company(t)
				a := e.addPasskey(t, id)
				if tc.spoil != nil {
					tc.spoil(a)
				}
				opts, err := e.svc.BeginPasskeyLogin(ctx, false, e.client())
				if err != nil {
					t.Fatal(err)
				}
				answer, err := a.Get(opts)
				if err != nil {
					t.Fatal(err)
				}
				if tc.replays {
					if _, err := e.svc.FinishPasskeyLogin(ctx, answer, e.client()); err != nil {
						t.Fatalf("first use: %v", err)
					}
				}
				res, err := e.svc.FinishPasskeyLogin(ctx, answer, e.client())
				wantCode(t, "the answer", err, gatehouse.EInvalidPasskey)
				if res != nil {
					t.Errorf("got a result %+v", res)
				}
				ev := e.lastEvent(t, id.User.CompanyID, gatehouse.EventPasskeyFailed)
				if ev.Detail != "reason="+tc.reason || ev.TargetID != id.User.ID {
					t.Errorf("passkey.failed: got detail %q target %q, want reason=%s for %s", ev.Detail, ev.TargetID, tc.reason, id.User.ID)
				}
				// As a second factor, the same answer is refused too.
				res2 := e.loginStep(t, id.User.Email, goodPW, auth.StatusPasskeyRequired)
				if !tc.replays {
					opts, err := e.svc.BeginPasskeySecondFactor(ctx, res2.Challenge, e.client())
					if err != nil {
						t.Fatal(err)
					}
					answer, _ = a.Get(opts)
				}
				_, err = e.svc.FinishPasskeySecondFactor(ctx, res2.Challenge, answer, e.client())
				wantCode(t, "as the second factor", err, gatehouse.EInvalidPasskey)
				if tc.replays {
					// The second factor's refusal did not take away the
					// record that the sign-in's challenge was used.
					_, err = e.svc.FinishPasskeyLogin(ctx, answer, e.client())
					wantCode(t, "a sign-in again after the second factor's refusal", err, gatehouse.EInvalidPasskey)
				}
			})
		}
		for _, tc := range cases[:3] {
			t.Run("invalid_passkey/registration_"+tc.name, func(t *testing.T) {
				id := e.company(t)
				a := passkeytest.New(origin)
				tc.spoil(a)
				opts, err := e.svc.BeginPasskeyRegistration(ctx, id, "", e.client())
				if err != nil {
					t.Fatal(err)
				}
				answer, _, _ := a.Create(opts)
				_, err = e.svc.FinishPasskeyRegistration(ctx, id, "", answer, e.client())
				wantCode(t, "the registration", err, gatehouse.EInvalidPasskey)
				if n := e.userByID(t, id.User.ID).Passkeys; n != 0 {
					t.Errorf("passkeys: got %d, want 0", n)
				}
				ev := e.lastEvent(t, id.User.CompanyID, gatehouse.EventPasskeyFailed)
				if ev.Detail != "reason="+tc.reason {
					t.Errorf("passkey.failed: got detail %q, want reason=%s", ev.Detail, tc.reason)
				}
			})
		}
		t.Run("invalid_passkey/registration_of_another_session", func(t *testing.T) {
			id := e.company(t)
			other := e.signIn(t, id.User.Email, goodPW)
			a := passkeytest.New(origin)
			opts, _ := e.svc.BeginPasskeyRegistration(ctx, id, "", e.client())
			answer, _, _ := a.Create(opts)
			_, err := e.svc.FinishPasskeyRegistration(ctx, other, "", answer, e.client())
			wantCode(t, "finished by another session", err, gatehouse.EInvalidPasskey)
			_, err = e.svc.FinishPasskeyRegistration(ctx, id, "", answer, e.client())
			wantCode(t, "then by its own (used up)", err, gatehouse.EInvalidPasskey)
		})
		t.Run("invalid_passkey/expired_ceremony", func(t *testing.T) {
			id := e.company(t)
			a := e.addPasskey(t, id)
			opts, _ := e.svc.BeginPasskeyLogin(ctx, true, e.client())
			answer, _ := a.Get(opts)
			e.clock.Advance(auth.PasskeyCeremonyLifetime)
			_, err := e.svc.FinishPasskeyLogin(ctx, answer, e.client())
			wantCode(t, "after the ceremony's lifetime", err, gatehouse.EInvalidPasskey)
			if ev := e.lastEvent(t, id.User.CompanyID, gatehouse.EventPasskeyFailed); ev.Detail != "reason=unknown_ceremony" {
				t.Errorf("passkey.failed: got %q, want reason=unknown_ceremony", ev.Detail)
			}
		})
		t.Run("invalid_passkey/replayed_on_a_node_whose_clock_is_behind", func(t *testing.T) {
			// Node B's clock is 30 s ahead of A's. An answer signs in on B;
			// when B's clock is past the challenge's expiry, B's
			// housekeeping runs while A still takes the challenge for
			// live: the record of its use is still there, and A refuses
			// the answer again.
			id := e.company(t)
			a := passkeytest.New(origin)
			a.NoCounter = true // a synced passkey: its counter alone refuses no replay
			e.addPasskeyWith(t, id, a, "")
			ahead := &testenv.Clock{}
			ahead.Advance(e.clock.Now().Sub(time.Now()) + 30*time.Second)
			cfg := e.cfg
			cfg.Clock = ahead
			nodeB := testenv.OpenStore(t, cfg)
			opts, err := e.svc.BeginPasskeyLogin(ctx, false, e.client())
			if err != nil {
				t.Fatal(err)
			}
			answer, err := a.Get(opts)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.serviceOn(nodeB).FinishPasskeyLogin(ctx, answer, e.client()); err != nil {
				t.Fatalf("on node B: %v", err)
			}
			e.clock.Advance(auth.PasskeyCeremonyLifetime - 10*time.Second)
			ahead.Advance(auth.PasskeyCeremonyLifetime - 10*time.Second)
			if err := nodeB.UpdateBackground(ctx, func(tx gatehouse.Tx) error {
				_, err := tx.DeleteExpired(24 * time.Hour)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			_, err = e.svc.FinishPasskeyLogin(ctx, answer, e.client())
			wantCode(t, "the same answer on node A", err, gatehouse.EInvalidPasskey)
			if ev := e.lastEvent(t, id.User.CompanyID, gatehouse.EventPasskeyFailed); ev.Detail != "reason=unknown_ceremony" {
				t.Errorf("passkey.failed: got %q, want reason=unknown_ceremony", ev.Detail)
			}
		})
		t.Run("invalid_passkey/forged_challenge", func(t *testing.T) {
			// A challenge the server did not seal, or one it sealed with a
			// byte changed, signed by the right passkey: refused.
			id := e.company(t)
			a := e.addPasskey(t, id)
			sealed := loginChallenge(t, e)
			random := make([]byte, len(sealed))
			rand.Read(random)
			for name, challenge := range map[string][]byte{
				"random":                   random,
				"a byte of the sealed one": append(slices.Clone(sealed[:30]), append([]byte{sealed[30] ^ 1}, sealed[31:]...)...),
				"the sealed one cut short": sealed[:len(sealed)-1],
			} {
				e.clock.Advance(time.Millisecond) // an audit event of its own
				_, err := e.svc.FinishPasskeyLogin(ctx, signWith(t, a, challenge), e.client())
				wantCode(t, name, err, gatehouse.EInvalidPasskey)
				ev := e.lastEvent(t, id.User.CompanyID, gatehouse.EventPasskeyFailed)
				if ev.Detail != "reason=unknown_ceremony" {
					t.Errorf("%s: passkey.failed: got %q, want reason=unknown_ceremony", name, ev.Detail)
				}
			}
			if _, err := e.svc.FinishPasskeyLogin(ctx, signWith(t, a, sealed), e.client()); err != nil {
				t.Errorf("the sealed challenge itself: %v", err)
			}
		})
		t.Run("invalid_passkey/sealed_otherwise", func(t *testing.T) {
			// Sealed values that are not this service's live login
			// challenges: of another purpose, under another key, expired.
			// The first case, sealed as the service seals, shows that the
			// others fail for that alone.
			id := e.company(t)
			a := e.addPasskey(t, id)
			sealer := seal.New(e.key)
			var other seal.Key
			rand.Read(other[:])
			cases := []struct {
				name      string
				challenge []byte
				code      string
			}{
				{"a login challenge", sealer.Seal(loginPlaintext(e.clock.Now().Add(time.Minute)), auth.LoginChallengeAAD), ""},
				{"another purpose", sealer.Seal(loginPlaintext(e.clock.Now().Add(time.Minute)), []byte("totp:"+id.User.ID)), gatehouse.EInvalidPasskey},
				{"another key", seal.New(other).Seal(loginPlaintext(e.clock.Now().Add(time.Minute)), auth.LoginChallengeAAD), gatehouse.EInvalidPasskey},
				{"expired", sealer.Seal(loginPlaintext(e.clock.Now()), auth.LoginChallengeAAD), gatehouse.EInvalidPasskey},
			}
			for _, tc := range cases {
				e.clock.Advance(time.Millisecond) // an audit event of its own
				_, err := e.svc.FinishPasskeyLogin(ctx, signWith(t, a, tc.challenge), e.client())
				wantCode(t, tc.name, err, tc.code)
				if tc.code != "" {
					if ev := e.lastEvent(t, id.User.CompanyID, gatehouse.EventPasskeyFailed); ev.Detail != "reason=unknown_ceremony" {
						t.Errorf("%s: passkey.failed: got %q, want reason=unknown_ceremony", tc.name, ev.Detail)
					}
				}
			}
		})
		t.Run("invalid_passkey/refused_answer_uses_the_challenge", func(t *testing.T) {
			// An answer refused (here for its origin) uses the challenge
			// up: a right answer to it after is refused too.
			id := e.company(t)
			a := e.addPasskey(t, id)
			challenge := loginChallenge(t, e)
			a.Origin = "https://gatehouse.test.evil.example"
			_, err := e.svc.FinishPasskeyLogin(ctx, signWith(t, a, challenge), e.client())
			wantCode(t, "from another origin", err, gatehouse.EInvalidPasskey)
			a.Origin = origin
			e.clock.Advance(time.Millisecond) // after the first refusal's audit event
			_, err = e.svc.FinishPasskeyLogin(ctx, signWith(t, a, challenge), e.client())
			wantCode(t, "a right answer after", err, gatehouse.EInvalidPasskey)
			if ev := e.lastEvent(t, id.User.CompanyID, gatehouse.EventPasskeyFailed); ev.Detail != "reason=unknown_ceremony" {
				t.Errorf("passkey.failed: got %q, want reason=unknown_ceremony", ev.Detail)
			}
		})
		t.Run("invalid_passkey/racing_answers", func(t *testing.T) {
			id := e.company(t)
			a := passkeytest.New(origin)
			a.NoCounter = true
			e.addPasskeyWith(t, id, a, "")
			opts, _ := e.svc.BeginPasskeyLogin(ctx, false, e.client())
			answer, _ := a.Get(opts)
			errs := concurrently(4, func(int) error {
				_, err := e.svc.FinishPasskeyLogin(ctx, answer, e.client())
				return err
			})
			if got := countCodes(errs); got[""] != 1 || got[gatehouse.EInvalidPasskey] != 3 {
				t.Errorf("four racing uses of one answer: got %v, want one success", got)
			}
		})
		t.Run("invalid_passkey/racing_clones", func(t *testing.T) {
			// Two copies of one credential answer two ceremonies with the
			// same counter at once: the library checks each against the
			// counter it read, and the transaction against the counter
			// stored when it runs, so exactly one signs in.
			id := e.company(t)
			a := e.addPasskey(t, id)
			cred := a.Credentials()[0]
			clone := *cred
			var answers [2][]byte
			for i, c := range []*passkeytest.Credential{cred, &clone} {
				answers[i] = signWithCredential(t, a, c, loginChallenge(t, e))
			}
			errs := concurrently(2, func(i int) error {
				_, err := e.svc.FinishPasskeyLogin(ctx, answers[i], e.client())
				return err
			})
			if got := countCodes(errs); got[""] != 1 || got[gatehouse.EInvalidPasskey] != 1 {
				t.Errorf("two clones with one counter: got %v, want one success", got)
			}
			ev := e.lastEvent(t, id.User.CompanyID, gatehouse.EventPasskeyFailed)
			if ev.Detail != "reason=sign_count" {
				t.Errorf("passkey.failed: got %q, want reason=sign_count", ev.Detail)
			}
		})
		t.Run("invalid_passkey/not_registered", func(t *testing.T) {
			// Removed here, still on the device: the refusal says so.
			id := e.company(t)
			a := e.addPasskey(t, id)
			keys, err := e.svc.Passkeys(ctx, id)
			if err != nil || len(keys) != 1 {
				t.Fatalf("passkeys: %v %v", keys, err)
			}
			if err := e.svc.RemovePasskey(ctx, id, keys[0].ID, auth.Reauth{}, e.client()); err != nil {
				t.Fatal(err)
			}
			_, err = e.passkeyLogin(t, a)
			wantCode(t, "a removed passkey", err, gatehouse.EInvalidPasskey)
			if ge := gatehouse.AsError(err); ge == nil || len(ge.Reasons) != 1 || ge.Reasons[0].Code != gatehouse.ReasonPasskeyNotRegistered {
				t.Errorf("reasons: got %+v, want passkey_not_registered", ge)
			}
		})
		t.Run("account_disabled", func(t *testing.T) {
			admin := e.company(t)
			member := e.member(t, admin)
			a := e.addPasskey(t, member)
			if _, err := e.svc.UpdateUser(ctx, admin, member.User.ID, auth.UserUpdate{Disabled: new(true)}, e.client()); err != nil {
				t.Fatal(err)
			}
			_, err := e.passkeyLogin(t, a)
			wantCode(t, "a disabled user's passkey", err, gatehouse.EAccountDisabled)
		})
	})
}

// TestPasskeyLoginBeginWritesNothing: beginning a sign-in is no write
// transaction, however often (its challenge is sealed, not stored); the
// sign-in is one.
func TestPasskeyLoginBeginWritesNothing(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, e *env) {
		a := e.addPasskey(t, e.company(t))
		w := &writeCounting{Store: e.store}
		svc := e.serviceOn(w)
		var opts auth.PasskeyOptions
		for i := range 10 {
			var err error
			if opts, err = svc.BeginPasskeyLogin(ctx, i%2 == 0, e.client()); err != nil {
				t.Fatal(err)
			}
		}
		if n := w.writes.Load(); n != 0 {
			t.Errorf("ten sign-ins begun: got %d write transactions, want 0", n)
		}
		answer, err := a.Get(opts)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.FinishPasskeyLogin(ctx, answer, e.client()); err != nil {
			t.Fatal(err)
		}
		if n := w.writes.Load(); n != 1 {
			t.Errorf("one sign-in finished: got %d write transactions, want 1", n)
		}
	})
}

// writeCounting is the store, counting its write transactions.
type writeCounting struct {
	gatehouse.Store
	writes atomic.Int64
}

func (s *writeCounting) Update(ctx context.Context, fn func(gatehouse.Tx) error) error {
	s.writes.Add(1)
	return s.Store.Update(ctx, fn)
}

func (s *writeCounting) UpdateLazy(ctx context.Context, fn func(gatehouse.Tx) error) error {
	s.writes.Add(1)
	return s.Store.UpdateLazy(ctx, fn)
}

func (s *writeCounting) UpdateBackground(ctx context.Context, fn func(gatehouse.Tx) error) error {
	s.writes.Add(1)
	return s.Store.UpdateBackground(ctx, fn)
}

// TestPasskeyManagement: renaming and removing one's passkeys, with the
// password or another passkey once the login is old; the company's rule
// keeps the last second factor; an admin removes a user's passkeys as
// for a lost phone, and the operator's disable-2fa removes them too.
func TestPasskeyManagement(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, e *env) {
		t.Run("rename", func(t *testing.T) {
			id := e.company(t)
			key := e.addPasskeyWith(t, id, passkeytest.New(origin), "")
			wantCode(t, "rename", e.svc.RenamePasskey(ctx, id, key.ID, "YubiKey 5", e.client()), "")
			keys, _ := e.svc.Passkeys(ctx, id)
			if keys[0].Name != "YubiKey 5" {
				t.Errorf("name: got %q", keys[0].Name)
			}
			wantCode(t, "empty name", e.svc.RenamePasskey(ctx, id, key.ID, " ", e.client()), gatehouse.EInvalidRequest)
			wantCode(t, "long name", e.svc.RenamePasskey(ctx, id, key.ID, strings.Repeat("x", 65), e.client()), gatehouse.EInvalidRequest)
			other := e.member(t, id)
			wantCode(t, "another user's passkey", e.svc.RenamePasskey(ctx, other, key.ID, "mine", e.client()), gatehouse.ENotFound)
		})
		t.Run("remove", func(t *testing.T) {
			id := e.company(t)
			key := e.addPasskeyWith(t, id, passkeytest.New(origin), "Phone")
			other := e.member(t, id)
			wantCode(t, "another user's passkey", e.svc.RemovePasskey(ctx, other, key.ID, auth.Reauth{}, e.client()), gatehouse.ENotFound)
			wantCode(t, "remove", e.svc.RemovePasskey(ctx, id, key.ID, auth.Reauth{}, e.client()), "")
			if n := e.userByID(t, id.User.ID).Passkeys; n != 0 {
				t.Errorf("passkeys: got %d, want 0", n)
			}
			e.smtp.WaitFor(t, id.User.Email, "A passkey was removed")
			e.lastEvent(t, id.User.CompanyID, gatehouse.EventPasskeyRemoved)
		})
		t.Run("reauthentication_required", func(t *testing.T) {
			id := e.company(t)
			e.addPasskey(t, id)
			b := e.addPasskey(t, id)
			keys, _ := e.svc.Passkeys(ctx, id)
			e.clock.Advance(auth.ReauthWindow + time.Minute)
			wantCode(t, "no password", e.svc.RemovePasskey(ctx, id, keys[0].ID, auth.Reauth{}, e.client()), gatehouse.EReauthenticationRequired)
			wantCode(t, "wrong password", e.svc.RemovePasskey(ctx, id, keys[0].ID, auth.Reauth{Password: otherPW}, e.client()), gatehouse.ECurrentPasswordIncorrect)
			wantCode(t, "password", e.svc.RemovePasskey(ctx, id, keys[0].ID, auth.Reauth{Password: goodPW}, e.client()), "")
			// With the other passkey instead of the password.
			opts, err := e.svc.BeginPasskeyReauth(ctx, id, e.client())
			if err != nil {
				t.Fatal(err)
			}
			answer, err := b.Get(opts)
			if err != nil {
				t.Fatal(err)
			}
			wantCode(t, "passkey", e.svc.RemovePasskey(ctx, id, keys[1].ID, auth.Reauth{Passkey: answer}, e.client()), "")
			wantCode(t, "passkey answer again", e.svc.RemovePasskey(ctx, id, keys[1].ID, auth.Reauth{Passkey: answer}, e.client()), gatehouse.EInvalidPasskey)
		})
		t.Run("totp_required_by_company", func(t *testing.T) {
			id := e.company(t)
			e.addPasskey(t, id)
			if _, err := e.svc.UpdateCompany(ctx, id, auth.CompanyUpdate{RequireTOTP: new(true)}, e.client()); err != nil {
				t.Fatal(err)
			}
			keys, _ := e.svc.Passkeys(ctx, id)
			wantCode(t, "the last second factor", e.svc.RemovePasskey(ctx, id, keys[0].ID, auth.Reauth{}, e.client()), gatehouse.ETOTPRequiredByCompany)
			// With an app too, the passkey may go, and then the app may not.
			e.enableTOTP(t, id)
			wantCode(t, "beside an app", e.svc.RemovePasskey(ctx, id, keys[0].ID, auth.Reauth{}, e.client()), "")
			id.User = e.userByID(t, id.User.ID)
			wantCode(t, "the app, last", e.svc.DisableTOTP(ctx, id, goodPW, e.client()), gatehouse.ETOTPRequiredByCompany)
			// And the app may go while a passkey remains.
			e.addPasskey(t, id)
			wantCode(t, "the app beside a passkey", e.svc.DisableTOTP(ctx, id, goodPW, e.client()), "")
		})
		t.Run("removed_by_admin", func(t *testing.T) {
			admin := e.company(t)
			member := e.member(t, admin)
			a := e.addPasskey(t, member)
			wantCode(t, "a member", e.svc.RemoveUserPasskeys(ctx, e.member(t, admin), member.User.ID, e.client()), gatehouse.EForbidden)
			wantCode(t, "own", e.svc.RemoveUserPasskeys(ctx, admin, admin.User.ID, e.client()), gatehouse.EForbidden)
			other := e.company(t)
			wantCode(t, "another company's admin", e.svc.RemoveUserPasskeys(ctx, other, member.User.ID, e.client()), gatehouse.ENotFound)
			wantCode(t, "the admin", e.svc.RemoveUserPasskeys(ctx, admin, member.User.ID, e.client()), "")
			var sessions []*gatehouse.Session
			e.store.View(ctx, func(tx gatehouse.Tx) (err error) {
				sessions, err = tx.Sessions(member.User.ID)
				return err
			})
			if len(sessions) != 0 {
				t.Errorf("the member's sessions: got %d, want none", len(sessions))
			}
			_, err := e.passkeyLogin(t, a)
			wantCode(t, "the removed passkey", err, gatehouse.EInvalidPasskey)
			ev := e.lastEvent(t, admin.User.CompanyID, gatehouse.EventPasskeysRemovedByAdmin)
			if ev.ActorID != admin.User.ID || ev.TargetID != member.User.ID {
				t.Errorf("event: got actor %q target %q", ev.ActorID, ev.TargetID)
			}
			e.smtp.WaitFor(t, member.User.Email, "Your passkeys were removed")
			wantCode(t, "again", e.svc.RemoveUserPasskeys(ctx, admin, member.User.ID, e.client()), gatehouse.ENotFound)
		})
		t.Run("operator_disable_2fa", func(t *testing.T) {
			admin := e.company(t)
			member := e.member(t, admin)
			e.enableTOTP(t, member)
			e.addPasskey(t, member)
			if _, err := e.svc.OperatorRemoveTOTP(ctx, member.User.Email, auth.Client{}); err != nil {
				t.Fatal(err)
			}
			u := e.userByID(t, member.User.ID)
			if u.TOTPEnabled() || u.Passkeys != 0 {
				t.Errorf("after disable-2fa: got totp %v, passkeys %d; want neither", u.TOTPEnabled(), u.Passkeys)
			}
			if ev := e.lastEvent(t, admin.User.CompanyID, gatehouse.EventPasskeysRemovedByAdmin); !ev.ByOperator() {
				t.Errorf("event: got %+v, want by the operator", ev)
			}
			// Passkeys alone are enough for the command to do something.
			e.addPasskey(t, e.signIn(t, member.User.Email, goodPW))
			if _, err := e.svc.OperatorRemoveTOTP(ctx, member.User.Email, auth.Client{}); err != nil {
				t.Errorf("passkeys only: %v", err)
			}
			_, err := e.svc.OperatorRemoveTOTP(ctx, member.User.Email, auth.Client{})
			wantCode(t, "neither", err, gatehouse.ETOTPNotEnabled)
		})
	})
}
