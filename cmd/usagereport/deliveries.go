package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	ur "usagereport"
	"usagereport/mail"
)

// runDeliveries prints a month's delivery ledger, recipients included: the
// operator needs them to resolve failed and unknown deliveries, which
// --resolve does.
func runDeliveries(ctx context.Context, e *Env, args []string) error {
	fs := newFlagSet(e, "deliveries", "--store DIR|URL --month YYYY-MM [--resolve sent|pending --org N --recipient ADDR]")
	storeSpec := storeFlag(fs)
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
	return withStore(ctx, e, *storeSpec, func(st ur.Backend) error {
		if *resolve != "" {
			if err := st.ResolveDelivery(ctx, key, to); err != nil {
				return err
			}
			fmt.Fprintf(e.Stdout, "%s %s: delivery resolved as %s\n", key.Org, month, to)
			return nil
		}
		status, err := mail.MonthStatus(ctx, st, month, e.Now())
		if err != nil {
			return err
		}
		if len(status.Deliveries) == 0 {
			fmt.Fprintf(e.Stdout, "%s: no deliveries\n", month)
			return nil
		}
		tw := tabwriter.NewWriter(e.Stdout, 0, 8, 2, ' ', 0)
		fmt.Fprintln(tw, "ORG\tRECIPIENT\tSTATE\tATTEMPTS\tRESENDS\tNEXT ATTEMPT\tUPDATED\tMESSAGE-ID\tCODE\tLAST ERROR")
		for _, d := range status.Deliveries {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%s\t%s\t%s\t%s\t%s\n", d.Org, d.Recipient, d.State, d.Attempts, d.Resends,
				nextAttempt(d, status.Now), d.UpdatedAt.UTC().Format(time.RFC3339), ledgerCell(d.MessageID), replyCode(d.LastCode), ledgerCell(d.LastError))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		printStatus(e.Stdout, status, true)
		return nil
	})
}

// printStatus prints where the month's deliveries stand: the counts, then
// one line for each delivery not sent. Recipients only with
// withRecipients (the deliveries command); send names organisations.
func printStatus(w io.Writer, st mail.Status, withRecipients bool) {
	fmt.Fprintf(w, "%s whole month: %d deliveries: %d sent (%d after a resend), %d pending, %d overdue, %d failed, %d unknown, %d sending\n",
		st.Month, len(st.Deliveries), st.Sent, st.Resent, st.Pending, st.Overdue, st.Failed, st.Unknown, st.Sending)
	for _, d := range st.Deliveries {
		who := d.Org.String()
		if withRecipients {
			who += " " + d.Recipient
		}
		switch d.State {
		case ur.DeliverySent:
			continue
		case ur.DeliveryPending:
			state := "pending"
			if mail.IsOverdue(d, st.Now) {
				state = "overdue"
			}
			fmt.Fprintf(w, "  %-8s %s: next attempt %s, last reply %s\n", state, who, nextAttempt(d, st.Now), replyCode(d.LastCode))
		case ur.DeliveryFailed:
			fmt.Fprintf(w, "  %-8s %s: reply %s, Message-ID %s\n", "failed", who, replyCode(d.LastCode), ledgerCell(d.MessageID))
		case ur.DeliveryUnknown:
			fmt.Fprintf(w, "  %-8s %s: Message-ID %s (resent by the next send, or resolve it)\n", "unknown", who, ledgerCell(d.MessageID))
		case ur.DeliverySending:
			fmt.Fprintf(w, "  %-8s %s: held by a sender that is running\n", "sending", who)
		}
	}
}

// nextAttempt is when a pending delivery is tried next: its retry time,
// or "now" when that has come; "-" for any other state.
func nextAttempt(d ur.Delivery, now time.Time) string {
	switch {
	case d.State != ur.DeliveryPending:
		return "-"
	case mail.IsOverdue(d, now):
		return "now (overdue)"
	}
	return d.RetryAt.UTC().Format(time.RFC3339)
}

// replyCode shows an SMTP reply code, "none" for 0.
func replyCode(code int) string {
	if code == 0 {
		return "none"
	}
	return fmt.Sprint(code)
}

// ledgerCell shows s on one line, "-" when empty.
func ledgerCell(s string) string {
	if s = strings.Join(strings.Fields(s), " "); s == "" {
		return "-"
	}
	return s
}
