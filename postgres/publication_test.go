package postgres

import (
	"testing"

	"usagereport/internal/pubtest"
)

func TestPublications(t *testing.T) {
	s, _ := mustOpen(t)
	pubtest.Run(t, s)
}
