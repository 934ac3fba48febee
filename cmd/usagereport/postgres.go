package main

import (
	"context"

	ur "usagereport"
	"usagereport/postgres"
)

// openPostgres opens the PostgreSQL store, applying its migrations.
func openPostgres(ctx context.Context, e *Env, url string) (ur.Backend, error) {
	s, err := postgres.Open(ctx, url, e.Logger)
	if err != nil {
		return nil, err // not a typed nil in the interface
	}
	return s, nil
}
