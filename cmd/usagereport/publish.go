package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"time"

	ur "usagereport"
	"usagereport/aggregate"
	"usagereport/export"
	"usagereport/suppress"
)

// A closed month never changes. The first report of an organisation's
// month publishes it: the cells go into a publication record in the store,
// made final together with the files, in this order:
//
//  1. every file is written to a temporary file beside its path and synced;
//  2. the record is committed (the point of no return);
//  3. the temporary files are renamed into place.
//
// A crash before 2 leaves temporary files and no record: the next run
// removes them (export.RemoveDebris) and computes the month again, as if
// this run had not happened, since nobody could have seen its files. A
// crash after 2 leaves a record: the next run writes the files from it.
// Either way one version exists, whole. Every later report of that month,
// into any folder, writes the files from the record, so they are the same
// bytes. Two runs publishing at once: the store takes one record, and the
// other run writes the winner's cells.

// publications is what a report run knows of the records.
type publications struct {
	st    ur.Publisher
	all   []ur.Publication
	owner *ur.MonthOwner
	// head is the latest version per organisation and month.
	head map[orgMonthKey]ur.Publication
	// logger, when set, is told of history months left out of a
	// workbook (see historyFromRecords).
	logger *slog.Logger
}

type orgMonthKey struct {
	org ur.Org
	m   ur.Month
}

func loadPublications(ctx context.Context, p ur.Publisher) (*publications, error) {
	all, err := p.Publications(ctx)
	if err != nil {
		return nil, err
	}
	ps := &publications{st: p, all: all, owner: ur.NewMonthOwner(all), head: make(map[orgMonthKey]ur.Publication)}
	for _, pub := range all {
		k := orgMonthKey{pub.Org, pub.Month}
		if h, ok := ps.head[k]; !ok || pub.Version > h.Version {
			ps.head[k] = pub
		}
	}
	return ps, nil
}

// published returns the latest version of org's month m, without cells.
func (ps *publications) published(org ur.Org, m ur.Month) (ur.Publication, bool) {
	p, ok := ps.head[orgMonthKey{org, m}]
	return p, ok
}

// orgsPublished lists the organisations with a record of month m, in order.
func (ps *publications) orgsPublished(m ur.Month) []ur.Org {
	var out []ur.Org
	for k := range ps.head {
		if k.m == m {
			out = append(out, k.org)
		}
	}
	slices.Sort(out)
	return out
}

// read returns the latest version of org's month m with its cells.
func (ps *publications) read(ctx context.Context, org ur.Org, m ur.Month) (ur.Publication, error) {
	h, ok := ps.published(org, m)
	if !ok {
		return ur.Publication{}, ur.ErrNotPublished
	}
	return ps.st.Publication(ctx, org, m, h.Version)
}

// addLate adds to b the records of earlier months that count in month m:
// those of a month closed for their organisation from files its record did
// not cover, rolled forward through every later closed month (see
// ur.MonthOwner). Only organisations not published for m take them, and
// only those in want when it is not empty. It returns the events added per
// organisation.
func (ps *publications) addLate(ctx context.Context, st ur.Store, b *aggregate.Builder, m ur.Month, upTo int64, want map[ur.Org]bool) (map[ur.Org]int64, error) {
	return ps.eachLate(ctx, st, m, upTo, want, func(r *ur.Record, _ int64) error { return b.Add(r) })
}

// eachLate calls add for every record that addLate adds, with the record's
// month set to m, and with its file's ledger sequence.
func (ps *publications) eachLate(ctx context.Context, st ur.Store, m ur.Month, upTo int64, want map[ur.Org]bool, add func(r *ur.Record, seq int64) error) (map[ur.Org]int64, error) {
	months, err := st.Months(ctx)
	if err != nil {
		return nil, fmt.Errorf("list months: %w", err)
	}
	late := make(map[ur.Org]int64)
	for _, em := range months {
		if em >= m {
			break
		}
		// Only files after the lowest cover among the organisations whose
		// months from em to m-1 are all closed can hold such records.
		after, any := int64(0), false
		for k := range ps.head {
			if k.m != em || !ps.closedThrough(k.org, em, m) {
				continue
			}
			c, _ := ps.owner.Covered(k.org, em)
			if !any || c < after {
				after = c
			}
			any = true
		}
		if !any || after >= upTo {
			continue
		}
		err := ps.st.ScanMonthSeq(ctx, em, after, upTo, func(r *ur.Record, seq int64) error {
			if len(want) > 0 && !want[r.Org] {
				return nil
			}
			if ps.owner.Owner(r.Org, em, seq) != m || ps.owner.Published(r.Org, m) {
				return nil
			}
			rec := *r
			rec.Month = m
			late[r.Org]++
			return add(&rec, seq)
		})
		if err != nil {
			return nil, fmt.Errorf("read late records of %s: %w", em, err)
		}
	}
	return late, nil
}

// closedThrough reports whether org's months from em to m-1 are all
// published.
func (ps *publications) closedThrough(org ur.Org, em, m ur.Month) bool {
	for x := em; x < m; x++ {
		if !ps.owner.Published(org, x) {
			return false
		}
	}
	return true
}

// writeFromRecord writes the files of a published month from its record.
// A file already there with the same bytes is left alone, so that its
// time, and the download server's ETag made from it, stay too.
func writeFromRecord(out string, p *ur.Publication, writers []reportWriter, history []*ur.Report) error {
	c := p.Report()
	ed := export.EditionOf(p)
	placed := "" // a file put in place: its folder is synced at the end
	for _, w := range writers {
		path := export.Path(out, p.Org, p.Month, w.ext)
		t, err := export.WriteTemp(path, func(o io.Writer) error { return writeEdition(o, w, c, history, ed) })
		if err != nil {
			return fmt.Errorf("write report %s %s: %w", p.Org, p.Month, err)
		}
		if same, err := sameFile(t.Path, path); err == nil && same {
			t.Discard()
			continue
		}
		if err := placeFile(t, p.PublishedAt); err != nil {
			return fmt.Errorf("write report %s %s: %w", p.Org, p.Month, err)
		}
		placed = path
	}
	if placed != "" {
		export.SyncFolder(placed)
	}
	return nil
}

// placeFile gives a report file its publication's time, so that every copy
// of one publication looks the same to the download server, and renames
// it into place. The caller syncs the folder once, after the last file of
// the organisation (export.SyncFolder): its files share one folder.
func placeFile(t *export.TempFile, at time.Time) error {
	if err := os.Chtimes(t.Path, at, at); err != nil {
		t.Discard()
		return err
	}
	return t.Rename()
}

// sameFile reports whether the files at a and b hold the same bytes.
func sameFile(a, b string) (bool, error) {
	fa, err := os.Open(a)
	if err != nil {
		return false, err
	}
	defer fa.Close()
	fb, err := os.Open(b)
	if err != nil {
		return false, err
	}
	defer fb.Close()
	ia, err := fa.Stat()
	if err != nil {
		return false, err
	}
	ib, err := fb.Stat()
	if err != nil || ia.Size() != ib.Size() {
		return false, err
	}
	ra, rb := bufio.NewReaderSize(fa, 1<<16), bufio.NewReaderSize(fb, 1<<16)
	var ba, bb [1 << 15]byte
	for {
		na, ea := io.ReadFull(ra, ba[:])
		nb, eb := io.ReadFull(rb, bb[:])
		if na != nb || !bytes.Equal(ba[:na], bb[:nb]) {
			return false, nil
		}
		if ea == io.EOF || ea == io.ErrUnexpectedEOF {
			return eb == ea, nil
		}
		if ea != nil {
			return false, ea
		}
		if eb != nil {
			return false, eb
		}
	}
}

func writeEdition(o io.Writer, w reportWriter, c *ur.Report, history []*ur.Report, ed export.Edition) error {
	if w.ext == "xlsx" {
		ed.OrgName = w.orgNames[c.Org]
		return export.WriteXLSXEdition(o, c, history, ed)
	}
	return export.WriteParquetEdition(o, c, ed)
}

// publisher publishes the cubes of one report run.
type publisher struct {
	ps      *publications
	out     string
	writers []reportWriter
	history map[ur.Org][]*ur.Report
	// historyOnDemand: history is not read beforehand, and each
	// organisation's is read from the records as its files are written
	// (see historyOf).
	historyOnDemand bool
	covered         int64
	late            map[ur.Org]int64
	p               float64
	now             time.Time
	stall           string // envTestStall's value
}

// envTestStall, for the crash tests only, makes a report stop for good at
// one point of publishing, so that a test can kill it there: "files"
// after the temporary files are written, "record" after the record is
// committed too.
const envTestStall = "USAGEREPORT_TEST_STALL"

func (pb *publisher) stallAt(point string) {
	if pb.stall == point {
		time.Sleep(time.Hour)
	}
}

// publish makes c's month final for its organisation: temporary files,
// the record, then the files in place. It returns the record the files
// were written from, which is another run's when that one was first.
// It lets go of c's cells once read; c's other fields stay.
func (pb *publisher) publish(ctx context.Context, c *suppress.Cube) (ur.Publication, error) {
	// The files are written from the publication's own cells: the
	// suppression's are done with (a report of 100,000 cost centres
	// holds tens of megabytes in each).
	cells := ur.PublishedCells(c.Cells)
	c.Cells = nil
	p := ur.Publication{
		Org: c.Org, Month: c.Month, Version: 1, MinGroupSize: c.MinGroupSize, DominanceP: pb.p,
		Format: export.ReportFormat, PublishedAt: pb.now.UTC().Truncate(time.Second),
		Covered: pb.covered, LateEvents: pb.late[c.Org], Digest: ur.DigestCells(cells), Cells: cells,
	}
	return pb.publishRecord(ctx, p)
}

// publishRecord makes p final with its files (see publish).
func (pb *publisher) publishRecord(ctx context.Context, p ur.Publication) (ur.Publication, error) {
	c := &p // for the names below
	history, err := pb.historyOf(ctx, c.Org, c.Month)
	if err != nil {
		return ur.Publication{}, err
	}
	pc := p.Report()
	ed := export.EditionOf(&p)
	var tmps []*export.TempFile
	discard := func() {
		for _, t := range tmps {
			t.Discard()
		}
	}
	for _, w := range pb.writers {
		t, err := export.WriteTemp(export.Path(pb.out, c.Org, c.Month, w.ext), func(o io.Writer) error {
			return writeEdition(o, w, pc, history, ed)
		})
		if err != nil {
			discard()
			return ur.Publication{}, fmt.Errorf("write report %s %s: %w", c.Org, c.Month, err)
		}
		tmps = append(tmps, t)
	}
	pb.stallAt("files")
	err = pb.ps.st.Publish(ctx, &p)
	if errors.Is(err, ur.ErrPublished) {
		discard()
		won, err := pb.ps.st.Publication(ctx, c.Org, c.Month, p.Version)
		if err != nil {
			return ur.Publication{}, err
		}
		return won, writeFromRecord(pb.out, &won, pb.writers, history)
	}
	if err != nil {
		discard()
		return ur.Publication{}, err
	}
	pb.stallAt("record")
	for i, t := range tmps {
		if err := placeFile(t, p.PublishedAt); err != nil {
			for _, rest := range tmps[i+1:] {
				rest.Discard()
			}
			// The record stands: the next run writes the files from it.
			return ur.Publication{}, fmt.Errorf("write report %s %s (published; run the report again to write its files): %w", c.Org, c.Month, err)
		}
	}
	if len(tmps) > 0 {
		export.SyncFolder(tmps[0].Final)
	}
	return p, nil
}

// historyOf returns the workbook history of org's month m: pb.history's,
// or with historyOnDemand, read from the records now. Read on demand, a
// run holds the history of the organisations being written, not of all of
// them from the start (10M rows of the second generator: some 170 MB of
// cells at the run's peak of memory).
func (pb *publisher) historyOf(ctx context.Context, org ur.Org, m ur.Month) ([]*ur.Report, error) {
	if !pb.historyOnDemand {
		return pb.history[org], nil
	}
	h, err := pb.ps.historyFromRecords(ctx, m, []ur.Org{org})
	return h[org], err
}

// historyFromRecords gives, per organisation, the published cells of the
// months before m (up to export.MaxXLSXHistory, oldest first), for the
// workbook's history table: the latest version of each month's record,
// exactly as published. A month without a record is left out; nothing is
// computed from the store.
func (ps *publications) historyFromRecords(ctx context.Context, m ur.Month, orgs []ur.Org) (map[ur.Org][]*ur.Report, error) {
	history := make(map[ur.Org][]*ur.Report)
	for _, org := range orgs {
		for hm := m - export.MaxXLSXHistory; hm < m; hm++ {
			if _, ok := ps.published(org, hm); !ok {
				continue
			}
			p, err := ps.read(ctx, org, hm)
			if err != nil {
				if ctx.Err() != nil || ps.logger == nil {
					return nil, err
				}
				// History never fails the run: the month is left out
				// of this organisation's workbook, and the run says so.
				ps.logger.Warn("history month left out of the workbook: its publication record cannot be read",
					slog.String(logKeyOrg, org.String()), slog.String(logKeyMonth, hm.String()), slog.String(logKeyError, err.Error()))
				continue
			}
			history[org] = append(history[org], p.Report())
		}
	}
	return history, nil
}
