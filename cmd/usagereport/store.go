package main

import (
	"context"
	"encoding/hex"
	"fmt"
	"os"
	"strings"

	ur "usagereport"
	"usagereport/embedded"
)

// Environment variables of every command that opens a store.
const (
	// envKey holds the pseudonym key, hex encoded (at least 32 bytes).
	envKey = "USAGEREPORT_PSEUDONYM_KEY"
)

// openStore opens the store named by spec: a postgres:// URL, or a folder
// for the embedded store.
func openStore(ctx context.Context, e *Env, spec string) (ur.Store, error) {
	if spec == "" {
		return nil, usagef("--store is required (a folder, or a postgres:// URL)")
	}
	if strings.HasPrefix(spec, "postgres://") || strings.HasPrefix(spec, "postgresql://") {
		return openPostgres(ctx, e, spec)
	}
	s, err := embedded.Open(ctx, spec, e.Logger)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// pseudonymKey returns the key for subscriber pseudonyms: from --key-file,
// else from the environment, else the store's own.
func pseudonymKey(ctx context.Context, e *Env, s ur.Store, keyFile string) ([]byte, error) {
	var key []byte
	switch {
	case keyFile != "":
		b, err := os.ReadFile(keyFile)
		if err != nil {
			return nil, fmt.Errorf("read pseudonym key file: %w", err)
		}
		key, err = decodeKey(strings.TrimSpace(string(b)))
		if err != nil {
			return nil, fmt.Errorf("pseudonym key file %s: %w", keyFile, err)
		}
	case e.Getenv(envKey) != "":
		var err error
		key, err = decodeKey(strings.TrimSpace(e.Getenv(envKey)))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", envKey, err)
		}
	default:
		return s.PseudonymKey(ctx)
	}
	return key, nil
}

func decodeKey(s string) ([]byte, error) {
	key, err := hex.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("the key must be hex encoded")
	}
	if len(key) < 32 {
		return nil, fmt.Errorf("the key must be at least 32 bytes (64 hex digits), got %d", len(key))
	}
	return key, nil
}
