package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	ur "usagereport"
)

func runToken(ctx context.Context, e *Env, args []string) error {
	if err := needSubcommand(e, args, "usagereport token create|list|revoke --store DIR|URL [flags] (each has --help)"); err != nil {
		return err
	}
	sub, args := args[0], args[1:]
	switch sub {
	case "create":
		return runTokenCreate(ctx, e, args)
	case "list":
		return runTokenList(ctx, e, args)
	case "revoke":
		return runTokenRevoke(ctx, e, args)
	}
	return usagef("unknown subcommand token %s: want create, list or revoke", sub)
}

// runTokenCreate makes a token and prints it once, on standard output
// alone so that a script can capture it; the store keeps only its hash.
func runTokenCreate(ctx context.Context, e *Env, args []string) error {
	fs := newFlagSet(e, "token create", "--store DIR|URL --org N [--name LABEL]")
	storeSpec := storeFlag(fs)
	orgFlag := fs.String("org", "", "the organisation number (9 digits) whose reports the token opens")
	name := fs.String("name", "", "a label to tell tokens apart, e.g. finance")
	if err := parseFlagsNoArgs(fs, args); err != nil {
		return err
	}
	org, err := ur.ParseOrgString(*orgFlag)
	if err != nil {
		return usagef("--org: %v", err)
	}
	if len(*name) > 200 || strings.ContainsFunc(*name, func(r rune) bool { return r < ' ' || r == 0x7f }) {
		return usagef("--name: at most 200 characters, no control characters")
	}
	return withStore(ctx, e, *storeSpec, func(st ur.Backend) error {
		// A token for an organisation the store does not serve is a typo.
		if _, err := st.Org(ctx, org); errors.Is(err, ur.ErrNotFound) {
			return fmt.Errorf("organisation %s is not in the registry: add it first with 'usagereport org add'", org)
		} else if err != nil {
			return err
		}
		token := ur.NewToken()
		id, err := st.CreateToken(ctx, org, *name, ur.TokenHash(token))
		if err != nil {
			return err
		}
		fmt.Fprintln(e.Stdout, token)
		fmt.Fprintf(e.Stderr, "Token %d for organisation %s created. It is shown only now; the store keeps only its hash.\n", id, org)
		return nil
	})
}

func runTokenList(ctx context.Context, e *Env, args []string) error {
	fs := newFlagSet(e, "token list", "--store DIR|URL [--org N]")
	storeSpec := storeFlag(fs)
	orgFlag := fs.String("org", "", "list only this organisation's tokens")
	if err := parseFlagsNoArgs(fs, args); err != nil {
		return err
	}
	var org ur.Org
	if *orgFlag != "" {
		var err error
		if org, err = ur.ParseOrgString(*orgFlag); err != nil {
			return usagef("--org: %v", err)
		}
	}
	return withStore(ctx, e, *storeSpec, func(st ur.Backend) error {
		ts, err := st.ListTokens(ctx, org)
		if err != nil {
			return err
		}
		tw := newTable(e.Stdout, "ID\tORG\tNAME\tCREATED\tREVOKED")
		for _, t := range ts {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", t.ID, t.Org, orDash(t.Name), t.CreatedAt.UTC().Format(time.RFC3339), timeOrDash(t.RevokedAt))
		}
		return tw.Flush()
	})
}

// timeOrDash writes t in RFC 3339, UTC, or "-" for the zero time.
func timeOrDash(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func runTokenRevoke(ctx context.Context, e *Env, args []string) error {
	fs := newFlagSet(e, "token revoke", "--store DIR|URL ID")
	storeSpec := storeFlag(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("want one token ID (see 'usagereport token list')")
	}
	id, err := strconv.ParseInt(fs.Arg(0), 10, 64)
	if err != nil || id <= 0 {
		return usagef("token ID %q is not a positive number", fs.Arg(0))
	}
	return withStore(ctx, e, *storeSpec, func(st ur.Backend) error {
		if err := st.RevokeToken(ctx, id); err != nil {
			return err
		}
		fmt.Fprintf(e.Stderr, "Token %d revoked; its sessions end with it.\n", id)
		return nil
	})
}
