package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	ur "usagereport"
)

// runDeliveries prints a month's delivery ledger, recipients included: the
// operator needs them to resolve failed and unknown deliveries, which
// --resolve does.
func runDeliveries(ctx context.Context, e *Env, args []string) error {
	fs := newFlagSet(e, "deliveries", "--store DIR|URL --month YYYY-MM [--resolve sent|pending --org N --recipient ADDR]")
	storeSpec := fs.String("store", "", "the store: a folder (embedded) or a postgres:// URL")
	monthFlag := fs.String("month", "", "the month, YYYY-MM")
	resolve := fs.String("resolve", "", "resolve an unknown or failed delivery: sent (it arrived) or pending (send it again)")
	orgFlag := fs.String("org", "", "the organisation of the delivery to resolve")
	recipient := fs.String("recipient", "", "the recipient of the delivery to resolve")
	if err := parseFlagsNoArgs(fs, args); err != nil {
		return err
	}
	month, err := ur.ParseMonth(*monthFlag)
	if err != nil {
		return usagef("--month: %v", err)
	}
	var key ur.DeliveryKey
	var to ur.DeliveryState
	if *resolve != "" {
		if to, err = ur.ParseDeliveryState(*resolve); err != nil || (to != ur.DeliverySent && to != ur.DeliveryPending) {
			return usagef("--resolve: want sent or pending")
		}
		org, err := ur.ParseOrgString(*orgFlag)
		if err != nil {
			return usagef("--org: %v", err)
		}
		if *recipient == "" {
			return usagef("--resolve needs --org and --recipient")
		}
		key = ur.DeliveryKey{Org: org, Month: month, Recipient: *recipient}
	} else if *orgFlag != "" || *recipient != "" {
		return usagef("--org and --recipient go with --resolve")
	}
	st, err := openStore(ctx, e, *storeSpec)
	if err != nil {
		return err
	}
	defer st.Close()
	ledger, ok := st.(ur.Deliveries)
	if !ok {
		return errors.New("this store has no delivery ledger")
	}
	if *resolve != "" {
		if err := ledger.ResolveDelivery(ctx, key, to); err != nil {
			return err
		}
		fmt.Fprintf(e.Stdout, "%s %s: delivery resolved as %s\n", key.Org, month, to)
		return nil
	}
	ds, err := ledger.ListDeliveries(ctx, month)
	if err != nil {
		return err
	}
	if len(ds) == 0 {
		fmt.Fprintf(e.Stdout, "%s: no deliveries\n", month)
		return nil
	}
	tw := tabwriter.NewWriter(e.Stdout, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "ORG\tRECIPIENT\tSTATE\tATTEMPTS\tUPDATED\tMESSAGE-ID\tLAST ERROR")
	counts := map[ur.DeliveryState]int{}
	for _, d := range ds {
		counts[d.State]++
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%s\n", d.Org, d.Recipient, d.State, d.Attempts,
			d.UpdatedAt.UTC().Format(time.RFC3339), ledgerCell(d.MessageID), ledgerCell(d.LastError))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(e.Stdout, "%s: %d deliveries: %d sent, %d failed, %d unknown, %d pending, %d sending\n", month, len(ds),
		counts[ur.DeliverySent], counts[ur.DeliveryFailed], counts[ur.DeliveryUnknown], counts[ur.DeliveryPending], counts[ur.DeliverySending])
	return nil
}

// ledgerCell shows s on one line, "-" when empty.
func ledgerCell(s string) string {
	if s = strings.Join(strings.Fields(s), " "); s == "" {
		return "-"
	}
	return s
}
