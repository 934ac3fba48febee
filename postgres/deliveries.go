package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	ur "usagereport"
)

// lockClaimants is the first key of the two-key session advisory lock
// (lockClaimants, id) each claimant holds while it lives. Two-key locks show
// in pg_locks with objsubid 2, apart from the one-key locks of migrate.go.
const lockClaimants int32 = 0x75727265 // "urre"

// recoverDead turns the sending deliveries of dead claimants into unknown:
// those whose claimant holds no lock in this database. A claimant takes
// its lock before it claims anything, so a missing lock means its session
// ended: the process died, or lost its connection (then its Finish still
// records the outcome it knows).
const recoverDead = `UPDATE deliveries d SET state = 'unknown', last_error = $1, updated_at = now()
	WHERE d.state = 'sending' AND NOT EXISTS (
		SELECT 1 FROM pg_locks l
		WHERE l.locktype = 'advisory' AND l.granted
		  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
		  AND l.classid = $2::integer::oid AND l.objid = d.claimant::oid AND l.objsubid = 2)`

// recoverClaims runs recoverDead in tx under the transaction lock (lockClaimants,
// 0), which claimant ids (from 1) never take: two recoveries at once could
// lock the same dead rows in different orders and deadlock. A Claim does
// not wait for the lock, since a claim never needs the recovery (it takes
// only pending rows, and a dead claimant's row is sending until recovered,
// then unknown); a list waits, to show the truth.
func recoverClaims(ctx context.Context, tx pgx.Tx, wait bool) error {
	if wait {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1, 0)", lockClaimants); err != nil {
			return err
		}
	} else {
		var got bool
		if err := tx.QueryRow(ctx, "SELECT pg_try_advisory_xact_lock($1, 0)", lockClaimants).Scan(&got); err != nil || !got {
			return err
		}
	}
	_, err := tx.Exec(ctx, recoverDead, ur.DeadClaimantError, lockClaimants)
	return err
}

// AddDeliveries records a pending delivery for each new key.
func (s *Store) AddDeliveries(ctx context.Context, keys []ur.DeliveryKey) (int, error) {
	added := 0
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		for _, k := range keys {
			if k.Recipient == "" {
				return errors.New("a recipient is empty")
			}
			tag, err := tx.Exec(ctx, `INSERT INTO deliveries (month, org, recipient) VALUES ($1, $2, $3)
				ON CONFLICT DO NOTHING`, int32(k.Month), int32(k.Org), k.Recipient)
			if err != nil {
				return err
			}
			added += int(tag.RowsAffected())
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("add deliveries: %w", err)
	}
	return added, nil
}

const deliveryColumns = "month, org, recipient, state, attempts, last_error, last_code, message_id, message_date, message_hash, resends, retry_at, created_at, updated_at"

// scanDelivery scans deliveryColumns, then extra.
func scanDelivery(row pgx.Row, extra ...any) (ur.Delivery, error) {
	var (
		d           ur.Delivery
		month, org  int32
		state       string
		retryAt     *time.Time
		messageDate *time.Time
	)
	err := row.Scan(append([]any{&month, &org, &d.Recipient, &state, &d.Attempts, &d.LastError, &d.LastCode,
		&d.MessageID, &messageDate, &d.MessageHash, &d.Resends, &retryAt, &d.CreatedAt, &d.UpdatedAt}, extra...)...)
	if retryAt != nil {
		d.RetryAt = retryAt.UTC()
	}
	if messageDate != nil {
		d.MessageDate = messageDate.UTC()
	}
	d.Month, d.Org, d.State = ur.Month(month), ur.Org(org), ur.DeliveryState(state)
	d.CreatedAt, d.UpdatedAt = d.CreatedAt.UTC(), d.UpdatedAt.UTC()
	return d, err
}

// ListDeliveries returns month m's ledger by organisation and recipient.
func (s *Store) ListDeliveries(ctx context.Context, m ur.Month) ([]ur.Delivery, error) {
	if err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error { return recoverClaims(ctx, tx, true) }); err != nil {
		return nil, fmt.Errorf("list deliveries of %s: %w", m, err)
	}
	rows, err := s.pool.Query(ctx, "SELECT "+deliveryColumns+" FROM deliveries WHERE month = $1 ORDER BY org, recipient", int32(m))
	if err != nil {
		return nil, fmt.Errorf("list deliveries of %s: %w", m, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (ur.Delivery, error) { return scanDelivery(r) })
	if err != nil {
		return nil, fmt.Errorf("list deliveries of %s: %w", m, err)
	}
	return out, nil
}

// ResolveDelivery records an operator's decision on an unknown or failed
// delivery.
func (s *Store) ResolveDelivery(ctx context.Context, k ur.DeliveryKey, to ur.DeliveryState) (err error) {
	defer func() {
		if err != nil {
			err = fmt.Errorf("resolve delivery of %s %s: %w", k.Org, k.Month, err)
		}
	}()
	if to != ur.DeliverySent && to != ur.DeliveryPending {
		return fmt.Errorf("resolve to %s: want sent or pending", to)
	}
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var from string
		err := tx.QueryRow(ctx, "SELECT state FROM deliveries WHERE month = $1 AND org = $2 AND recipient = $3 FOR UPDATE",
			int32(k.Month), int32(k.Org), k.Recipient).Scan(&from)
		if errors.Is(err, pgx.ErrNoRows) {
			return ur.ErrNotFound
		}
		if err != nil {
			return err
		}
		if from != string(ur.DeliveryUnknown) && from != string(ur.DeliveryFailed) {
			return fmt.Errorf("the delivery is %s: only unknown or failed ones are resolved", from)
		}
		_, err = tx.Exec(ctx, `UPDATE deliveries SET state = $4, claimant = NULL, retry_at = NULL, updated_at = now()
			WHERE month = $1 AND org = $2 AND recipient = $3`, int32(k.Month), int32(k.Org), k.Recipient, string(to))
		return err
	})
}

// claimant is the PostgreSQL store's ur.Claimant. It keeps one connection
// of the pool for its whole life: the session that holds its liveness lock.
type claimant struct {
	s    *Store
	id   int32
	conn *pgxpool.Conn
}

// NewClaimant takes a fresh claimant id and its lock.
func (s *Store) NewClaimant(ctx context.Context) (ur.Claimant, error) {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("new claimant: %w", err)
	}
	var id int32
	err = conn.QueryRow(ctx, "SELECT nextval('delivery_claimants')::integer").Scan(&id)
	if err == nil {
		_, err = conn.Exec(ctx, "SELECT pg_advisory_lock($1, $2)", lockClaimants, id)
	}
	if err != nil {
		conn.Release()
		return nil, fmt.Errorf("new claimant: %w", err)
	}
	return &claimant{s: s, id: id, conn: conn}, nil
}

// Claim turns one pending (or, with o.Unknown, unknown) delivery of m into
// sending. SKIP LOCKED lets claimants run side by side, each taking a row
// no other transaction holds; the row is sending (and so never claimed
// again) once this commits. The CTE reads the row's state before the
// update, to tell a resend.
func (c *claimant) Claim(ctx context.Context, m ur.Month, o ur.ClaimOptions) (ur.Delivery, error) {
	var d ur.Delivery
	var at *time.Time
	if !o.Now.IsZero() {
		at = &o.Now
	}
	skipOrgs, skipRcpts := make([]int32, len(o.Skip)), make([]string, len(o.Skip))
	for i, k := range o.Skip {
		skipOrgs[i], skipRcpts[i] = int32(k.Org), k.Recipient
	}
	err := pgx.BeginFunc(ctx, c.conn, func(tx pgx.Tx) error {
		if err := recoverClaims(ctx, tx, false); err != nil {
			return err
		}
		var (
			err  error
			prev string
		)
		d, err = scanDelivery(tx.QueryRow(ctx, `WITH pick AS (
				SELECT month, org, recipient, state FROM deliveries
				WHERE month = $1
				  AND ((state = 'pending' AND (retry_at IS NULL OR retry_at <= coalesce($3::timestamptz, now())))
				    OR (state = 'unknown' AND $4))
				  AND NOT EXISTS (SELECT 1 FROM unnest($5::integer[], $6::text[]) AS s(org, recipient)
				                  WHERE s.org = deliveries.org AND s.recipient = deliveries.recipient)
				ORDER BY org, recipient LIMIT 1 FOR UPDATE SKIP LOCKED)
			UPDATE deliveries d SET state = 'sending', claimant = $2, retry_at = NULL, updated_at = now()
			FROM pick WHERE (d.month, d.org, d.recipient) = (pick.month, pick.org, pick.recipient)
			RETURNING `+prefixed("d.", deliveryColumns)+`, pick.state`,
			int32(m), c.id, at, o.Unknown, skipOrgs, skipRcpts), &prev)
		if errors.Is(err, pgx.ErrNoRows) {
			return ur.ErrNoDelivery
		}
		d.Resend = prev == string(ur.DeliveryUnknown) && d.MessageID != ""
		return err
	})
	if errors.Is(err, ur.ErrNoDelivery) {
		return d, err
	}
	if err != nil {
		return d, fmt.Errorf("claim a delivery of %s: %w", m, err)
	}
	return d, nil
}

// Attempt counts an attempt and records the message.
func (c *claimant) Attempt(ctx context.Context, k ur.DeliveryKey, a ur.AttemptInfo) error {
	tag, err := c.conn.Exec(ctx, `UPDATE deliveries SET attempts = attempts + 1,
			resends = resends + CASE WHEN $10 THEN 1 ELSE 0 END,
			message_id = $5, message_date = $8, message_hash = $9,
			last_error = CASE WHEN $6 = '' THEN last_error ELSE $6 END,
			last_code = CASE WHEN $6 = '' THEN last_code ELSE $7 END, updated_at = now()
		WHERE month = $1 AND org = $2 AND recipient = $3 AND claimant = $4 AND state = 'sending'`,
		int32(k.Month), int32(k.Org), k.Recipient, c.id, a.MessageID, a.PrevErr, int32(a.PrevCode),
		nullTime(a.MessageDate), a.MessageHash, a.Resend)
	if err == nil && tag.RowsAffected() == 0 {
		err = ur.ErrNotClaimed
	}
	if err != nil {
		return fmt.Errorf("record attempt for %s %s: %w", k.Org, k.Month, err)
	}
	return nil
}

// Finish records the outcome.
func (c *claimant) Finish(ctx context.Context, k ur.DeliveryKey, state ur.DeliveryState, lastErr string, code int) error {
	if state != ur.DeliverySent && state != ur.DeliveryFailed && state != ur.DeliveryUnknown {
		return fmt.Errorf("finish delivery: %s is no outcome", state)
	}
	tag, err := c.conn.Exec(ctx, `UPDATE deliveries SET state = $5,
			last_error = CASE WHEN $6 = '' THEN last_error ELSE $6 END,
			last_code = CASE WHEN $6 = '' THEN last_code ELSE $7 END, updated_at = now()
		WHERE month = $1 AND org = $2 AND recipient = $3 AND claimant = $4 AND state IN ('sending', 'unknown')`,
		int32(k.Month), int32(k.Org), k.Recipient, c.id, string(state), lastErr, int32(code))
	if err == nil && tag.RowsAffected() == 0 {
		err = ur.ErrNotClaimed
	}
	if err != nil {
		return fmt.Errorf("finish delivery for %s %s: %w", k.Org, k.Month, err)
	}
	return nil
}

// Release returns a held delivery to pending.
func (c *claimant) Release(ctx context.Context, k ur.DeliveryKey, lastErr string, code int, retryAt time.Time) error {
	tag, err := c.conn.Exec(ctx, `UPDATE deliveries SET state = 'pending', claimant = NULL, retry_at = $5,
			last_error = CASE WHEN $6 = '' THEN last_error ELSE $6 END,
			last_code = CASE WHEN $6 = '' THEN last_code ELSE $7 END, updated_at = now()
		WHERE month = $1 AND org = $2 AND recipient = $3 AND claimant = $4 AND state = 'sending'`,
		int32(k.Month), int32(k.Org), k.Recipient, c.id, nullTime(retryAt), lastErr, int32(code))
	if err == nil && tag.RowsAffected() == 0 {
		err = ur.ErrNotClaimed
	}
	if err != nil {
		return fmt.Errorf("release delivery for %s %s: %w", k.Org, k.Month, err)
	}
	return nil
}

// nullTime is t, or NULL for the zero time.
func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// prefixed puts p before each of the comma-separated columns.
func prefixed(p, columns string) string {
	cols := strings.Split(columns, ", ")
	for i, c := range cols {
		cols[i] = p + c
	}
	return strings.Join(cols, ", ")
}

// Close releases the lock and gives the connection back; only the first
// call does anything. If the unlock
// fails the connection is closed, which releases the lock too.
func (c *claimant) Close() error {
	if c.conn == nil {
		return nil
	}
	defer func() { c.conn = nil }()
	ctx := context.Background()
	if _, err := c.conn.Exec(ctx, "SELECT pg_advisory_unlock($1, $2)", lockClaimants, c.id); err != nil {
		c.conn.Conn().Close(ctx)
	}
	c.conn.Release()
	return nil
}
