package mail

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/textproto"
	"sync/atomic"
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
	ambiguous                  // cut after the whole message was written: the server may have it, so it is resent (or left unknown)
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
// connection went, so the identical message is sent again (RFC 5321
// 4.5.4.1: a receiver that sees the Message-ID twice can drop the copy),
// or, with Config.NoResendUnknown, the delivery is left unknown.
//
// go-mail drops the error of writing the final "." and reports only the
// missing reply, so writeFailed says whether a write on the connection
// failed: then the "." (the last thing written) never left this host, and
// the server holds an incomplete message: a temporary failure.
func classify(msg *gomail.Msg, err error, writeFailed bool) (outcome, int) {
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
	case se.Reason == gomail.ErrSMTPDataClose && writeFailed:
		return temporary, 0
	case se.Reason == gomail.ErrSMTPDataClose:
		return ambiguous, 0
	case se.Reason == gomail.ErrSMTPReset:
		return ambiguous, 0 // not delivered per go-mail, yet past the data: do not guess
	}
	return temporary, 0
}

// run is one Send's work on the month: the main goroutine (loop) claims
// deliveries and records outcomes; each SMTP transaction and each backoff
// runs in its own goroutine and reports back on events.
type run struct {
	s       *Sender
	m       ur.Month
	dir     string
	byOrg   map[ur.Org]ur.OrgInfo
	c       *lockedClaimant
	reports map[ur.Org]*report
	events  chan event
	sum     *Summary
	// skip lists the deliveries that used this run's attempts and went
	// back to pending or unknown: not claimed again by this run.
	skip []ur.DeliveryKey
}

// job is one claimed delivery in this run.
type job struct {
	d       ur.Delivery
	r       *report
	st      stamp
	hash    string // of the message's bytes; "" before the first build
	attempt int    // this run's attempts so far
	// resend: the previous attempt's outcome is unknown, so the next one
	// sends the same message again.
	resend   bool
	prevErr  string
	prevCode int
	log      *slog.Logger
}

// event is what a goroutine of the run reports to the loop.
type event struct {
	j     *job
	wake  bool // the backoff ended (err: it was cut short)
	tried bool // an SMTP transaction ran
	res   result
	err   error // of the ledger, or the context
}

// loop runs until every claimed delivery is settled and nothing more can be
// claimed.
func (r *run) loop(ctx context.Context) error {
	var (
		active    int    // transactions running
		held      int    // jobs claimed and not settled: in a transaction, waiting, or queued
		queue     []*job // waited out their backoff, waiting for a connection
		claimMore = true
		stop      error // the first error that stops the run
	)
	// Backoffs end early once the run stops.
	waits, stopWaits := context.WithCancel(ctx)
	defer stopWaits()
	for {
		if stop != nil {
			stopWaits()
		}
		for active < r.s.cfg.Concurrency {
			var j *job
			switch {
			case len(queue) > 0:
				j, queue = queue[0], queue[1:]
			case claimMore && stop == nil && ctx.Err() == nil:
				var err error
				if j, err = r.claim(ctx); err != nil {
					claimMore = false
					if !errors.Is(err, ur.ErrNoDelivery) {
						stop = err
					}
				} else if j != nil {
					held++
				}
			}
			if j == nil {
				break
			}
			if stop != nil || ctx.Err() != nil {
				// Stopped before this attempt: nothing of it was sent.
				held--
				stop = cmp.Or(stop, ctx.Err())
				stop = errors.Join(stop, r.abandon(ctx, j))
				continue
			}
			active++
			go r.attempt(ctx, j)
		}
		if held == 0 {
			return stop
		}
		ev := <-r.events
		if ev.wake {
			if ev.err != nil {
				held--
				stop = cmp.Or(stop, ev.err)
				stop = errors.Join(stop, r.abandon(ctx, ev.j))
				continue
			}
			queue = append(queue, ev.j)
			continue
		}
		active--
		settled, err := r.outcome(ctx, waits, ev)
		if settled {
			held--
		}
		if err != nil && stop == nil {
			stop = err
		}
	}
}

// claim takes the next delivery of the month and prepares its job; nil
// when the delivery was settled at once (no longer asked for).
func (r *run) claim(ctx context.Context) (*job, error) {
	rec := context.WithoutCancel(ctx)
	d, err := r.c.Claim(ctx, r.m, ur.ClaimOptions{Now: r.s.clock.Now(), Unknown: !r.s.cfg.NoResendUnknown, Skip: r.skip})
	if err != nil {
		return nil, err
	}
	log := r.s.logger.With(slog.String(attrOrg, d.Org.String()), slog.String(attrMonth, d.Month.String()))
	o, ok := r.byOrg[d.Org]
	if !ok || !containsFold(o.Recipients, d.Recipient) {
		// Added by an earlier run, since removed from the registry or left
		// without a report: never send what the registry no longer asks for.
		why := "no longer a recipient of this organisation in the registry, or no report in the folder"
		r.sum.Failed++
		return nil, r.c.Finish(rec, d.DeliveryKey, ur.DeliveryFailed, why, 0)
	}
	rep, ok := r.reports[d.Org]
	if !ok {
		if rep, err = r.s.readReport(r.dir, o, d.Month); err != nil {
			log.Error("report not sendable")
			r.sum.Failed++
			return nil, r.c.Finish(rec, d.DeliveryKey, ur.DeliveryFailed, err.Error(), 0)
		}
		r.reports[d.Org] = rep
	}
	st := stamp{id: d.MessageID, date: d.MessageDate}
	if st.id == "" {
		st.id = r.s.newMessageID(d.Org, d.Month)
	}
	if st.date.IsZero() {
		st.date = r.s.clock.Now()
	}
	st.date = st.date.UTC().Truncate(time.Second)
	j := &job{d: d, r: rep, st: st, resend: d.Resend, log: log.With(slog.String(attrMessageID, st.id))}
	if d.Resend {
		j.prevErr, j.prevCode = d.LastError, d.LastCode
	}
	return j, nil
}

// attempt runs one SMTP transaction of j and reports it. The ledger learns
// the message (Message-ID, date, hash) before the server can have it.
func (r *run) attempt(ctx context.Context, j *job) {
	ev := event{j: j}
	defer func() { r.events <- ev }()
	msg, hash, err := r.s.build(j.r, j.d.Recipient, j.st)
	if err != nil {
		ev.res = result{outcome: permanent, text: "message not built: " + err.Error()}
		return
	}
	if j.resend && j.d.MessageHash != "" && hash != j.d.MessageHash {
		// The message that may have arrived is not the one this run would
		// send (the report file changed): a resend would not be a copy.
		ev.res = result{outcome: permanent, text: "not resent: the message would differ from the one whose delivery is unknown (the report changed since); check the mail server's log by Message-ID, then resolve"}
		return
	}
	j.hash = hash
	j.attempt++
	a := ur.AttemptInfo{MessageID: j.st.id, MessageDate: j.st.date, MessageHash: hash,
		PrevErr: j.prevErr, PrevCode: j.prevCode, Resend: j.resend}
	if ev.err = r.c.Attempt(ctx, j.d.DeliveryKey, a); ev.err != nil {
		j.attempt--
		return
	}
	if j.resend {
		r.s.logger.Info("resending after an unknown outcome", slog.String(attrOrg, j.d.Org.String()), slog.String(attrMessageID, j.st.id))
	}
	ev.tried = true
	ev.res = r.s.transact(ctx, msg)
}

// outcome records what an attempt came to and decides what follows:
// settled when the job left this run (sent, failed, unknown, or pending
// for a later run).
func (r *run) outcome(ctx, waits context.Context, ev event) (settled bool, err error) {
	rec := context.WithoutCancel(ctx) // outcomes are recorded even when the run is stopped
	j, res := ev.j, ev.res
	k := j.d.DeliveryKey
	if ev.err != nil {
		if ctx.Err() != nil {
			return true, errors.Join(ctx.Err(), r.abandon(ctx, j))
		}
		return true, ev.err // the delivery stays sending: unknown once this claimant closes
	}
	if ev.tried && j.resend {
		r.sum.Resent++ // this attempt was a resend
	}
	log := j.log.With(slog.Int(attrAttempt, j.attempt))
	switch res.outcome {
	case accepted:
		log.Info("delivered")
		r.sum.Sent++
		return true, r.c.Finish(rec, k, ur.DeliverySent, "", 0)
	case permanent:
		log.Warn("refused for good", slog.Int(attrCode, res.code))
		r.sum.Failed++
		return true, r.c.Finish(rec, k, ur.DeliveryFailed, res.text, res.code)
	case ambiguous:
		// From now on the message may have arrived: every later attempt
		// sends the same bytes again, and a delivery left over is unknown.
		j.resend = true
		if r.s.cfg.NoResendUnknown {
			log.Error("connection lost after the message was written: delivery unknown, not resent")
			r.sum.Unknown++
			r.skip = append(r.skip, k)
			return true, r.c.Finish(rec, k, ur.DeliveryUnknown, res.text, 0)
		}
	}
	j.prevErr, j.prevCode = res.text, res.code
	if res.outcome == unavailable && res.code >= 500 {
		// The server refuses the session itself (authentication, TLS):
		// every delivery would fail alike. Stop the run.
		log.Error("SMTP session refused", slog.Int(attrCode, res.code))
		return true, errors.Join(fmt.Errorf("%w: %s", ErrServer, res.text), r.abandon(ctx, j))
	}
	if j.attempt >= r.s.cfg.Attempts || ctx.Err() != nil {
		r.skip = append(r.skip, k)
		if j.resend {
			log.Warn("no attempt left in this run after an unknown outcome: unknown, resent by the next run", slog.Int(attrCode, res.code))
			r.sum.Unknown++
			return true, r.c.Finish(rec, k, ur.DeliveryUnknown, j.prevErr, j.prevCode)
		}
		retryAt := r.s.clock.Now().Add(r.backoff(j.attempt + 1))
		log.Warn("temporary failures outlasted this run's attempts: pending", slog.Int(attrCode, res.code), slog.Time("retry_at", retryAt))
		r.sum.Pending++
		if err := r.c.Release(rec, k, j.prevErr, j.prevCode, retryAt); err != nil {
			return true, err
		}
		if res.outcome == unavailable {
			return true, fmt.Errorf("%w: %s", ErrServer, res.text)
		}
		return true, nil
	}
	wait := r.backoff(j.attempt)
	log.Info("retrying after a wait", slog.Int(attrCode, res.code), slog.Duration(attrWait, wait), slog.Bool("resend", j.resend))
	go func() {
		err := r.s.clock.Sleep(waits, wait)
		r.events <- event{j: j, wake: true, err: err}
	}()
	return false, nil
}

// backoff is the wait after a delivery's n-th attempt of the run.
func (r *run) backoff(n int) time.Duration {
	return min(r.s.cfg.Backoff<<(n-1), r.s.cfg.MaxBackoff)
}

// abandon leaves a job the run will not try again: pending when no attempt
// can have been accepted, unknown after an ambiguous one.
func (r *run) abandon(ctx context.Context, j *job) error {
	rec := context.WithoutCancel(ctx)
	if j.resend {
		// An attempt's outcome is unknown: so is the delivery's.
		r.sum.Unknown++
		return r.c.Finish(rec, j.d.DeliveryKey, ur.DeliveryUnknown, j.prevErr, j.prevCode)
	}
	r.sum.Pending++
	return r.c.Release(rec, j.d.DeliveryKey, j.prevErr, j.prevCode, time.Time{})
}

type result struct {
	outcome outcome
	code    int    // the SMTP reply code, when the server gave one
	text    string // for the ledger; may name the recipient, so never logged
}

// transact runs one SMTP session for msg.
func (s *Sender) transact(ctx context.Context, msg *gomail.Msg) result {
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
	var conn *trackedConn
	if s.cfg.TLS != ImplicitTLS {
		// Implicit TLS keeps go-mail's own dialer, which knows the
		// connection is encrypted; a lost reply there stays ambiguous.
		opts = append(opts, gomail.WithDialContextFunc(func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			conn = &trackedConn{Conn: c}
			return conn, nil
		}))
	}
	client, err := gomail.NewClient(s.cfg.Host, opts...)
	if err != nil {
		return result{unavailable, 500, "SMTP client: " + err.Error()}
	}
	err = client.DialAndSendWithContext(ctx, msg)
	o, code := classify(msg, err, conn != nil && conn.writeFailed.Load())
	text := ""
	if err != nil {
		text = err.Error()
	}
	return result{o, code, text}
}

// trackedConn is a connection that remembers whether a write on it failed
// (under TLS too: STARTTLS wraps it).
type trackedConn struct {
	net.Conn
	writeFailed atomic.Bool
}

func (c *trackedConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	if err != nil {
		c.writeFailed.Store(true)
	}
	return n, err
}
