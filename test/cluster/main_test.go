package cluster

import (
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// binaryDir holds the gatehouse command, built by the first test that
// needs it (inside the tests, so that the go command's test cache sees the
// sources it reads) and removed by TestMain.
var (
	binaryDir string
	buildOnce sync.Once
	binary    string
	buildErr  error
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "gatehouse-cluster-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	binaryDir = dir
	return m.Run()
}

// gatehouseBinary builds ./cmd/gatehouse once and returns its path.
func gatehouseBinary() (string, error) {
	buildOnce.Do(func() {
		if buildErr = readSources(filepath.Join("..", "..")); buildErr != nil {
			return
		}
		path := filepath.Join(binaryDir, "gatehouse")
		build := exec.Command(goCommand(), "build", "-o", path, "github.com/gatehouse/gatehouse/cmd/gatehouse")
		if out, err := build.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("build gatehouse: %v\n%s", err, out)
			return
		}
		binary = path
	})
	return binary, buildErr
}

// readSources reads every file of the module the binary is built from. The
// go command caches a test's result until a file the test opened changes;
// it cannot see what the go build below reads, so without this a change to
// the service would not rerun these tests.
func readSources(root string) error {
	return filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "testdata" || path == filepath.Join(root, "test")) {
			return filepath.SkipDir
		}
		if d.Type().IsRegular() && !strings.HasSuffix(path, "_test.go") {
			_, err = os.ReadFile(path)
		}
		return err
	})
}

// goCommand is the go command of the toolchain running the tests.
func goCommand() string {
	if p := filepath.Join(runtime.GOROOT(), "bin", "go"); fileExists(p) {
		return p
	}
	return "go"
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
