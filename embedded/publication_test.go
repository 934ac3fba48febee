package embedded

import (
	"testing"

	"usagereport/internal/pubtest"
)

func TestPublications(t *testing.T) { pubtest.Run(t, openTest(t, t.TempDir())) }
