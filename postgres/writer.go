package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	ur "usagereport"
)

// batchRows is how many records one COPY statement carries. A writer holds
// at most three batches (one filling, one queued, one being copied), a few
// MB, whatever the size of the file.
const batchRows = 32 << 10

// BeginFile starts a transaction on a connection of its own. Records go in
// by COPY, a batch per statement, from a goroutine, so that reading the next
// batch overlaps sending this one; Commit adds the ledger row and commits.
// Until then nothing of the file is visible, and if the connection drops,
// the server rolls everything back.
func (s *Store) BeginFile(ctx context.Context) (ur.FileWriter, error) {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("begin file: %w", err)
	}
	tx, err := conn.Begin(ctx)
	if err != nil {
		conn.Release()
		return nil, fmt.Errorf("begin file: %w", err)
	}
	var id int64
	if err := tx.QueryRow(ctx, "SELECT nextval(pg_get_serial_sequence('files', 'id'))").Scan(&id); err != nil {
		tx.Rollback(ctx)
		conn.Release()
		return nil, fmt.Errorf("begin file: %w", err)
	}
	w := &fileWriter{
		s: s, ctx: ctx, conn: conn, tx: tx, fileID: id,
		months: make(map[ur.Month]bool),
		full:   make(chan []ur.Record, 1),
		free:   make(chan []ur.Record, 3),
		done:   make(chan copyResult, 1),
	}
	for range 3 {
		w.free <- nil
	}
	w.batch = <-w.free
	go w.copier()
	return w, nil
}

type copyResult struct {
	rows   int64
	counts orgRows // rows per month and organisation
	err    error
}

// orgRows counts a file's records per month and organisation.
type orgRows map[orgMonth]int64

type orgMonth struct {
	month ur.Month
	org   ur.Org
}

// add counts recs. A file's rows come in runs of one organisation, so
// the map is touched once a run.
func (c orgRows) add(recs []ur.Record) {
	for i := 0; i < len(recs); {
		k := orgMonth{recs[i].Month, recs[i].Org}
		j := i + 1
		for j < len(recs) && recs[j].Org == k.org && recs[j].Month == k.month {
			j++
		}
		c[k] += int64(j - i)
		i = j
	}
}

type fileWriter struct {
	s      *Store
	ctx    context.Context // of BeginFile: the COPYs run under it
	conn   *pgxpool.Conn
	tx     pgx.Tx
	fileID int64
	months map[ur.Month]bool // partitions known to exist

	batch []ur.Record
	full  chan []ur.Record // to the copier; closed by Commit or Abort
	free  chan []ur.Record // back from the copier
	done  chan copyResult  // the copier's result, once full is closed

	copyErr  atomic.Pointer[error] // the copier's first error, for Add to see early
	err      error                 // sticky error of Add
	finished bool                  // committed or aborted
	closed   bool                  // full is closed
}

// copier runs one COPY per batch in the writer's transaction. After an
// error it keeps draining batches, so that Add never blocks forever.
func (w *fileWriter) copier() {
	res := copyResult{counts: orgRows{}}
	var buf []byte
	conn := w.conn.Conn().PgConn()
	for b := range w.full {
		if res.err == nil {
			var n int64
			var err error
			buf, n, err = copyBatch(w.ctx, conn, buf, b, w.fileID)
			res.rows += n
			res.counts.add(b)
			if err != nil {
				res.err = err
				w.copyErr.Store(&err)
			}
		}
		w.free <- b[:0]
	}
	w.done <- res
}

// AddBatch is Add for each of recs in turn; the run's ids are not needed
// here.
func (w *fileWriter) AddBatch(recs []ur.Record, _, _ []uint32) error {
	for i := range recs {
		if err := w.Add(&recs[i]); err != nil {
			return err
		}
	}
	return nil
}

// Add queues a copy of r. It creates r's month partition first if needed.
func (w *fileWriter) Add(r *ur.Record) error {
	if w.err != nil {
		return w.err
	}
	if w.finished {
		return errors.New("add record: the file is already committed or aborted")
	}
	if !w.months[r.Month] {
		if err := w.s.ensurePartition(w.ctx, r.Month); err != nil {
			w.err = err
			return err
		}
		w.months[r.Month] = true
	}
	w.batch = append(w.batch, *r)
	if len(w.batch) >= batchRows {
		if p := w.copyErr.Load(); p != nil {
			w.err = fmt.Errorf("copy records: %w", *p)
			return w.err
		}
		w.full <- w.batch
		w.batch = <-w.free
	}
	return nil
}

// finish hands the last batch to the copier and waits for it.
func (w *fileWriter) finish() copyResult {
	if len(w.batch) > 0 && w.copyErr.Load() == nil {
		w.full <- w.batch
		w.batch = nil
	}
	w.closed = true
	close(w.full)
	return <-w.done
}

// Commit writes the ledger row and commits. The ledger row goes in with
// ON CONFLICT DO NOTHING on its sha256: if another transaction holds the
// same file uncommitted, the insert waits for it, and if that one commits,
// inserts nothing, so the file counts once and this transaction rolls back
// with ErrAlreadyIngested.
func (w *fileWriter) Commit(ctx context.Context, meta ur.FileMeta) (err error) {
	if w.finished {
		return errors.New("commit: the file is already committed or aborted")
	}
	if w.err != nil {
		w.Abort()
		return w.err
	}
	defer func() {
		if err != nil {
			w.Abort()
		}
	}()
	res := w.finish()
	if res.err != nil {
		return fmt.Errorf("copy records: %w", res.err)
	}
	if meta.Rows != res.rows {
		w.s.logger.Warn("ledger rows differ from records copied; the ledger keeps the records copied",
			slog.Int64(attrRows, res.rows), slog.Int64("meta_rows", meta.Rows))
	}
	at := meta.IngestedAt
	if at.IsZero() {
		at = time.Now()
	}
	var content []byte // NULL: no records, never taken for another file
	if meta.Content != [32]byte{} {
		content = meta.Content[:]
	}
	// The ledger sequence is handed out under a lock held to the commit,
	// so sequences commit in order: a reader that takes the lock shared
	// sees every file up to the highest sequence (see LedgerSeq). No
	// other transaction holds an uncommitted ledger row while we hold the
	// lock, so the insert below cannot wait for one that waits for us.
	if _, err := w.tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", lockLedger); err != nil {
		return fmt.Errorf("write ledger: %w", err)
	}
	var seq int64
	err = w.tx.QueryRow(ctx, `INSERT INTO files (id, name, sha256, content_digest, rows, rejected, ingested_at, seq)
		VALUES ($1, $2, $3, $4, $5, $6, $7, nextval('ledger_seq')) ON CONFLICT DO NOTHING RETURNING seq`,
		w.fileID, meta.Name, meta.SHA256[:], content, res.rows, meta.Rejected, at).Scan(&seq)
	if errors.Is(err, pgx.ErrNoRows) {
		return w.alreadyIngested(ctx, meta.SHA256[:], content)
	}
	if err != nil {
		return fmt.Errorf("write ledger: %w", err)
	}
	if err := writeOrgRows(ctx, w.tx, seq, res.counts); err != nil {
		return fmt.Errorf("write the file's rows per organisation: %w", err)
	}
	if err := w.tx.Commit(ctx); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	w.finished = true
	w.conn.Release()
	return nil
}

// alreadyIngested names the ledger row a conflicting insert met: the same
// bytes first, else the same records.
func (w *fileWriter) alreadyIngested(ctx context.Context, sum, content []byte) error {
	var e ur.AlreadyIngestedError
	err := w.tx.QueryRow(ctx, `SELECT name, ingested_at, sha256 = $1 FROM files
		WHERE sha256 = $1 OR content_digest = $2 ORDER BY sha256 = $1 DESC, ingested_at LIMIT 1`,
		sum, content).Scan(&e.Name, &e.IngestedAt, &e.SameBytes)
	if err != nil {
		return fmt.Errorf("read ledger: %w", err)
	}
	return &e
}

// Abort rolls the transaction back. It is safe after Commit and twice.
func (w *fileWriter) Abort() error {
	if w.finished {
		return nil
	}
	w.finished = true
	if !w.closed {
		w.finish()
	}
	// The caller's context may be why we abort: roll back regardless, but
	// not forever. A rollback that fails closes the connection, and the
	// server rolls back what it had.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(w.ctx), 10*time.Second)
	defer cancel()
	err := w.tx.Rollback(ctx)
	w.conn.Release()
	if err != nil && !errors.Is(err, pgx.ErrTxClosed) {
		return fmt.Errorf("abort: %w", err)
	}
	return nil
}

// writeOrgRows stores a file's record counts per month and organisation
// under its ledger sequence (see migration 0700).
func writeOrgRows(ctx context.Context, tx pgx.Tx, seq int64, counts orgRows) error {
	if len(counts) == 0 {
		return nil
	}
	months := make([]int32, 0, len(counts))
	orgs := make([]int32, 0, len(counts))
	rows := make([]int64, 0, len(counts))
	for k, n := range counts {
		months, orgs, rows = append(months, int32(k.month)), append(orgs, int32(k.org)), append(rows, n)
	}
	_, err := tx.Exec(ctx, `INSERT INTO file_org_rows (month, org, seq, rows)
		SELECT m, o, $1, n FROM unnest($2::integer[], $3::integer[], $4::bigint[]) AS c(m, o, n)`, seq, months, orgs, rows)
	return err
}
