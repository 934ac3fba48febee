package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"runtime"
	"slices"
	"strings"
	"time"

	ur "usagereport"
	"usagereport/aggregate"
	"usagereport/export"
	"usagereport/suppress"
)

// orgList is a repeatable --org flag.
type orgList []ur.Org

func (l *orgList) String() string { return fmt.Sprint(*l) }

func (l *orgList) Set(s string) error {
	o, err := ur.ParseOrgString(s)
	if err != nil {
		return err
	}
	*l = append(*l, o)
	return nil
}

func runReport(ctx context.Context, e *Env, args []string) error {
	fs := newFlagSet(e, "report", "--store DIR|URL --month YYYY-MM --out DIR [--org N]... [--min-group K] [--format xlsx,parquet] [--republish --reason TEXT] [--worker [--lease D]]")
	storeSpec := storeFlag(fs)
	monthFlag := fs.String("month", "", "the month to report, YYYY-MM (Europe/Oslo)")
	out := fs.String("out", "", "folder to write reports into: OUT/<org>/<org>-<YYYY-MM>.<ext>")
	k := fs.Int("min-group", suppress.DefaultMinGroupSize, "minimum group size k (at least 3)")
	formats := fs.String("format", "xlsx,parquet", "comma-separated report formats: xlsx, parquet")
	republish := fs.Bool("republish", false, "make the next version of the published month, with the records that arrived since (needs --reason)")
	reason := fs.String("reason", "", "why the month is corrected (with --republish); kept in the publication record")
	var orgs orgList
	fs.Var(&orgs, "org", "report only this organisation number (repeatable)")
	worker := fs.Bool("worker", false, "share the month with other report workers through the PostgreSQL store (see workers.go)")
	lease := fs.Duration("lease", time.Minute, "with --worker: how long a claim outlives a worker that stops renewing it")
	if err := parseFlagsNoArgs(fs, args); err != nil {
		return err
	}
	month, err := ur.ParseMonth(*monthFlag)
	if err != nil {
		return usagef("--month: %v", err)
	}
	if *out == "" {
		return usagef("--out is required")
	}
	if err := checkOutDir(*out); err != nil {
		return err
	}
	if *republish != (*reason != "") {
		return usagef("--republish and --reason go together")
	}
	cfg := suppress.Config{MinGroupSize: *k}
	if err := cfg.Validate(); err != nil {
		return usagef("--min-group: %v", err)
	}
	writers, err := reportWriters(*formats)
	if err != nil {
		return usagef("--format: %v", err)
	}
	kExplicit := false
	fs.Visit(func(f *flag.Flag) { kExplicit = kExplicit || f.Name == "min-group" })
	if *worker && (len(orgs) > 0 || *republish || *lease < time.Second) {
		return usagef("--worker reports the whole month: no --org, no --republish, and a --lease of at least 1s")
	}
	st, err := openStore(ctx, e, *storeSpec)
	if err != nil {
		return err
	}
	defer st.Close()
	if cfg.OrgMinGroupSize, err = orgMinGroupSizes(ctx, st); err != nil {
		return err
	}
	if writers, err = withOrgNames(ctx, st, writers); err != nil {
		return err
	}
	if *worker {
		return runReportWorker(ctx, e, st, cfg, kExplicit, month, *out, writers, *lease)
	}
	// The ledger sequence first: this run counts the files up to it, and
	// the publications it makes say so.
	ps, err := loadPublications(ctx, st)
	if err != nil {
		return err
	}
	ps.logger = e.Logger
	upTo, err := ps.st.LedgerSeq(ctx)
	if err != nil {
		return err
	}

	want := make(map[ur.Org]bool, len(orgs))
	for _, o := range orgs {
		want[o] = true
	}
	// The organisations whose month is closed get their files from the
	// record; a run that asks for other settings is refused before
	// anything is written.
	var closed []ur.Org
	for _, org := range ps.orgsPublished(month) {
		if len(want) == 0 || want[org] {
			closed = append(closed, org)
		}
	}
	if err := checkClosed(ps, cfg, kExplicit, month, closed); err != nil {
		return err
	}
	if *republish {
		var unpublished []ur.Org
		for _, o := range orgs {
			if !slices.Contains(closed, o) {
				unpublished = append(unpublished, o)
			}
		}
		var history map[ur.Org][]*ur.Report
		if slices.ContainsFunc(writers, func(w reportWriter) bool { return w.ext == "xlsx" }) {
			if history, err = ps.historyFromRecords(ctx, month, closed); err != nil {
				return err
			}
		}
		for _, org := range closed {
			if _, err := export.RemoveDebris(*out, org, month); err != nil {
				return err
			}
		}
		pb := &publisher{ps: ps, out: *out, writers: writers, history: history, covered: upTo,
			p: cfg.WithDefaults().DominanceP, now: e.Now(), stall: e.Getenv(envTestStall)}
		return runRepublish(ctx, e, st, ps, pb, cfg, month, closed, unpublished, upTo, *reason)
	}
	b, err := monthBuilderUpTo(ctx, e, st, month, upTo, want)
	if err != nil {
		return err
	}
	late, err := ps.addLate(ctx, st, b, month, upTo, want)
	if err != nil {
		return err
	}
	// Every record is in: what only adding needed goes (see
	// aggregate.Builder.Seal).
	b.Seal()
	if err := ctx.Err(); err != nil {
		return context.Cause(ctx)
	}
	if len(b.Orgs()) == 0 && len(want) == 0 && len(closed) == 0 {
		return noRecordsError(ctx, st, month)
	}
	reported, withheld := suppress.Eligible(b, cfg)
	isClosed := func(o ur.Org) bool { return slices.Contains(closed, o) }
	reported = slices.DeleteFunc(reported, isClosed)
	withheld = slices.DeleteFunc(withheld, func(w suppress.Withheld) bool { return isClosed(w.Org) })
	for _, org := range slices.Concat(reported, closed) {
		if n, err := export.RemoveDebris(*out, org, month); err != nil {
			return err
		} else if n > 0 {
			e.Logger.Info("removed temporary report files of an interrupted run", slog.String("org", org.String()), slog.Int("files", n))
		}
	}
	// The closed organisations' history is read here, the others' as
	// their files are written (see publisher.historyOf).
	var history map[ur.Org][]*ur.Report
	xlsx := slices.ContainsFunc(writers, func(w reportWriter) bool { return w.ext == "xlsx" })
	if xlsx {
		if history, err = ps.historyFromRecords(ctx, month, closed); err != nil {
			return err
		}
	}
	for _, org := range closed {
		p, err := ps.read(ctx, org, month)
		if err != nil {
			return err
		}
		if err := writeFromRecord(*out, &p, writers, history[org]); err != nil {
			return err
		}
		fmt.Fprintf(e.Stdout, "%s %s: published earlier on %s (version %d), written from the record\n",
			org, month, p.PublishedAt.UTC().Format(dateLayout), p.Version)
	}
	pb := &publisher{ps: ps, out: *out, writers: writers, historyOnDemand: xlsx, covered: upTo, late: late,
		p: cfg.WithDefaults().DominanceP, now: e.Now(), stall: e.Getenv(envTestStall)}
	// Each organisation's files are written as soon as its cube is ready,
	// by a writer of its own (see writeBehind) while the worker that
	// computed it goes on to the next; the summary lines come out in
	// organisation order at the end.
	type result struct {
		loss      suppress.Loss
		disclosed int
		narrow    int
		pub       ur.Publication
		outcome   orgOutcome
	}
	results := make([]result, len(reported))
	p := startSteps(e, month.String(), "organisations", "suppressed", "written", int64(len(reported)))
	type done struct {
		i int
		c *suppress.Cube
	}
	wb := startWriteBehind(runtime.GOMAXPROCS(0), func(d done) error {
		defer p.add(1)
		c := d.c
		// Stopped (SIGTERM, SIGINT): no new file is started; those written
		// are whole, renamed into place.
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("report %s %s: %w", c.Org, c.Month, context.Cause(ctx))
		}
		pub, err := pb.publish(ctx, c)
		if err != nil {
			return err
		}
		results[d.i] = result{loss: c.Loss, disclosed: c.Disclosed, narrow: c.NarrowRanges, pub: pub, outcome: cubeOutcome(e, c)}
		return nil
	})
	err = suppress.EachResult(b, cfg, reported, func(i int, c *suppress.Cube, err error) error {
		if err != nil {
			// One organisation's trouble stays its own: the others are
			// written, and the run fails at the end.
			results[i].outcome = orgFailed(e, reported[i], month, err)
			p.add(1)
			return nil
		}
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("report %s %s: %w", c.Org, c.Month, context.Cause(ctx))
		}
		p.begin()
		return wb.put(done{i, c})
	})
	// The files of the cubes made are written before the run ends, even
	// when it stops: a cube put is whole, and so are its files.
	if werr := wb.wait(); err == nil {
		err = werr
	}
	p.done()
	if err != nil {
		return err
	}
	var total suppress.Loss
	var outcomes runOutcomes
	narrow := 0
	for i, org := range reported {
		r := results[i]
		outcomes.add(org, r.outcome)
		if r.outcome.err != nil {
			fmt.Fprintf(e.Stdout, "%s %s: failed, so no report: %v\n", org, month, r.outcome.err)
			continue
		}
		total.Add(r.loss)
		ranges := plural(int64(r.narrow), "range", "ranges") + " too narrow"
		if r.narrow < 0 {
			ranges = "ranges not checked (a linear program failed)"
		} else {
			narrow += r.narrow
		}
		fmt.Fprintf(e.Stdout, "%s %s: %d cells, %d hidden (%d by a primary rule, %d to protect them), %d disclosed, %s; %.1f%% of the charge hidden\n",
			org, month, r.loss.Cells, r.loss.HiddenCells, r.loss.HiddenPrimary, r.loss.HiddenSecondary, r.disclosed, ranges, 100*r.loss.ChargeShare())
		if n := r.pub.LateEvents; n > 0 {
			fmt.Fprintf(e.Stdout, "%s %s: includes %d events from earlier months (late records)\n", org, month, n)
		}
	}
	written := (len(reported) - len(outcomes.failed) + len(closed)) * len(writers)
	for _, o := range orgs {
		if b.Subscribers(o) == 0 && !isClosed(o) {
			fmt.Fprintf(e.Stdout, "%s %s: no records this month, so no report\n", o, month)
		}
	}
	for _, w := range withheld {
		fmt.Fprintf(e.Stdout, "%s %s: withheld: fewer than %d subscribers this month, so no report\n", w.Org, month, w.MinGroupSize)
	}
	fmt.Fprintf(e.Stdout, "%s: %s, %s written (%s) to %s, %d withheld%s\n",
		month, plural(int64(len(b.Orgs())), "organisation", "organisations"), plural(int64(len(reported)-len(outcomes.failed)+len(closed)), "report", "reports"),
		plural(int64(written), "file", "files"), *out, len(withheld), outcomes.failedSuffix())
	if len(closed) > 0 {
		fmt.Fprintf(e.Stdout, "%s: %s published earlier, written from the records\n", month, plural(int64(len(closed)), "report", "reports"))
	}
	if centres := total.CostCentres; total.Cells > 0 {
		fmt.Fprintf(e.Stdout, "%s: information loss: %d of %d cells hidden (%.1f%%), %.1f%% of the charge; %s too narrow; %s given back (%s NOK of charge): a reader could work them out exactly\n",
			month, total.HiddenCells, total.Cells, 100*total.CellShare(), 100*total.ChargeShare(), plural(int64(narrow), "range", "ranges"),
			plural(int64(outcomes.given.Cells), "cell", "cells"), outcomes.given.Charge)
		fmt.Fprintf(e.Stdout, "%s: %.1f%% of cells hidden; published cost-centre totals carry %.1f%% of the cost centres' charge (%d of %d cost-centre totals published; the primary rules leave at most %.1f%%)\n",
			month, 100*total.CellShare(), 100*centres.ChargeShare(), centres.Published, centres.Centres, 100*centres.SecondaryShare())
	}
	return outcomes.summary(e, month)
}

type reportWriter struct {
	ext      string
	orgNames map[ur.Org]string // for the workbook's title (see orgnames.go)
}

// monthBuilderUpTo reads one month of the store, the records of the
// organisations in want (all when empty) from the files with a ledger
// sequence up to upTo.
func monthBuilderUpTo(ctx context.Context, e *Env, st ur.Backend, m ur.Month, upTo int64, want map[ur.Org]bool) (*aggregate.Builder, error) {
	b := aggregate.NewBuilder(m)
	p := startCounter(e, "reading "+m.String(), "rows", 0)
	var err error
	if bs, ok := st.(ur.BatchScannerUpTo); ok && len(want) == 0 {
		err = bs.ScanMonthBatchesUpTo(ctx, m, upTo, func(bt *ur.Batch) error {
			p.add(int64(bt.Len()))
			return b.AddBatch(bt)
		})
	} else {
		err = st.ScanMonthSeq(ctx, m, -1, upTo, func(r *ur.Record, _ int64) error {
			p.add(1)
			if len(want) > 0 && !want[r.Org] {
				return nil
			}
			return b.Add(r)
		})
	}
	p.done()
	if err != nil {
		return nil, fmt.Errorf("read month %s: %w", m, err)
	}
	return b, nil
}

// checkClosed refuses a report of closed months with other settings than
// they were published with: a different k given by --min-group, or p.
// Without --min-group the record's k stands.
func checkClosed(ps *publications, cfg suppress.Config, kExplicit bool, m ur.Month, closed []ur.Org) error {
	p := cfg.WithDefaults().DominanceP
	var msgs []string
	for _, org := range closed {
		pub, _ := ps.published(org, m)
		k := max(cfg.MinGroupSize, cfg.OrgMinGroupSize[org])
		switch {
		case kExplicit && k != pub.MinGroupSize:
			msgs = append(msgs, fmt.Sprintf("%s %s was published on %s with minimum group size %d, and a published month never changes: --min-group %d refused",
				org, m, pub.PublishedAt.UTC().Format(dateLayout), pub.MinGroupSize, k))
		case p != pub.DominanceP:
			msgs = append(msgs, fmt.Sprintf("%s %s was published on %s with dominance p %v%%, and a published month never changes: p %v%% refused",
				org, m, pub.PublishedAt.UTC().Format(dateLayout), pub.DominanceP, p))
		}
	}
	if len(msgs) > 0 {
		return usagef("%s; nothing written", strings.Join(msgs, "; "))
	}
	return nil
}

func reportWriters(formats string) ([]reportWriter, error) {
	var out []reportWriter
	seen := map[string]bool{}
	for _, f := range strings.Split(formats, ",") {
		f = strings.TrimSpace(strings.ToLower(f))
		if seen[f] {
			continue
		}
		seen[f] = true
		switch f {
		case "parquet", "xlsx":
			out = append(out, reportWriter{ext: f})
		default:
			return nil, fmt.Errorf("unknown format %q (known: xlsx, parquet)", f)
		}
	}
	return out, nil
}

// orgMinGroupSizes reads the registry's per-organisation minimum group
// sizes.
func orgMinGroupSizes(ctx context.Context, reg ur.Registry) (map[ur.Org]int, error) {
	infos, err := reg.Orgs(ctx)
	if err != nil {
		return nil, fmt.Errorf("read organisation registry: %w", err)
	}
	out := make(map[ur.Org]int)
	for _, o := range infos {
		if o.MinGroupSize > 0 {
			out[o.Org] = o.MinGroupSize
		}
	}
	return out, nil
}
