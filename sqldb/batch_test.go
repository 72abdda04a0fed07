package sqldb_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/testenv"
	"github.com/gatehouse/gatehouse/sqldb"
)

// batchOf runs first's Update on s, and while it holds SQLite's writer,
// queues the others' behind it in their order, so that all of them run
// in one batch (sqldb's batch.go). It returns each Update's error, and
// each one's panic, if it panicked, in the order given.
func batchOf(t *testing.T, s *store, first func(tx gatehouse.Tx) error, others ...func(tx gatehouse.Tx) error) (errs []error, panics []any) {
	t.Helper()
	// However slow the machine, the batch waits for all of them.
	sqldb.SetBatchAge(s.DB, time.Hour)
	ctx := context.Background()
	errs = make([]error, 1+len(others))
	panics = make([]any, 1+len(others))
	var wg sync.WaitGroup
	run := func(i int, fn func(tx gatehouse.Tx) error) {
		wg.Go(func() {
			defer func() { panics[i] = recover() }()
			errs[i] = s.Update(ctx, fn)
		})
	}
	run(0, func(tx gatehouse.Tx) error {
		for i, fn := range others {
			run(i+1, fn)
			testenv.WaitUntil(t, fmt.Sprintf("%d updates waiting for the writer", i+1), func() bool {
				return sqldb.WritersWaiting(s.DB) == i+1
			})
		}
		return first(tx)
	})
	wg.Wait()
	return errs, panics
}

// createCompany is an Update's fn that creates the company id.
func createCompany(s *store, id string) func(tx gatehouse.Tx) error {
	return func(tx gatehouse.Tx) error {
		return tx.CreateCompany(&gatehouse.Company{ID: id, Name: id, CreatedAt: s.clock.Now()})
	}
}

// companiesThere says which of ids are in the database.
func (s *store) companiesThere(t *testing.T, ids ...string) []string {
	t.Helper()
	var there []string
	s.view(t, func(tx gatehouse.Tx) error {
		for _, id := range ids {
			_, err := tx.Company(id)
			if err == nil {
				there = append(there, id)
			} else if gatehouse.ErrorCode(err) != gatehouse.ENotFound {
				return err
			}
		}
		return nil
	})
	return there
}

// Updates that wait for SQLite's writer share one commit; one whose fn
// fails takes back its own writes only.
func TestBatchedUpdatesShareACommit(t *testing.T) {
	s := openStore(t, "sqlite")
	before, _, _ := sqldb.WALCommits(s.DB)
	txsBefore, commitsBefore, _ := s.WriteStats()
	refused := errors.New("refused")
	errs, _ := batchOf(t, s, createCompany(s, "a"),
		func(tx gatehouse.Tx) error {
			if err := createCompany(s, "b")(tx); err != nil {
				return err
			}
			return refused
		},
		createCompany(s, "c"))
	if errs[0] != nil || !errors.Is(errs[1], refused) || errs[2] != nil {
		t.Fatalf("got errors %v, want nil, %v, nil", errs, refused)
	}
	if got := fmt.Sprint(s.companiesThere(t, "a", "b", "c")); got != "[a c]" {
		t.Errorf("companies: got %s, want [a c]", got)
	}
	after, flushed, _ := sqldb.WALCommits(s.DB)
	if after-before != 1 {
		t.Errorf("three updates made %d commits, want 1", after-before)
	}
	if flushed < after {
		t.Errorf("the updates returned with their commit not flushed")
	}
	if txs, commits, ok := s.WriteStats(); !ok || txs-txsBefore != 2 || commits-commitsBefore != 1 {
		t.Errorf("WriteStats: got %d transactions in %d commits (ok %v), want 2 in 1", txs-txsBefore, commits-commitsBefore, ok)
	}
	// The writer is free again.
	s.update(t, createCompany(s, "d"))
}

// A statement that ends the whole transaction (as SQLite does on a full
// disk) fails every Update of the batch, the ones that had finished too:
// their writes are gone, and they say so.
func TestBatchFailsTogether(t *testing.T) {
	clock := &testenv.Clock{}
	cfg := testenv.StoreConfig(t, "sqlite", clock)
	var logged testenv.Buffer
	cfg.Log = slog.New(slog.NewTextHandler(&logged, nil))
	s := &store{DB: testenv.OpenStore(t, cfg), cfg: cfg, clock: clock}
	errs, _ := batchOf(t, s, createCompany(s, "a"),
		func(tx gatehouse.Tx) error {
			if err := createCompany(s, "b")(tx); err != nil {
				return err
			}
			return sqldb.ExecRaw(tx, "ROLLBACK")
		})
	for i, err := range errs {
		if gatehouse.ErrorCode(err) != gatehouse.EUnavailable {
			t.Errorf("update %d: got %v, want EUnavailable", i, err)
		}
	}
	if there := s.companiesThere(t, "a", "b"); len(there) != 0 {
		t.Errorf("companies of the failed batch: got %v, want none", there)
	}
	// The operator hears of it once, with SQLite's reason.
	if got := logged.String(); strings.Count(got, "level=ERROR") != 1 || !strings.Contains(got, "requests=2") ||
		!strings.Contains(got, "no such savepoint") {
		t.Errorf("log: got %q, want one ERROR line for the 2 requests with SQLite's reason", got)
	}
	s.update(t, createCompany(s, "c"))
	if got := fmt.Sprint(s.companiesThere(t, "c")); got != "[c]" {
		t.Errorf("after the failed batch: got %s, want [c]", got)
	}
}

// An Update whose fn panics takes back its own writes; the others of its
// batch commit, and the writer is not left held.
func TestBatchSurvivesAPanic(t *testing.T) {
	s := openStore(t, "sqlite")
	before, _, _ := sqldb.WALCommits(s.DB)
	errs, panics := batchOf(t, s, createCompany(s, "a"),
		func(tx gatehouse.Tx) error {
			if err := createCompany(s, "b")(tx); err != nil {
				return err
			}
			panic("boom")
		},
		createCompany(s, "c"))
	if panics[1] != "boom" || panics[0] != nil || panics[2] != nil {
		t.Fatalf("got panics %v, want only the second's", panics)
	}
	if errs[0] != nil || errs[2] != nil {
		t.Fatalf("got errors %v, want none from the first and the last", errs)
	}
	if got := fmt.Sprint(s.companiesThere(t, "a", "b", "c")); got != "[a c]" {
		t.Errorf("companies: got %s, want [a c]", got)
	}
	if after, _, _ := sqldb.WALCommits(s.DB); after-before != 1 {
		t.Errorf("the batch made %d commits, want 1", after-before)
	}
	s.update(t, createCompany(s, "d"))
}
