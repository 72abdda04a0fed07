//go:build unix

package sqldb_test

import (
	"context"
	"crypto/rand"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
)

// BenchmarkPasskeyCeremony is a passkey ceremony's life in the database
// as a registration, a second factor or a re-authentication lives it (a
// sign-in's is one insert, UseLoginChallenge): made by one transaction,
// consumed by another (both lazy, so that the figure is the writes' and
// not the disk's flushes). cpu-ns/op is the whole process's processor time, the log's
// writes and checkpoints included.
//
//	go test ./sqldb -run '^$' -bench PasskeyCeremony -benchtime 5000x
func BenchmarkPasskeyCeremony(b *testing.B) {
	for _, kind := range storeKinds() {
		b.Run(kind, func(b *testing.B) {
			s := openStore(b, kind)
			ctx := context.Background()
			b.ReportAllocs()
			cpu := cpuTime()
			for b.Loop() {
				hash := make([]byte, 32)
				rand.Read(hash)
				err := s.UpdateLazy(ctx, func(tx gatehouse.Tx) error {
					return tx.CreatePasskeyCeremony(&gatehouse.PasskeyCeremony{ID: gatehouse.NewID(tx.Now()), ChallengeHash: hash,
						Kind: gatehouse.CeremonyLogin, Data: make([]byte, 300), CreatedAt: tx.Now(), ExpiresAt: tx.Now().Add(5 * time.Minute)})
				})
				if err == nil {
					err = s.UpdateLazy(ctx, func(tx gatehouse.Tx) error {
						_, err := tx.ConsumePasskeyCeremony(hash)
						return err
					})
				}
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(cpuTime()-cpu)/float64(b.N), "cpu-ns/op")
		})
	}
}
