package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"
	"time"

	ur "usagereport"
	"usagereport/suppress"
)

// recipientList is a repeatable --recipient flag.
type recipientList []string

func (l *recipientList) String() string { return strings.Join(*l, ",") }

func (l *recipientList) Set(s string) error {
	s = strings.TrimSpace(s)
	if s == "" || !strings.Contains(s, "@") || strings.ContainsAny(s, " \t\r\n,;") {
		return errors.New("want one email address")
	}
	*l = append(*l, s)
	return nil
}

// dateLayout is how dates are given on the command line.
const dateLayout = "2006-01-02"

func runOrg(ctx context.Context, e *Env, args []string) error {
	if err := needSubcommand(e, args, "usagereport org add|list|set|remove --store DIR|URL [flags] (each has --help)"); err != nil {
		return err
	}
	sub, args := args[0], args[1:]
	switch sub {
	case "add", "set":
		return runOrgPut(ctx, e, sub, args)
	case "list":
		return runOrgList(ctx, e, args)
	case "remove":
		return runOrgRemove(ctx, e, args)
	}
	return usagef("unknown subcommand org %s: want add, list, set or remove", sub)
}

func runOrgPut(ctx context.Context, e *Env, sub string, args []string) error {
	fs := newFlagSet(e, "org "+sub, "--store DIR|URL --org N [--name NAME] [--agreement-end YYYY-MM-DD] [--recipient EMAIL]... [--min-group K]")
	storeSpec := storeFlag(fs)
	orgFlag := fs.String("org", "", "the organisation number (9 digits)")
	name := fs.String("name", "", "the organisation's name")
	end := fs.String("agreement-end", "", "last day of the agreement, YYYY-MM-DD; its records are purged 6 months later (set: empty clears it)")
	var recipients recipientList
	fs.Var(&recipients, "recipient", "an email address for the monthly report (repeatable; set: replaces the list)")
	minK := fs.Int("min-group", 0, fmt.Sprintf("this organisation's minimum group size when larger than the run's; 0 for none, else at least %d", suppress.MinGroupSizeFloor))
	if err := parseFlagsNoArgs(fs, args); err != nil {
		return err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if !set["org"] {
		return usagef("--org is required")
	}
	org, err := ur.ParseOrgString(*orgFlag)
	if err != nil {
		return usagef("--org: %v", err)
	}
	if sub == "add" && strings.TrimSpace(*name) == "" {
		return usagef("--name is required")
	}
	var endDate time.Time
	if *end != "" {
		if endDate, err = time.Parse(dateLayout, *end); err != nil {
			return usagef("--agreement-end: want YYYY-MM-DD")
		}
	}
	if *minK != 0 && *minK < suppress.MinGroupSizeFloor {
		return usagef("--min-group: %d is below the floor of %d (0 for none)", *minK, suppress.MinGroupSizeFloor)
	}

	return withStore(ctx, e, *storeSpec, func(st ur.Backend) error {
		o, err := st.Org(ctx, org)
		switch {
		case sub == "add" && err == nil:
			return fmt.Errorf("organisation %s is registered already: use 'org set' to change it", org)
		case sub == "add" && errors.Is(err, ur.ErrNotFound):
			o = ur.OrgInfo{Org: org}
		case sub == "set" && errors.Is(err, ur.ErrNotFound):
			return fmt.Errorf("organisation %s is not registered: use 'org add'", org)
		case err != nil:
			return err
		}
		if set["name"] {
			if strings.TrimSpace(*name) == "" {
				return usagef("--name may not be empty")
			}
			o.Name = strings.TrimSpace(*name)
		}
		if set["agreement-end"] {
			o.AgreementEnd = endDate
		}
		if set["recipient"] {
			o.Recipients = recipients
		}
		if set["min-group"] {
			o.MinGroupSize = *minK
		}
		if err := st.PutOrg(ctx, o); err != nil {
			return err
		}
		verb := "added"
		if sub == "set" {
			verb = "updated"
		}
		fmt.Fprintf(e.Stdout, "%s organisation %s\n", verb, org)
		return nil
	})
}

func runOrgList(ctx context.Context, e *Env, args []string) error {
	fs := newFlagSet(e, "org list", "--store DIR|URL [--recipients]")
	storeSpec := storeFlag(fs)
	showRecipients := fs.Bool("recipients", false, "show the recipients' addresses (personal data), not only their number")
	if err := parseFlagsNoArgs(fs, args); err != nil {
		return err
	}
	return withStore(ctx, e, *storeSpec, func(st ur.Backend) error {
		orgs, err := st.Orgs(ctx)
		if err != nil {
			return err
		}
		if len(orgs) == 0 {
			fmt.Fprintln(e.Stdout, "no organisations registered")
			return nil
		}
		tw := newTable(e.Stdout, "ORG\tNAME\tAGREEMENT END\tMIN GROUP\tRECIPIENTS")
		for _, o := range orgs {
			end, k := "-", "-"
			if !o.AgreementEnd.IsZero() {
				end = o.AgreementEnd.Format(dateLayout)
			}
			if o.MinGroupSize > 0 {
				k = fmt.Sprint(o.MinGroupSize)
			}
			rcpt := fmt.Sprint(len(o.Recipients))
			if *showRecipients && len(o.Recipients) > 0 {
				rcpt = strings.Join(o.Recipients, ", ")
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", o.Org, o.Name, end, k, rcpt)
		}
		return tw.Flush()
	})
}

func runOrgRemove(ctx context.Context, e *Env, args []string) error {
	fs := newFlagSet(e, "org remove", "--store DIR|URL --org N")
	storeSpec := storeFlag(fs)
	orgFlag := fs.String("org", "", "the organisation number (9 digits)")
	if err := parseFlagsNoArgs(fs, args); err != nil {
		return err
	}
	if *orgFlag == "" {
		return usagef("--org is required")
	}
	org, err := ur.ParseOrgString(*orgFlag)
	if err != nil {
		return usagef("--org: %v", err)
	}
	return withStore(ctx, e, *storeSpec, func(st ur.Backend) error {
		if err := st.RemoveOrg(ctx, org); err != nil {
			return err
		}
		fmt.Fprintf(e.Stdout, "removed organisation %s from the registry and revoked its access tokens; a running serve refuses it at once (its records stay until purged by retention)\n", org)
		return nil
	})
}
