package mail

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/textproto"
	"time"

	gomail "github.com/wneessen/go-mail"

	ur "usagereport"
)

// outcome is what one SMTP transaction came to.
type outcome int

const (
	accepted    outcome = iota // the server took responsibility (250 after the data)
	temporary                  // refused with 4xx, or cut before the whole message was written: safe to retry
	permanent                  // refused with 5xx: retrying cannot help
	ambiguous                  // cut after the whole message was written: the server may have it
	unavailable                // no session (connect, TLS, authentication): nothing was sent
)

// classify maps go-mail's result to an outcome, with the SMTP code when the
// server gave one.
//
// The line that matters for exactly once is the end of the data. The
// server can accept a message only after it has read the final "." line,
// which go-mail writes when it closes the data writer (ErrSMTPDataClose).
// Any failure before that, in MAIL, RCPT, DATA or while writing the
// content, left the server nothing it could deliver, so it is retried. A
// reply code at the close is the server's verdict. A close that fails
// without a code (a reset, a timeout waiting for the reply) is ambiguous:
// the server may have read the "." and queued the message before the
// connection went, so the delivery becomes unknown rather than risk a
// second copy.
func classify(msg *gomail.Msg, err error) (outcome, int) {
	if msg.IsDelivered() {
		return accepted, 0 // a failed RSET or QUIT afterwards changes nothing
	}
	if err == nil {
		return ambiguous, 0 // cannot happen; never guess "not sent"
	}
	var se *gomail.SendError
	if !errors.As(err, &se) {
		var te *textproto.Error
		if errors.As(err, &te) && te.Code >= 500 {
			return unavailable, te.Code
		}
		return unavailable, 0
	}
	code := se.ErrorCode()
	switch {
	case se.Reason == gomail.ErrGetSender || se.Reason == gomail.ErrGetRcpts || se.Reason == gomail.ErrNoUnencoded:
		return permanent, code
	case code >= 500:
		return permanent, code
	case code >= 400:
		return temporary, code
	case se.Reason == gomail.ErrSMTPDataClose:
		return ambiguous, 0
	case se.Reason == gomail.ErrSMTPReset:
		return ambiguous, 0 // not delivered per go-mail, yet past the data: do not guess
	}
	return temporary, 0
}

// deliver sends one claimed delivery, retrying temporary failures, and
// records the outcome. It returns the state it left the delivery in.
func (s *Sender) deliver(ctx context.Context, c ur.Claimant, d ur.Delivery, r *report) (ur.DeliveryState, error) {
	rec := context.WithoutCancel(ctx)
	log := s.logger.With(slog.String(attrOrg, d.Org.String()), slog.String(attrMonth, d.Month.String()))
	id := d.MessageID
	if id == "" {
		id = s.newMessageID(d.Org, d.Month)
	}
	log = log.With(slog.String(attrMessageID, id))
	prevErr := ""
	for attempt := 1; ; attempt++ {
		// The ledger has the Message-ID before the server can have the
		// message: an unknown delivery can be looked up in its logs.
		if err := c.Attempt(ctx, d.DeliveryKey, id, prevErr); err != nil {
			if ctx.Err() != nil {
				return ur.DeliveryPending, errors.Join(ctx.Err(), c.Release(rec, d.DeliveryKey, prevErr, time.Time{}))
			}
			return ur.DeliverySending, err
		}
		msg, err := s.message(r, d.Recipient, id, s.now())
		if err != nil {
			log.Error("message not built", slog.String(attrState, string(ur.DeliveryFailed)))
			return ur.DeliveryFailed, c.Finish(rec, d.DeliveryKey, ur.DeliveryFailed, err.Error())
		}
		res, code := s.transact(ctx, msg)
		switch res.outcome {
		case accepted:
			log.Info("delivered", slog.Int(attrAttempt, attempt))
			return ur.DeliverySent, c.Finish(rec, d.DeliveryKey, ur.DeliverySent, "")
		case permanent:
			log.Warn("refused for good", slog.Int(attrAttempt, attempt), slog.Int(attrCode, code))
			return ur.DeliveryFailed, c.Finish(rec, d.DeliveryKey, ur.DeliveryFailed, res.text)
		case ambiguous:
			log.Error("connection lost after the message was written: delivery unknown, not resent",
				slog.Int(attrAttempt, attempt))
			return ur.DeliveryUnknown, c.Finish(rec, d.DeliveryKey, ur.DeliveryUnknown, res.text)
		}
		// temporary or unavailable: nothing can have been accepted.
		prevErr = res.text
		if res.outcome == unavailable && code >= 500 {
			// The server refuses the session itself (authentication, TLS):
			// every delivery would fail alike. Stop the run.
			log.Error("SMTP session refused", slog.Int(attrCode, code))
			return ur.DeliveryPending, errors.Join(fmt.Errorf("%w: %s", ErrServer, res.text),
				c.Release(rec, d.DeliveryKey, prevErr, time.Time{}))
		}
		if attempt >= s.cfg.Attempts {
			retryAt := s.now().Add(s.cfg.MaxBackoff)
			log.Warn("temporary failures outlasted the retries: pending for a later run",
				slog.Int(attrAttempt, attempt), slog.Int(attrCode, code))
			if err := c.Release(rec, d.DeliveryKey, prevErr, retryAt); err != nil {
				return ur.DeliverySending, err
			}
			if res.outcome == unavailable {
				return ur.DeliveryPending, fmt.Errorf("%w: %s", ErrServer, res.text)
			}
			return ur.DeliveryPending, nil
		}
		wait := min(s.cfg.Backoff<<(attempt-1), s.cfg.MaxBackoff)
		log.Info("temporary failure, retrying", slog.Int(attrAttempt, attempt), slog.Int(attrCode, code), slog.Duration(attrWait, wait))
		if err := s.sleep(ctx, wait); err != nil {
			return ur.DeliveryPending, errors.Join(err, c.Release(rec, d.DeliveryKey, prevErr, time.Time{}))
		}
	}
}

type result struct {
	outcome outcome
	text    string // for the ledger; may name the recipient, so never logged
}

// transact runs one SMTP session for msg.
func (s *Sender) transact(ctx context.Context, msg *gomail.Msg) (result, int) {
	opts := []gomail.Option{gomail.WithPort(s.cfg.Port), gomail.WithTimeout(s.cfg.Timeout)}
	switch s.cfg.TLS {
	case STARTTLS:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	case ImplicitTLS:
		opts = append(opts, gomail.WithSSL())
	case NoTLS:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	}
	if s.cfg.TLSConfig != nil {
		opts = append(opts, gomail.WithTLSConfig(s.cfg.TLSConfig))
	}
	if s.cfg.Username != "" {
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover),
			gomail.WithUsername(s.cfg.Username), gomail.WithPassword(s.cfg.Password))
	}
	client, err := gomail.NewClient(s.cfg.Host, opts...)
	if err != nil {
		return result{unavailable, "SMTP client: " + err.Error()}, 500
	}
	err = client.DialAndSendWithContext(ctx, msg)
	o, code := classify(msg, err)
	text := ""
	if err != nil {
		text = err.Error()
	}
	return result{o, text}, code
}
