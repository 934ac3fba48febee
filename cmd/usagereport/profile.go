package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	ur "usagereport"
	"usagereport/ingest"
)

// loadProfile reads a mapping profile; "" means none (CSV v1).
func loadProfile(path string) (*ingest.Profile, error) {
	if path == "" {
		return nil, nil
	}
	f, err := os.Open(path)
	if err != nil {
		// A profile that cannot be opened is a bad argument (exit 2).
		return nil, usagef("--profile %s: %v", path, errors.Unwrap(err))
	}
	defer f.Close()
	p, err := ingest.ParseProfile(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
}

// runProfile is `usagereport profile check`: it reads the first rows of a
// sample export through a profile and shows what would be kept, so that an
// operator can write a profile without guessing. It shows kept fields as
// the record holds them (the subscriber only as whether it is valid, the
// time only as its month) and dropped columns by name, never their values.
func runProfile(ctx context.Context, e *Env, args []string) error {
	if err := needSubcommand(e, args, "usagereport profile check --profile FILE [--rows N] SAMPLE"); err != nil {
		return err
	}
	if args[0] != "check" {
		return usagef("unknown subcommand %q: want usagereport profile check", args[0])
	}
	fs := newFlagSet(e, "profile check", "--profile FILE [--rows N] SAMPLE")
	profileFile := fs.String("profile", "", "the mapping profile (TOML)")
	rows := fs.Int("rows", 10, "how many rows to show")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	if *profileFile == "" || fs.NArg() != 1 {
		return usagef("need --profile FILE and one SAMPLE")
	}
	if *rows < 1 {
		return usagef("--rows must be at least 1")
	}
	prof, err := loadProfile(*profileFile)
	if err != nil {
		return err
	}
	// The pseudonyms made here are never shown: a throwaway key will do,
	// and no store's key is needed.
	key := make([]byte, ingest.MinKeyLen)
	rand.Read(key)
	pseudo, err := ingest.NewPseudonymizer(key)
	if err != nil {
		return err
	}
	oslo, err := ingest.NewOslo()
	if err != nil {
		return fmt.Errorf("load Europe/Oslo: %w", err)
	}
	w := e.Stdout
	name := prof.Name()
	if name == "" {
		name = filepath.Base(*profileFile)
	}
	fmt.Fprintf(w, "profile: %s\nreads: %s\nkept fields:\n", name, prof.Describe())
	for _, m := range prof.Mapping() {
		src := "(not mapped)"
		if len(m.Sources) > 0 {
			q := make([]string, len(m.Sources))
			for i, s := range m.Sources {
				q[i] = fmt.Sprintf("%q", s)
			}
			src = "<- " + strings.Join(q, " + ")
		}
		fmt.Fprintf(w, "  %-13s %s\n", m.Field, src)
	}

	path := fs.Arg(0)
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("%s: %w", filepath.Base(path), errors.Unwrap(err))
	}
	defer f.Close()
	r, err := prof.Open(f, filepath.Base(path), pseudo, oslo)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "first rows:\n")
	good, bad := 0, 0
	var rec ur.Record
	for n := 0; n < *rows; n++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		err := r.Read(&rec)
		var rej *ingest.Rejection
		switch {
		case err == io.EOF:
			n = *rows
			continue
		case errors.As(err, &rej):
			bad++
			fmt.Fprintf(w, "  rejected %v\n", rej)
			continue
		case err != nil:
			return err
		}
		good++
		fmt.Fprintf(w, "  line %d: %s\n", r.Line(), describeRecord(&rec))
	}
	fmt.Fprintf(w, "%d rows read: %d would be stored, %d rejected\n", good+bad, good, bad)
	if dropped := r.Dropped(); len(dropped) == 0 {
		fmt.Fprintln(w, "dropped columns: none")
	} else {
		fmt.Fprintf(w, "dropped columns (by name; never read): %s\n", strings.Join(dropped, ", "))
	}
	return nil
}

// describeRecord shows a record's kept fields. The subscriber is only said
// to be valid: its pseudonym means nothing to a reader, and the number is
// gone.
func describeRecord(r *ur.Record) string {
	cc := r.CostCentre
	if cc == "" {
		cc = ur.Unassigned
	}
	return fmt.Sprintf("org_number %s, subscriber <valid E.164, pseudonymised>, cost_centre %q, month %s, service %s, duration_s %d, volume_bytes %d, zone %s, charge %s",
		r.Org, cc, r.Month, r.Service, r.DurationS, r.VolumeBytes, r.Zone, r.Charge)
}
