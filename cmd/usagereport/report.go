package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"

	ur "usagereport"
	"usagereport/aggregate"
	"usagereport/export"
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
	fs := newFlagSet(e, "report", "--store DIR|URL --month YYYY-MM --out DIR [--org N]... [--min-group K] [--format xlsx,parquet]")
	storeSpec := fs.String("store", "", "the store: a folder (embedded) or a postgres:// URL")
	monthFlag := fs.String("month", "", "the month to report, YYYY-MM (Europe/Oslo)")
	out := fs.String("out", "", "folder to write reports into: OUT/<org>/<org>-<YYYY-MM>.<ext>")
	k := fs.Int("min-group", aggregate.DefaultMinGroupSize, "minimum group size k (at least 3)")
	formats := fs.String("format", "xlsx,parquet", "comma-separated report formats: xlsx, parquet")
	var orgs orgList
	fs.Var(&orgs, "org", "report only this organisation number (repeatable)")
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
	cfg := aggregate.Config{MinGroupSize: *k}
	if err := cfg.Validate(); err != nil {
		return usagef("--min-group: %v", err)
	}
	writers, err := reportWriters(*formats)
	if err != nil {
		return usagef("--format: %v", err)
	}
	st, err := openStore(ctx, e, *storeSpec)
	if err != nil {
		return err
	}
	defer st.Close()
	if cfg.OrgMinGroupSize, err = orgMinGroupSizes(ctx, st); err != nil {
		return err
	}

	want := make(map[ur.Org]bool, len(orgs))
	for _, o := range orgs {
		want[o] = true
	}
	b, err := monthBuilder(ctx, e, st, month, want)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return context.Cause(ctx)
	}
	if len(b.Orgs()) == 0 && len(want) == 0 {
		return noRecordsError(ctx, st, month)
	}
	reported, withheld := b.Eligible(cfg)
	var history map[ur.Org][]*aggregate.Cube
	if slices.ContainsFunc(writers, func(w reportWriter) bool { return w.ext == "xlsx" }) {
		if history, err = historyCubes(ctx, e, st, *out, month, reported, cfg); err != nil {
			return err
		}
	}
	now := e.Now()
	// Each organisation's files are written as soon as its cube is ready,
	// on the worker that computed it; the summary lines come out in
	// organisation order at the end.
	type result struct {
		loss      aggregate.Loss
		disclosed int
		narrow    int
	}
	results := make([]result, len(reported))
	p := startSteps(e, month.String(), "organisations", "suppressed", "written", int64(len(reported)))
	err = b.EachCube(cfg, reported, func(i int, c *aggregate.Cube) error {
		defer c.Release()
		// Stopped (SIGTERM, SIGINT): no new file is started; those written
		// are whole, renamed into place.
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("report %s %s: %w", c.Org, c.Month, context.Cause(ctx))
		}
		p.begin()
		defer p.add(1)
		for _, w := range writers {
			path := export.Path(*out, c.Org, c.Month, w.ext)
			err := export.WriteFileAtomic(path, func(out io.Writer) error {
				if w.ext == "xlsx" {
					return export.WriteXLSX(out, c, history[c.Org], now)
				}
				return export.WriteParquet(out, c, now)
			})
			if err != nil {
				return fmt.Errorf("write report %s %s: %w", c.Org, c.Month, err)
			}
		}
		results[i] = result{loss: c.Loss, disclosed: c.Disclosed, narrow: c.NarrowRanges}
		return nil
	})
	p.done()
	if err != nil {
		return err
	}
	var total aggregate.Loss
	narrow := 0
	for i, org := range reported {
		r := results[i]
		total.Add(r.loss)
		ranges := plural(int64(r.narrow), "range", "ranges") + " too narrow"
		if r.narrow < 0 {
			ranges = "ranges not checked (a linear program failed)"
		} else {
			narrow += r.narrow
		}
		fmt.Fprintf(e.Stdout, "%s %s: %d cells, %d hidden (%d by a primary rule, %d to protect them), %d disclosed, %s; %.1f%% of the charge hidden\n",
			org, month, r.loss.Cells, r.loss.HiddenCells, r.loss.HiddenPrimary, r.loss.HiddenSecondary, r.disclosed, ranges, 100*r.loss.ChargeShare())
	}
	written := len(reported) * len(writers)
	for _, o := range orgs {
		if b.Subscribers(o) == 0 {
			fmt.Fprintf(e.Stdout, "%s %s: no records this month, so no report\n", o, month)
		}
	}
	for _, w := range withheld {
		fmt.Fprintf(e.Stdout, "%s %s: withheld: fewer than %d subscribers this month, so no report\n", w.Org, month, w.MinGroupSize)
	}
	fmt.Fprintf(e.Stdout, "%s: %s, %s written (%s) to %s, %d withheld\n",
		month, plural(int64(len(b.Orgs())), "organisation", "organisations"), plural(int64(len(reported)), "report", "reports"),
		plural(int64(written), "file", "files"), *out, len(withheld))
	if total.Cells > 0 {
		fmt.Fprintf(e.Stdout, "%s: information loss: %d of %d cells hidden (%.1f%%), %.1f%% of the charge; %s too narrow\n",
			month, total.HiddenCells, total.Cells, 100*total.CellShare(), 100*total.ChargeShare(), plural(int64(narrow), "range", "ranges"))
	}
	return nil
}

type reportWriter struct{ ext string }

// monthBuilder reads one month of the store, the records of the
// organisations in want (all when empty).
func monthBuilder(ctx context.Context, e *Env, st ur.Store, m ur.Month, want map[ur.Org]bool) (*aggregate.Builder, error) {
	b := aggregate.NewBuilder(m)
	p := startCounter(e, "reading "+m.String(), "rows", 0)
	var err error
	if bs, ok := st.(ur.BatchScanner); ok && len(want) == 0 {
		err = bs.ScanMonthBatches(ctx, m, func(bt *ur.Batch) error {
			p.add(int64(bt.Len()))
			return b.AddBatch(bt)
		})
	} else {
		err = st.ScanMonth(ctx, m, func(r *ur.Record) error {
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

// historyCubes gives, per organisation, its cubes of the months before m
// (up to export.MaxXLSXHistory, oldest first), for the workbook's history
// table: the reports published in out where they exist, as they were
// published; else computed from the store, each with its own suppression.
func historyCubes(ctx context.Context, e *Env, st ur.Store, out string, m ur.Month, orgs []ur.Org, cfg aggregate.Config) (map[ur.Org][]*aggregate.Cube, error) {
	months, err := st.Months(ctx)
	if err != nil {
		return nil, fmt.Errorf("list months: %w", err)
	}
	history := make(map[ur.Org][]*aggregate.Cube)
	for hm := m - export.MaxXLSXHistory; hm < m; hm++ {
		if err := ctx.Err(); err != nil {
			return nil, context.Cause(ctx)
		}
		missing := make(map[ur.Org]bool)
		found := make(map[ur.Org]*aggregate.Cube)
		for _, org := range orgs {
			hc, ok, err := export.ReadPublished(out, org, hm)
			if err != nil {
				return nil, err
			}
			if ok {
				found[org] = hc
			} else {
				missing[org] = true
			}
		}
		if len(missing) > 0 && slices.Contains(months, hm) {
			hb, err := monthBuilder(ctx, e, st, hm, missing)
			if err != nil {
				return nil, err
			}
			computed, _, err := hb.Cubes(cfg)
			if err != nil {
				return nil, err
			}
			for _, hc := range computed {
				found[hc.Org] = hc
			}
		}
		for _, org := range orgs {
			if hc := found[org]; hc != nil {
				history[org] = append(history[org], hc)
			}
		}
	}
	return history, nil
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
			out = append(out, reportWriter{f})
		default:
			return nil, fmt.Errorf("unknown format %q (known: xlsx, parquet)", f)
		}
	}
	return out, nil
}

// orgMinGroupSizes reads the registry's per-organisation minimum group
// sizes, where the store has a registry.
func orgMinGroupSizes(ctx context.Context, st ur.Store) (map[ur.Org]int, error) {
	reg, ok := st.(ur.Registry)
	if !ok {
		return nil, nil
	}
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
