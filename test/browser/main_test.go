package browser_test

import (
	"os"
	"testing"

	"github.com/gatehouse/gatehouse/internal/testenv/browsertest"
)

func TestMain(m *testing.M) { os.Exit(browsertest.Main(m)) }
