// Package mail sends each organisation's monthly report to its recipients by
// SMTP (through go-mail), exactly once per (organisation, month, recipient),
// with the delivery ledger of the store (usagereport.Deliveries) as the
// record of what was sent.
//
// A delivery is claimed in the ledger before its message is built, and its
// outcome recorded after the server answered:
//
//   - the server accepted (250 after the message): sent;
//   - a temporary refusal (4xx) or a connection lost before the whole
//     message was written: retried with backoff, and left pending for the
//     next run when the retries run out;
//   - a permanent refusal (5xx): failed, not retried;
//   - the connection lost after the whole message was written, before the
//     server's answer: unknown, since the server may have accepted it.
//
// What it never does: send a delivery that is not pending in the ledger, so
// a second run, a restart or a second instance never sends a second copy;
// and it never puts a recipient's address in a log line (the ledger and the
// "deliveries" command show them to the operator).
//
//	s, err := mail.NewSender(cfg, store, logger)
//	sum, err := s.Send(ctx, month, "reports", orgs)
package mail
