package schedule

import (
	"os"
	"testing"

	"usagereport/internal/leakcheck"
)

// TestMain fails the run when a test leaves a goroutine behind.
func TestMain(m *testing.M) { os.Exit(leakcheck.Run(m)) }
