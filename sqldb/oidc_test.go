package sqldb_test

import (
	"bytes"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
)

// Signing keys: one signs at a time, even when two nodes create the first
// key at once; a retired key is listed until the cutoff passes it.
func TestSigningKeys(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *store) {
		key := func(id string) *gatehouse.OIDCSigningKey {
			return &gatehouse.OIDCSigningKey{ID: id, Algorithm: "RS256", PrivateKey: []byte("sealed " + id),
				PublicKey: []byte("public " + id), CreatedAt: s.clock.Now()}
		}
		// A token request reads which key signs with its client.
		s.update(t, func(tx gatehouse.Tx) error {
			now := tx.Now()
			return tx.CreateApplication(&gatehouse.Application{ID: gatehouse.NewID(now), ClientID: "app1", Name: "One",
				RedirectURIs: []string{"https://one.example.com/cb"}, SecretHash: gatehouse.HashToken("s"), CreatedAt: now, UpdatedAt: now})
		})
		signingKeyID := func() string {
			var id string
			s.view(t, func(tx gatehouse.Tx) (err error) {
				var app *gatehouse.Application
				app, id, err = tx.ClientCredentials("app1")
				if err == nil && app.ClientID != "app1" {
					t.Fatalf("client credentials: got %+v", app)
				}
				return err
			})
			return id
		}
		if id := signingKeyID(); id != "" {
			t.Fatalf("the signing key's ID before there is one: got %q, want none", id)
		}
		errs := s.concurrently(4, func(i int, tx gatehouse.Tx) error {
			return tx.CreateSigningKey(key(string(rune('a' + i))))
		})
		var won int
		for _, err := range errs {
			switch gatehouse.ErrorCode(err) {
			case "":
				won++
			case gatehouse.ESigningKeyExists:
			default:
				t.Fatalf("create first key: %v", err)
			}
		}
		if won != 1 {
			t.Fatalf("first keys created by 4 racing nodes: got %d, want 1 (errors %v)", won, errs)
		}
		var first []*gatehouse.OIDCSigningKey
		s.view(t, func(tx gatehouse.Tx) (err error) { first, err = tx.SigningKeys(time.Time{}); return })
		if len(first) != 1 || !first[0].RetiredAt.IsZero() || !bytes.HasPrefix(first[0].PrivateKey, []byte("sealed ")) {
			t.Fatalf("keys: got %+v, want one signing key", first)
		}
		if id := signingKeyID(); id != first[0].ID {
			t.Fatalf("the signing key's ID: got %q, want %s", id, first[0].ID)
		}

		s.clock.Advance(time.Minute)
		var retiredAt time.Time
		s.update(t, func(tx gatehouse.Tx) error {
			retiredAt = tx.Now()
			if ok, err := tx.RetireSigningKey(tx.Now()); err != nil || !ok {
				t.Fatalf("retire: got %v, %v; want true", ok, err)
			}
			return tx.CreateSigningKey(key("z"))
		})
		s.clock.Advance(time.Minute)
		var keys []*gatehouse.OIDCSigningKey
		s.view(t, func(tx gatehouse.Tx) (err error) { keys, err = tx.SigningKeys(retiredAt.Add(-time.Second)); return })
		if len(keys) != 2 || keys[0].ID != "z" || !keys[0].RetiredAt.IsZero() || keys[1].ID != first[0].ID ||
			!keys[1].RetiredAt.Equal(retiredAt) {
			t.Fatalf("keys after rotation: got %+v, want z signing, then %s retired at %v", keys, first[0].ID, retiredAt)
		}
		if id := signingKeyID(); id != "z" {
			t.Fatalf("the signing key's ID after rotation: got %q, want z", id)
		}
		s.view(t, func(tx gatehouse.Tx) (err error) { keys, err = tx.SigningKeys(retiredAt); return })
		if len(keys) != 1 || keys[0].ID != "z" {
			t.Fatalf("keys after the old one's cutoff: got %d, want only z", len(keys))
		}
		s.wantN(t, "expired state deleted (the retired key)", 1, func(tx gatehouse.Tx) (int, error) {
			return tx.DeleteExpiredOIDC(tx.Now(), retiredAt.Add(time.Second))
		})
	})
}

// wantN runs f in a write transaction and fails the test unless it
// reports want rows.
func (s *store) wantN(t *testing.T, what string, want int, f func(tx gatehouse.Tx) (int, error)) {
	t.Helper()
	s.update(t, func(tx gatehouse.Tx) error {
		n, err := f(tx)
		if err == nil && n != want {
			t.Errorf("%s: got %d, want %d", what, n, want)
		}
		return err
	})
}

// An authorization request is completed once, gets a code once, and the
// code is used once however many exchanges race; a used code answers
// ECodeUsed with its request, an expired one ENotFound.
func TestAuthRequestAndCode(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *store) {
		c := s.company(t, "Acme")
		u := s.user(t, c.ID, "ann@acme.test", "Ann")
		now := s.clock.Now()
		r := &gatehouse.OIDCAuthRequest{ID: gatehouse.NewID(now), ClientID: "client", RedirectURI: "https://app.test/cb",
			Scopes: []string{"openid", "email"}, State: "st", Nonce: "n", CodeChallenge: "challenge",
			Prompt: []string{"login"}, MaxAge: 60, CreatedAt: now, ExpiresAt: now.Add(10 * time.Minute)}
		s.update(t, func(tx gatehouse.Tx) error { return tx.CreateAuthRequest(r) })
		s.update(t, func(tx gatehouse.Tx) error {
			wantCode(t, "code before login", tx.SetAuthCode(r.ID, []byte("h"), now.Add(time.Minute)), gatehouse.ENotFound)
			return nil
		})
		done := *r
		done.UserID, done.CompanyID, done.AuthTime, done.AMR, done.DoneAt = u.ID, c.ID, now, []string{"pwd", "otp", "mfa"}, now
		s.update(t, func(tx gatehouse.Tx) error { return tx.CompleteAuthRequest(&done) })
		s.update(t, func(tx gatehouse.Tx) error {
			wantCode(t, "second completion", tx.CompleteAuthRequest(&done), gatehouse.ENotFound)
			return nil
		})
		var got *gatehouse.OIDCAuthRequest
		s.view(t, func(tx gatehouse.Tx) (err error) { got, err = tx.AuthRequest(r.ID); return })
		if !got.Done() || got.UserID != u.ID || !slices.Equal(got.AMR, done.AMR) || !slices.Equal(got.Scopes, r.Scopes) ||
			got.MaxAge != 60 || !slices.Equal(got.Prompt, []string{"login"}) || got.Nonce != "n" || got.CodeChallenge != "challenge" {
			t.Fatalf("request: got %+v", got)
		}

		code := []byte("code hash")
		s.update(t, func(tx gatehouse.Tx) error { return tx.SetAuthCode(r.ID, code, now.Add(time.Minute)) })
		s.update(t, func(tx gatehouse.Tx) error {
			wantCode(t, "second code", tx.SetAuthCode(r.ID, []byte("other"), now.Add(time.Minute)), gatehouse.ENotFound)
			return nil
		})
		winners := make(chan *gatehouse.OIDCAuthRequest, 8)
		errs := s.concurrently(8, func(i int, tx gatehouse.Tx) error {
			got, err := tx.ConsumeAuthCode(code)
			if err == nil {
				winners <- got
			}
			return err
		})
		close(winners)
		if len(winners) != 1 {
			t.Fatalf("exchanges of one code that won: got %d, want 1 (errors %v)", len(winners), errs)
		}
		if w := <-winners; w.ID != r.ID || w.UserID != u.ID {
			t.Fatalf("consumed: got %+v, want request %s", w, r.ID)
		}
		for _, err := range errs {
			if err != nil {
				wantCode(t, "racing exchange", err, gatehouse.ECodeUsed)
			}
		}
		s.update(t, func(tx gatehouse.Tx) error {
			used, err := tx.ConsumeAuthCode(code)
			wantCode(t, "replayed code", err, gatehouse.ECodeUsed)
			if used == nil || used.ID != r.ID {
				t.Fatalf("replayed code: got request %+v, want %s", used, r.ID)
			}
			_, err = tx.ConsumeAuthCode([]byte("unknown"))
			wantCode(t, "unknown code", err, gatehouse.ENotFound)
			return nil
		})

		// An expired code is no code.
		r2 := &gatehouse.OIDCAuthRequest{ID: gatehouse.NewID(now), ClientID: "client", RedirectURI: "https://app.test/cb",
			Scopes: []string{"openid"}, CodeChallenge: "c", MaxAge: -1, CreatedAt: now, ExpiresAt: now.Add(10 * time.Minute)}
		s.update(t, func(tx gatehouse.Tx) error {
			if err := tx.CreateAuthRequest(r2); err != nil {
				return err
			}
			d := *r2
			d.UserID, d.CompanyID, d.AuthTime, d.DoneAt = u.ID, c.ID, now, now
			if err := tx.CompleteAuthRequest(&d); err != nil {
				return err
			}
			return tx.SetAuthCode(r2.ID, []byte("code 2"), now.Add(time.Minute))
		})
		s.clock.Advance(time.Minute)
		s.update(t, func(tx gatehouse.Tx) error {
			_, err := tx.ConsumeAuthCode([]byte("code 2"))
			wantCode(t, "expired code", err, gatehouse.ENotFound)
			_, err = tx.AuthRequest(r2.ID)
			wantCode(t, "expired request", err, gatehouse.ENotFound)
			return nil
		})
		s.wantN(t, "expired requests deleted", 2, func(tx gatehouse.Tx) (int, error) { return tx.DeleteExpiredOIDC(tx.Now(), tx.Now()) })
	})
}

// Refresh tokens: of racing rotations of one token exactly one wins;
// revoking a family revokes all its tokens and deletes its access tokens;
// a user's tokens end per client or for all clients.
func TestRefreshTokens(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *store) {
		c := s.company(t, "Acme")
		u := s.user(t, c.ID, "ann@acme.test", "Ann")
		now := s.clock.Now()
		grant := func(client string) gatehouse.OIDCGrant {
			return gatehouse.OIDCGrant{ClientID: client, UserID: u.ID, CompanyID: c.ID, Scopes: []string{"openid", "offline_access"},
				AuthTime: now, AMR: []string{"pwd"}}
		}
		refresh := func(client, family string) *gatehouse.OIDCRefreshToken {
			_, hash := gatehouse.NewToken()
			rt := &gatehouse.OIDCRefreshToken{ID: gatehouse.NewID(now), TokenHash: hash, FamilyID: family,
				OIDCGrant: grant(client), CreatedAt: now, ExpiresAt: now.Add(24 * time.Hour)}
			s.update(t, func(tx gatehouse.Tx) error { return tx.CreateRefreshToken(rt) })
			return rt
		}
		access := func(client, family string) *gatehouse.OIDCAccessToken {
			at := &gatehouse.OIDCAccessToken{ID: gatehouse.NewID(now), FamilyID: family, OIDCGrant: grant(client),
				CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
			s.update(t, func(tx gatehouse.Tx) error { return tx.CreateAccessToken(at) })
			return at
		}
		rt := refresh("app1", "fam1")
		at := access("app1", "fam1")
		var got *gatehouse.OIDCRefreshToken
		s.view(t, func(tx gatehouse.Tx) (err error) { got, err = tx.RefreshTokenByHash(rt.TokenHash); return })
		if got.ID != rt.ID || got.FamilyID != "fam1" || got.UserID != u.ID || !slices.Equal(got.AMR, []string{"pwd"}) ||
			!got.RotatedAt.IsZero() || !got.RevokedAt.IsZero() {
			t.Fatalf("refresh token: got %+v", got)
		}
		var gotAT *gatehouse.OIDCAccessToken
		s.view(t, func(tx gatehouse.Tx) (err error) { gotAT, err = tx.AccessToken(at.ID); return })
		if gotAT.FamilyID != "fam1" || gotAT.ClientID != "app1" || !slices.Equal(gotAT.Scopes, at.Scopes) {
			t.Fatalf("access token: got %+v", gotAT)
		}
		s.update(t, func(tx gatehouse.Tx) error {
			return tx.CreateApplication(&gatehouse.Application{ID: gatehouse.NewID(now), ClientID: "app2", Name: "Two",
				RedirectURIs: []string{"https://two.example.com/cb"}, SecretHash: gatehouse.HashToken("s"), CreatedAt: now, UpdatedAt: now})
		})
		two := access("app2", "")
		s.view(t, func(tx gatehouse.Tx) error {
			a, sub, app, err := tx.AccessTokenClient(two.ID)
			if err != nil || a.ID != two.ID || sub.UserID != u.ID || app.ClientID != "app2" || !slices.Equal(app.SecretHash, gatehouse.HashToken("s")) ||
				!slices.Equal(app.RedirectURIs, []string{"https://two.example.com/cb"}) || app.Public || app.ForwardAuthHosts != nil {
				t.Fatalf("access token with its client: got %+v, %+v, %+v, %v", a, sub, app, err)
			}
			// Every field of the token it reads (not the family, company or
			// amr) and of its user, as AccessTokenSubject reads them.
			wantAT, wantSub, err := tx.AccessTokenSubject(two.ID)
			if err == nil {
				wantAT.FamilyID, wantAT.CompanyID, wantAT.AMR = "", "", nil
			}
			if err != nil || !reflect.DeepEqual(a, wantAT) || *sub != *wantSub {
				t.Fatalf("access token with its client: got %+v, %+v; AccessTokenSubject reads %+v, %+v, %v", a, sub, wantAT, wantSub, err)
			}
			// The same, by client ID.
			app, _, err = tx.ClientCredentials("app2")
			if err != nil || app.ClientID != "app2" || !slices.Equal(app.SecretHash, gatehouse.HashToken("s")) ||
				!slices.Equal(app.RedirectURIs, []string{"https://two.example.com/cb"}) || app.Public {
				t.Fatalf("client credentials: got %+v, %v", app, err)
			}
			_, _, err = tx.ClientCredentials("nobody")
			wantCode(t, "credentials of an unknown client", err, gatehouse.ENotFound)
			return nil
		})
		expired := &gatehouse.OIDCAccessToken{ID: gatehouse.NewID(now), OIDCGrant: grant("app1"), CreatedAt: now.Add(-time.Hour), ExpiresAt: now}
		s.update(t, func(tx gatehouse.Tx) error { return tx.CreateAccessToken(expired) })
		// With their user, company and verified address, in one query.
		s.view(t, func(tx gatehouse.Tx) error {
			_, _, err := tx.AccessTokenSubject(expired.ID)
			wantCode(t, "expired access token with its subject", err, gatehouse.ENotFound)
			_, _, err = tx.AccessTokenScopes(expired.ID)
			wantCode(t, "expired access token's scopes", err, gatehouse.ENotFound)
			a, sub, err := tx.AccessTokenSubject(at.ID)
			if err != nil || a.ID != at.ID || a.FamilyID != "fam1" || !slices.Equal(a.Scopes, at.Scopes) || !a.ExpiresAt.Equal(at.ExpiresAt) ||
				sub.UserID != u.ID || sub.Email != u.Email || sub.CompanyName != "Acme" || sub.VerifiedEmail != "" ||
				sub.Role != u.Role || sub.Status != u.Status() {
				t.Fatalf("access token with its subject: got %+v, %+v, %v", a, sub, err)
			}
			// With the client it was issued to (app1 is no registered app: none).
			_, _, _, err = tx.AccessTokenClient(at.ID)
			wantCode(t, "access token of no registered client", err, gatehouse.ENotFound)
			atSub := sub
			r, sub, err := tx.RefreshTokenSubject(rt.TokenHash)
			if err != nil || r.ID != rt.ID || r.FamilyID != "fam1" || !slices.Equal(r.AMR, []string{"pwd"}) ||
				sub.UserID != u.ID || sub.CompanyID != c.ID {
				t.Fatalf("refresh token with its subject: got %+v, %+v, %v", r, sub, err)
			}
			// Every field it reads is RefreshTokenByHash's, and its subject
			// AccessTokenSubject's (the same user): a column out of order
			// fails here.
			byHash, err := tx.RefreshTokenByHash(rt.TokenHash)
			if err != nil || !reflect.DeepEqual(r, byHash) || *sub != *atSub {
				t.Fatalf("refresh token with its subject: got %+v, %+v; RefreshTokenByHash reads %+v, AccessTokenSubject %+v, %v", r, sub, byHash, atSub, err)
			}
			// A token request's read: the client's credentials and the
			// token with its user in one query, whichever client the token
			// is of (the protocol layer compares them).
			wantApp, wantKey, err := tx.ClientCredentials("app2")
			if err != nil {
				t.Fatal(err)
			}
			app, key, r2, sub2, err := tx.TokenRequestRead("app2", rt.TokenHash)
			if err != nil || !reflect.DeepEqual(app, wantApp) || key != wantKey || !reflect.DeepEqual(r2, r) || *sub2 != *sub {
				t.Fatalf("token request's read: got %+v, %q, %+v, %+v, %v; want %+v, %q, %+v, %+v", app, key, r2, sub2, err, wantApp, wantKey, r, sub)
			}
			app, key, r2, sub2, err = tx.TokenRequestRead("app2", gatehouse.HashToken("nope"))
			if err != nil || !reflect.DeepEqual(app, wantApp) || key != wantKey || r2 != nil || sub2 != nil {
				t.Fatalf("token request's read of an unknown token: got %+v, %q, %+v, %+v, %v; want the client alone", app, key, r2, sub2, err)
			}
			app, key, r2, _, err = tx.TokenRequestRead("app2", nil)
			if err != nil || !reflect.DeepEqual(app, wantApp) || key != wantKey || r2 != nil {
				t.Fatalf("token request's read without a token: got %+v, %q, %+v, %v", app, key, r2, err)
			}
			_, _, _, _, err = tx.TokenRequestRead("nobody", rt.TokenHash)
			wantCode(t, "token request's read of an unknown client", err, gatehouse.ENotFound)
			// Userinfo's read: the same subject, and the scopes alone.
			scopes, subOfScopes, err := tx.AccessTokenScopes(at.ID)
			if err != nil || !slices.Equal(scopes, at.Scopes) || *subOfScopes != *sub {
				t.Fatalf("access token's scopes with its subject: got %q, %+v, %v; want %q, %+v", scopes, subOfScopes, err, at.Scopes, sub)
			}
			_, _, err = tx.AccessTokenSubject("nope")
			wantCode(t, "unknown access token with its subject", err, gatehouse.ENotFound)
			_, _, err = tx.AccessTokenScopes("nope")
			wantCode(t, "unknown access token's scopes", err, gatehouse.ENotFound)
			_, _, err = tx.RefreshTokenSubject([]byte("nope"))
			wantCode(t, "unknown refresh token with its subject", err, gatehouse.ENotFound)
			return nil
		})

		wins := 0
		results := make([]bool, 6)
		errs := s.concurrently(6, func(i int, tx gatehouse.Tx) error {
			ok, err := tx.RotateRefreshToken(rt.ID, "succ"+string(rune('a'+i)), []byte("sealed"))
			results[i] = ok
			return err
		})
		for i, ok := range results {
			if errs[i] != nil {
				t.Fatalf("rotate: %v", errs[i])
			}
			if ok {
				wins++
			}
		}
		if wins != 1 {
			t.Fatalf("racing rotations that won: got %d, want 1", wins)
		}
		s.view(t, func(tx gatehouse.Tx) (err error) { got, err = tx.RefreshToken(rt.ID); return })
		if got.RotatedAt.IsZero() || got.SuccessorID == "" || string(got.Successor) != "sealed" {
			t.Fatalf("rotated token: got %+v", got)
		}
		// A refresh's check reads the rotation (reuse detection), not the
		// successor, which the rotation's grace reads with RefreshToken.
		s.view(t, func(tx gatehouse.Tx) error {
			r, _, err := tx.RefreshTokenSubject(rt.TokenHash)
			want := *got
			want.SuccessorID, want.Successor = "", nil
			if err != nil || !reflect.DeepEqual(*r, want) {
				t.Fatalf("rotated token with its subject: got %+v, %v; want %+v", r, err, want)
			}
			_, _, r, _, err = tx.TokenRequestRead("app2", rt.TokenHash)
			if err != nil || r == nil || !reflect.DeepEqual(*r, want) {
				t.Fatalf("token request's read of a rotated token: got %+v, %v; want %+v", r, err, want)
			}
			return nil
		})

		other := refresh("app2", "fam2")
		otherAT := access("app2", "fam2")
		s.wantN(t, "family revoked", 1, func(tx gatehouse.Tx) (int, error) { return tx.RevokeRefreshFamily("fam1") })
		s.view(t, func(tx gatehouse.Tx) error {
			got, _ := tx.RefreshToken(rt.ID)
			if got.RevokedAt.IsZero() || got.Successor != nil {
				t.Errorf("revoked token: got revoked_at %v, successor %q; want revoked, no successor", got.RevokedAt, got.Successor)
			}
			_, err := tx.AccessToken(at.ID)
			wantCode(t, "access token of a revoked family", err, gatehouse.ENotFound)
			_, _, err = tx.AccessTokenSubject(at.ID)
			wantCode(t, "access token of a revoked family with its subject", err, gatehouse.ENotFound)
			_, _, err = tx.AccessTokenScopes(at.ID)
			wantCode(t, "access token of a revoked family's scopes", err, gatehouse.ENotFound)
			if _, err := tx.AccessToken(otherAT.ID); err != nil {
				t.Errorf("another family's access token: %v", err)
			}
			return nil
		})

		third := refresh("app3", "fam3")
		s.wantN(t, "families ended for app2", 1, func(tx gatehouse.Tx) (int, error) { return tx.RevokeOIDCTokens(u.ID, "app2") })
		s.view(t, func(tx gatehouse.Tx) error {
			if got, _ := tx.RefreshToken(other.ID); got.RevokedAt.IsZero() {
				t.Error("app2's refresh token survived its revocation")
			}
			if got, _ := tx.RefreshToken(third.ID); !got.RevokedAt.IsZero() {
				t.Error("app3's refresh token ended with app2's")
			}
			_, err := tx.AccessToken(otherAT.ID)
			wantCode(t, "app2's access token", err, gatehouse.ENotFound)
			return nil
		})
		s.wantN(t, "families ended for every client", 1, func(tx gatehouse.Tx) (int, error) { return tx.RevokeOIDCTokens(u.ID, "") })
		s.view(t, func(tx gatehouse.Tx) error {
			if got, _ := tx.RefreshToken(third.ID); got.RevokedAt.IsZero() {
				t.Error("app3's refresh token survived the end of all")
			}
			return nil
		})
	})
}

// Consents are per user and client, replaced when given again; the
// verified email is kept beside the user.
func TestConsentsAndVerifiedEmail(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *store) {
		c := s.company(t, "Acme")
		u := s.user(t, c.ID, "ann@acme.test", "Ann")
		v := s.user(t, c.ID, "bob@acme.test", "Bob")
		now := s.clock.Now()
		s.update(t, func(tx gatehouse.Tx) error {
			for _, k := range []*gatehouse.OIDCConsent{
				{UserID: u.ID, ClientID: "a", CompanyID: c.ID, Scopes: []string{"openid"}, CreatedAt: now},
				{UserID: u.ID, ClientID: "b", CompanyID: c.ID, Scopes: []string{"openid", "email"}, CreatedAt: now.Add(time.Second)},
				{UserID: v.ID, ClientID: "a", CompanyID: c.ID, Scopes: []string{"openid"}, CreatedAt: now},
				{UserID: u.ID, ClientID: "a", CompanyID: c.ID, Scopes: []string{"openid", "profile"}, CreatedAt: now.Add(2 * time.Second)},
			} {
				if err := tx.SaveConsent(k); err != nil {
					return err
				}
			}
			return nil
		})
		s.view(t, func(tx gatehouse.Tx) error {
			list, err := tx.Consents(u.ID)
			if err != nil {
				return err
			}
			if len(list) != 2 || list[0].ClientID != "b" || list[1].ClientID != "a" ||
				!slices.Equal(list[1].Scopes, []string{"openid", "profile"}) {
				t.Fatalf("consents: got %+v, want b, then a with openid profile", list)
			}
			_, err = tx.Consent(v.ID, "b")
			wantCode(t, "consent never given", err, gatehouse.ENotFound)
			return nil
		})
		s.update(t, func(tx gatehouse.Tx) error {
			if ok, err := tx.DeleteConsent(u.ID, "a"); !ok || err != nil {
				t.Fatalf("delete consent: got %v, %v; want true", ok, err)
			}
			if ok, _ := tx.DeleteConsent(u.ID, "a"); ok {
				t.Fatal("deleted a consent twice")
			}
			if _, err := tx.Consent(v.ID, "a"); err != nil {
				t.Fatalf("another user's consent went too: %v", err)
			}
			return tx.SetVerifiedEmail(u.ID, u.Email)
		})
		s.view(t, func(tx gatehouse.Tx) error {
			got, err := tx.OIDCSubject(u.ID)
			if err != nil || got.VerifiedEmail != u.Email || !got.EmailVerified() || got.Email != u.Email || got.UserID != u.ID ||
				got.Name != "Ann" || got.CompanyID != c.ID || got.CompanyName != "Acme" || got.Status != gatehouse.StatusActive {
				t.Errorf("subject: got %+v, %v; want ann with her verified email and Acme", got, err)
			}
			if got, err := tx.OIDCSubject(v.ID); err != nil || got.VerifiedEmail != "" || got.EmailVerified() {
				t.Errorf("subject of a user who proved no address: got %+v, %v; want none verified", got, err)
			}
			_, err = tx.OIDCSubject("nobody")
			wantCode(t, "subject of no user", err, gatehouse.ENotFound)
			return nil
		})
		// The status, as User.Status tells it, from the columns alone.
		invited := &gatehouse.User{ID: gatehouse.NewID(now), CompanyID: c.ID, Email: "cem@acme.test", Name: "Cem",
			Role: gatehouse.RoleAdmin, CreatedAt: now}
		s.update(t, func(tx gatehouse.Tx) error {
			if err := tx.CreateUser(invited); err != nil {
				return err
			}
			return tx.SetUserDisabled(v.ID, now)
		})
		s.view(t, func(tx gatehouse.Tx) error {
			if got, err := tx.OIDCSubject(invited.ID); err != nil || got.Status != gatehouse.StatusInvited || got.Role != gatehouse.RoleAdmin {
				t.Errorf("subject of an invited admin: got %+v, %v", got, err)
			}
			if got, err := tx.OIDCSubject(v.ID); err != nil || got.Status != gatehouse.StatusDisabled {
				t.Errorf("subject of a disabled user: got %+v, %v", got, err)
			}
			return nil
		})
	})
}
