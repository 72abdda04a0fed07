package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/password"
)

// openWithSelfTest opens an installation in a fresh folder as if argon2id's
// self-test had returned result, and returns what Open returned and logged.
func openWithSelfTest(t *testing.T, result error) (*App, string, error) {
	saved := hashSelfTest
	hashSelfTest = func() error { return result }
	defer func() { hashSelfTest = saved }()
	var log bytes.Buffer
	a, err := Open(context.Background(), Options{DataDir: t.TempDir(), Log: slog.New(slog.NewTextHandler(&log, nil))})
	if a != nil {
		t.Cleanup(func() { a.Close() })
	}
	return a, log.String(), err
}

// A self-test that found the AVX2 path wrong is an ERROR line saying what
// the node does instead, and the node starts; one that found the Go path
// wrong stops the start.
func TestOpenActsOnTheHashSelfTest(t *testing.T) {
	_, log, err := openWithSelfTest(t, nil)
	if err != nil || strings.Contains(log, "level=ERROR") {
		t.Errorf("self-test passed: got %v, log %q; want a start and no error logged", err, log)
	}

	_, log, err = openWithSelfTest(t, fmt.Errorf("%w: RFC 9106 section 5.3: AVX2 gives 00, Go gives 01", password.ErrAcceleratedOff))
	if err != nil {
		t.Errorf("AVX2 path wrong: Open: %v, want a start on the Go path", err)
	}
	if !strings.Contains(log, "level=ERROR") || !strings.Contains(log, "hashed with the Go implementation instead") ||
		!strings.Contains(log, "AVX2 gives 00, Go gives 01") {
		t.Errorf("AVX2 path wrong: log %q, want an ERROR line saying the Go path is used, with the difference", log)
	}

	goWrong := errors.New("argon2id: self-test: the Go compression function fails RFC 9106 section 5.3")
	if a, _, err := openWithSelfTest(t, goWrong); a != nil || !errors.Is(err, goWrong) {
		t.Errorf("Go path wrong: got %v, %v; want no installation and the self-test's error", a, err)
	}
}
