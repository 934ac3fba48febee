package postgres

import (
	"context"
	"testing"

	"usagereport/internal/orgtest"
)

func TestRegistry(t *testing.T) {
	s, url := mustOpen(t)
	orgtest.Registry(t, s, func() orgtest.Store {
		s2, err := Open(context.Background(), url, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s2.Close() })
		return s2
	})
}
