package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	ur "usagereport"
	"usagereport/aggregate"
	"usagereport/export"
	"usagereport/postgres"
	"usagereport/suppress"
)

// `report --worker` shares a month with other report workers through the
// PostgreSQL store: see postgres/claims.go for the protocol. A worker
// takes a batch of organisations, reads their rows only, publishes each
// (temporary files, the record, the files in place: publish.go), marks
// each claim done, and takes the next batch, until no organisation of the
// month is left. When the others hold the rest, it waits: a worker that
// dies leaves its claims to the survivors once its lease runs out.

// reportClaimer is what a worker needs of the store beyond ur.Store.
type reportClaimer interface {
	JoinReportRun(ctx context.Context, m ur.Month, settings string, lateOrgs func(upTo int64) (map[ur.Org]int64, error)) (postgres.ReportRun, error)
	ClaimReportBatch(ctx context.Context, m ur.Month, holder string, lease time.Duration, maxRows int64) (postgres.ReportBatch, error)
	RenewReportClaims(ctx context.Context, m ur.Month, holder string, lease time.Duration) (int, error)
	ReleaseReportClaims(ctx context.Context, m ur.Month, holder string) error
	FinishReportClaim(ctx context.Context, m ur.Month, org ur.Org, holder, outcome string) (bool, error)
	ReportRunState(ctx context.Context, m ur.Month) (done, open int, err error)
	PublishedVersions(ctx context.Context, m ur.Month, orgs []ur.Org) (map[ur.Org]int, error)
	ScanReportBatch(ctx context.Context, m ur.Month, b postgres.ReportBatch, orgs []ur.Org, upTo int64, fn func(*ur.Record) error) error
}

var _ reportClaimer = (*postgres.Store)(nil)

// A batch is every organisation of one of the month's 16 buckets (see
// postgres.ClaimReportBatch), read in one pass, unless the bucket holds
// more than 1/workerBatchShare of the month's rows: then it is cut into
// batches of about that many rows, each of which reads the bucket again.
// A worker holds two batches at most (one read, one published): about a
// quarter of the month's rows at most, unless one organisation has more,
// where a one-process report holds the whole month.
const workerBatchShare = 8

// Claim outcomes, kept in report_claims.outcome.
const (
	outcomePublished  = "published"
	outcomeFromRecord = "from-record"
	outcomeWithheld   = "withheld"
	outcomeNoRecords  = "no-records"
	outcomeFailed     = "failed" // the cube could not be made: see the worker's log
)

// reportWorker is one `report --worker` process.
type reportWorker struct {
	e       *Env
	st      ur.Backend
	cs      reportClaimer
	ps      *publications
	cfg     suppress.Config
	month   ur.Month
	out     string
	writers []reportWriter
	lease   time.Duration
	holder  string
	run     postgres.ReportRun

	mu      sync.Mutex // guards counts, failed and the lines on Stdout
	counts  map[string]int
	failed  []ur.Org // organisations whose cube could not be made
	rows    int64
	batches int
}

func newHolder() string {
	host, _ := os.Hostname()
	var b [4]byte
	rand.Read(b[:])
	return fmt.Sprintf("%s:%d:%s", host, os.Getpid(), hex.EncodeToString(b[:]))
}

// runReportWorker is `report --worker`.
func runReportWorker(ctx context.Context, e *Env, st ur.Backend, cfg suppress.Config, kExplicit bool, month ur.Month, out string, writers []reportWriter, lease time.Duration) error {
	cs, ok := st.(reportClaimer)
	if !ok {
		return usagef("--worker needs a PostgreSQL store (--store postgres://…)")
	}
	ps, err := loadPublications(ctx, st)
	if err != nil {
		return err
	}
	if err := checkClosed(ps, cfg, kExplicit, month, ps.orgsPublished(month)); err != nil {
		return err
	}
	w := &reportWorker{e: e, st: st, cs: cs, ps: ps, cfg: cfg, month: month, out: out, writers: writers,
		lease: lease, holder: newHolder(), counts: map[string]int{}}
	settings := fmt.Sprintf("k=%d p=%v formats=%s", cfg.MinGroupSize, cfg.WithDefaults().DominanceP, formatList(writers))
	w.run, err = cs.JoinReportRun(ctx, month, settings, func(upTo int64) (map[ur.Org]int64, error) {
		// Organisations whose only records of the month are late ones.
		return ps.eachLate(ctx, st, month, upTo, nil, func(*ur.Record, int64) error { return nil })
	})
	var other postgres.ErrRunSettings
	if errors.As(err, &other) {
		return usagef("%v: give every worker of a run the same --min-group and --format", err)
	}
	if err != nil {
		return err
	}
	if w.run.Orgs == 0 {
		return noRecordsError(ctx, st, month)
	}
	how := "joined"
	if w.run.Started {
		how = "started"
	}
	e.Logger.Info("report worker", slog.String("holder", w.holder), slog.String("run", how),
		slog.Int64("up_to", w.run.UpTo), slog.Int("orgs", w.run.Orgs), slog.Int64("rows", w.run.Rows))

	hbCtx, stopHeartbeat := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); w.heartbeat(hbCtx) }()
	err = w.work(ctx)
	stopHeartbeat()
	wg.Wait()
	if err != nil {
		// What this worker holds goes back now, not when the lease ends.
		if rerr := cs.ReleaseReportClaims(context.WithoutCancel(ctx), month, w.holder); rerr != nil {
			e.Logger.Warn("release claims", slog.String("error", rerr.Error()))
		}
		return err
	}
	return w.summary(ctx)
}

func formatList(writers []reportWriter) string {
	var exts []string
	for _, w := range writers {
		exts = append(exts, w.ext)
	}
	slices.Sort(exts)
	return strings.Join(exts, ",")
}

// heartbeat renews the worker's leases until ctx ends.
func (w *reportWorker) heartbeat(ctx context.Context) {
	t := time.NewTicker(w.lease / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if _, err := w.cs.RenewReportClaims(ctx, w.month, w.holder, w.lease); err != nil && ctx.Err() == nil {
				w.e.Logger.Warn("renew claims", slog.String("error", err.Error()))
			}
		}
	}
}

// work takes batches until the month is done, in two stages: while one
// batch's cubes are suppressed and published (on every core, but a batch
// of one large organisation keeps one core busy), the next batch is
// claimed and read.
func (w *reportWorker) work(ctx context.Context) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	next := make(chan *workerBatch)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(next)
		for {
			wb, err := w.nextBatch(ctx)
			if err != nil {
				wb = &workerBatch{err: err}
			}
			if wb == nil {
				return // the month is done
			}
			select {
			case next <- wb:
			case <-ctx.Done():
				return
			}
			if wb.err != nil {
				return
			}
		}
	}()
	var err error
	for wb := range next {
		if err = wb.err; err == nil {
			err = w.publish(ctx, wb)
		}
		if err != nil {
			cancel(err)
			break
		}
	}
	wg.Wait()
	if err == nil && ctx.Err() != nil {
		err = context.Cause(ctx)
	}
	return err
}

// workerBatch is a batch of organisations read and ready to publish.
type workerBatch struct {
	orgs      []ur.Org
	published map[ur.Org]int // those published already, with their latest version
	compute   []ur.Org       // the others
	b         *aggregate.Builder
	late      map[ur.Org]int64
	history   map[ur.Org][]*ur.Report
	err       error
}

// nextBatch claims the next batch and reads it. It returns nil when the
// month is done, and waits while the others hold what is left.
func (w *reportWorker) nextBatch(ctx context.Context) (*workerBatch, error) {
	maxRows := max(w.run.Rows/workerBatchShare, 1)
	for {
		if err := ctx.Err(); err != nil {
			return nil, context.Cause(ctx)
		}
		batch, err := w.cs.ClaimReportBatch(ctx, w.month, w.holder, w.lease, maxRows)
		if err != nil {
			return nil, err
		}
		if len(batch.Claims) > 0 {
			w.batches++
			return w.read(ctx, batch)
		}
		_, open, err := w.cs.ReportRunState(ctx, w.month)
		if err != nil || open == 0 {
			return nil, err
		}
		// Others hold the rest (or this worker's other stage does): wait
		// for them to finish, or for a dead one's lease to run out.
		select {
		case <-ctx.Done():
			return nil, context.Cause(ctx)
		case <-time.After(min(w.lease/4, time.Second)):
		}
	}
}

// read reads the batch of claims: which are published already, and the
// rows of the others.
func (w *reportWorker) read(ctx context.Context, batch postgres.ReportBatch) (*workerBatch, error) {
	wb := &workerBatch{b: aggregate.NewBuilder(w.month)}
	for _, c := range batch.Claims {
		wb.orgs = append(wb.orgs, c.Org)
	}
	slices.Sort(wb.orgs)
	for _, org := range wb.orgs {
		// A worker that died on this organisation may have left temporary
		// files; nobody could have seen them.
		if _, err := export.RemoveDebris(w.out, org, w.month); err != nil {
			return nil, err
		}
	}
	// Published already: by an earlier run, or by a worker that died
	// after the record and before its claim was done.
	var err error
	if wb.published, err = w.cs.PublishedVersions(ctx, w.month, wb.orgs); err != nil {
		return nil, err
	}
	if slices.ContainsFunc(w.writers, func(x reportWriter) bool { return x.ext == "xlsx" }) {
		if wb.history, err = w.ps.historyFromRecords(ctx, w.month, wb.orgs); err != nil {
			return nil, err
		}
	}
	want := make(map[ur.Org]bool)
	for _, org := range wb.orgs {
		if _, ok := wb.published[org]; !ok {
			want[org] = true
			wb.compute = append(wb.compute, org)
		}
	}
	if len(wb.compute) == 0 {
		return wb, nil
	}
	err = w.cs.ScanReportBatch(ctx, w.month, batch, wb.compute, w.run.UpTo, func(r *ur.Record) error {
		w.rows++
		return wb.b.Add(r)
	})
	if err != nil {
		return nil, err
	}
	if wb.late, err = w.ps.addLate(ctx, w.st, wb.b, w.month, w.run.UpTo, want); err != nil {
		return nil, err
	}
	return wb, nil
}

// publish publishes the organisations of a batch that was read.
func (w *reportWorker) publish(ctx context.Context, wb *workerBatch) error {
	for _, org := range wb.orgs {
		v, ok := wb.published[org]
		if !ok {
			continue
		}
		p, err := w.ps.st.Publication(ctx, org, w.month, v)
		if err != nil {
			return err
		}
		if err := writeFromRecord(w.out, &p, w.writers, wb.history[org]); err != nil {
			return err
		}
		if err := w.finish(ctx, org, outcomeFromRecord); err != nil {
			return err
		}
		fmt.Fprintf(w.e.Stdout, "%s %s: published earlier on %s (version %d), written from the record\n",
			org, w.month, p.PublishedAt.UTC().Format(dateLayout), p.Version)
	}
	if len(wb.compute) == 0 {
		return nil
	}
	reported, withheld := suppress.Eligible(wb.b, w.cfg)
	pb := &publisher{ps: w.ps, out: w.out, writers: w.writers, history: wb.history, covered: w.run.UpTo, late: wb.late,
		p: w.cfg.WithDefaults().DominanceP, now: w.e.Now(), stall: w.e.Getenv(envTestStall)}
	err := suppress.EachResult(wb.b, w.cfg, reported, func(i int, c *suppress.Cube, err error) error {
		if err != nil {
			// One organisation's trouble stays its own, as in a run of
			// one process: it is named, the others go on, and the worker
			// exits 1 at the end. Another worker would fail alike, so the
			// claim is finished, as failed.
			orgFailed(w.e, reported[i], w.month, err)
			w.mu.Lock()
			w.failed = append(w.failed, reported[i])
			w.mu.Unlock()
			return w.finish(ctx, reported[i], outcomeFailed)
		}
		cubeOutcome(w.e, c)
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("report %s %s: %w", c.Org, c.Month, context.Cause(ctx))
		}
		pub, err := pb.publish(ctx, c)
		if err != nil {
			return err
		}
		if err := w.finish(ctx, c.Org, outcomePublished); err != nil {
			return err
		}
		w.mu.Lock()
		defer w.mu.Unlock()
		w.printOrg(w.e.Stdout, c, pub)
		return nil
	})
	if err != nil {
		return err
	}
	for _, wh := range withheld {
		if err := w.finish(ctx, wh.Org, outcomeWithheld); err != nil {
			return err
		}
		fmt.Fprintf(w.e.Stdout, "%s %s: withheld: fewer than %d subscribers this month, so no report\n", wh.Org, w.month, wh.MinGroupSize)
	}
	for _, org := range wb.compute {
		if wb.b.Subscribers(org) == 0 {
			if err := w.finish(ctx, org, outcomeNoRecords); err != nil {
				return err
			}
		}
	}
	return nil
}

func (w *reportWorker) finish(ctx context.Context, org ur.Org, outcome string) error {
	first, err := w.cs.FinishReportClaim(ctx, w.month, org, w.holder, outcome)
	if err != nil {
		return err
	}
	w.mu.Lock() // EachCube calls from several goroutines
	defer w.mu.Unlock()
	if first {
		w.counts[outcome]++
	} else {
		w.counts["done-by-another"]++
	}
	return nil
}

func (w *reportWorker) printOrg(o io.Writer, c *suppress.Cube, pub ur.Publication) {
	ranges := plural(int64(c.NarrowRanges), "range", "ranges") + " too narrow"
	if c.NarrowRanges < 0 {
		ranges = "ranges not checked (a linear program failed)"
	}
	fmt.Fprintf(o, "%s %s: %d cells, %d hidden (%d by a primary rule, %d to protect them), %d disclosed, %s; %.1f%% of the charge hidden\n",
		c.Org, c.Month, c.Loss.Cells, c.Loss.HiddenCells, c.Loss.HiddenPrimary, c.Loss.HiddenSecondary, c.Disclosed, ranges, 100*c.Loss.ChargeShare())
	if n := pub.LateEvents; n > 0 {
		fmt.Fprintf(o, "%s %s: includes %d events from earlier months (late records)\n", c.Org, c.Month, n)
	}
}

// summary prints what this worker did, then the month's state as the
// store has it.
func (w *reportWorker) summary(ctx context.Context) error {
	c := w.counts
	n := c[outcomePublished] + c[outcomeFromRecord] + c[outcomeWithheld] + c[outcomeNoRecords] + c[outcomeFailed]
	fmt.Fprintf(w.e.Stdout, "worker %s: %s: %d published, %d written from the record, %d withheld, %d failed, %d without records; %s read in %s\n",
		w.holder, plural(int64(n), "organisation", "organisations"), c[outcomePublished], c[outcomeFromRecord], c[outcomeWithheld], c[outcomeFailed], c[outcomeNoRecords],
		plural(w.rows, "row", "rows"), plural(int64(w.batches), "batch", "batches"))
	if d := c["done-by-another"]; d > 0 {
		fmt.Fprintf(w.e.Stdout, "worker %s: %s finished by another worker first\n", w.holder, plural(int64(d), "organisation", "organisations"))
	}
	done, open, err := w.cs.ReportRunState(ctx, w.month)
	if err != nil {
		return err
	}
	fmt.Fprintf(w.e.Stdout, "%s: %d of %s done, %d outstanding (run up to ledger sequence %d, in the store)\n",
		w.month, done, plural(int64(done+open), "organisation", "organisations"), open, w.run.UpTo)
	if len(w.failed) > 0 {
		slices.Sort(w.failed)
		fmt.Fprintf(w.e.Stdout, "worker %s: no report for %s: %s (see the warnings above)\n",
			w.holder, plural(int64(len(w.failed)), "organisation", "organisations"), orgNames(w.failed))
	}
	if open > 0 {
		return errors.New("organisations still outstanding")
	}
	if len(w.failed) > 0 {
		return fmt.Errorf("%s failed", plural(int64(len(w.failed)), "organisation", "organisations"))
	}
	return nil
}
