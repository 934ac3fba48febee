package main

import (
	"context"
	"errors"

	ur "usagereport"
)

// openPostgres opens the PostgreSQL store.
func openPostgres(ctx context.Context, e *Env, url string) (ur.Store, error) {
	return nil, errors.New("the PostgreSQL store is not built into this version; use a folder for the embedded store")
}
