//go:build unix

package sqldb_test

import (
	"context"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
)

// BenchmarkAccessTokenClient is the query behind every introspection
// (auth.CheckClientAccess): an access token with its client and its user,
// through View, among the access tokens of 1,000 users of one app.
// Figures are in docs/BENCHMARKS.md, "OpenID Connect".
//
//	go test ./sqldb -run '^$' -bench AccessTokenClient -benchmem -benchtime 20000x
func BenchmarkAccessTokenClient(b *testing.B) {
	benchLookups(b, (*store).accessTokens, func(tx gatehouse.Tx, id string) error {
		at, sub, app, err := tx.AccessTokenClient(id)
		if err == nil && (at.UserID != sub.UserID || app.ClientID != "app1") {
			err = fmt.Errorf("got token of %s with user %s and client %s", at.UserID, sub.UserID, app.ClientID)
		}
		return err
	})
}

// BenchmarkRefreshTokenSubject is the query behind every refresh's check
// (auth.ReadTokenRequest): a refresh token by its hash with its user,
// through View, among the refresh tokens of 1,000 users of one app.
//
//	go test ./sqldb -run '^$' -bench RefreshTokenSubject -benchmem -benchtime 20000x
func BenchmarkRefreshTokenSubject(b *testing.B) {
	benchLookups(b, (*store).refreshTokens, func(tx gatehouse.Tx, hash []byte) error {
		rt, sub, err := tx.RefreshTokenSubject(hash)
		if err == nil && (rt.UserID != sub.UserID || rt.ClientID != "app1") {
			err = fmt.Errorf("got token of %s with user %s and client %s", rt.UserID, sub.UserID, rt.ClientID)
		}
		return err
	})
}

// benchLookups runs lookup through View on each database, one call after
// another, on each of the 1,000 keys that setup makes in turn.
func benchLookups[K any](b *testing.B, setup func(s *store, t testing.TB, n int) []K, lookup func(tx gatehouse.Tx, key K) error) {
	for _, kind := range storeKinds() {
		b.Run(kind, func(b *testing.B) {
			s := openStore(b, kind)
			keys := setup(s, b, 1000)
			ctx := context.Background()
			b.ReportAllocs()
			cpu := cpuTime()
			i := 0
			for b.Loop() {
				if err := s.View(ctx, func(tx gatehouse.Tx) error { return lookup(tx, keys[i%len(keys)]) }); err != nil {
					b.Fatal(err)
				}
				i++
			}
			b.ReportMetric(float64(cpuTime()-cpu)/float64(b.N), "cpu-ns/op")
		})
	}
}

// refreshTokens makes n users of one company with a refresh token of
// app1 each; it returns the tokens' hashes.
func (s *store) refreshTokens(t testing.TB, n int) [][]byte {
	t.Helper()
	hashes := make([][]byte, n)
	s.members(t, n, func(tx gatehouse.Tx, u *gatehouse.User, i int) error {
		now := tx.Now()
		_, hashes[i] = gatehouse.NewToken()
		return tx.CreateRefreshToken(&gatehouse.OIDCRefreshToken{ID: gatehouse.NewID(now), TokenHash: hashes[i],
			FamilyID: fmt.Sprintf("fam%04d", i), OIDCGrant: gatehouse.OIDCGrant{ClientID: "app1", UserID: u.ID, CompanyID: u.CompanyID,
				Scopes: []string{"openid", "offline_access"}, AuthTime: now, AMR: []string{"pwd"}},
			CreatedAt: now, ExpiresAt: now.Add(time.Hour)})
	})
	return hashes
}

// cpuTime is the processor time the process has used, the collector's
// included: on a shared machine it varies less than ns/op.
func cpuTime() int64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// accessTokens registers app1 and makes n users of one company with an
// access token of it each; it returns the tokens' IDs.
func (s *store) accessTokens(t testing.TB, n int) []string {
	t.Helper()
	s.update(t, func(tx gatehouse.Tx) error {
		now := tx.Now()
		return tx.CreateApplication(&gatehouse.Application{ID: gatehouse.NewID(now), ClientID: "app1", Name: "One",
			RedirectURIs: []string{"https://one.example.com/cb"}, SecretHash: gatehouse.HashToken("s"), CreatedAt: now, UpdatedAt: now})
	})
	ids := make([]string, n)
	s.members(t, n, func(tx gatehouse.Tx, u *gatehouse.User, i int) error {
		now := tx.Now()
		ids[i] = gatehouse.NewID(now)
		return tx.CreateAccessToken(&gatehouse.OIDCAccessToken{ID: ids[i], OIDCGrant: gatehouse.OIDCGrant{ClientID: "app1",
			UserID: u.ID, CompanyID: u.CompanyID, Scopes: []string{"openid", "offline_access"}, AuthTime: now},
			CreatedAt: now, ExpiresAt: now.Add(time.Hour)})
	})
	return ids
}
