package postgres

import (
	"context"
	"testing"

	ur "usagereport"
	"usagereport/internal/orgtest"
)

func TestTokens(t *testing.T) {
	s, _ := mustOpen(t)
	_, tokB := orgtest.Tokens(t, s)
	// The hash is unique: a second token with the same hash is refused.
	if _, err := s.CreateToken(context.Background(), orgB, "", ur.TokenHash(tokB)); err == nil {
		t.Errorf("CreateToken with a hash already stored: no error")
	}
}

func TestAuditLog(t *testing.T) {
	s, _ := mustOpen(t)
	orgtest.AuditLog(t, s)
}

func TestRemoveOrgRevokesTokens(t *testing.T) {
	s, _ := mustOpen(t)
	orgtest.RemoveOrgRevokesTokens(t, s)
}
