package sqldb_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/testenv"
	"github.com/gatehouse/gatehouse/sqldb"
)

// On SQLite the writer makes no checkpoint of its own (they would run
// inside its commits, holding it); the checkpointer keeps the log near
// its marks under a stream of writes beside readers, and what was written
// survives closing and opening again.
func TestCheckpointerBoundsTheLog(t *testing.T) {
	ctx := context.Background()
	clock := &testenv.Clock{}
	cfg := testenv.StoreConfig(t, "sqlite", clock)
	db, err := sqldb.Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	s := &store{DB: db, cfg: cfg, clock: clock}
	if n, err := sqldb.WriterAutocheckpoint(s.DB); err != nil || n != 0 {
		t.Fatalf("writer's wal_autocheckpoint: got %d (%v), want 0", n, err)
	}
	const restartAt, truncateAt = 50, 200
	sqldb.SetCheckpointMarks(s.DB, 0, restartAt, truncateAt)
	c := s.company(t, "Acme")

	// Readers keep reading while the writers write, with pauses: readers
	// that never all leave the log can hold it past truncateAt (see
	// checkpointer), and a TRUNCATE that finds one of them reading each
	// time it looks gives up and lets the log grow by another truncateAt.
	// The pauses are long enough that on a loaded machine (-race, other
	// tests) they all leave at some point in most TRUNCATEs' 50 ms, not in
	// every one: the bound below allows for several that give up.
	var stop atomic.Bool
	var readers sync.WaitGroup
	for range 4 {
		readers.Go(func() {
			for !stop.Load() {
				s.View(ctx, func(tx gatehouse.Tx) error {
					_, err := tx.ListUsers(gatehouse.UserFilter{CompanyID: c.ID, Limit: 50})
					return err
				})
				time.Sleep(5 * time.Millisecond)
			}
		})
	}
	// The log's file grows to the most the log held, and shrinks only
	// when a checkpoint empties it: its size, watched, bounds the log.
	wal := filepath.Join(s.cfg.DataDir, "gatehouse.db-wal")
	var maxWAL int64
	readers.Go(func() {
		for !stop.Load() {
			if info, err := os.Stat(wal); err == nil {
				maxWAL = max(maxWAL, info.Size())
			}
			time.Sleep(time.Millisecond)
		}
	})
	const writers, each = 8, 150
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				u := &gatehouse.User{ID: gatehouse.NewID(s.clock.Now()), CompanyID: c.ID, Email: fmt.Sprintf("u%d-%d@example.com", w, i),
					Name: "User", Role: gatehouse.RoleMember, PasswordHash: "$argon2id$fake", CreatedAt: s.clock.Now()}
				if err := s.Update(ctx, func(tx gatehouse.Tx) error { return tx.CreateUser(u) }); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	stop.Store(true)
	readers.Wait()
	passes, gated, truncated, err := sqldb.Checkpoints(s.DB)
	t.Logf("%d checkpoints, %d under the writer, %d emptied the log; log file %d bytes", passes, gated, truncated, maxWAL)
	if err != nil {
		t.Errorf("last checkpoint: %v", err)
	}
	const pageSize = 4096 // SQLite's default; Gatehouse sets none
	// A log page is a frame: 24 bytes of header and the page. The log
	// passes truncateAt by what the writers append while a checkpoint
	// runs, and by another truncateAt for each TRUNCATE that gives up:
	// under -race beside other tests it reached 800 pages (3.3 MB) in ten
	// runs. Without the checkpointer's restarts it holds every page
	// written, some 2,900 (11.9 MB): the bound is half of that.
	if bound := int64(7*truncateAt) * (pageSize + 24); maxWAL > bound {
		t.Errorf("log file: %d bytes, want at most %d (%d pages)", maxWAL, bound, 7*truncateAt)
	}

	// All of it is there after closing and opening again.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	db, err = sqldb.Open(ctx, s.cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	db.View(ctx, func(tx gatehouse.Tx) error {
		users, err := tx.ListUsers(gatehouse.UserFilter{CompanyID: c.ID, Limit: writers * each})
		n = len(users)
		return err
	})
	if n != writers*each {
		t.Errorf("after opening again: %d users, want %d", n, writers*each)
	}
}

// Past truncateAt pages the checkpointer empties the log (a TRUNCATE
// checkpoint) once no reader reads from it.
func TestCheckpointerEmptiesTheLog(t *testing.T) {
	s := openStore(t, "sqlite")
	sqldb.SetCheckpointMarks(s.DB, 0, 1, 1)
	for i := range 20 {
		s.company(t, fmt.Sprintf("Company %d", i))
	}
	wal := filepath.Join(s.cfg.DataDir, "gatehouse.db-wal")
	testenv.WaitUntil(t, "an empty log", func() bool {
		info, err := os.Stat(wal)
		_, _, truncated, _ := sqldb.Checkpoints(s.DB)
		return err == nil && info.Size() == 0 && truncated > 0
	})
	if _, _, _, err := sqldb.Checkpoints(s.DB); err != nil {
		t.Errorf("last checkpoint: %v", err)
	}
	var n int
	if err := s.raw.QueryRow("SELECT count(*) FROM companies").Scan(&n); err != nil || n != 20 {
		t.Errorf("companies after emptying the log: %d (%v), want 20", n, err)
	}
}

// A checkpoint that fails is counted, and said once in the log, not at
// every retry: the log grows until one succeeds, and the operator must
// look at the disk.
func TestCheckpointFailuresAreReported(t *testing.T) {
	ctx := context.Background()
	clock := &testenv.Clock{}
	cfg := testenv.StoreConfig(t, "sqlite", clock)
	var logged testenv.Buffer
	cfg.Log = slog.New(slog.NewTextHandler(&logged, nil))
	db, err := sqldb.Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	s := &store{DB: db, cfg: cfg, clock: clock}
	defer s.Close()
	sqldb.SetCheckpointMarks(s.DB, time.Millisecond, 1000, 20000)
	s.company(t, "Acme")
	testenv.WaitUntil(t, "a checkpoint", func() bool {
		passes, _, _, err := sqldb.Checkpoints(s.DB)
		return passes > 0 && err == nil
	})
	if _, failures, ok := s.DB.CheckpointStats(); !ok || failures != 0 {
		t.Fatalf("before: %d failures (ok %v), want 0", failures, ok)
	}
	if err := sqldb.BreakCheckpointer(s.DB); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		s.company(t, fmt.Sprintf("Company %d", i))
		testenv.WaitUntil(t, "a failed checkpoint", func() bool {
			_, failures, _ := s.DB.CheckpointStats()
			return failures > uint64(i)
		})
	}
	if n := strings.Count(logged.String(), "SQLite checkpoint failed"); n != 1 {
		t.Errorf("the failure logged %d times, want once:\n%s", n, logged.String())
	}
	if !strings.Contains(logged.String(), "level=ERROR") {
		t.Errorf("the failure is not an ERROR line:\n%s", logged.String())
	}
}
