// Package mail sends each organisation's monthly report to its recipients by
// SMTP (through go-mail), once per (organisation, month, recipient), with
// the delivery ledger of the store (usagereport.Deliveries) as the record of
// what was sent.
//
// A delivery is claimed in the ledger before its message is built, and its
// outcome recorded after the server answered:
//
//   - the server accepted (250 after the message): sent;
//   - a temporary refusal (4xx) or a connection lost before the whole
//     message was written: retried with backoff, and left pending for the
//     next run when the run's attempts are used up;
//   - a permanent refusal (5xx): failed, with the reply code, not retried;
//   - the connection lost after the whole message was written, before the
//     server's answer (or the sender killed while sending): the server may
//     have it, so the identical message (same bytes, same Message-ID) is
//     sent again, in this run after a backoff or by the next one (RFC 5321
//     4.5.4.1). Config.NoResendUnknown leaves it unknown for an operator.
//
// The message is fixed at the first attempt (Message-ID, Date, a MIME
// boundary derived from the Message-ID), and the ledger keeps its SHA-256:
// any process builds the same bytes, and a resend whose bytes would differ
// (the report changed) is refused. Each delivery waits out its own backoff
// while the others are sent, over at most Config.Concurrency connections.
// Status reads the whole month's standing from the ledger.
//
// What it never does: send a delivery that is sent or failed, or held by
// another sender, so a second run, a restart or a second instance sends no
// second copy beyond the one resend of a message whose first copy may have
// arrived; and it never puts a recipient's address in a log line (the
// ledger and the "deliveries" command show them to the operator).
//
//	s, err := mail.NewSender(cfg, store, logger)
//	sum, err := s.Send(ctx, month, "reports", orgs)
//	st, err := mail.MonthStatus(ctx, store, month, time.Now())
package mail
